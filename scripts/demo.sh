#!/usr/bin/env bash
# The demo: install what is needed, build cqlshift, start a local Cassandra,
# migrate the bundled Chinook SQLite database into it with one command, and
# read a few rows back with the DataStax Python driver.
#
#   scripts/demo.sh            (the Cassandra cluster is left running;
#                               stop it with: scripts/cassandra.sh stop --name main)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
BUILD="${CQLSHIFT_DEMO_BUILD_DIR:-build-demo}"
export CQLSHIFT_RUN_DIR="${CQLSHIFT_RUN_DIR:-/tmp/cqlshift-run}"
export CQLSHIFT_VENV="${CQLSHIFT_VENV:-$REPO/.venv}"
DB="$REPO/datasets/chinook/Chinook_Sqlite.sqlite"
KS="${CQLSHIFT_DEMO_KEYSPACE:-chinook}"

say() { printf '\n== %s\n' "$*"; }

say "installing what the demo needs (Debian packages, Python driver, Cassandra jars)"
bash scripts/deps.sh

say "building cqlshift (release build in $BUILD)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCQLSHIFT_TESTS=OFF >/dev/null
cmake --build "$BUILD" >/dev/null
"$BUILD/cqlshift" --version

say "starting Cassandra 5.0 on 127.0.0.1 and 127.0.0.2"
bash scripts/cassandra.sh start --name main --nodes 2

say "cqlshift migrate sqlite:$DB cassandra://127.0.0.1/$KS"
workdir="$(mktemp -d)"
(cd "$workdir" && "$REPO/$BUILD/cqlshift" migrate "sqlite:$DB" "cassandra://127.0.0.1/$KS" \
   --report report.json)
echo "its run folder (state, rejects, report, log) is under $workdir/cqlshift-runs"

say "reading it back with the DataStax Python driver"
"$CQLSHIFT_VENV/bin/python" - "$KS" <<'PY'
import sys
from cassandra.cluster import Cluster
ks = sys.argv[1]
cluster = Cluster(["127.0.0.1"], protocol_version=5)
s = cluster.connect(ks)
print("tables:", ", ".join(sorted(cluster.metadata.keyspaces[ks].tables)))
print("\nSELECT * FROM artist WHERE artistid IN (1, 2, 3):")
for r in s.execute("SELECT artistid, name FROM artist WHERE artistid IN (1, 2, 3)"):
    print(f"  {r.artistid:>3}  {r.name}")
print("\nSELECT * FROM invoice WHERE invoiceid = 98:")
r = s.execute("SELECT invoiceid, customerid, invoicedate, billingcity, total FROM invoice "
              "WHERE invoiceid = 98").one()
print(f"  invoice {r.invoiceid}: customer {r.customerid}, {r.invoicedate:%Y-%m-%d}, "
      f"{r.billingcity}, total {r.total}")
print("\nTracks of playlist 3 (playlisttrack is keyed by playlistid, clustered by trackid):")
rows = list(s.execute("SELECT trackid FROM playlisttrack WHERE playlistid = 3 LIMIT 5"))
print("  first track ids:", [r.trackid for r in rows])
cluster.shutdown()
PY
echo
echo "Cassandra keeps running; stop it with: scripts/cassandra.sh stop --name main"
