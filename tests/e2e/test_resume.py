# fixtures: cassandra_main
"""kill -9 during a 1,000,000-row load, then --resume: Cassandra holds
exactly the source rows, in count and content (read back with the Python
driver), and the counters reconcile."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import time

from cassandra.concurrent import execute_concurrent_with_args

ROWS = 1_000_000


def value_of(i):
    return f"row-{i}-" + "abcdefghij"[i % 10] * (i % 37)


def make_csv(path):
    with open(path, "w") as f:
        f.write("id,v,n\n")
        for i in range(ROWS):
            f.write(f"{i},{value_of(i)},{i % 1000}\n")


def settled_rows(state_path):
    try:
        con = sqlite3.connect(f"file:{state_path}?mode=ro", uri=True, timeout=1)
        n = con.execute("SELECT COALESCE(SUM(rows_written), 0) FROM ranges").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def test_kill_9_then_resume_loads_exactly_the_source(build_dir, tmp_path, main_hosts, py_session,
                                                      fresh_keyspace, count_rows):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.r (id bigint PRIMARY KEY, v text, n int)")
    data = tmp_path / "big.csv"
    make_csv(data)
    state = tmp_path / "state.db"
    args = [str(build_dir / "cqlshift"), "load", str(data), f"cassandra://{main_hosts[0]}/{ks}",
            "r", "--state", str(state), "--reject-file", str(tmp_path / "rej.jsonl"),
            "--progress-interval", "2"]
    target = random.Random().randint(100_000, 600_000)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900
    while settled_rows(state) < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the load finished before it could be killed: " + \
        proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = settled_rows(state)
    print(f"killed after {before} settled rows (target {target})")
    assert 0 < before < ROWS

    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report), "--quiet"],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr
    rep = json.loads(report.read_text())
    t = rep["tables"][0]
    assert t["read"] == ROWS and t["written"] == ROWS and t["rejected"] == 0, t
    assert count_rows(py_session, ks, "r", ["id"]) == ROWS

    # content: every row, compared in parallel token-range chunks
    prepared = py_session.prepare(f"SELECT id, v, n FROM {ks}.r WHERE token(id) > ? AND "
                                  "token(id) <= ?")
    bounds = [-(2**63)] + [int(-(2**63) + k * (2**64 // 256)) for k in range(1, 256)] + \
        [2**63 - 1]
    ranges = list(zip(bounds[:-1], bounds[1:]))
    seen = 0
    bad = []
    for ok, rows in execute_concurrent_with_args(py_session, prepared, ranges, concurrency=16):
        assert ok, rows
        for r in rows:
            seen += 1
            if r.v != value_of(r.id) or r.n != r.id % 1000:
                bad.append(r)
    # token(id) = -2^63 is never produced by Murmur3, so the ranges cover all rows
    assert seen == ROWS and bad == [], bad[:5]
