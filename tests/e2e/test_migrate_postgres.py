# fixtures: cassandra_main postgres
"""cqlshift migrate postgresql://... cassandra://HOST/KS, end to end.

Each test makes its own PostgreSQL database (dropped after), migrates it
with the real binary, and checks what landed with the DataStax Python
driver against what psycopg reads from PostgreSQL (never our own code on
either side):

- Chinook: every table, row and value.
- a type corpus: one row per edge value, each either landed exactly,
  reported before the copy, or rejected naming its column and the reason.
- snapshot consistency: a writer inserts, updates and deletes rows while 4
  workers copy; Cassandra holds exactly the content from before the writer.
- faults: kill -9 then --resume; the server terminating cqlshift's
  connections (the run stops with a clear error, exit 1) then --resume.
- connection errors: one sentence naming the redacted URI and the cause.
"""

import datetime
import decimal
import json
import math
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid

import psycopg
import pytest

from conftest import kill_when_settled, reject_rows, run_folder, settled_rows, state_file

CHINOOK_SQL = "datasets/chinook/Chinook_PostgreSql.sql"


def cqlshift(build_dir, *args, cwd=None, env=None, timeout=900):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=e, timeout=timeout)


def _replace_db(uri, db):
    scheme, rest = uri.split("://", 1)
    hostpart, _, tail = rest.partition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{scheme}://{hostpart}/{db}{query}"


@pytest.fixture
def pg_db(pg_uri, request):
    """A fresh PostgreSQL database; yields (uri, psycopg autocommit connection)."""
    name = "e2e_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:30] + "_" + \
        uuid.uuid4().hex[:6]
    with psycopg.connect(pg_uri, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    uri = _replace_db(pg_uri, name)
    con = psycopg.connect(uri, autocommit=True)
    yield uri, con
    con.close()
    with psycopg.connect(pg_uri, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def target(main_hosts, ks):
    return f"cassandra://{main_hosts[0]}/{ks}"


def pg_rows(con, table, cols, order):
    q = f'SELECT {", ".join(cols)} FROM {table} ORDER BY {order}'
    return con.execute(q).fetchall()


def cass_rows(session, ks, table, cols):
    q = f'SELECT {", ".join(cols)} FROM "{ks}"."{table}"'
    return list(session.execute(q, timeout=120))


# ---------------------------------------------------------------- Chinook

def load_chinook(source_dir, pg_uri, db):
    sql = source_dir / CHINOOK_SQL
    text = sql.read_text()
    text = text.replace("DROP DATABASE IF EXISTS chinook;", "")
    text = text.replace("CREATE DATABASE chinook;", "")
    text = text.replace("\\c chinook;", "")
    p = subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", _replace_db(pg_uri, db)],
                       input=text, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr


def py_value(v):
    """A psycopg value as the Python driver returns the migrated one."""
    return v


def test_migrate_chinook_every_value(build_dir, source_dir, pg_uri, pg_db, py_session,
                                     fresh_keyspace, tmp_path, main_hosts):
    uri, con = pg_db
    load_chinook(source_dir, pg_uri, uri.rsplit("/", 1)[1].split("?")[0])
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")   # migrate creates it
    report = tmp_path / "report.json"
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--workers", "4",
                 "--report", report, "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert_chinook_landed(con, py_session, ks)


def assert_chinook_landed(con, py_session, ks):
    """Every Chinook table, row and value of PostgreSQL (psycopg) in keyspace
    ks (the Python driver)."""
    tables = [r[0] for r in con.execute(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'odd' ORDER BY 1")]
    assert len(tables) == 11
    for t in tables:
        cols = [r[0] for r in con.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum", (t,))]
        pk = [r[0] for r in con.execute(
            "SELECT a.attname FROM pg_constraint k, unnest(k.conkey) WITH ORDINALITY u(n, o), "
            "pg_attribute a WHERE k.conrelid = %s::regclass AND k.contype = 'p' "
            "AND a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o", (t,))]
        src = {tuple(r[cols.index(k)] for k in pk): r for r in pg_rows(con, t, cols, "1")}
        got = {tuple(getattr(r, k) for k in pk): r for r in cass_rows(py_session, ks, t, cols)}
        assert len(got) == len(src) > 0, t
        for key, row in src.items():
            have = got[key]
            for c, v in zip(cols, row):
                assert getattr(have, c) == py_value(v), (t, key, c, v, getattr(have, c))


def test_backup_of_the_database_restores_into_cassandra(build_dir, source_dir, pg_uri, pg_db,
                                                        py_session, tmp_path, main_hosts):
    """backup postgresql://... -o DIR writes the schema migrate would create
    and each table's rows of one snapshot; restore loads it into a keyspace
    where every Chinook table, row and value equals PostgreSQL's. A value
    that cannot be converted rejects its row, named in the run folder, and
    the backup exits 4."""
    uri, con = pg_db
    load_chinook(source_dir, pg_uri, uri.rsplit("/", 1)[1].split("?")[0])
    con.execute("CREATE TABLE odd (id int PRIMARY KEY, n numeric)")
    con.execute("INSERT INTO odd VALUES (1, 1.5), (2, 'NaN'), (3, -7)")
    out = tmp_path / "bk"
    p = cqlshift(build_dir, "backup", uri, "-o", out, "-k", "chinook_bk", "--compression",
                 "gzip", "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode == 4, p.stderr
    assert "1 rows rejected" in p.stderr, p.stderr
    rej = [json.loads(line) for f in (tmp_path / "runs").rglob("rejects-odd.jsonl")
           for line in f.read_text().splitlines()]
    assert len(rej) == 1 and rej[0]["row"] is not None and rej[0]["column"] == "n", rej
    assert "NaN" in rej[0]["reason"], rej
    man = json.loads((out / "manifest.json").read_text())
    assert man["keyspace"] == "chinook_bk" and man["source"].startswith("postgres")
    entries = {e["name"]: e for e in man["tables"]}
    assert entries["odd"]["rows"] == 2 and entries["odd"]["rejected"] == 1
    assert entries["track"]["rows"] == 3503 and entries["track"]["file"] == "track.csv.gz"
    assert "CREATE KEYSPACE IF NOT EXISTS chinook_bk" in (out / "schema.cql").read_text()
    ks = "bk_restored_" + uuid.uuid4().hex[:6]
    try:
        p = cqlshift(build_dir, "restore", out, target(main_hosts, ks), "--out-dir",
                     tmp_path / "r", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert "verified equal" in p.stderr, p.stderr
        assert_chinook_landed(con, py_session, ks)
        odd = {r.id: r.n for r in py_session.execute(f"SELECT id, n FROM {ks}.odd")}
        assert odd == {1: D("1.5"), 3: D("-7")}
        # into the same keyspace again: its tables exist, so nothing is merged into them
        p = cqlshift(build_dir, "restore", out, target(main_hosts, ks), "--out-dir",
                     tmp_path / "r2", cwd=tmp_path)
        assert p.returncode == 2 and "already has tables" in p.stderr, p.stderr
        # no keyspace in the target: the backup's own (chinook_bk)
        p = cqlshift(build_dir, "restore", out, f"cassandra://{main_hosts[0]}", "--tables",
                     "odd", "--out-dir", tmp_path / "r3", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        odd = {r.id: r.n for r in py_session.execute("SELECT id, n FROM chinook_bk.odd")}
        assert odd == {1: D("1.5"), 3: D("-7")}
    finally:
        py_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
        py_session.execute("DROP KEYSPACE IF EXISTS chinook_bk", timeout=60)


def test_resumed_backup_refuses_a_changed_schema(build_dir, pg_db, tmp_path):
    """A backup killed with -9 resumes only against the schema its first
    run wrote: a column added in between is refused (the files written so
    far would not match schema.cql); once the column is gone it resumes and
    the manifest counts every row once."""
    uri, con = pg_db
    make_big(con, 300_000)
    out = tmp_path / "bk"
    args = [str(build_dir / "cqlshift"), "backup", uri, "-o", str(out), "-k", "bk_changed",
            "--workers", "1", "--out-dir", str(tmp_path / "runs"), "-q"]
    proc = subprocess.Popen(args)
    part = out / "big.csv.cqlshift-part"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and \
            not (part.exists() and part.stat().st_size > 100_000):
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    assert not (out / "manifest.json").exists()
    con.execute("ALTER TABLE big ADD COLUMN extra int")
    p = cqlshift(build_dir, *args[1:], "--resume")
    assert p.returncode == 2 and "changed since this backup began" in p.stderr, p.stderr
    con.execute("ALTER TABLE big DROP COLUMN extra")
    p = cqlshift(build_dir, *args[1:], "--resume")
    assert p.returncode == 0, p.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert [(e["name"], e["rows"]) for e in man["tables"]] == [("big", 300_000)]


# ------------------------------------------------------------ type corpus

def ms(pg_con, literal, typ):
    """Milliseconds since 1970 of a timestamp literal, computed by PostgreSQL."""
    return int(pg_con.execute(
        f"SELECT (extract(epoch FROM %s::{typ}) * 1000)::numeric(30,0)", (literal,)
    ).fetchone()[0])


def days(pg_con, literal):
    return pg_con.execute("SELECT %s::date - date '1970-01-01'", (literal,)).fetchone()[0]


D = decimal.Decimal
NAN = object()          # a float NaN
NEG0 = object()         # -0.0 exactly


def REJ(reason):
    return ("reject", reason)


# (column, type, [(literal, expected)]): expected is the Python driver's
# value, a callable(pg_con) giving it, or REJ(part of the reason).
CORPUS = [
    ("c_int2", "smallint", [("-32768", -32768), ("32767", 32767), ("0", 0)]),
    ("c_int4", "integer", [("-2147483648", -2147483648), ("2147483647", 2147483647)]),
    ("c_int8", "bigint", [("-9223372036854775808", -9223372036854775808),
                          ("9223372036854775807", 9223372036854775807)]),
    ("c_num", "numeric", [
        ("123456789012345678901234567890.123456789", D("123456789012345678901234567890.123456789")),
        ("-0.000000000000000000000000000001", D("-0.000000000000000000000000000001")),
        ("100000000", D("100000000")), ("0", D("0")), ("1.10", D("1.10")),
        ("NaN", REJ("NaN")), ("Infinity", REJ("Infinity")), ("-Infinity", REJ("Infinity"))]),
    ("c_num102", "numeric(10,2)", [("-12345678.90", D("-12345678.90")), ("0", D("0.00")),
                                   ("NaN", REJ("NaN"))]),
    ("c_real", "real", [("1.5", 1.5), ("3.4028235e38", 3.4028234663852886e38),
                        ("1e-45", 1.401298464324817e-45), ("NaN", NAN),
                        ("Infinity", math.inf), ("-Infinity", -math.inf), ("-0", NEG0)]),
    ("c_double", "double precision", [
        ("0.1", 0.1), ("1e308", 1e308), ("5e-324", 5e-324), ("-0", NEG0), ("NaN", NAN),
        ("Infinity", math.inf), ("-Infinity", -math.inf)]),
    ("c_bool", "boolean", [("true", True), ("false", False)]),
    ("c_text", "text", [("héllo ✓ 日本 🎉", "héllo ✓ 日本 🎉"), ("", ""),
                        ("tab\tnew\nline\\back", "tab\tnew\nline\\back")]),
    ("c_varchar", "varchar(20)", [("abc", "abc")]),
    ("c_char", "char(5)", [("ab", "ab   "), ("abcde", "abcde")]),
    ("c_bytea", "bytea", [("\\x00ff10", b"\x00\xff\x10"), ("\\x", b"")]),
    ("c_uuid", "uuid", [("123e4567-e89b-12d3-a456-426614174000",
                         uuid.UUID("123e4567-e89b-12d3-a456-426614174000"))]),
    ("c_date", "date", [("2024-02-29", lambda c: days(c, "2024-02-29")),
                        ("0044-03-15 BC", lambda c: days(c, "0044-03-15 BC")),
                        ("4713-01-01 BC", lambda c: days(c, "4713-01-01 BC")),
                        ("5874897-12-31", lambda c: days(c, "5874897-12-31")),
                        ("infinity", REJ("infinity")), ("-infinity", REJ("infinity"))]),
    ("c_ts", "timestamp", [
        ("2024-01-02 03:04:05.678", lambda c: ms(c, "2024-01-02 03:04:05.678", "timestamp")),
        ("1900-01-01 00:00:00", lambda c: ms(c, "1900-01-01 00:00:00", "timestamp")),
        ("0100-01-01 00:00:00 BC", lambda c: ms(c, "0100-01-01 00:00:00 BC", "timestamp")),
        ("2024-01-02 03:04:05.123456", REJ("millisecond")),
        ("294270-01-01 00:00:00", REJ("after 294247-01-10")),
        ("infinity", REJ("infinity")), ("-infinity", REJ("infinity"))]),
    ("c_tstz", "timestamptz", [
        ("2024-01-02 03:04:05.678+02", lambda c: ms(c, "2024-01-02 03:04:05.678+02",
                                                    "timestamptz")),
        ("infinity", REJ("infinity"))]),
    ("c_ts3", "timestamp(3)", [("1970-01-01 00:00:00.001", 1)]),
    ("c_time", "time", [("23:59:59.999999", 86399999999000), ("00:00:00", 0),
                        ("24:00:00", REJ("c_time"))]),
    ("c_interval", "interval", [
        ("1 year 2 months 3 days 04:05:06.789", (14, 3, 14706789000000)),
        ("-1 year -2 days -00:00:01", (-12, -2, -1000000000)),
        ("0", (0, 0, 0)),
        ("1 mon -1 day", REJ("sign"))]),
    ("c_inet", "inet", [("192.168.1.1", "192.168.1.1"), ("2001:db8::1", "2001:db8::1"),
                        ("10.1.2.3/16", REJ("prefix"))]),
    ("c_json", "json", [('{"b": 1, "a": [1,2]}', '{"b": 1, "a": [1,2]}'), ("null", "null")]),
    ("c_jsonb", "jsonb", [('{"b": 1, "a": [1,2]}', '{"a": [1, 2], "b": 1}')]),
    ("c_money", "money", [("12.34", D("12.34")), ("-0.01", D("-0.01"))]),
    # no CQL counterpart: PostgreSQL's text form (reported before the copy)
    ("c_timetz", "timetz", [("12:00+05", "12:00:00+05")]),
    ("c_cidr", "cidr", [("10.0.0.0/8", "10.0.0.0/8")]),
    ("c_macaddr", "macaddr", [("08:00:2b:01:02:03", "08:00:2b:01:02:03")]),
    ("c_bit", "bit(4)", [("1010", "1010")]),
    ("c_varbit", "varbit", [("101", "101"), ("", "")]),
    ("c_tsvector", "tsvector", [("a fat cat", "'a' 'cat' 'fat'")]),
    ("c_pair", "pair", [('(1,"x y")', '(1,"x y")')]),
    ("c_range", "int4range", [("[1,5)", "[1,5)"), ("empty", "empty")]),
    # arrays
    ("c_int_arr", "int[]", [("{1,2,3}", [1, 2, 3]), ("{}", None), ("{1,NULL,3}", REJ("c_int_arr")),
                            ("[0:1]={5,6}", REJ("lower bound")),
                            ("{{1,2}}", REJ("dimension"))]),
    ("c_int_arr2", "int[][]", [("{{1,2},{3,4}}", [[1, 2], [3, 4]])]),
    ("c_text_arr", "text[]", [('{"x","y z",""}', ["x", "y z", ""])]),
    ("c_date_arr", "date[]", [("{infinity}", REJ("infinity"))]),
    ("c_num_arr", "numeric[]", [("{1.5,-2,1e-20}", [D("1.5"), D("-2"), D("0.00000000000000000001")]),
                                ("{NaN}", REJ("NaN"))]),
    ("c_ts_arr", "timestamp[]", [("{\"2024-01-01 00:00:00.5\"}",
                                  [datetime.datetime(2024, 1, 1, 0, 0, 0, 500000)])]),
    ("c_uuid_arr", "uuid[]", [("{123e4567-e89b-12d3-a456-426614174000}",
                               [uuid.UUID("123e4567-e89b-12d3-a456-426614174000")])]),
    ("c_cidr_arr", "cidr[]", [("{10.0.0.0/8}", ["10.0.0.0/8"])]),
    ("c_pair_arr", "pair[]", [('{"(1,x)","(2,\\"y z\\")"}', ["(1,x)", '(2,"y z")'])]),
    ("c_money_arr", "money[]", [("{12.50}", [D("12.50")])]),
    ("c_range_arr", "int4range[]", [('{"[1,2)"}', ["[1,2)"])]),
    ("c_bool_arr", "boolean[]", [("{t,f}", [True, False])]),
    ("c_inet_arr", "inet[]", [("{::1,10.0.0.1}", ["::1", "10.0.0.1"]),
                              ("{10.0.0.0/8}", REJ("prefix"))]),
    ("c_xml", "xml", [("<a>x</a>", "<a>x</a>")]),
    ("c_macaddr8", "macaddr8", [("08:00:2b:01:02:03:04:05", "08:00:2b:01:02:03:04:05")]),
    ("c_char1", '"char"', [("a", "a")]),
    # enums and domains
    ("c_mood", "mood", [("happy", "happy")]),
    ("c_mood_arr", "mood[]", [("{sad,ok}", ["sad", "ok"])]),
    ("c_posint", "posint", [("5", 5)]),
    ("c_short", "short_text", [("short", "short")]),
]

# columns the model must report before the copy (a note naming them)
REPORTED = ["c_char", "c_money", "c_jsonb", "c_timetz", "c_cidr", "c_macaddr", "c_bit",
            "c_varbit", "c_tsvector", "c_pair", "c_range", "c_inet", "c_date", "c_ts",
            "c_interval", "c_int_arr"]


def test_type_corpus(build_dir, pg_db, py_session, fresh_keyspace, tmp_path, main_hosts):
    uri, con = pg_db
    con.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    con.execute("CREATE DOMAIN posint AS integer CHECK (VALUE > 0)")
    con.execute("CREATE DOMAIN short_text AS varchar(10)")
    con.execute("CREATE TYPE pair AS (a int, b text)")
    cols = ", ".join(f"{c} {t}" for c, t, _ in CORPUS)
    con.execute(f"CREATE TABLE corpus (id int PRIMARY KEY, {cols}, "
                "c_gen bigint GENERATED ALWAYS AS (id * 2) STORED, "
                "c_ident int GENERATED BY DEFAULT AS IDENTITY)")
    cases = {}
    rid = 0
    for col, typ, values in CORPUS:
        for literal, want in values:
            rid += 1
            con.execute(f"INSERT INTO corpus (id, {col}) VALUES (%s, %s::{typ})", (rid, literal))
            cases[rid] = (col, typ, literal, want)
    ks = fresh_keyspace
    out = tmp_path / "runs"
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--workers", "3",
                 "--out-dir", out, cwd=tmp_path)
    assert p.returncode == 4, p.stderr      # finished, with rejected rows
    notes = [line for line in p.stderr.splitlines() if "note:" in line]
    for col in REPORTED:
        assert any(f".{col}:" in n for n in notes), (col, notes)
    rejects = {r["row"][0]: r for r in reject_rows(out, "corpus")}
    select = ", ".join(
        f"blobAsBigint(timestampAsBlob({c}))" if t.startswith("timestamp") and
        not t.endswith("[]") else c for c, t, _ in CORPUS)
    rows = {r[0]: r[1:] for r in py_session.execute(
        f"SELECT id, {select}, c_gen, c_ident FROM {ks}.corpus", timeout=60)}
    names = [c for c, _, _ in CORPUS]
    for rid, (col, typ, literal, want) in cases.items():
        what = (rid, col, typ, literal)
        if isinstance(want, tuple) and len(want) == 2 and want[0] == "reject":
            assert rid in rejects and rid not in rows, what
            assert col in rejects[rid]["reason"] and want[1] in rejects[rid]["reason"], \
                (what, rejects[rid]["reason"])
            continue
        assert rid not in rejects, (what, rejects.get(rid))
        assert rid in rows, what
        have = rows[rid][names.index(col)]
        if callable(want):
            want = want(con)
        if want is NAN:
            assert isinstance(have, float) and math.isnan(have), (what, have)
        elif want is NEG0:
            assert have == 0.0 and math.copysign(1.0, have) < 0, (what, have)
        elif typ == "date":
            assert have.days_from_epoch == want, (what, have)
        elif typ == "time":
            assert have.nanosecond_time == want, (what, have)
        elif typ == "interval":
            assert (have.months, have.days, have.nanoseconds) == want, (what, have)
        elif isinstance(want, D):
            assert have.as_tuple() == want.as_tuple(), (what, have)    # the scale too
        elif isinstance(want, list) and want and isinstance(want[0], D):
            assert [h.as_tuple() for h in have] == [w.as_tuple() for w in want], (what, have)
        else:
            assert have == want, (what, have)
        # every other column of the row is null
        for i, other in enumerate(names):
            if other != col:
                assert rows[rid][i] is None, (what, other, rows[rid][i])
        assert rows[rid][-2] == rid * 2 and rows[rid][-1] == rid     # generated, identity
    assert len(rows) + len(rejects) == len(cases)


# ------------------------------------------------------------ big tables

def make_big(con, n, table="big"):
    con.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v text NOT NULL, n bigint)")
    con.execute(f"INSERT INTO {table} SELECT i, 'v' || i, i * 7 FROM generate_series(1, %s) i",
                (n,))
    con.execute(f"ANALYZE {table}")


def cass_big(session, ks, table="big"):
    return {r.id: (r.v, r.n) for r in session.execute(
        f"SELECT id, v, n FROM {ks}.{table}", timeout=120)}


def test_snapshot_consistency_with_concurrent_writer(build_dir, pg_db, py_session, fresh_keyspace,
                                                     tmp_path, main_hosts):
    uri, con = pg_db
    n = 300_000
    make_big(con, n)
    # a table without a key: updates move rows to new ctids during the copy
    con.execute("CREATE TABLE nk (a int, v text)")
    con.execute("INSERT INTO nk SELECT i, 'orig' FROM generate_series(1, 100000) i")
    ks = fresh_keyspace
    out = tmp_path / "runs"
    proc = subprocess.Popen([str(build_dir / "cqlshift"), "migrate", uri, target(main_hosts, ks),
                             "--workers", "4", "--batch-rows", "200", "--out-dir", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the snapshot is taken before planning: once rows are settled it exists
    deadline = time.monotonic() + 120
    while settled_rows(state_file(out)) == 0 and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the copy ended before the writer could start"
    changes = {"ins": 0, "upd": 0, "del": 0, "during": 0}
    stop = threading.Event()

    def writer():
        w = psycopg.connect(uri, autocommit=True)
        rnd = random.Random(7)
        nxt = n + 1
        while not stop.is_set():
            ids = rnd.sample(range(1, n + 1), 50)
            w.execute("UPDATE big SET v = 'changed', n = -1 WHERE id = ANY(%s)", (ids,))
            changes["upd"] += 50
            ids = rnd.sample(range(1, n + 1), 20)
            w.execute("DELETE FROM big WHERE id = ANY(%s)", (ids,))
            changes["del"] += 20
            w.execute("INSERT INTO big SELECT i, 'new', 0 FROM generate_series(%s, %s) i",
                      (nxt, nxt + 49))
            lo = rnd.randrange(1, 100_000)
            w.execute("UPDATE nk SET v = 'moved' WHERE a BETWEEN %s AND %s", (lo, lo + 20))
            w.execute("DELETE FROM nk WHERE a = %s", (rnd.randrange(1, 100_000),))
            w.execute("INSERT INTO nk VALUES (-1, 'new')")
            nxt += 50
            changes["ins"] += 50
            if proc.poll() is None:
                changes["during"] += 1
        w.close()

    t = threading.Thread(target=writer)
    t.start()
    try:
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        stop.set()
        t.join()
    assert proc.returncode == 0, stderr
    assert changes["during"] >= 3, changes     # the writer ran while rows were copied
    got = cass_big(py_session, ks)
    assert len(got) == n
    for i in range(1, n + 1):
        assert got[i] == (f"v{i}", i * 7), (i, got.get(i))
    nk = [(r.a, r.v) for r in py_session.execute(f"SELECT a, v FROM {ks}.nk", timeout=120)]
    assert sorted(nk) == [(i, "orig") for i in range(1, 100_001)]
    # the source did change
    assert con.execute("SELECT count(*) FROM big WHERE v = 'changed'").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM nk WHERE v <> 'orig'").fetchone()[0] > 0


def test_kill_and_resume_exact(build_dir, pg_db, py_session, fresh_keyspace, tmp_path, main_hosts):
    uri, con = pg_db
    make_big(con, 200_000)
    # a composite text key and a table without a key resume too
    con.execute("CREATE TABLE ck (a text, b int, v text, PRIMARY KEY (a, b))")
    con.execute("INSERT INTO ck SELECT 'k' || (i % 13), i, 'x' || i FROM generate_series(1, 100000) i")
    con.execute("CREATE TABLE nk (a int, v text)")
    con.execute("INSERT INTO nk SELECT i % 1000, 'dup' FROM generate_series(1, 100000) i")
    con.execute("ANALYZE")
    ks = fresh_keyspace
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", uri, target(main_hosts, ks), "--workers", "4",
            "--batch-rows", "100", "--out-dir", str(out)]
    settled = kill_when_settled(args, out, 60_000)
    assert 0 < settled < 400_000
    p = cqlshift(build_dir, *args[1:], "--resume")
    assert p.returncode == 0, p.stderr
    got = cass_big(py_session, ks)
    assert got == {i: (f"v{i}", i * 7) for i in range(1, 200_001)}
    ck = {(r.a, r.b): r.v for r in py_session.execute(f"SELECT a, b, v FROM {ks}.ck", timeout=120)}
    assert ck == {(f"k{i % 13}", i): f"x{i}" for i in range(1, 100_001)}
    # no key: one Cassandra row per physical row (duplicates kept apart)
    nk = list(py_session.execute(f"SELECT a, v FROM {ks}.nk", timeout=120))
    assert len(nk) == 100_000
    assert sorted(r.a for r in nk) == sorted(i % 1000 for i in range(1, 100_001))


def test_terminated_connection_stops_then_resume_exact(build_dir, pg_db, pg_uri, py_session,
                                                       fresh_keyspace, tmp_path, main_hosts):
    uri, con = pg_db
    make_big(con, 300_000)
    db = uri.rsplit("/", 1)[1].split("?")[0]
    ks = fresh_keyspace
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", uri, target(main_hosts, ks), "--workers", "4",
            "--batch-rows", "100", "--out-dir", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while settled_rows(state_file(out)) < 20_000 and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the copy ended first"
    killed = con.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                         "WHERE datname = %s AND application_name = 'cqlshift'", (db,)).fetchone()[0]
    assert killed >= 2
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr
    assert "terminat" in stderr or "server closed the connection" in stderr, stderr
    assert "PostgreSQL postgresql://" in stderr, stderr
    p = cqlshift(build_dir, *args[1:], "--resume")
    assert p.returncode == 0, p.stderr
    assert cass_big(py_session, ks) == {i: (f"v{i}", i * 7) for i in range(1, 300_001)}


# ------------------------------------------------------------ catalogs

def test_schemas_partitions_inheritance_views_sequences(build_dir, pg_db, py_session,
                                                        fresh_keyspace, tmp_path, main_hosts):
    uri, con = pg_db
    con.execute("CREATE SCHEMA sales")
    con.execute("CREATE TABLE public.orders (id int PRIMARY KEY, v text)")
    con.execute("CREATE TABLE sales.orders (id bigserial PRIMARY KEY, v text)")
    con.execute("INSERT INTO public.orders VALUES (1, 'pub')")
    con.execute("INSERT INTO sales.orders (v) VALUES ('s1'), ('s2')")
    con.execute("CREATE TABLE sales.parted (id int, region text, v text, PRIMARY KEY (id, region)) "
                "PARTITION BY LIST (region)")
    con.execute("CREATE TABLE sales.parted_eu PARTITION OF sales.parted FOR VALUES IN ('eu')")
    con.execute("CREATE TABLE sales.parted_us PARTITION OF sales.parted FOR VALUES IN ('us')")
    con.execute("INSERT INTO sales.parted SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, "
                "'p' || i FROM generate_series(1, 1000) i")
    # a partition in another schema: through its parent with --schema sales,
    # as a table of its own with --schema archive (never lost, never twice)
    con.execute("CREATE SCHEMA archive")
    con.execute("CREATE TABLE archive.parted_asia PARTITION OF sales.parted FOR VALUES IN ('asia')")
    con.execute("INSERT INTO sales.parted SELECT i, 'asia', 'a' || i FROM generate_series(1001, 1010) i")
    con.execute("CREATE TABLE sales.parent (id int PRIMARY KEY, v text)")
    con.execute("CREATE TABLE sales.child (extra int) INHERITS (sales.parent)")
    con.execute("INSERT INTO sales.parent VALUES (1, 'parent')")
    con.execute("INSERT INTO sales.child VALUES (2, 'child', 7)")
    con.execute("CREATE VIEW sales.v AS SELECT * FROM sales.orders")
    con.execute("CREATE MATERIALIZED VIEW sales.mv AS SELECT * FROM sales.orders")
    ks = fresh_keyspace
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--schema", "sales",
                 "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    err = p.stderr
    assert "view sales.v skipped" in err and "materialized view sales.mv skipped" in err, err
    assert "sequence sales.orders_id_seq: last value 2" in err, err
    assert "partitioned table sales.parted" in err, err
    py_session.cluster.refresh_schema_metadata()
    tables = set(py_session.cluster.metadata.keyspaces[ks].tables)
    assert tables == {"orders", "parted", "parent", "child"}, tables
    rows = list(py_session.execute(f"SELECT id, region, v FROM {ks}.parted"))
    assert len(rows) == 1010     # each row once, through the parent
    ks3 = ks + "_arch"
    try:
        p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks3), "--schema", "archive",
                     "--out-dir", tmp_path / "runs3", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert "partition archive.parted_asia of sales.parted: copied as a table of its own" \
            in p.stderr, p.stderr
        got = {(r.id, r.region, r.v) for r in
               py_session.execute(f"SELECT id, region, v FROM {ks3}.parted_asia")}
        assert got == {(i, "asia", f"a{i}") for i in range(1001, 1011)}
    finally:
        py_session.execute(f"DROP KEYSPACE IF EXISTS {ks3}", timeout=60)
    assert {r.id for r in py_session.execute(f"SELECT id FROM {ks}.parent")} == {1}
    assert {r.id for r in py_session.execute(f"SELECT id FROM {ks}.child")} == {2}
    # both schemas: names are qualified
    ks2 = ks + "_all"
    try:
        p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks2), "--tables",
                     "public.orders,sales.orders", "--out-dir", tmp_path / "runs2", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    finally:
        pass
    py_session.cluster.refresh_schema_metadata()
    t2 = py_session.cluster.metadata.keyspaces[ks2].tables
    assert len(t2) == 2, set(t2)
    py_session.execute(f"DROP KEYSPACE IF EXISTS {ks2}", timeout=60)


def test_views_named_with_tables_are_copied(build_dir, pg_db, py_session, fresh_keyspace,
                                            tmp_path, main_hosts):
    """A view or materialized view named with --tables is copied, keyed by a
    rowid (duplicate rows kept apart); one not named is skipped with a note,
    an unpopulated materialized view too; a kill -9 in the middle of a view
    and --resume (even with other --workers) give exactly its rows."""
    uri, con = pg_db
    con.execute("CREATE TABLE base (id int PRIMARY KEY, grp int, v text, j json)")
    con.execute("INSERT INTO base SELECT i, i % 7, 'v' || (i % 50), json_build_object('i', i % 3) "
                "FROM generate_series(1, 150000) i")
    # duplicate rows, a json column (no ordering operator), a computed column
    con.execute("CREATE VIEW dup_v AS SELECT grp, v, j, grp * 2 AS twice FROM base")
    con.execute("CREATE MATERIALIZED VIEW mv AS SELECT grp, count(*) AS n FROM base GROUP BY grp")
    con.execute("CREATE MATERIALIZED VIEW mv_empty AS SELECT id FROM base WITH NO DATA")
    con.execute("CREATE VIEW other_v AS SELECT id FROM base")
    ks = fresh_keyspace
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", uri, target(main_hosts, ks), "--tables",
            "dup_v,MV,mv_empty", "--workers", "4", "--batch-rows", "100", "--out-dir", str(out)]
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--tables",
                 "dup_v,MV,mv_empty", "--out-dir", tmp_path / "first", cwd=tmp_path)
    # mv_empty is named but holds no rows: skipped with a note, and so it
    # is no table of the source
    assert p.returncode == 2, p.stderr
    assert "materialized view public.mv_empty skipped: it holds no rows yet" in p.stderr, p.stderr
    assert "no table 'mv_empty'" in p.stderr, p.stderr
    args[args.index("dup_v,MV,mv_empty")] = "dup_v,MV"
    settled = kill_when_settled(args, out, 30_000)
    assert 0 < settled < 150_000
    args[args.index("--workers") + 1] = "2"
    p = cqlshift(build_dir, *args[1:], "--resume")
    assert p.returncode == 0, p.stderr
    assert "view public.dup_v copied, as --tables names it" in p.stderr, p.stderr
    py_session.cluster.refresh_schema_metadata()
    tables = set(py_session.cluster.metadata.keyspaces[ks].tables)
    assert tables == {"dup_v", "mv"}, tables
    want = sorted((g, v, json.dumps(j, separators=(",", ":")), t) for g, v, j, t in
                  con.execute("SELECT grp, v, j, twice FROM dup_v").fetchall())
    rows = list(py_session.execute(f"SELECT rowid, grp, v, j, twice FROM {ks}.dup_v",
                                   timeout=120))
    assert sorted(r.rowid for r in rows) == list(range(1, 150_001))
    got = sorted((r.grp, r.v, json.dumps(json.loads(r.j), separators=(",", ":")), r.twice)
                 for r in rows)
    assert got == want
    mv = sorted((r.grp, r.n) for r in py_session.execute(f"SELECT grp, n FROM {ks}.mv"))
    assert mv == sorted(con.execute("SELECT grp, n FROM mv").fetchall())
    # verify compares the view too
    p = cqlshift(build_dir, "verify", uri, target(main_hosts, ks), "--tables", "dup_v,mv",
                 "--out-dir", tmp_path / "v", cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_connection_errors_are_one_sentence(build_dir, pg_uri, tmp_path, main_hosts):
    missing = _replace_db(pg_uri, "no_such_db_e2e")
    p = cqlshift(build_dir, "migrate", missing, target(main_hosts, "e2e_never"),
                 "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode in (1, 2), p.stderr
    assert "no_such_db_e2e" in p.stderr and "does not exist" in p.stderr, p.stderr
    assert "check the database name" in p.stderr, p.stderr
    assert len([l for l in p.stderr.splitlines() if "error" in l]) == 1, p.stderr
    p = cqlshift(build_dir, "migrate", pg_uri, target(main_hosts, "e2e_never"), "--schema",
                 "nope_schema", "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode in (1, 2)
    assert "no schema nope_schema" in p.stderr, p.stderr
    scheme = pg_uri.split("://", 1)[0]
    bad_port = f"{scheme}://postgres@127.0.0.1:1/postgres"
    p = cqlshift(build_dir, "migrate", bad_port, target(main_hosts, "e2e_never"),
                 "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode in (1, 2)
    assert "cannot connect to PostgreSQL" in p.stderr and "refused" in p.stderr, p.stderr


# ------------------------------------------------- passwords and TLS

PGBIN = "/usr/lib/postgresql/15/bin"


def _free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def secure_pg():
    """A PostgreSQL of our own with password (SCRAM) authentication over TCP
    and TLS from a test CA: yields (port, password, ca.pem, untrusted.pem)."""
    if os.geteuid() != 0 or not os.path.exists(f"{PGBIN}/initdb"):
        pytest.skip("needs root and PostgreSQL 15's server binaries")
    import pathlib
    import shutil
    import tempfile
    # not under pytest's tmp (mode 0700): the server runs as user postgres
    d = pathlib.Path(tempfile.mkdtemp(prefix="cqlshift-securepg-"))
    os.chmod(d, 0o755)
    password = "S3cret-" + uuid.uuid4().hex[:8]
    (d / "pw").write_text(password + "\n")
    for ca in ("ca", "untrusted"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                 f"/CN={ca} test CA", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=d)
    subprocess.run(["chown", "-R", "postgres", str(d)], check=True)
    os.chmod(d / "server.key", 0o600)
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, f"{PGBIN}/initdb", "-D", str(d / "data"), "-U", "postgres",
                    "--auth-host=scram-sha-256", "--auth-local=trust", f"--pwfile={d / 'pw'}"],
                   check=True, capture_output=True)
    port = _free_port()
    opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={d} "
            f"-c ssl=on -c ssl_cert_file={d / 'server.pem'} -c ssl_key_file={d / 'server.key'}")
    subprocess.run([*as_pg, f"{PGBIN}/pg_ctl", "-D", str(d / "data"), "-o", opts, "-l",
                    str(d / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield port, password, d / "ca.pem", d / "untrusted.pem"
    finally:
        subprocess.run([*as_pg, f"{PGBIN}/pg_ctl", "-D", str(d / "data"), "-m", "fast", "-w",
                        "stop"], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def test_passwords_and_tls(build_dir, secure_pg, py_session, fresh_keyspace, tmp_path, main_hosts):
    port, password, ca, untrusted = secure_pg
    base = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    noenv = {"PGPASSWORD": "", "PGPASSFILE": str(tmp_path / "none")}
    clean = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGPASSFILE")}

    def run(uri, env, *extra):
        e = dict(clean)
        e.update({k: v for k, v in env.items() if v})
        if "PGPASSFILE" in env and not env.get("PGPASSWORD"):
            e.pop("PGPASSWORD", None)
        return subprocess.run([str(build_dir / "cqlshift"), "migrate", uri,
                               target(main_hosts, fresh_keyspace), "--out-dir",
                               str(tmp_path / "runs"), *extra], capture_output=True, text=True,
                              env=e, timeout=300)

    # no password anywhere
    p = run(base + "?sslmode=disable", noenv)
    assert p.returncode in (1, 2), p.stderr
    errs = [l for l in p.stderr.splitlines() if "error" in l]
    assert len(errs) == 1 and "no password supplied" in errs[0] and "~/.pgpass" in errs[0], p.stderr
    # a wrong password
    p = run(base + "?sslmode=require", {"PGPASSWORD": "wrong-pw-123", "PGPASSFILE": noenv["PGPASSFILE"]})
    assert p.returncode in (1, 2)
    assert "password authentication failed" in p.stderr and "wrong-pw-123" not in p.stderr, p.stderr
    # an untrusted server certificate
    p = run(f"{base}?sslmode=verify-full&sslrootcert={untrusted}", {"PGPASSWORD": password})
    assert p.returncode in (1, 2)
    assert "certificate verify failed" in p.stderr and "not trusted" in p.stderr, p.stderr
    assert password not in p.stderr
    # the password from a pgpass file, the server verified: a real copy
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{port}:*:postgres:{password}\n")
    os.chmod(pgpass, 0o600)
    con = psycopg.connect(f"{base}?sslmode=require", password=password, autocommit=True)
    con.execute("DROP TABLE IF EXISTS tls_t")
    con.execute("CREATE TABLE tls_t (id int PRIMARY KEY, v text)")
    con.execute("INSERT INTO tls_t SELECT i, 'v' || i FROM generate_series(1, 500) i")
    con.close()
    p = run(f"{base}?sslmode=verify-full&sslrootcert={ca}", {"PGPASSFILE": str(pgpass)},
            "--tables", "tls_t", "--report", str(tmp_path / "report.json"))
    assert p.returncode == 0, p.stderr
    assert len(list(py_session.execute(f"SELECT id FROM {fresh_keyspace}.tls_t"))) == 500
    # the password is nowhere in the output or the run folder
    assert password not in p.stdout + p.stderr
    for f in (tmp_path / "runs").rglob("*"):
        if f.is_file():
            assert password.encode() not in f.read_bytes(), f
    assert password.encode() not in (tmp_path / "report.json").read_bytes()


def test_resume_with_composite_key_of_many_types(build_dir, pg_db, py_session, fresh_keyspace,
                                                 tmp_path, main_hosts):
    """Resume points of keys whose text form comes from the server (timestamptz,
    float8, bytea, date) next to decoded ones (uuid, numeric, enum)."""
    uri, con = pg_db
    con.execute("CREATE TYPE lvl AS ENUM ('low', 'mid', 'high')")
    con.execute("CREATE TABLE tk (ts timestamptz, f float8, by bytea, u uuid, n numeric, d date, "
                "l lvl, v text, PRIMARY KEY (ts, f, by, u, n, d, l))")
    con.execute(
        "INSERT INTO tk SELECT timestamptz '2020-01-01 00:00:00.123+00' + (i % 97) * interval "
        "'1 hour', (i % 13) / 3.0, decode(lpad(to_hex(i % 7), 2, '0'), 'hex'), "
        "md5(i::text)::uuid, i / 7.0, date '0010-01-01 BC' + i, "
        "(enum_range(NULL::lvl))[1 + i % 3], 'v' || i FROM generate_series(1, 120000) i")
    con.execute("ANALYZE tk")
    ks = fresh_keyspace
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", uri, target(main_hosts, ks), "--workers", "2",
            "--batch-rows", "50", "--out-dir", str(out)]
    settled = kill_when_settled(args, out, 30_000)
    assert settled < 120_000
    p = cqlshift(build_dir, *args[1:], "--resume")
    assert p.returncode == 0, p.stderr
    want = {r[0]: r[1] for r in con.execute(
        "SELECT md5(concat_ws('|', u, n, d - date '1970-01-01')), v FROM tk")}
    got = {}
    for r in py_session.execute(f"SELECT u, n, d, v FROM {ks}.tk", timeout=120):
        got[__import__("hashlib").md5(
            f"{r.u}|{r.n}|{r.d.days_from_epoch}".encode()).hexdigest()] = r.v
    assert len(got) == 120_000
    assert got == want


def test_numeric_digits_and_scale(build_dir, pg_db, py_session, fresh_keyspace, tmp_path,
                                  main_hosts):
    """Random numerics of every magnitude and scale land with every digit and
    their scale, as psycopg reads them."""
    uri, con = pg_db
    con.execute("CREATE TABLE nums (id int PRIMARY KEY, n numeric, m numeric(38,10))")
    con.execute(
        "INSERT INTO nums SELECT i, round(((random() - 0.5) * 10 ^ (i % 41))::numeric, i % 23) "
        "* CASE WHEN i % 5 = 0 THEN 0.000000000001 ELSE 1 END, "
        "round(((random() - 0.5) * 10 ^ (i % 27))::numeric, 10) FROM generate_series(1, 20000) i")
    con.execute("INSERT INTO nums VALUES (0, 0.000, 0), (-1, 1e-30, -0.0000000001), "
                "(-2, 10000, 1e27), (-3, 9999.9999, 12345678901234567890123456.7890123456)")
    ks = fresh_keyspace
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--out-dir", tmp_path / "runs",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    want = {r[0]: (r[1].as_tuple(), r[2].as_tuple()) for r in con.execute("SELECT * FROM nums")}
    got = {r.id: (r.n.as_tuple(), r.m.as_tuple())
           for r in py_session.execute(f"SELECT id, n, m FROM {ks}.nums", timeout=60)}
    assert got == want


def test_server_restarted_mid_copy_then_resume(build_dir, secure_pg, py_session, fresh_keyspace,
                                               tmp_path, main_hosts):
    """The source server restarted while the copy runs (our own server, so no
    other test sees it go): the run stops with one error, exit 1, and
    --resume copies exactly, over verified TLS with the password from the
    environment."""
    port, password, ca, _ = secure_pg
    data_dir = ca.parent / "data"
    db = "restart_" + uuid.uuid4().hex[:8]
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require"
    with psycopg.connect(admin, password=password, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {db}")
    with psycopg.connect(_replace_db(admin, db), password=password, autocommit=True) as c:
        make_big(c, 300_000)
    uri = f"postgresql://postgres@127.0.0.1:{port}/{db}?sslmode=verify-full&sslrootcert={ca}"
    env = dict(os.environ, PGPASSWORD=password)
    ks = fresh_keyspace
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", uri, target(main_hosts, ks), "--workers", "4",
            "--batch-rows", "100", "--out-dir", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    deadline = time.monotonic() + 120
    while settled_rows(state_file(out)) < 20_000 and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the copy ended first"
    # -l: the new server must not inherit our pipes (we would wait for their end)
    subprocess.run(["runuser", "-u", "postgres", "--", f"{PGBIN}/pg_ctl", "-D", str(data_dir),
                    "-l", str(ca.parent / "log"), "-m", "fast", "-w", "restart"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr
    errors = [x for x in stderr.splitlines() if x.startswith("cqlshift: error:")]
    assert len(errors) == 1 and "PostgreSQL postgresql://" in errors[0], stderr
    assert password not in stderr
    p = subprocess.run(args + ["--resume"], capture_output=True, text=True, env=env, timeout=900)
    assert p.returncode == 0, p.stderr
    assert cass_big(py_session, ks) == {i: (f"v{i}", i * 7) for i in range(1, 300_001)}
    for f in out.rglob("*"):
        if f.is_file():
            assert password.encode() not in f.read_bytes(), f
