#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors
# and sanitizers, runs every CTest test (unit and end-to-end), and stops the
# servers that this run started.
#
#   scripts/test.sh [CTEST_ARGS...]      e.g. scripts/test.sh -L unit
#
# Environment:
#   CQLSHIFT_TEST_BUILD_DIR  build directory         (default build-test)
#   CQLSHIFT_TEST_TIMEOUT    whole ctest run, seconds (default 4500)
#   CQLSHIFT_TEST_JOBS       ctest parallelism        (default 2; e2e tests
#                            still run one at a time, they share a lock)
#   CQLSHIFT_RUN_DIR, CQLSHIFT_VENV, CQLSHIFT_CACHE   see scripts/deps.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
BUILD="${CQLSHIFT_TEST_BUILD_DIR:-build-test}"
TIMEOUT="${CQLSHIFT_TEST_TIMEOUT:-4500}"
JOBS="${CQLSHIFT_TEST_JOBS:-2}"
export CQLSHIFT_RUN_DIR="${CQLSHIFT_RUN_DIR:-/tmp/cqlshift-run}"
export CQLSHIFT_VENV="${CQLSHIFT_VENV:-$REPO/.venv}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

say() { printf '\n== %s\n' "$*"; }

say "dependencies"
bash scripts/deps.sh

say "configure ($BUILD)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCQLSHIFT_WERROR=ON -DCQLSHIFT_SANITIZE=ON \
  -DCQLSHIFT_RUN_DIR="$CQLSHIFT_RUN_DIR" -DCQLSHIFT_VENV="$CQLSHIFT_VENV" >/dev/null
BUILD_ABS="$(cd "$BUILD" && pwd)"
# Same tag as tests/e2e/e2e.cmake: the fixtures mark what this build started.
OWNER="ctest:$BUILD_ABS"

# shellcheck disable=SC2317  # called by the EXIT trap
stop_ours() {
  local rc=$?
  trap - EXIT INT TERM
  bash scripts/cassandra.sh stop --name main --owner "$OWNER" || true
  bash scripts/cassandra.sh stop --name secure --owner "$OWNER" || true
  bash scripts/postgres.sh stop --owner "$OWNER" || true
  bash scripts/mariadb.sh stop --owner "$OWNER" || true
  exit "$rc"
}
# On Ctrl-C or TERM, stop ctest too: `timeout` runs it in its own process
# group, which a terminal's Ctrl-C does not reach.
CTEST_PID=""
# shellcheck disable=SC2317  # called by the INT/TERM traps
interrupted() {
  if [[ -n "$CTEST_PID" ]]; then kill -TERM "$CTEST_PID" 2>/dev/null || true; wait "$CTEST_PID" || true; fi
  exit "$1"
}
trap stop_ours EXIT
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

say "build"
cmake --build "$BUILD"

# Three extra checks on the whole tree, skipped when ctest arguments narrow
# the run: unit tests under valgrind (a plain build: valgrind and ASan exclude
# each other), bounded libFuzzer runs of the wire decoders (a clang build),
# and ThreadSanitizer (a build of its own: TSan excludes ASan too): the unit
# tests there, and e2e.test_tsan_threads runs its cqlshift in the ctest run
# below (multi-worker load and migrate against the main ring).
if (($# == 0)); then
  say "valgrind (unit tests, plain build in $BUILD-vg)"
  cmake -S . -B "$BUILD-vg" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCQLSHIFT_WERROR=ON \
    -DCQLSHIFT_VALGRIND=ON -DCQLSHIFT_VENV="$CQLSHIFT_VENV" >/dev/null
  cmake --build "$BUILD-vg"
  ctest --test-dir "$BUILD-vg" -L valgrind --output-on-failure --parallel "$JOBS"

  say "fuzz (bounded libFuzzer runs, clang build in $BUILD-fuzz)"
  CC=clang CXX=clang++ cmake -S . -B "$BUILD-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCQLSHIFT_TESTS=OFF -DCQLSHIFT_FUZZ=ON >/dev/null
  cmake --build "$BUILD-fuzz"
  ctest --test-dir "$BUILD-fuzz" -L fuzz --output-on-failure

  say "ThreadSanitizer (unit tests, build in $BUILD-tsan)"
  cmake -S . -B "$BUILD-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCQLSHIFT_WERROR=ON \
    -DCQLSHIFT_TSAN=ON -DCQLSHIFT_VENV="$CQLSHIFT_VENV" >/dev/null
  cmake --build "$BUILD-tsan"
  ctest --test-dir "$BUILD-tsan" -L unit --output-on-failure --parallel "$JOBS"
  CQLSHIFT_TSAN_BUILD_DIR="$(cd "$BUILD-tsan" && pwd)"
  export CQLSHIFT_TSAN_BUILD_DIR
fi

say "test (ctest, at most ${TIMEOUT}s)"
LOG="$BUILD_ABS/ctest.log"
rc=0
timeout -k 30 "$TIMEOUT" ctest --test-dir "$BUILD" --output-on-failure --no-tests=error \
  --parallel "$JOBS" "$@" > >(tee "$LOG") 2>&1 &
CTEST_PID=$!
wait "$CTEST_PID" || rc=$?
CTEST_PID=""
wait # for tee
if ((rc == 124)); then echo "test.sh: ctest exceeded ${TIMEOUT}s and was stopped" >&2; fi

say "summary"
sed -n '/tests passed\|tests failed/,$p' "$LOG" | grep -v '^$' || true
exit "$rc"
