# fixtures: cassandra_main
"""cqlshift unload TARGET TABLE -o FILE|DIR|-, end to end on the 2-node ring.

Every CQL type goes Cassandra -> file -> cqlshift load -> a twin table, and
the Python driver reads both tables: every value must be equal (float bits,
decimal scale, far dates, null apart from the empty text). A killed unload
goes on with --resume to exactly the bytes an uninterrupted one writes.
"""

import datetime
import decimal
import json
import os
import signal
import struct
import subprocess
import time
import uuid

import sqlite3

import pytest
from cassandra.util import Date, Duration, Time

from conftest import run_folders

from test_types_roundtrip import CASES, UDT, col_name

HANG_GUARD = 300


def cqlshift(build_dir, *args, cwd=None, input=None, timeout=HANG_GUARD):
    e = dict(os.environ)
    e.pop("CQLSHIFT_CASSANDRA_PASSWORD", None)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          cwd=cwd, env=e, timeout=timeout, input=input)


def norm(v):
    """A driver value in a form that compares exactly (float bits, decimal
    scale, sets and maps without order)."""
    if v is None or isinstance(v, (bool, str, bytes, uuid.UUID)):
        return (type(v).__name__, v)
    if isinstance(v, float):
        return ("float", struct.pack(">d", v))
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, decimal.Decimal):
        return ("dec", v.as_tuple())
    if isinstance(v, Date):
        return ("date", v.days_from_epoch)
    if isinstance(v, Time):
        return ("time", v.nanosecond_time)
    if isinstance(v, Duration):
        return ("dur", v.months, v.days, v.nanoseconds)
    if isinstance(v, datetime.datetime):
        return ("ts", v.isoformat())
    if isinstance(v, dict) or hasattr(v, "items"):
        return ("map", tuple(sorted((repr(norm(k)), repr(norm(x))) for k, x in v.items())))
    if isinstance(v, (set, frozenset)) or type(v).__name__ == "SortedSet":
        return ("set", tuple(sorted(repr(norm(x)) for x in v)))
    if isinstance(v, (list, tuple)):
        return ("seq", tuple(norm(x) for x in v))
    return ("other", repr(v))


def rows_of(s, ks, table, cols):
    sel = ", ".join(f"toUnixTimestamp({c}) AS {c}" if t == "timestamp" else c
                    for t, c in cols.items())
    return {r.id: {c: norm(getattr(r, c)) for c in cols.values()}
            for r in s.execute(f"SELECT id, {sel} FROM {ks}.{table}")}


@pytest.fixture
def typed(py_session, fresh_keyspace):
    """ks.t with a column per type of test_types_roundtrip's CASES and a row
    per edge value (the other columns null), an empty twin ks.t2, and the
    {type: column} map."""
    ks, s = fresh_keyspace, py_session
    s.execute(f"CREATE TYPE {ks}.{UDT} (street text, zip int)", timeout=60)
    cols = {t: col_name(t) for t in CASES}
    ddl = ", ".join(f"{c} {t}" for t, c in cols.items())
    for name in ("t", "t2"):
        s.execute(f"CREATE TABLE {ks}.{name} (id int PRIMARY KEY, {ddl})", timeout=60)
    rid = 0
    for t, vals in CASES.items():
        ins = s.prepare(f"INSERT INTO {ks}.t (id, {cols[t]}) VALUES (?, ?)")
        for py, _ in vals:
            rid += 1
            s.execute(ins, (rid, py))
    # a row with every column null, and one with every column set
    s.execute(f"INSERT INTO {ks}.t (id) VALUES (0)")
    full = [vals[-1][0] for vals in CASES.values()]
    s.execute(s.prepare(f"INSERT INTO {ks}.t (id, {', '.join(cols.values())}) VALUES "
                        f"(?, {', '.join('?' * len(cols))})"), [-1] + full)
    return ks, cols


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_type_round_trips_through_a_file(build_dir, tmp_path, main_hosts, py_session,
                                               typed, fmt):
    ks, cols = typed
    out = tmp_path / f"t.{fmt}"
    target = f"cassandra://{main_hosts[0]}/{ks}"
    p = cqlshift(build_dir, "unload", target, "t", "-o", out, "--out-dir", tmp_path / "runs",
                 "--report", tmp_path / "unload.json")
    assert p.returncode == 0, p.stderr.decode()
    rep = json.loads((tmp_path / "unload.json").read_text())
    want = rows_of(py_session, ks, "t", cols)
    assert rep["rows"] == len(want) and rep["files"] == 1
    assert out.exists() and not (tmp_path / f"t.{fmt}.cqlshift-part").exists()
    p = cqlshift(build_dir, "load", out, target, "t2", "--out-dir", tmp_path / "runs",
                 "--report", tmp_path / "load.json", "--quiet")
    assert p.returncode == 0, p.stderr.decode() + out.read_text()[:3000]
    got = rows_of(py_session, ks, "t2", cols)
    assert got.keys() == want.keys()
    bad = [(i, c, want[i][c], got[i][c]) for i in want for c in want[i] if want[i][c] != got[i][c]]
    assert not bad, bad[:10]


def test_null_and_empty_text_stay_apart_in_csv(build_dir, tmp_path, main_hosts, py_session,
                                               fresh_keyspace):
    ks, s = fresh_keyspace, py_session
    s.execute(f"CREATE TABLE {ks}.t (id int PRIMARY KEY, a text, b text, n int)")
    s.execute(f"INSERT INTO {ks}.t (id, a, b, n) VALUES (1, '', 'x', 5)")
    s.execute(f"INSERT INTO {ks}.t (id, b) VALUES (2, ' padded ')")
    s.execute(f"INSERT INTO {ks}.t (id, a, b) VALUES (3, 'a,b', 'say \"hi\"\nbye')")
    out = tmp_path / "t.csv"
    p = cqlshift(build_dir, "unload", f"cassandra://{main_hosts[0]}/{ks}", "t", "-o", out,
                 "--out-dir", tmp_path / "runs", "-q")
    assert p.returncode == 0, p.stderr.decode()
    lines = out.read_text().split("\n")
    assert lines[0] == "id,a,b,n"
    body = sorted(out.read_text().split("\n", 1)[1].splitlines(keepends=False))
    assert '1,"",x,5' in body             # empty text quoted, not null
    assert '2,," padded ",' in body       # null unquoted; blanks kept by quoting
    # the same through --null and stdout
    p = cqlshift(build_dir, "unload", f"cassandra://{main_hosts[0]}/{ks}", "t", "-o", "-",
                 "--null", "NULL", "--out-dir", tmp_path / "runs", "-q")
    assert p.returncode == 0, p.stderr.decode()
    assert b'2,NULL," padded ",NULL' in p.stdout
    # a text spelled like the null marker is quoted, and one starting with U+FEFF (which a
    # reader takes for a byte order mark at the start of a file): both load back as text
    s.execute(f"INSERT INTO {ks}.t (id, a, b) VALUES (4, 'NULL', '\ufeffx')")
    out = tmp_path / "n.csv"
    p = cqlshift(build_dir, "unload", f"cassandra://{main_hosts[0]}/{ks}", "t", "-o", out,
                 "--null", "NULL", "--no-header", "--out-dir", tmp_path / "runs", "-q")
    assert p.returncode == 0, p.stderr.decode()
    assert '4,"NULL","\ufeffx",NULL' in out.read_text(encoding="utf-8").splitlines()
    s.execute(f"CREATE TABLE {ks}.t2 (id int PRIMARY KEY, a text, b text, n int)")
    p = cqlshift(build_dir, "load", out, f"cassandra://{main_hosts[0]}/{ks}", "t2", "--null",
                 "NULL", "--no-header", "--columns", "id,a,b,n", "--out-dir", tmp_path / "runs",
                 "-q")
    assert p.returncode == 0, p.stderr.decode()
    def got(table):
        return sorted(tuple(r) for r in s.execute(f"SELECT id, a, b, n FROM {ks}.{table}"))
    assert got("t2") == got("t")


def make_big(build_dir, tmp_path, main_hosts, py_session, ks, n):
    py_session.execute(f"CREATE TABLE {ks}.big (k int, c int, v text, d double, "
                       f"PRIMARY KEY (k, c))", timeout=60)
    src = tmp_path / "big.csv"
    with src.open("w") as f:
        f.write("k,c,v,d\n")
        for i in range(n):
            f.write(f"{i % 5000},{i},\"row {i}, with a comma\",{i / 7}\n")
    p = cqlshift(build_dir, "load", src, f"cassandra://{main_hosts[0]}/{ks}", "big",
                 "--out-dir", tmp_path / "loadruns", "-q")
    assert p.returncode == 0, p.stderr.decode()


def saved_rows(out_dir):
    """The rows the newest run's state says are written (0 before its first
    checkpoint), read without disturbing the running unload."""
    runs = run_folders(out_dir)
    if not runs:
        return 0
    try:
        con = sqlite3.connect(f"file:{runs[-1] / 'state.db'}?mode=ro", uri=True, timeout=1)
        row = con.execute("SELECT value FROM meta WHERE key = 'unload.pos'").fetchone()
        con.close()
    except sqlite3.Error:
        return 0
    return int(row[0].split()[3]) if row else 0


def unpack(path):
    """The bytes of a file, decompressed by the system's own tools (gzip
    and zstd read concatenated members as one stream)."""
    name = str(path)
    if name.endswith(".gz"):
        return subprocess.run(["gzip", "-dc", name], capture_output=True, check=True).stdout
    if name.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", name], capture_output=True, check=True).stdout
    return path.read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.zst"])
def test_killed_unload_resumes_to_the_same_bytes(build_dir, tmp_path, main_hosts, py_session,
                                                 fresh_keyspace, suffix):
    ks = fresh_keyspace
    n = 200_000
    make_big(build_dir, tmp_path, main_hosts, py_session, ks, n)
    target = f"cassandra://{main_hosts[0]}/{ks}"
    whole = tmp_path / "whole.csv"
    p = cqlshift(build_dir, "unload", target, "big", "-o", whole, "--out-dir", tmp_path / "r1",
                 "-q", "--workers", "3")
    assert p.returncode == 0, p.stderr.decode()
    assert whole.read_text().count("\n") == n + 1

    out = tmp_path / f"killed{suffix}"
    part = tmp_path / f"killed{suffix}.cqlshift-part"
    args = [str(build_dir / "cqlshift"), "unload", target, "big", "-o", str(out), "--out-dir",
            str(tmp_path / "r2"), "-q", "--workers", "1", "--page-size", "200",
            "--rate-limit", "50k"]
    proc = subprocess.Popen(args)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        saved = saved_rows(tmp_path / "r2")
        if saved > n // 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the unload finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and part.exists()      # nothing looks complete
    # without --resume: refused, naming the unfinished run
    p = cqlshift(build_dir, "unload", target, "big", "-o", out, "--out-dir", tmp_path / "r2", "-q")
    assert p.returncode == 2 and b"--resume" in p.stderr
    p = cqlshift(build_dir, "unload", target, "big", "-o", out, "--out-dir", tmp_path / "r2",
                 "--resume", "--workers", "4", "--report", tmp_path / "resume.json")
    assert p.returncode == 0, p.stderr.decode()
    assert json.loads((tmp_path / "resume.json").read_text())["resumed"] is True
    assert unpack(out) == whole.read_bytes()
    assert not part.exists()
    if suffix != ".csv":     # compressed: smaller than the text
        assert out.stat().st_size < whole.stat().st_size // 2


def test_interrupt_then_resume(build_dir, tmp_path, main_hosts, py_session, fresh_keyspace):
    """SIGINT stops at the next page with exit code 5; --resume finishes."""
    ks = fresh_keyspace
    make_big(build_dir, tmp_path, main_hosts, py_session, ks, 60_000)
    target = f"cassandra://{main_hosts[0]}/{ks}"
    out = tmp_path / "o.jsonl"
    proc = subprocess.Popen([str(build_dir / "cqlshift"), "unload", target, "big", "-o", str(out),
                             "--out-dir", str(tmp_path / "r"), "-q", "--workers", "1",
                             "--page-size", "100", "--rate-limit", "20k"], stderr=subprocess.PIPE)
    part = tmp_path / "o.jsonl.cqlshift-part"
    deadline = time.time() + 60
    while time.time() < deadline and not (part.exists() and part.stat().st_size > 100_000):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 5, err.decode()
    assert b"--resume" in err
    p = cqlshift(build_dir, "unload", target, "big", "-o", out, "--out-dir", tmp_path / "r",
                 "--resume")
    assert p.returncode == 0, p.stderr.decode()
    lines = out.read_text().splitlines()
    assert len(lines) == 60_000
    keys = {(o["k"], o["c"]) for o in map(json.loads, lines)}
    assert len(keys) == 60_000


def test_directory_output_split_by_size_loads_back(build_dir, tmp_path, main_hosts, py_session,
                                                   fresh_keyspace):
    ks = fresh_keyspace
    n = 30_000
    make_big(build_dir, tmp_path, main_hosts, py_session, ks, n)
    target = f"cassandra://{main_hosts[0]}/{ks}"
    d = tmp_path / "parts"
    limit = 200_000
    p = cqlshift(build_dir, "unload", target, "big", "-o", f"{d}/", "--max-file-size", limit,
                 "--out-dir", tmp_path / "r", "-q", "--report", tmp_path / "rep.json")
    assert p.returncode == 0, p.stderr.decode()
    files = sorted(d.iterdir())
    assert len(files) == json.loads((tmp_path / "rep.json").read_text())["files"] > 3
    assert [f.name for f in files] == [f"big-{i:06d}.csv" for i in range(1, len(files) + 1)]
    total = 0
    for f in files:
        text = f.read_text()
        assert text.startswith("k,c,d,v\n")   # key, clustering, then by name
        rows = text.count("\n") - 1
        total += rows
        # a file ends after the row that reaches the limit: at most one row over
        assert f.stat().st_size < limit + 100
    assert total == n
    # the parts load back into a twin table: every row
    py_session.execute(f"CREATE TABLE {ks}.big2 (k int, c int, v text, d double, "
                       f"PRIMARY KEY (k, c))", timeout=60)
    p = cqlshift(build_dir, "load", d, target, "big2", "--out-dir", tmp_path / "lr", "-q")
    assert p.returncode == 0, p.stderr.decode()
    a = {tuple(r) for r in py_session.execute(f"SELECT k, c, v, d FROM {ks}.big")}
    b = {tuple(r) for r in py_session.execute(f"SELECT k, c, v, d FROM {ks}.big2")}
    assert len(a) == n and a == b
    # a new unload into the same folder with bigger files replaces the set:
    # no file of the first one is left to look like output
    p = cqlshift(build_dir, "unload", target, "big", "-o", f"{d}/", "--max-file-size",
                 limit * 100, "--out-dir", tmp_path / "r2", "-q")
    assert p.returncode == 0, p.stderr.decode()
    assert [f.name for f in sorted(d.iterdir())] == ["big-000001.csv"]
    assert (d / "big-000001.csv").read_text().count("\n") == n + 1


def test_columns_and_stdout(build_dir, tmp_path, main_hosts, py_session, fresh_keyspace):
    ks, s = fresh_keyspace, py_session
    s.execute(f"CREATE TABLE {ks}.t (id int, c int, v text, w int, PRIMARY KEY (id, c)) "
              f"WITH CLUSTERING ORDER BY (c DESC)")
    for i in range(50):
        s.execute(f"INSERT INTO {ks}.t (id, c, v, w) VALUES ({i % 3}, {i}, 'v{i}', {i * 2})")
    target = f"cassandra://{main_hosts[0]}/{ks}"
    p = cqlshift(build_dir, "unload", target, "t", "-o", "-", "--columns", "v,id",
                 "--format", "jsonl", "--out-dir", tmp_path / "r", "-q")
    assert p.returncode == 0, p.stderr.decode()
    got = sorted((o["id"], o["v"]) for o in map(json.loads, p.stdout.decode().splitlines()))
    assert got == sorted((i % 3, f"v{i}") for i in range(50))
    assert list(json.loads(p.stdout.decode().splitlines()[0]).keys()) == ["v", "id"]
    # default order: partition key, clustering, then the others by name
    p = cqlshift(build_dir, "unload", target, "t", "-o", "-", "--out-dir", tmp_path / "r", "-q")
    assert p.stdout.decode().splitlines()[0] == "id,c,v,w"
    # within a partition, rows come in clustering order (c DESC)
    rows = [list(map(int, line.split(",")[:2])) for line in p.stdout.decode().splitlines()[1:]]
    for pk in range(3):
        cs = [c for k, c in rows if k == pk]
        assert cs == sorted(cs, reverse=True)


def test_usage_errors_are_clear(build_dir, tmp_path, main_hosts, fresh_keyspace, py_session):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (id int PRIMARY KEY, v text)")
    target = f"cassandra://{main_hosts[0]}/{ks}"
    runs = tmp_path / "r"
    cases = [
        (["t"], 2, b"missing -o"),
        (["nope", "-o", tmp_path / "x.csv"], 1, b"does not exist"),
        (["t", "-o", tmp_path / "x.csv", "--max-file-size", "1000"], 2, b"directory"),
        (["t", "-o", "-", "--resume"], 2, b"standard output cannot be resumed"),
        (["t", "-o", tmp_path / "x.csv", "--columns", "id,zz"], 2, b"no column 'zz'"),
        (["t", "-o", tmp_path / "no" / "such" / "x.csv"], 2, b"does not exist"),
        (["t", "-o", tmp_path / "x.csv", "--delimiter", '"'], 2, b"two different characters"),
        (["t", "-o", tmp_path / "x.csv.gz", "--compression", "zstd"], 2, b"contradicts the name"),
    ]
    for args, code, msg in cases:
        p = cqlshift(build_dir, "unload", target, *args, "--out-dir", runs, "-q")
        assert p.returncode == code and msg in p.stderr, (args, p.returncode, p.stderr)
        assert len(p.stderr.decode().strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "x.csv").exists()


def test_query(build_dir, tmp_path, main_hosts, py_session, fresh_keyspace):
    """--query: with two token markers read in parallel ranges (every row
    once), without them read whole; a wrong query is a usage error."""
    ks = fresh_keyspace
    make_big(build_dir, tmp_path, main_hosts, py_session, ks, 20_000)
    target = f"cassandra://{main_hosts[0]}/{ks}"
    p = cqlshift(build_dir, "unload", target, "--query",
                 f"SELECT c, d FROM {ks}.big WHERE token(k) >= ? AND token(k) <= ?",
                 "-o", "-", "--out-dir", tmp_path / "r", "-q")
    assert p.returncode == 0, p.stderr.decode()
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "c,d" and sorted(int(x.split(",")[0]) for x in lines[1:]) == \
        list(range(20_000))
    p = cqlshift(build_dir, "unload", target, "--query",
                 f"SELECT k, c FROM {ks}.big WHERE k = 7", "-o", tmp_path / "k7.jsonl",
                 "--out-dir", tmp_path / "r", "-q")
    assert p.returncode == 0, p.stderr.decode()
    got = [json.loads(x) for x in (tmp_path / "k7.jsonl").read_text().splitlines()]
    assert sorted(o["c"] for o in got) == [7, 5007, 10007, 15007] and all(o["k"] == 7 for o in got)
    for q, msg in ((f"SELECT k FROM {ks}.big WHERE k = ?", b"1 bind markers"),
                   ("SELEC x", b"refuses the query")):
        p = cqlshift(build_dir, "unload", target, "--query", q, "-o", "-", "--out-dir",
                     tmp_path / "r", "-q")
        assert p.returncode == 2 and msg in p.stderr, p.stderr
