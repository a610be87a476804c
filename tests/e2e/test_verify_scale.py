# fixtures: cassandra_main postgres
"""verify at scale and on a live source: a 2,000,000-row table verified in
bounded memory, killed with kill -9 and resumed to the same result; and a
PostgreSQL source written to during verify, where --recheck reports only the
difference that persists. What landed is read with the Python driver and
psycopg, not with cqlshift."""

import json
import os
import re
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import run_folder, state_file
from test_migrate_postgres import pg_db  # noqa: F401 (a fixture)

ROWS = 2_000_000


def run(args, env=None, timeout=900):
    """Run args; (exit code, stdout, stderr)."""
    proc = subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def run_rss(args, env=None, timeout=900):
    """Run args and return (exit code, stdout, stderr, peak RSS in KiB),
    the RSS from wait4's rusage of this very child."""
    r, w = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.dup2(w2, 2)
        os.close(r)
        os.close(r2)
        os.execve(str(args[0]), [str(a) for a in args], {**os.environ, **(env or {})})
    os.close(w)
    os.close(w2)
    chunks = {r: [], r2: []}

    def drain(fd):
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks[fd].append(b)
        os.close(fd)

    ts = [threading.Thread(target=drain, args=(fd,)) for fd in (r, r2)]
    for t in ts:
        t.start()
    _, status, ru = os.wait4(pid, 0)
    for t in ts:
        t.join(timeout)
    code = os.waitstatus_to_exitcode(status)
    return (code, b"".join(chunks[r]).decode(), b"".join(chunks[r2]).decode(), ru.ru_maxrss)


def table_line(out, table):
    """The counts of `table` from verify's stdout line
    'ks.t: N source rows, M target rows: E equal, m missing, ...'."""
    for line in out.splitlines():
        if line.startswith(table + ": ") and " source rows, " in line:
            rest = line.split(": ", 1)[1]
            return {name: int(n) for n, name in
                    re.findall(r"(\d+) ([a-z][a-z -]*?)(?=[,;:(]|$)", rest)}
    raise AssertionError(f"no line for {table} in:\n{out}")


def differences(folder):
    rows = [json.loads(x) for x in (folder / "differences.jsonl").read_text().splitlines()]
    return [r for r in rows if r["type"] == "difference"]


@pytest.fixture(scope="module")
def big(build_dir, tmp_path_factory, main_hosts, py_session):
    """A 2,000,000-row SQLite table migrated into keyspace vscale."""
    d = tmp_path_factory.mktemp("vscale")
    db = d / "big.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT, n INTEGER)")
    con.executemany("INSERT INTO big VALUES (?, ?, ?)",
                    ((i, f"value {i}", i % 977) for i in range(ROWS)))
    con.commit()
    con.close()
    py_session.execute("DROP KEYSPACE IF EXISTS vscale")
    target = f"cassandra://{main_hosts[0]}/vscale"
    code, out, err = run([build_dir / "cqlshift", "migrate", f"sqlite:{db}", target, "-q",
                          "--out-dir", d / "runs"])
    assert code == 0, err
    yield db, target, d
    py_session.execute("DROP KEYSPACE IF EXISTS vscale")


def test_two_million_rows_bounded_memory_kill_and_resume(build_dir, big, py_session):
    db, target, d = big
    binary = build_dir / "cqlshift"
    # A small ASan quarantine, so resident memory reflects live memory only.
    env = {"ASAN_OPTIONS": "quarantine_size_mb=4:detect_leaks=1"}
    code, out, err, rss_kb = run_rss([binary, "verify", f"sqlite:{db}", target,
                                      "--out-dir", d / "v1"], env=env)
    print(f"verify of {ROWS} rows: peak RSS {rss_kb / 1024:.1f} MB")
    assert code == 0, err
    counts = table_line(out, "vscale.big")
    assert counts["source rows"] == ROWS and counts["target rows"] == ROWS
    assert counts["equal"] == ROWS and counts["missing"] == 0 and counts["different"] == 0
    assert rss_kb <= 100 * 1024, f"peak RSS {rss_kb} KiB"

    # Differences, then kill -9 in the middle of the comparison and resume.
    for i in (3, 1_000_001):
        py_session.execute("DELETE FROM vscale.big WHERE id = %s", (i,))
    upd = py_session.prepare("UPDATE vscale.big SET v = ? WHERE id = ?")
    py_session.execute(upd, ("changed", 1_500_000))
    args = [str(binary), "verify", f"sqlite:{db}", target, "--out-dir", str(d / "v2")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    saved = 0
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            con = sqlite3.connect(f"file:{state_file(d / 'v2')}?mode=ro", uri=True, timeout=1)
            saved = con.execute("SELECT count(*) FROM meta WHERE key LIKE 'verify.tgt.%'"
                                ).fetchone()[0]
            con.close()
        except sqlite3.Error:
            saved = 0
        if saved >= 40:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "verify ended before it could be killed"
    proc.kill()
    proc.wait()
    folder = run_folder(d / "v2")
    code, out, err = run([binary, "verify", f"sqlite:{db}", target, "--out-dir", d / "v2",
                          "--resume"])
    assert code == 3, err
    assert "(resuming)" in err
    assert run_folder(d / "v2") == folder
    counts = table_line(out, "vscale.big")
    assert counts["source rows"] == ROWS and counts["target rows"] == ROWS - 2
    assert counts["missing"] == 2 and counts["different"] == 1 and counts["extra"] == 0
    assert counts["equal"] == ROWS - 3
    diffs = sorted((x["kind"], x["key"]["id"], tuple(x["columns"])) for x in differences(folder))
    assert diffs == [("different", 1_500_000, ("v",)), ("missing", 3, ()),
                     ("missing", 1_000_001, ())]


def test_live_source_recheck(build_dir, pg_db, py_session, main_hosts, tmp_path):  # noqa: F811
    """Rows updated in the source before verify and in the target only once
    verify's first comparison is done (as a change stream would apply them):
    without --recheck they are reported; with it, only the real difference
    (a row deleted from the target) is."""
    uri, con = pg_db
    con.execute("CREATE TABLE item (id int PRIMARY KEY, name text, qty int)")
    con.execute("INSERT INTO item SELECT g, 'item ' || g, g % 50 FROM generate_series(1, 20000) g")
    py_session.execute("DROP KEYSPACE IF EXISTS vlive")
    target = f"cassandra://{main_hosts[0]}/vlive"
    binary = build_dir / "cqlshift"
    code, out, err = run([binary, "migrate", uri, target, "-q", "--out-dir", tmp_path / "m"])
    assert code == 0, err
    py_session.execute("DELETE FROM vlive.item WHERE id = 777")   # the real difference
    live = list(range(100, 20000, 400))                           # 50 rows written live
    upd = py_session.prepare("UPDATE vlive.item SET name = ? WHERE id = ?")

    def source_writes(tag):
        with con.transaction():
            for i in live:
                con.execute("UPDATE item SET name = %s WHERE id = %s", (f"{tag} {i}", i))

    def target_writes(tag):
        for i in live:
            py_session.execute(upd, (f"{tag} {i}", i))

    # Without --recheck: the rows the target has not caught up with differ.
    source_writes("first")
    code, out, err = run([binary, "verify", uri, target, "--out-dir", tmp_path / "v1"])
    assert code == 3, err
    counts = table_line(out, "vlive.item")
    assert counts["missing"] == 1 and counts["different"] == len(live)
    target_writes("first")

    # With --recheck: the target catches up while verify waits.
    source_writes("second")
    out_dir = tmp_path / "v2"
    proc = subprocess.Popen([str(binary), "verify", uri, target, "--recheck", "4",
                             "--out-dir", str(out_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # verify says when it has found the differences and waits to look again
    err_lines = []
    for line in proc.stderr:
        err_lines.append(line)
        if "looking again in" in line:
            break
    assert f"{len(live) + 1} keys differ" in err_lines[-1], err_lines
    target_writes("second")
    out = proc.stdout.read()
    err = "".join(err_lines) + proc.stderr.read()
    proc.wait(timeout=300)
    assert proc.returncode == 3, err
    counts = table_line(out, "vlive.item")
    assert counts["missing"] == 1 and counts["different"] == 0 and counts["extra"] == 0
    assert counts["gone on re-check"] == len(live), out
    diffs = differences(run_folder(out_dir))
    assert [(x["kind"], x["key"]) for x in diffs] == [("missing", {"id": 777})]
    # the target rows the writer updated are what psycopg reads in the source
    src = dict(con.execute("SELECT id, name FROM item WHERE id = ANY(%s)", (live,)).fetchall())
    got = {r.id: r.name for r in py_session.execute(
        "SELECT id, name FROM vlive.item WHERE id IN (%s)" % ",".join(map(str, live)))}
    assert got == src
    py_session.execute("DROP KEYSPACE IF EXISTS vlive")
