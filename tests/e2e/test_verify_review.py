# fixtures: cassandra_main postgres
"""verify, regressions found in review: rows the copy rejects for their
write time counted as rejected; a resume after the source's row estimate
changed (ANALYZE) reads the saved bucket sums with the bucket count they
were made with. What landed is read with the Python driver, not cqlshift."""

import os
import re
import signal
import sqlite3
import subprocess
import time
import uuid

import pytest

from conftest import run_folder, state_file
from test_migrate_postgres import pg_db  # noqa: F401 (a fixture)


def run(args, timeout=600):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def table_line(out, table):
    """The counts of `table` from verify's stdout line."""
    for line in out.splitlines():
        if line.startswith(table + ": ") and " source rows, " in line:
            rest = line.split(": ", 1)[1]
            return {name: int(n) for n, name in
                    re.findall(r"(\d+) ([a-z][a-z -]*?)(?=[,;:(]|$)", rest)}
    raise AssertionError(f"no line for {table} in:\n{out}")


@pytest.fixture
def rv_keyspace(py_session, request):
    name = "rv_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:20] + "_" + \
        uuid.uuid4().hex[:6]
    yield name
    py_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)


@pytest.fixture
def rv_pg(pg_db):  # noqa: F811
    """A fresh PostgreSQL database; (uri, autocommit connection)."""
    return pg_db


def test_writetime_rejects_are_rejected_not_equal(build_dir, tmp_path, main_hosts, rv_keyspace):
    """A null writetime makes the copy reject the row: verify counts it as
    rejected (not as a source row the target should hold, nor as equal)."""
    db = tmp_path / "a.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, upd INTEGER)")
    con.executemany("INSERT INTO item VALUES (?, ?, ?)",
                    [(i, f"n{i}", None if i % 50 == 0 else 1_600_000_000_000_000 + i)
                     for i in range(1, 201)])
    con.commit()
    con.close()
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"""version: 1
source: 'sqlite:{db}'
keyspace:
  name: {rv_keyspace}
tables:
  item:
    columns: {{id: int, name: text}}
    partition_key: [id]
mappings:
  - from: item
    to: item
    writetime: upd
    columns: {{id: id, name: name}}
""")
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}"
    rc, out, err = run([b, "migrate", plan, tgt, "--out-dir", tmp_path / "m", "-q"])
    assert rc == 4, err  # 4 rows rejected: null writetime
    rc, out, err = run([b, "verify", plan, tgt, "--out-dir", tmp_path / "v"])
    assert rc == 0, out + err
    c = table_line(out, f"{rv_keyspace}.item")
    assert (c["source rows"], c["target rows"], c["equal"], c["rejected"]) == (196, 196, 196, 4), out
    # a row deleted in the target now: its repair carries its own (older)
    # write time and loses, and the note says why it still differs
    from cassandra.cluster import Cluster
    cl = Cluster(main_hosts)
    cl.connect().execute(f"DELETE FROM {rv_keyspace}.item WHERE id = 3")
    cl.shutdown()
    rc, out, err = run([b, "verify", plan, tgt, "--out-dir", tmp_path / "v", "--repair"])
    assert rc == 3, out + err
    assert "(read again: still differs)" in out
    assert "each row's own write time" in err


def test_resume_after_the_row_estimate_changed(build_dir, tmp_path, main_hosts, rv_keyspace,
                                               rv_pg):
    """kill -9 during verify, ANALYZE (the row estimate goes from unknown to
    300,000, another bucket count), then --resume: the saved sums are read
    with the bucket count the job started with, and the result is right."""
    uri, con = rv_pg
    con.execute("CREATE TABLE t (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)")
    con.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 300000) g")
    assert con.execute("SELECT reltuples FROM pg_class WHERE relname = 't'").fetchone()[0] < 0
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}/{rv_keyspace}"
    rc, out, err = run([b, "migrate", uri, tgt, "--out-dir", tmp_path / "m", "-q"])
    assert rc == 0, err
    from cassandra.cluster import Cluster
    cl = Cluster(main_hosts)
    s = cl.connect()
    s.execute(f"DELETE FROM {rv_keyspace}.t WHERE id = 5")
    s.execute(f"UPDATE {rv_keyspace}.t SET v = 'zz' WHERE id = 7")
    cl.shutdown()
    out_dir = tmp_path / "v"
    args = [b, "verify", uri, tgt, "--out-dir", out_dir, "--workers", "1"]
    p = subprocess.Popen([str(a) for a in args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    saved = 0
    while time.monotonic() < deadline and p.poll() is None:
        try:
            st = sqlite3.connect(f"file:{state_file(out_dir)}?mode=ro", uri=True, timeout=1)
            saved = st.execute("SELECT count(*) FROM meta WHERE key LIKE 'verify.src.%'"
                               ).fetchone()[0]
            st.close()
        except sqlite3.Error:
            saved = 0
        if saved:
            break
        time.sleep(0.02)
    if p.poll() is not None:
        pytest.skip("verify finished before it could be killed")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert saved
    con.execute("ANALYZE t")
    rc, out, err = run([b, "verify", uri, tgt, "--out-dir", out_dir, "--workers", "2",
                        "--resume"])
    assert rc == 3, out + err
    assert "(resuming)" in err
    c = table_line(out, f"{rv_keyspace}.t")
    assert (c["source rows"], c["missing"], c["different"], c["equal"]) == \
        (300000, 1, 1, 299998), out
    assert run_folder(out_dir) is not None


def test_resume_after_the_end_says_what_the_run_found(build_dir, tmp_path, main_hosts,
                                                      rv_keyspace, py_session):
    """--resume after a verify that finished with differences exits 3 again
    (it exited 0: "nothing to resume"), and 0 after one that found none."""
    db = tmp_path / "a.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO item VALUES (?, ?)", [(i, f"n{i}") for i in range(1, 101)])
    con.commit()
    con.close()
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}/{rv_keyspace}"
    rc, out, err = run([b, "migrate", f"sqlite:{db}", tgt, "--out-dir", tmp_path / "m", "-q"])
    assert rc == 0, err
    args = [b, "verify", f"sqlite:{db}", tgt, "--out-dir", tmp_path / "v"]
    rc, out, err = run(args)
    assert rc == 0, out + err
    rc, out, err = run(args + ["--resume"])
    assert rc == 0, out + err
    py_session.execute(f'DELETE FROM {rv_keyspace}."item" WHERE "id" = 5')
    args[-1] = tmp_path / "v2"
    rc, out, err = run(args)
    assert rc == 3, out + err
    rc, out, err = run(args + ["--resume"])
    assert rc == 3, out + err
    assert "nothing to resume" in err and "differs" in err


def test_recheck_with_a_query_mapping(build_dir, tmp_path, main_hosts, rv_keyspace, py_session):
    """--recheck opens the source again: a plan's query mappings are added
    to it again (they were not: "split: unknown table", exit 1)."""
    db = tmp_path / "a.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, grp INTEGER)")
    con.executemany("INSERT INTO item VALUES (?, ?, ?)",
                    [(i, f"n{i}", i % 7) for i in range(1, 301)])
    con.commit()
    con.close()
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"""version: 1
source: 'sqlite:{db}'
keyspace:
  name: {rv_keyspace}
tables:
  item:
    columns: {{id: int, name: text}}
    partition_key: [id]
  by_grp:
    columns: {{grp: int, id: int, name: text}}
    partition_key: [grp]
    clustering: [id]
mappings:
  - from: item
    to: item
    columns: {{id: id, name: name}}
  - query: "SELECT grp, id, upper(name) AS name FROM item WHERE id > 10"
    to: by_grp
    columns: {{grp: grp, id: id, name: name}}
""")
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}"
    rc, out, err = run([b, "migrate", plan, tgt, "--out-dir", tmp_path / "m", "-q"])
    assert rc == 0, err
    py_session.execute(f"UPDATE {rv_keyspace}.by_grp SET name = 'x' WHERE grp = 3 AND id = 24")
    rc, out, err = run([b, "verify", plan, tgt, "--out-dir", tmp_path / "v", "--recheck",
                        "0.1"])
    assert rc == 3, out + err
    assert f"{rv_keyspace}.by_grp: different: (grp=3, id=24): name: source 'N24', target 'x'" \
        in out
    c = table_line(out, f"{rv_keyspace}.by_grp")
    assert (c["source rows"], c["equal"], c["different"], c["gone on re-check"]) == \
        (290, 289, 1, 0), out


def test_a_duplicate_key_missing_in_the_target_is_not_counted_twice(build_dir, tmp_path,
                                                                    main_hosts, rv_keyspace,
                                                                    py_session):
    """Two source rows map to key 1, which the target lacks: the key is a
    duplicate and missing, and the other keys still count as equal (one of
    them did not: its rows were taken off twice)."""
    db = tmp_path / "a.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, g INTEGER, n TEXT)")
    con.executemany("INSERT INTO item VALUES (?, ?, ?)",
                    [(1, 1, "a"), (2, 1, "b"), (3, 2, "c"), (4, 3, "d")])
    con.commit()
    con.close()
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"""version: 1
source: 'sqlite:{db}'
keyspace:
  name: {rv_keyspace}
tables:
  byg:
    columns: {{g: int, n: text}}
    partition_key: [g]
mappings:
  - from: item
    to: byg
    columns: {{g: g, n: n}}
""")
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}"
    rc, out, err = run([b, "migrate", plan, tgt, "--out-dir", tmp_path / "m", "-q"])
    assert rc == 0, err
    py_session.execute(f"DELETE FROM {rv_keyspace}.byg WHERE g = 1")
    rc, out, err = run([b, "verify", plan, tgt, "--out-dir", tmp_path / "v"])
    assert rc == 3, out + err
    c = table_line(out, f"{rv_keyspace}.byg")
    assert (c["source rows"], c["equal"], c["missing"], c["duplicate keys"]) == (4, 2, 1, 1), out


def test_standard_input_with_a_difference(build_dir, tmp_path, main_hosts, rv_keyspace,
                                          py_session):
    """verify - (standard input) that finds a differing token range exits 3
    and says the rows cannot be named (it failed, exit 1: "stdin can be read
    only once"); --repair with standard input is refused at once."""
    py_session.execute(f"CREATE KEYSPACE {rv_keyspace} WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    py_session.execute(f"CREATE TABLE {rv_keyspace}.t (id int PRIMARY KEY, name text)")
    data = "id,name\n" + "".join(f"{i},n{i}\n" for i in range(1, 101))
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}/{rv_keyspace}"
    p = subprocess.run([str(b), "load", "-", tgt, "t", "--out-dir", str(tmp_path / "l"), "-q"],
                       input=data, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    py_session.execute(f"DELETE FROM {rv_keyspace}.t WHERE id = 5")
    args = [str(b), "verify", "-", tgt, "t", "--out-dir", str(tmp_path / "v")]
    p = subprocess.run(args, input=data, capture_output=True, text=True)
    assert p.returncode == 3, p.stdout + p.stderr
    c = table_line(p.stdout, f"{rv_keyspace}.t")
    assert (c["source rows"], c["target rows"], c["missing"]) == (100, 99, 0), p.stdout
    assert c["equal"] < 100
    assert "standard input cannot be read again" in p.stdout
    p = subprocess.run(args + ["--repair"], input=data, capture_output=True, text=True)
    assert p.returncode == 2, p.stdout + p.stderr


def test_recheck_repair_checks_against_the_source_read_again(build_dir, tmp_path, main_hosts,
                                                             rv_keyspace, rv_pg, py_session):
    """--recheck --repair on a live source: a row that changed in the source
    during the wait is repaired with its new value; the repaired range is
    then checked against the source as read again, so it reads equal (it
    was checked against the first reading: "still differs", exit 3)."""
    uri, con = rv_pg
    con.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    con.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 3000) g")
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}/{rv_keyspace}"
    rc, out, err = run([b, "migrate", uri, tgt, "--out-dir", tmp_path / "m", "-q"])
    assert rc == 0, err
    py_session.execute(f"UPDATE {rv_keyspace}.t SET v = 'zz' WHERE id = 7")
    p = subprocess.Popen([str(b), "verify", uri, tgt, "--out-dir", str(tmp_path / "v"),
                          "--recheck", "2", "--repair"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "looking again" in line:
            con.execute("UPDATE t SET v = 'new7' WHERE id = 7")
            break
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, out + err
    assert "different: (id=7): v: source 'new7', target 'zz'" in out
    assert "(read again: equal)" in out
    assert py_session.execute(f"SELECT v FROM {rv_keyspace}.t WHERE id = 7").one().v == "new7"


def test_an_empty_partition_key_is_rejected_alone(build_dir, tmp_path, main_hosts, rv_keyspace,
                                                  py_session):
    """Cassandra refuses an empty partition key, and the whole batch holding
    it: the load rejects that row alone (it rejected its batch mates too),
    and verify counts it as rejected, not missing."""
    py_session.execute(f"CREATE KEYSPACE {rv_keyspace} WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    py_session.execute(f"CREATE TABLE {rv_keyspace}.tk (k text PRIMARY KEY, n int)")
    f = tmp_path / "tk.jsonl"
    f.write_text('{"k":"a","n":1}\n{"k":"","n":2}\n{"k":"c","n":3}\n')
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}/{rv_keyspace}"
    rc, out, err = run([b, "load", f, tgt, "tk", "--out-dir", tmp_path / "l", "-q"])
    assert rc == 4, err
    got = {r.k: r.n for r in py_session.execute(f"SELECT k, n FROM {rv_keyspace}.tk")}
    assert got == {"a": 1, "c": 3}
    rc, out, err = run([b, "verify", f, tgt, "tk", "--out-dir", tmp_path / "v"])
    assert rc == 0, out + err
    c = table_line(out, f"{rv_keyspace}.tk")
    assert (c["source rows"], c["equal"], c["missing"], c["rejected"]) == (2, 2, 0, 1), out


@pytest.mark.parametrize("key,names,ok,rejected", [
    ("k text PRIMARY KEY", ["k"], [("a" * 65535,), ("c",)], [("b" * 65536,)]),
    ("k1 text, k2 text, PRIMARY KEY ((k1, k2))", ["k1", "k2"],
     [("x" * 32765, "y" * 32764), ("c", "d")], [("x" * 65530, ""), ("x" * 40000, "y" * 40000)]),
    ("k int, c1 text, c2 text, PRIMARY KEY (k, c1, c2)", ["k", "c1", "c2"],
     [(1, "x" * 65535, ""), (2, "a", "b")], [(1, "x" * 40000, "y" * 40000)]),
], ids=["partition key", "composite partition key", "clustering columns"])
def test_a_key_longer_than_65535_bytes_is_rejected_alone(build_dir, tmp_path, main_hosts,
                                                         rv_keyspace, py_session, key, names,
                                                         ok, rejected):
    """Cassandra refuses a key longer than 65535 bytes (its batch with it):
    the load rejects that row alone and verify counts it as rejected; keys
    at the limit still load."""
    import json
    py_session.execute(f"CREATE KEYSPACE {rv_keyspace} WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    py_session.execute(f"CREATE TABLE {rv_keyspace}.t ({key}, n int)")
    rows = [{**dict(zip(names, v)), "n": i} for i, v in enumerate(ok + rejected)]
    f = tmp_path / "t.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}/{rv_keyspace}"
    rc, out, err = run([b, "load", f, tgt, "t", "--out-dir", tmp_path / "l", "-q"])
    assert rc == 4, err
    got = sorted(r.n for r in py_session.execute(f"SELECT n FROM {rv_keyspace}.t"))
    assert got == list(range(len(ok)))
    rc, out, err = run([b, "verify", f, tgt, "t", "--out-dir", tmp_path / "v"])
    assert rc == 0, out + err
    c = table_line(out, f"{rv_keyspace}.t")
    assert (c["equal"], c["missing"], c["rejected"]) == (len(ok), 0, len(rejected)), out
