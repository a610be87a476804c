# fixtures: cassandra_main mariadb
"""cqlshift's threads under ThreadSanitizer, against the main ring.

scripts/test.sh (full run) builds cqlshift with -DCQLSHIFT_TSAN=ON in
<build>-tsan, runs the unit tests there, and sets CQLSHIFT_TSAN_BUILD_DIR
for this test: a four-worker CSV load with rejected rows, a three-table
SQLite migrate interrupted (SIGINT) mid-way and resumed, a four-worker
verify that repairs, a four-worker MariaDB migrate (key walks from both
ends and range counts on several connections), each with the progress display thread drawing. Any report of ThreadSanitizer fails the test
(halt_on_error: the first report ends the run). Without the variable (a
narrowed run: scripts/test.sh -R ...) the tests are skipped, saying so."""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import kill_when_settled, sqlite_migrate

TSAN_OPTIONS = "halt_on_error=1:second_deadlock_stack=1"


@pytest.fixture(scope="module")
def tsan_cqlshift():
    """The ThreadSanitizer build's cqlshift, or a skip that says why not."""
    skip_why = ("CQLSHIFT_TSAN_BUILD_DIR is not set: scripts/test.sh sets it after its "
                "ThreadSanitizer stage, which only a full run has")
    binary = Path(os.environ.get("CQLSHIFT_TSAN_BUILD_DIR") or pytest.skip(skip_why), "cqlshift")
    assert os.access(binary, os.X_OK), f"no ThreadSanitizer build of cqlshift at {binary}"
    return binary


def tsan_env():
    return dict(os.environ, TSAN_OPTIONS=TSAN_OPTIONS)


def no_race(stderr):
    assert "ThreadSanitizer" not in stderr, stderr[-20000:]


def test_load_four_workers(tsan_cqlshift, tmp_path, main_hosts, py_session, fresh_keyspace):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (id int PRIMARY KEY, name text, v double)")
    files = tmp_path / "in"
    files.mkdir()
    rows = bad = 0
    for f in range(4):
        with open(files / f"part{f}.csv", "w") as out:
            out.write("id,name,v\n")
            for i in range(f * 5000, (f + 1) * 5000):
                out.write(f"{i},name {i},{i / 4}\n")
                rows += 1
                if i % 1000 == 999:  # a row that cannot be an int: rejected
                    out.write(f"x{i},bad,0\n")
                    bad += 1
    report = tmp_path / "report.json"
    p = subprocess.run([str(tsan_cqlshift), "load", str(files), f"cassandra://{main_hosts[0]}/{ks}",
                        "t", "--workers", "4", "--batch-rows", "100", "--progress-interval", "0.2",
                        "--out-dir", str(tmp_path / "runs"), "--report", str(report)],
                       capture_output=True, text=True, timeout=600, env=tsan_env())
    no_race(p.stderr)
    assert p.returncode in (0, 4), p.stderr  # 4: finished with rejected rows
    t = json.loads(report.read_text())["tables"][0]
    assert (t["read"], t["written"], t["rejected"]) == (rows + bad, rows, bad), t
    assert py_session.execute(f"SELECT count(*) FROM {ks}.t").one()[0] == rows


def test_migrate_interrupted_and_resumed(tsan_cqlshift, tmp_path, main_hosts, py_session,
                                    fresh_keyspace):
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    sizes = {"a": 20_000, "b": 10_000, "c": 5_000}
    args, out = sqlite_migrate(tsan_cqlshift, tmp_path, main_hosts[0], ks, sizes, "--workers",
                                 "3", "--rate-limit", "10000", "--progress-interval", "0.2")
    # Ctrl-C: the workers settle what is in flight and the run ends (5)
    err = tmp_path / "first.err"
    with open(err, "w") as e:
        kill_when_settled(args, out, 8000, stderr=e, env=tsan_env(), sig=signal.SIGINT)
    no_race(err.read_text())
    assert "interrupted: run the same command with --resume" in err.read_text()

    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report)], capture_output=True,
                       text=True, timeout=600, env=tsan_env())
    no_race(p.stderr)
    assert p.returncode == 0, p.stderr
    tables = {t["table"]: t for t in json.loads(report.read_text())["tables"]}
    for name, n in sizes.items():
        assert tables[name]["read"] == tables[name]["written"] == n, tables[name]
        assert py_session.execute(f"SELECT count(*) FROM {ks}.{name}").one()[0] == n


def test_verify_repair_four_workers(tsan_cqlshift, tmp_path, main_hosts, py_session,
                                    fresh_keyspace):
    """verify with four workers finds a deleted, a changed and an extra row,
    repairs them (--repair --delete-extra, with the progress line on), and a
    second verify finds the target equal; no race reported."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    sizes = {"a": 20_000, "b": 3_000}
    args, out = sqlite_migrate(tsan_cqlshift, tmp_path, main_hosts[0], ks, sizes, "-q")
    p = subprocess.run(args, capture_output=True, text=True, timeout=600, env=tsan_env())
    no_race(p.stderr)
    assert p.returncode == 0, p.stderr
    py_session.execute(f"DELETE FROM {ks}.a WHERE id = 10")
    py_session.execute(f"UPDATE {ks}.a SET v = 'changed' WHERE id = 11")
    py_session.execute(f"INSERT INTO {ks}.b (id, v) VALUES (-1, 'extra')")
    verify = [str(tsan_cqlshift), "verify", args[2], args[3], "--workers", "4",
              "--progress-interval", "0.1", "--out-dir", str(tmp_path / "v")]
    p = subprocess.run(verify + ["--repair", "--delete-extra"], capture_output=True, text=True,
                       timeout=600, env=tsan_env())
    no_race(p.stderr)
    assert p.returncode == 0, p.stderr
    assert f"{ks}.a: missing in the target: (id=10)" in p.stdout
    assert f"{ks}.a: different: (id=11): v: source 'v11', target 'changed'" in p.stdout
    assert f"{ks}.b: extra in the target: (id=-1)" in p.stdout
    p = subprocess.run(verify, capture_output=True, text=True, timeout=600, env=tsan_env())
    no_race(p.stderr)
    assert p.returncode == 0, p.stderr
    rows = dict(py_session.execute(f"SELECT id, v FROM {ks}.a WHERE id IN (10, 11)"))
    assert rows == {10: "v10", 11: "v11"}
    assert py_session.execute(f"SELECT count(*) FROM {ks}.b").one()[0] == 3_000


def test_unload_four_workers_split_files(tsan_cqlshift, tmp_path, main_hosts, py_session,
                                         fresh_keyspace):
    """unload with four workers, small pages (ranges park, wait their turn,
    and are written by whichever worker finishes the head) and size-split
    files, with the progress line on: every row once, in the same bytes as
    one worker writes; no race reported."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    sizes = {"a": 20_000}
    args, out = sqlite_migrate(tsan_cqlshift, tmp_path, main_hosts[0], ks, sizes, "-q")
    p = subprocess.run(args, capture_output=True, text=True, timeout=600, env=tsan_env())
    no_race(p.stderr)
    assert p.returncode == 0, p.stderr
    outs = {}
    for w in (4, 1):
        d = tmp_path / f"u{w}"
        p = subprocess.run([str(tsan_cqlshift), "unload", args[3], "a", "-o", f"{d}/",
                            "--max-file-size", "50k", "--workers", str(w), "--page-size", "97",
                            "--progress-interval", "0.1", "--out-dir", str(tmp_path / "r")],
                           capture_output=True, text=True, timeout=600, env=tsan_env())
        no_race(p.stderr)
        assert p.returncode == 0, p.stderr
        outs[w] = [f.read_bytes() for f in sorted(d.iterdir())]
    assert len(outs[4]) > 3 and outs[4] == outs[1]
    assert sum(b.count(b"\n") - 1 for b in outs[4]) == 20_000


def test_mariadb_planning_threads(tsan_cqlshift, tmp_path, main_hosts, py_session,
                                  fresh_keyspace, mariadb_port):
    """A four-worker MariaDB migrate of a text-keyed table (its key walked
    from both ends at once) and an integer-keyed one (its ranges counted by
    several connections at once): every row once, no race reported."""
    import pymysql
    db = "tsan_" + fresh_keyspace[-8:]
    con = pymysql.connect(host="127.0.0.1", port=mariadb_port, user="root", autocommit=True)
    try:
        with con.cursor() as c:
            c.execute(f"CREATE DATABASE {db}")
            c.execute(f"USE {db}")     # the seq_ tables are in every database
            c.execute(f"CREATE TABLE {db}.tk (k varchar(20) PRIMARY KEY, v int)")
            c.execute(f"INSERT INTO {db}.tk SELECT CONCAT('k', seq), seq FROM seq_1_to_20000")
            c.execute(f"CREATE TABLE {db}.ik (id int PRIMARY KEY, v int)")
            c.execute(f"INSERT INTO {db}.ik SELECT seq, seq FROM seq_1_to_20000")
            c.execute(f"ANALYZE TABLE {db}.tk, {db}.ik")
        p = subprocess.run([str(tsan_cqlshift), "migrate",
                            f"mysql://root@127.0.0.1:{mariadb_port}/{db}",
                            f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--workers", "4",
                            "-q", "--out-dir", str(tmp_path / "runs")],
                           capture_output=True, text=True, timeout=600, env=tsan_env())
        no_race(p.stderr)
        assert p.returncode == 0, p.stderr
        for t in ("tk", "ik"):
            n = py_session.execute(f"SELECT count(*) FROM {fresh_keyspace}.{t}").one()[0]
            assert n == 20_000, t
    finally:
        with con.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS {db}")
        con.close()
