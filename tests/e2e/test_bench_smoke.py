# fixtures: cassandra_main postgres mariadb
"""The benchmark harness of issue 9 (bench/run.py --smoke), end to end.

10,000 rows, one run of every tool: cqlshift load and migrate (the binary of
this build; migrate from SQLite, PostgreSQL and MariaDB copies of the table;
migrate of a plan that reads the SQLite table once and writes it into the
base table and two query tables, at default and at replica batches, and
three single-table plans run at once for comparison), DSBulk 1.10.0 at defaults and with replica-set batches, cqlsh
COPY FROM at defaults and tuned, and the hand-written Python-driver loader.
The harness counts the rows each run left in Cassandra with the Python
driver (by token ranges) and compares every sampled row value by value; this
test checks its results file for all nine tools. The timings are not
compared: they mean nothing at this size, on a node the other tests share.

bench/setup.sh installs the peer tools on first use (DSBulk's modules with
Maven, cqlsh and the bench venv with pip) into ~/.cache/cqlshift."""

import json
import os
import subprocess
from pathlib import Path

TOOLS = ["cqlshift-csv", "cqlshift-csv-gz", "dsbulk", "dsbulk-replicaset", "cqlsh-copy",
         "cqlsh-copy-tuned",
         "python-driver", "cqlshift-sqlite", "cqlshift-postgres", "cqlshift-mariadb",
         "cqlshift-plan3", "cqlshift-plan3-replica", "cqlshift-plan3-split"]
# read tools (issue 17): they read the table a load tool wrote
READ_TOOLS = ["cqlshift-verify", "cqlshift-verify-sqlite", "dsbulk-unload", "cqlshift-unload"]
FANOUT_TABLES = {"t": 10000, "t_by_day": 10000, "t_by_short_text": 10000}


def test_smoke_run_of_every_tool_loads_exact_rows_and_values(build_dir, source_dir, tmp_path):
    repo = Path(source_dir)
    cache = Path(os.environ.get("CQLSHIFT_CACHE", Path.home() / ".cache" / "cqlshift"))
    setup = subprocess.run(["bash", str(repo / "bench" / "setup.sh")], capture_output=True,
                           text=True, timeout=900)
    assert setup.returncode == 0, setup.stderr[-3000:]
    env = dict(os.environ, CQLSHIFT_BIN=str(build_dir / "cqlshift"), BENCH_CLUSTER="main")
    out = tmp_path / "out"
    p = subprocess.run([str(cache / "bench-venv" / "bin" / "python"), str(repo / "bench" / "run.py"),
                        "--smoke", "--out", str(out), "--doc", str(tmp_path / "smoke.md")],
                       capture_output=True, text=True, env=env, timeout=1500)
    assert p.returncode == 0, p.stderr[-5000:]
    results = [json.loads(line) for line in (out / "results-10000.jsonl").read_text().splitlines()]
    assert sorted(r["tool"] for r in results) == sorted(TOOLS + READ_TOOLS)
    for r in results:
        assert r["rc"] == 0, r
        assert r["count"] == 10000, r            # counted with the Python driver (verify:
        #                                          its target rows; unload: lines written)
        if r["tool"] in ("dsbulk-unload", "cqlshift-unload"):
            assert r["bad"] == 0 and r["client_cpu"] > 0 and r["wall"] > 0, r
            continue
        if r["tool"].startswith("cqlshift-verify"):  # source rows compared, all equal
            assert r["checked"] == 10000 and r["verify"]["equal"] == 10000, r
        assert r["checked"] >= 10000 and r["bad"] == 0, r
        assert r["client_cpu"] > 0 and r["wall"] > 0, r
        if r["tool"].startswith("cqlshift-plan3"):   # every table counted, 3 x 10,000 sampled
            assert r["tables"] == FANOUT_TABLES, r
            assert r["checked"] == 30000 and r["writes"] == 30000, r
    report = (tmp_path / "smoke.md").read_text()
    for label in ("cqlshift load (CSV)", "DSBulk 1.10.0 (defaults)", "cqlsh COPY FROM (tuned)",
                  "cqlshift migrate (SQLite)", "cqlshift migrate (PostgreSQL 15)",
                  "cqlshift migrate (MariaDB)", "cqlshift migrate plan: SQLite → 3 tables",
                  "## Fan-out: one source table, three target tables",
                  "## Verify: reading the table back (issue 17)"):
        assert label in report, label
