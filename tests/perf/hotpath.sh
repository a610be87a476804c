#!/usr/bin/env bash
# Instructions per row of the loader's hot path (CSV parse + conversion of
# 11 typed values), counted by callgrind: deterministic, so a regression
# shows without machine noise. Two runs of different sizes cancel the
# startup cost. Fails if the count is above the ceiling in
# tests/perf/hotpath.ceiling (raise it only with a reason in the commit).
#
#   tests/perf/hotpath.sh HOTPATH_BINARY
set -euo pipefail
tool="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ceiling="$(tr -dc 0-9 < "$here/hotpath.ceiling")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
small=2000 big=22000
"$tool" gen "$tmp/small.csv" "$small"
"$tool" gen "$tmp/big.csv" "$big"
ir() {
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$tool" run "$1" \
    > "$tmp/run.out" 2> "$tmp/cg.err" || { cat "$tmp/run.out" "$tmp/cg.err" >&2; exit 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/cg.err"
}
a="$(ir "$tmp/small.csv")"
b="$(ir "$tmp/big.csv")"
per=$(( (b - a) / (big - small) ))
bytes=$(( $(stat -c %s "$tmp/big.csv") - $(stat -c %s "$tmp/small.csv") ))
echo "hot path: $per instructions per row (CSV parse + 11 conversions, $(( bytes / (big - small) )) bytes a row); ceiling $ceiling"
if (( per > ceiling )); then
  echo "hot path: above the ceiling; profile with: valgrind --tool=callgrind $tool run FILE" >&2
  exit 1
fi
