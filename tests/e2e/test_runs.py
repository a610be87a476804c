# fixtures: cassandra_main
"""Runs you can trust (issue 14): a resume gives exactly what an
uninterrupted run gives, whatever changed between the runs (other
--workers and batch options, rows added to the source), or is refused when
the input changed underneath; a forgotten --resume is refused instead of
starting over; Ctrl-C settles, saves and exits 5; every run has its own
folder; exit code 4 when rows were rejected. What landed is read back with
the Python driver."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import reject_rows, run_folder, run_folders, settled_rows, state_file

ROWS = 120_000


def value_of(i):
    return f"v{i}-" + "xyz"[i % 3] * (i % 23)


def cqlshift(build_dir, *args, cwd=None, timeout=900):
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


def start_and_stop(args, out, target, sig=signal.SIGKILL, cwd=None):
    """Run args; send sig once target rows are settled in the run's state.
    Returns (settled rows after the end, exit code, stderr)."""
    proc = subprocess.Popen([str(a) for a in args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    deadline = time.monotonic() + 300
    while settled_rows(state_file(out)) < target and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "finished before it could be stopped: " + proc.stderr.read()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    return settled_rows(state_file(out)), proc.returncode, err


def make_db(path, rows=ROWS):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                    ((i, value_of(i), i % 1000) for i in range(1, rows + 1)))
    con.commit()
    con.close()


def table_rows(py_session, ks, table="t"):
    return {r.id: (r.v, r.n) for r in py_session.execute(
        f"SELECT id, v, n FROM {ks}.{table}", timeout=120)}


def expected(ids):
    return {i: (value_of(i), i % 1000) for i in ids}


def sqlite_job(build_dir, tmp_path, main_hosts, py_session, ks):
    """A SQLite source of ROWS rows for a migrate into the new keyspace ks:
    (db path, out dir, the command's arguments)."""
    py_session.execute(f"DROP KEYSPACE {ks}")
    db = tmp_path / "src.db"
    make_db(db)
    out = tmp_path / "runs"
    return db, out, [build_dir / "cqlshift", "migrate", f"sqlite:{db}",
                     f"cassandra://{main_hosts[0]}/{ks}", "--out-dir", out]


def test_resume_with_other_workers_and_batches_is_exact(build_dir, tmp_path, main_hosts,
                                                        py_session, fresh_keyspace):
    """Killed with --workers 2, resumed with --workers 1 and other batch
    options: the ranges come from the state, so every row lands once, the
    summary's counts equal the source's, and the job is finished."""
    ks = fresh_keyspace
    _, out, base = sqlite_job(build_dir, tmp_path, main_hosts, py_session, ks)
    base.append("--quiet")
    settled, code, err = start_and_stop(base + ["--workers", "2", "--rate-limit", "20000"], out,
                                        30_000)
    assert code == -signal.SIGKILL and 0 < settled < ROWS, (code, err)
    report = tmp_path / "report.json"
    p = cqlshift(build_dir, *base[1:], "--resume", "--workers", "1", "--batch-rows", "77",
                 "--batch-max-rows", "3", "--report", report)
    assert p.returncode == 0, p.stderr
    t = json.loads(report.read_text())["tables"][0]
    assert t["read"] == t["written"] == t["source_rows"] == ROWS and t["ok"], t
    assert table_rows(py_session, ks) == expected(range(1, ROWS + 1))
    assert len(run_folders(out)) == 1
    # a finished job has nothing to resume
    p = cqlshift(build_dir, *base[1:], "--resume")
    assert p.returncode == 0 and "already finished" in p.stderr, p.stderr


def test_rows_added_to_the_source_between_runs(build_dir, tmp_path, main_hosts, py_session,
                                               fresh_keyspace):
    """Rows inserted into the SQLite source while the job is stopped: every
    row that existed when the job started lands, the new ones are outside
    the job's ranges, and the summary says so."""
    ks = fresh_keyspace
    db, out, base = sqlite_job(build_dir, tmp_path, main_hosts, py_session, ks)
    settled, code, err = start_and_stop(base + ["--quiet", "--rate-limit", "20000"], out, 20_000,
                                        sig=signal.SIGINT)
    assert 0 < settled < ROWS
    # interrupted: exit 5, and an unfinished table is no count mismatch
    assert code == 5 and "MISMATCH" not in err, (code, err)
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                    ((i, value_of(i), i % 1000) for i in range(ROWS + 1, ROWS + 251)))
    con.commit()
    con.close()
    # another --tables is another job: nothing of it to resume, and the
    # unfinished run is shown with the command that started it
    p = cqlshift(build_dir, *base[1:], "--resume", "--tables", "t")
    assert p.returncode == 2 and "nothing to resume" in p.stderr, p.stderr
    assert "unfinished run of another job" in p.stderr and "--rate-limit 20000" in p.stderr, \
        p.stderr
    p = cqlshift(build_dir, *base[1:], "--resume", "--workers", "3", "--report",
                 tmp_path / "r.json")
    assert p.returncode == 0, p.stderr
    assert "t: 250 rows were added to the source after this job was planned" in p.stderr, p.stderr
    t = json.loads((tmp_path / "r.json").read_text())["tables"][0]
    assert t["read"] == t["written"] == t["source_rows"] == ROWS, t
    assert table_rows(py_session, ks) == expected(range(1, ROWS + 1))


def test_rows_deleted_while_stopped_is_a_mismatch_every_time(build_dir, tmp_path, main_hosts,
                                                           py_session, fresh_keyspace):
    """Rows deleted from the job's ranges between runs: the resumed run
    reads fewer rows than the source held when the job was planned, which
    is a MISMATCH (exit 1), never "ok"; the job is not marked finished, so a
    second --resume says the same instead of "already finished"."""
    ks = fresh_keyspace
    db, out, base = sqlite_job(build_dir, tmp_path, main_hosts, py_session, ks)
    start_and_stop(base + ["--quiet", "--rate-limit", "20000"], out, 20_000)
    con = sqlite3.connect(db)
    con.execute(f"DELETE FROM t WHERE id > {ROWS - 100}")  # the last range: not read yet
    con.commit()
    con.close()
    for _ in range(2):
        p = cqlshift(build_dir, *base[1:], "--resume", "--report", tmp_path / "r.json")
        assert p.returncode == 1, p.stderr
        assert f"MISMATCH: table t: read {ROWS - 100} rows, but the source held {ROWS}" \
            in p.stderr, p.stderr
        t = json.loads((tmp_path / "r.json").read_text())["tables"][0]
        assert t["source_rows"] == ROWS and t["read"] == ROWS - 100 and not t["ok"], t


def test_a_second_run_of_a_running_job_is_refused(build_dir, tmp_path, main_hosts, py_session,
                                                  fresh_keyspace):
    """While a run of a job goes on, the same command (with --resume or
    --restart too) is refused; the first run is not disturbed."""
    ks = fresh_keyspace
    _, out, base = csv_job(build_dir, tmp_path, main_hosts, py_session, ks)
    proc = subprocess.Popen([str(a) for a in base + ["--rate-limit", "10000", "--quiet"]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while settled_rows(state_file(out)) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    for extra in ([], ["--resume"], ["--restart"]):
        p = cqlshift(build_dir, *base[1:], *extra)
        assert p.returncode == 2 and "is going on now" in p.stderr, (extra, p.stderr)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 5, err
    assert len(run_folders(out)) == 1


def make_csv(path, first, last):
    with open(path, "a") as f:
        if first == 1:
            f.write("id,v,n\n")
        for i in range(first, last + 1):
            f.write(f"{i},{value_of(i)},{i % 1000}\n")


def csv_job(build_dir, tmp_path, main_hosts, py_session, ks):
    """A CSV file of ROWS rows for a load into a new table ks.t: (file, out
    dir, the command's arguments)."""
    py_session.execute(f"CREATE TABLE {ks}.t (id bigint PRIMARY KEY, v text, n int)")
    data = tmp_path / "data.csv"
    make_csv(data, 1, ROWS)
    out = tmp_path / "runs"
    return data, out, [build_dir / "cqlshift", "load", data, f"cassandra://{main_hosts[0]}/{ks}",
                       "t", "--out-dir", out]


def test_forgotten_resume_and_changed_input_are_refused(build_dir, tmp_path, main_hosts,
                                                        py_session, fresh_keyspace):
    """Re-running over an unfinished job without --resume is refused (the
    progress is kept); a CSV file appended since the job started makes
    --resume refuse, naming the file and the original command; --restart
    gives the old run up (its files stay) and loads the new content in a
    new folder."""
    ks = fresh_keyspace
    data, out, base = csv_job(build_dir, tmp_path, main_hosts, py_session, ks)
    base.append("--quiet")
    settled, _, _ = start_and_stop(base + ["--rate-limit", "20000"], out, 20_000)
    first = run_folder(out)
    p = cqlshift(build_dir, *base[1:])
    assert p.returncode == 2, p.stderr
    assert "an unfinished run of this job exists" in p.stderr and "--resume" in p.stderr \
        and "--restart" in p.stderr and str(first.name) in p.stderr, p.stderr
    assert settled_rows(first / "state.db") == settled  # nothing was cleared

    make_csv(data, ROWS + 1, ROWS + 10)
    p = cqlshift(build_dir, *base[1:], "--resume")
    assert p.returncode == 2, p.stderr
    assert "cannot resume" in p.stderr and str(data) in p.stderr and "changed size" in p.stderr, \
        p.stderr
    assert "--rate-limit 20000" in p.stderr  # the command that started the job
    assert settled_rows(first / "state.db") == settled

    p = cqlshift(build_dir, *base[1:], "--restart")
    assert p.returncode == 0, p.stderr
    runs = run_folders(out)
    assert len(runs) == 2 and runs[0] == first and (first / "state.db").exists()
    con = sqlite3.connect(first / "state.db")
    assert con.execute("SELECT value FROM meta WHERE key = 'abandoned'").fetchone() == ("1",)
    con.close()
    assert table_rows(py_session, ks) == expected(range(1, ROWS + 11))


def test_sigint_settles_and_resume_finishes(build_dir, tmp_path, main_hosts, py_session,
                                            fresh_keyspace):
    """Ctrl-C (SIGINT) mid-load: the writes in flight settle, the progress
    is saved, the summary is printed with "interrupted: run the same command
    with --resume", exit 5; --resume then loads exactly the rest."""
    ks = fresh_keyspace
    _, out, base = csv_job(build_dir, tmp_path, main_hosts, py_session, ks)
    base += ["--rate-limit", "20000", "--progress-interval", "1"]
    settled, code, err = start_and_stop(base, out, 20_000, sig=signal.SIGINT)
    assert code == 5, err
    assert "interrupted: run the same command with --resume" in err, err
    assert "read" in err and "written" in err  # the summary
    assert 20_000 <= settled < ROWS
    # every settled row is in Cassandra; the interrupted run wrote no more
    # than it read
    assert len(table_rows(py_session, ks)) >= settled
    p = cqlshift(build_dir, *base[1:], "--resume", "--report", tmp_path / "r.json")
    assert p.returncode == 0, p.stderr
    t = json.loads((tmp_path / "r.json").read_text())["tables"][0]
    assert t["read"] == t["written"] == ROWS and t["rejected"] == 0, t
    assert table_rows(py_session, ks) == expected(range(1, ROWS + 1))


def test_own_folders_exit_4_and_preflight(build_dir, tmp_path, main_hosts, py_session,
                                          fresh_keyspace):
    """Two loads into two tables of one keyspace keep their own folders and
    rejects; rejected rows give exit code 4 (with -q too); a --report path
    that cannot be written is refused before anything is created."""
    ks = fresh_keyspace
    for t in ("a", "b"):
        py_session.execute(f"CREATE TABLE {ks}.{t} (id int PRIMARY KEY, v text)")
    fa = tmp_path / "a.csv"
    fa.write_text("id,v\n1,one\nx,bad\n3,three\n")
    fb = tmp_path / "b.csv"
    fb.write_text("id,v\n1,uno\n2,dos\nbad,otra\n")
    out = tmp_path / "runs"
    for f, t in ((fa, "a"), (fb, "b")):
        p = cqlshift(build_dir, "load", f, f"cassandra://{main_hosts[0]}/{ks}", t,
                     "--out-dir", out, "-q")
        assert p.returncode == 4, p.stderr
    runs = run_folders(out)
    assert len(runs) == 2 and runs[0].name.startswith("load-") and runs[0] != runs[1]
    by_table = {}
    for r in runs:
        for rej in r.glob("rejects-*.jsonl"):
            by_table[rej.name] = [json.loads(x) for x in rej.read_text().splitlines()]
        assert (r / "report.json").exists() and (r / "run.log").exists()
        log = (r / "run.log").read_text()
        assert "start: cqlshift load" in log and "end: exit 4" in log, log
        assert re.search(r"table [ab]: read 3, written 2, rejected 1", log), log
    assert [x["position"] for x in by_table["rejects-a.jsonl"]] == [3]
    assert [x["position"] for x in by_table["rejects-b.jsonl"]] == [4]
    assert {r.id: r.v for r in py_session.execute(f"SELECT id, v FROM {ks}.b")} == \
        {1: "uno", 2: "dos"}

    # pre-flight: nothing is created when the report cannot be written
    ks2 = ks + "_new"
    make_db(tmp_path / "x.db", rows=10)
    p = cqlshift(build_dir, "migrate", f"sqlite:{tmp_path / 'x.db'}",
                 f"cassandra://{main_hosts[0]}/{ks2}", "--out-dir", out,
                 "--report", tmp_path / "no" / "such" / "dir" / "r.json")
    assert p.returncode == 2 and "r.json" in p.stderr and "does not exist" in p.stderr, p.stderr
    assert py_session.execute("SELECT keyspace_name FROM system_schema.keyspaces WHERE "
                              "keyspace_name = %s", [ks2]).one() is None
    assert len(run_folders(out)) == 2


def test_help_and_a_port_that_is_not_cql(build_dir, tmp_path):
    """cqlshift help COMMAND shows the command's options with the exit
    codes; a port that answers with another protocol is named as such."""
    p = cqlshift(build_dir, "help", "migrate")
    assert p.returncode == 0 and "--tables" in p.stdout and "--out-dir" in p.stdout \
        and "5  interrupted" in p.stdout, p.stdout
    assert cqlshift(build_dir, "migrate", "--help").stdout == p.stdout

    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]

    def answer():
        srv.settimeout(30)
        try:
            c, _ = srv.accept()
            c.recv(200)
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            c.close()
        except OSError:
            pass
    th = threading.Thread(target=answer)
    th.start()
    f = tmp_path / "a.csv"
    f.write_text("id\n1\n")
    p = cqlshift(build_dir, "load", f, f"cassandra://127.0.0.1:{port}/ks?discovery=off", "t",
                 "--out-dir", tmp_path / "runs", timeout=60)
    th.join()
    srv.close()
    assert p.returncode == 1, p.stderr
    assert "not the CQL native protocol" in p.stderr and "HTTP/1.1" in p.stderr, p.stderr
