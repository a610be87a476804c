#!/usr/bin/env bash
# The benchmark of issue 9 in one command (see docs/benchmarks.md):
#   bench/run.sh [--rows 1000000] [--reps 3] [--smoke] [--tools a,b] [--report-only]
# Needs: scripts/deps.sh and the bench node (scripts/cassandra.sh start
# --name bench --nodes 1 --ip-base 127.0.0.4). It runs bench/setup.sh and
# builds the cqlshift it measures (Release, build-bench) from the working
# tree; each result records that commit.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${CQLSHIFT_CACHE:-$HOME/.cache/cqlshift}"
bash "$HERE/setup.sh"
if [[ " $* " != *" --report-only "* ]]; then
  cmake -S "$HERE/.." -B "$HERE/../build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCQLSHIFT_TESTS=OFF >/dev/null
  cmake --build "$HERE/../build-bench" >/dev/null
fi
exec "$CACHE/bench-venv/bin/python" "$HERE/run.py" "$@"
