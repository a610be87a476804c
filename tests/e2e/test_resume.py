# fixtures: cassandra_main
"""kill -9 during a 1,000,000-row CSV load and during a three-table SQLite
migrate, then --resume: Cassandra holds exactly the source rows in count and
content (read back with the Python driver), and the counters reconcile."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import time

from cassandra.concurrent import execute_concurrent_with_args

from conftest import reject_rows, run_folders, settled_rows, state_file

ROWS = 1_000_000


def value_of(i):
    return f"row-{i}-" + "abcdefghij"[i % 10] * (i % 37)


def make_csv(path):
    with open(path, "w") as f:
        f.write("id,v,n\n")
        for i in range(ROWS):
            f.write(f"{i},{value_of(i)},{i % 1000}\n")


def run_and_kill(args, out, target, sig=signal.SIGKILL):
    """Start the command; send it `sig` (kill -9) once the state file of its
    run folder under `out` says `target` rows are settled. Returns the
    settled rows after it ended, and its exit code and stderr."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900
    while settled_rows(state_file(out)) < target and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the run finished before it could be killed: " + \
        proc.stderr.read().decode()
    os.kill(proc.pid, sig)
    err = proc.stderr.read().decode()
    proc.wait()
    settled = settled_rows(state_file(out))
    print(f"stopped by signal {sig} after {settled} settled rows (target {target})")
    return settled, proc.returncode, err


def test_kill_9_then_resume_loads_exactly_the_source(build_dir, tmp_path, main_hosts, py_session,
                                                      fresh_keyspace, count_rows):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.r (id bigint PRIMARY KEY, v text, n int)")
    data = tmp_path / "big.csv"
    make_csv(data)
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "load", str(data), f"cassandra://{main_hosts[0]}/{ks}",
            "r", "--out-dir", str(out), "--progress-interval", "2"]
    target = random.Random().randint(100_000, 600_000)
    before, _, _ = run_and_kill(args, out, target)
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
    # the resumed run wrote with the interrupted run's timestamp: rows from
    # both runs (low ids went first) carry one WRITETIME, as in one run
    stamps = {r.w for r in py_session.execute(
        f"SELECT WRITETIME(v) AS w FROM {ks}.r WHERE id IN ({','.join(map(str, range(0, ROWS, 997)))})")}
    assert len(stamps) == 1, stamps


def make_sqlite(path):
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, amount NUMERIC(10,2));
        CREATE TABLE b (g INTEGER, k INTEGER, v TEXT, PRIMARY KEY (g, k)) WITHOUT ROWID;
        CREATE TABLE c (v TEXT, n INTEGER);
    """)
    con.executemany("INSERT INTO a VALUES (?, ?, ?)",
                    ((i, value_of(i), i / 100) for i in range(250_000)))
    con.executemany("INSERT INTO b VALUES (?, ?, ?)",
                    ((i // 100, i % 100, value_of(i)) for i in range(100_000)))
    con.executemany("INSERT INTO c VALUES (?, ?)", ((value_of(i), i) for i in range(50_000)))
    con.commit()
    con.close()


def test_kill_9_during_sqlite_migrate_then_resume(build_dir, tmp_path, main_hosts, py_session,
                                                  fresh_keyspace):
    """migrate of three tables (rowid key, WITHOUT ROWID composite key, no
    key at all) killed mid-way, then --resume: every table holds exactly its
    rows, and the counts reconcile with nothing read twice."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    db = tmp_path / "src.db"
    make_sqlite(db)
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", f"sqlite:{db}",
            f"cassandra://{main_hosts[0]}/{ks}", "--out-dir", str(out), "--quiet"]
    target = random.Random().randint(30_000, 250_000)
    run_and_kill(args, out, target)

    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report)], capture_output=True,
                       text=True, timeout=1200)
    assert p.returncode == 0, p.stderr
    tables = {t["table"]: t for t in json.loads(report.read_text())["tables"]}
    for name, n in (("a", 250_000), ("b", 100_000), ("c", 50_000)):
        t = tables[name]
        assert t["read"] == t["written"] == n and t["rejected"] == 0, t

    got = {r.id: (r.v, r.amount) for r in py_session.execute(f"SELECT id, v, amount FROM {ks}.a")}
    assert len(got) == 250_000
    bad = [i for i in range(250_000)
           if got[i][0] != value_of(i) or float(got[i][1]) != i / 100]
    assert bad == [], bad[:5]
    got_b = {(r.g, r.k): r.v for r in py_session.execute(f"SELECT g, k, v FROM {ks}.b")}
    assert got_b == {(i // 100, i % 100): value_of(i) for i in range(100_000)}
    got_c = sorted((r.n, r.v) for r in py_session.execute(f"SELECT n, v FROM {ks}.c"))
    assert got_c == [(i, value_of(i)) for i in range(50_000)]
