#!/usr/bin/env bash
# Request-shape sweep for cqlshift alone (issue 9, item 2): for each shape,
# load the same CSV into a fresh table on the bench node and report rows/s,
# write requests and Cassandra's CPU per row (from /proc of its pid).
#
#   bench/sweep.sh [CSV] [ROWS] [REPS]
#
# SHAPES=a,b,c runs only those shapes (their numbers in the list below,
# from 1). Each shape runs REPS times (default 3), round-robin; the table shows the
# median and the range of the server CPU per row (the figures are noisy on
# a 2-core machine where client and server share the cores).
#
# Default CSV: the harness's 1,000,000-row dataset (bench/run.sh makes it),
# cut to ROWS (default 300,000) rows. Needs a Release build in build-rel and
# the bench node (scripts/cassandra.sh start --name bench --nodes 1
# --ip-base 127.0.0.4). Prints a Markdown table.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CQLSHIFT_CACHE:-$HOME/.cache/cqlshift}"
SRC="${1:-$CACHE/bench-data/rows-1000000-seed-20261124/data.csv}"
ROWS="${2:-300000}"
REPS="${3:-3}"
BIN="$REPO/build-rel/cqlshift"
PY="$REPO/.venv/bin/python"
HOST=127.0.0.4
SPID="$(cat /tmp/cqlshift-run/cassandra-bench/node-1/pid)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
head -n "$((ROWS + 1))" "$SRC" > "$TMP/data.csv"
TICK="$(getconf CLK_TCK)"
cpu() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }

fresh_table() {
  "$PY" - "$1" <<'PY'
import sys
from cassandra.cluster import Cluster
ks = sys.argv[1]
c = Cluster(["127.0.0.4"]); s = c.connect()
s.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)
s.execute(f"CREATE KEYSPACE {ks} WITH replication = "
          "{'class': 'SimpleStrategy', 'replication_factor': 1}")
s.execute(f"CREATE TABLE {ks}.t (id uuid PRIMARY KEY, n bigint, i int, ts timestamp, "
          "short_text text, long_text text, amount decimal, score double, flag boolean, "
          "day date, tags set<text>)")
c.shutdown()
PY
}

SHAPE_NO=0
run() { # label uri-options cqlshift-options...
  local label="$1" uriopts="$2"; shift 2
  SHAPE_NO=$((SHAPE_NO + 1))
  if [[ -n "${SHAPES:-}" && ",$SHAPES," != *",$SHAPE_NO,"* ]]; then return; fi
  fresh_table sweep
  sleep 5 # let compaction and flushes from the previous shape settle
  local c0 c1
  c0="$(cpu)"
  /usr/bin/time -f "%U %S" -o "$TMP/time" "$BIN" load "$TMP/data.csv" \
    "cassandra://$HOST/sweep$uriopts" t --quiet --out-dir "$TMP/runs" \
    --restart --report "$TMP/report.json" "$@"
  c1="$(cpu)"
  rm -rf "$TMP"/runs
  python3 - "$label" "$c0" "$c1" "$TICK" "$TMP" <<'PY'
import json, sys
label, c0, c1, tick, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
t = json.load(open(f"{tmp}/report.json"))["tables"][0]
u, s = map(float, open(f"{tmp}/time").read().split())
assert t["written"] == t["read"] and t["rejected"] == 0, t
n = t["written"]
print(json.dumps({"label": label, "rows_per_s": t["rows_per_s"],
                  "requests": t["write_requests"], "server": (c1 - c0) / tick / n * 1e6,
                  "client": (u + s) / n * 1e6}))
PY
}
shapes() {
SHAPE_NO=0
run "default (auto: replica batches, 8 rows / 5 KiB)" ""
run "single-row EXECUTE" "" --batch-mode none
run "unlogged batch by replica, 4 rows" "" --batch-mode replica --batch-max-rows 4
run "unlogged batch by replica, 16 rows / 10 KiB (over the warning thresholds)" "" --batch-mode replica --batch-max-rows 16 --batch-max-bytes 10240
run "default, LZ4" "?lz4=on"
run "default, 2 connections" "?connections=2"
run "default, 256 in flight" "" --max-inflight 256
}
for rep in $(seq 1 "$REPS"); do shapes; done > "$TMP/results.jsonl"
python3 - "$TMP/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
order = list(dict.fromkeys(r["label"] for r in rows))
print("| shape | rows/s (median) | write requests | server CPU µs/row: median (min–max) | client CPU µs/row |")
print("|---|---:|---:|---:|---:|")
for label in order:
    rs = [r for r in rows if r["label"] == label]
    med = lambda k: statistics.median(r[k] for r in rs)
    sv = [r["server"] for r in rs]
    print(f"| {label} | {med('rows_per_s'):,.0f} | {rs[0]['requests']:,} | "
          f"{med('server'):.1f} ({min(sv):.1f}–{max(sv):.1f}) | {med('client'):.1f} |")
PY
