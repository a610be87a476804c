#!/usr/bin/env bash
# The benchmark of issue 9 in one command (see docs/benchmarks.md):
#   bench/run.sh [--rows 1000000] [--reps 3] [--smoke] [--tools a,b] [--report-only]
# Needs: scripts/deps.sh, bench/setup.sh, a Release build in build-bench and
# the bench node (scripts/cassandra.sh start --name bench --nodes 1 --ip-base 127.0.0.4).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${CQLSHIFT_CACHE:-$HOME/.cache/cqlshift}"
bash "$HERE/setup.sh"
exec "$CACHE/bench-venv/bin/python" "$HERE/run.py" "$@"
