# fixtures: cassandra_main mariadb
"""cqlshift migrate mysql://... cassandra://..., end to end against MariaDB.

Chinook (the MySQL script from the shared datasets) is loaded into a fresh
database and migrated with the one-line command; every table, row and value
is compared between PyMySQL and the DataStax Python driver. A type corpus
says for each value: exact, reported before the copy, or rejected with its
column and reason. A concurrent writer checks that 4 workers copy one
snapshot; kill -9, KILL CONNECTION, a wrong password, a missing database and
a user without the RELOAD privilege each get checked too."""

import datetime
import decimal
import json
import os
import re
import struct
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pymysql
import pytest

from conftest import kill_when_settled, reject_rows, run_folder

PASSWORD = "s3cret-Pw-7c1e"     # the restricted user's; must never show anywhere


def cqlshift(build_dir, *args, cwd=None, env=None, timeout=600):
    e = dict(os.environ)
    e.pop("MYSQL_PWD", None)
    if env:
        e.update(env)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=e, timeout=timeout)


def chinook_script(source_dir):
    for p in (source_dir / "datasets/chinook/Chinook_MySql.sql",
              source_dir.parent / "shared/datasets/chinook/Chinook_MySql.sql",
              Path("/work/shared/datasets/chinook/Chinook_MySql.sql")):
        if p.is_file():
            return p
    pytest.fail("Chinook_MySql.sql not found (datasets/chinook or ../shared/datasets/chinook)")


def load_chinook_mariadb(source_dir, port, db):
    """Chinook's MySQL script run into the (existing, empty) database db."""
    script = chinook_script(source_dir).read_text(encoding="utf-8").replace("`Chinook`", f"`{db}`")
    subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot",
                    "--default-character-set=utf8mb4"], input=script, text=True, check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def admin(mariadb_port):
    """A root connection (autocommit) to the test server."""
    con = pymysql.connect(host="127.0.0.1", port=mariadb_port, user="root", autocommit=True,
                          charset="utf8mb4")
    yield con
    con.close()


def connect(port, db=None, autocommit=True):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", database=db,
                           autocommit=autocommit, charset="utf8mb4")


@pytest.fixture
def fresh_db(admin, request):
    """A new database just for this test; dropped after."""
    base = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:20]
    name = f"cqs_{base}_{uuid.uuid4().hex[:6]}"
    with admin.cursor() as c:
        c.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    yield name
    with admin.cursor() as c:
        c.execute(f"DROP DATABASE IF EXISTS `{name}`")


def uri(port, db, user="root", params=""):
    return f"mysql://{user}@127.0.0.1:{port}/{db}{params}"


def migrate(build_dir, port, db, hosts, ks, tmp_path, *extra, user="root", params="", env=None):
    return cqlshift(build_dir, "migrate", uri(port, db, user, params),
                    f"cassandra://{hosts[0]}/{ks}", "--out-dir", tmp_path / "runs", *extra,
                    cwd=tmp_path, env=env)


# ---- (a) Chinook ------------------------------------------------------------------------------

def test_chinook_every_table_row_and_value(build_dir, source_dir, admin, fresh_db, mariadb_port,
                                           py_session, fresh_keyspace, tmp_path, main_hosts):
    db, ks = fresh_db, fresh_keyspace
    load_chinook_mariadb(source_dir, mariadb_port, db)
    py_session.execute(f"DROP KEYSPACE {ks}")      # migrate creates it
    report = tmp_path / "report.json"
    p = migrate(build_dir, mariadb_port, db, main_hosts, ks, tmp_path, "--report", report)
    assert p.returncode == 0, p.stderr
    rep = json.loads(report.read_text())
    assert rep["ok"] is True

    src = connect(mariadb_port, db)
    with src.cursor() as c:
        c.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", db)
        tables = [r[0] for r in c.fetchall()]
    assert len(tables) == 11
    by_table = {t["table"]: t for t in rep["tables"]}
    assert set(by_table) == {t.lower() for t in tables}
    py_session.cluster.refresh_schema_metadata()
    meta = py_session.cluster.metadata.keyspaces[ks]
    nvalues = 0
    for t in tables:
        with src.cursor() as c:
            c.execute("SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                      "%s AND TABLE_NAME = %s AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
                      (db, t))
            pk = [r[0] for r in c.fetchall()]
            c.execute(f"SELECT * FROM `{t}`")
            names = [d[0] for d in c.description]
            rows = c.fetchall()
        assert by_table[t.lower()]["read"] == len(rows) == by_table[t.lower()]["written"]
        tm = meta.tables[t.lower()]
        assert [c.name for c in tm.partition_key] == [pk[0].lower()]
        assert [c.name for c in tm.clustering_key] == [k.lower() for k in pk[1:]]
        got = {}
        for r in py_session.execute(f'SELECT {", ".join(n.lower() for n in names)} FROM {ks}.{t.lower()}'):
            got[tuple(getattr(r, k.lower()) for k in pk)] = r
        assert len(got) == len(rows), t
        for row in rows:
            s = dict(zip(names, row))
            r = got[tuple(s[k] for k in pk)]
            for n in names:
                assert getattr(r, n.lower()) == s[n], (t, n, s, r)
                nvalues += 1
    assert nvalues > 50000
    src.close()


def test_backup_of_the_database_restores_exactly(build_dir, source_dir, fresh_db, mariadb_port,
                                                 py_session, tmp_path, main_hosts):
    """backup mysql://... -o DIR (JSONL, zstd), then restore into a keyspace:
    every Chinook row and value equals MariaDB's (PyMySQL against the Python
    driver)."""
    db = fresh_db
    load_chinook_mariadb(source_dir, mariadb_port, db)
    out = tmp_path / "bk"
    env = dict(os.environ)
    env.pop("CQLSHIFT_CASSANDRA_PASSWORD", None)
    p = subprocess.run([str(build_dir / "cqlshift"), "backup",
                        f"mysql://root@127.0.0.1:{mariadb_port}/{db}", "-o", str(out),
                        "--format", "jsonl", "--compression", "zstd", "--out-dir",
                        str(tmp_path / "runs")], capture_output=True, text=True, env=env,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert len(man["tables"]) == 11 and all(e["file"].endswith(".jsonl.zst")
                                            for e in man["tables"])
    ks = "bk_my_" + uuid.uuid4().hex[:6]
    try:
        p = subprocess.run([str(build_dir / "cqlshift"), "restore", str(out),
                            f"cassandra://{main_hosts[0]}/{ks}", "--out-dir",
                            str(tmp_path / "r")], capture_output=True, text=True, env=env,
                           timeout=600)
        assert p.returncode == 0, p.stderr
        src = connect(mariadb_port, db)
        nvalues = 0
        with src.cursor() as c:
            c.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                      (db,))
            tables = [r[0] for r in c.fetchall()]
        for t in tables:
            with src.cursor() as c:
                c.execute(f"SELECT * FROM `{t}`")
                names = [d[0] for d in c.description]
                rows = sorted(map(repr, c.fetchall()))
            cols = ", ".join(n.lower() for n in names)
            got = sorted(repr(tuple(r)) for r in
                         py_session.execute(f"SELECT {cols} FROM {ks}.{t.lower()}", timeout=60))
            assert got == rows, t
            nvalues += len(rows) * len(names)
        assert nvalues > 50000
        src.close()
    finally:
        py_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
        py_session.execute(f"DROP KEYSPACE IF EXISTS {db.lower()}", timeout=60)


# ---- (b) the type corpus ----------------------------------------------------------------------

# (column, definition); every row sets id and one column (the others NULL), so a reject names
# exactly one value.
CORPUS_COLS = [
    ("b", "tinyint(1)"), ("ti", "tinyint"), ("tiu", "tinyint unsigned"), ("si", "smallint"),
    ("siu", "smallint unsigned"), ("mi", "mediumint"), ("miu", "mediumint unsigned"),
    ("i", "int"), ("iu", "int unsigned"), ("bi", "bigint"), ("biu", "bigint unsigned"),
    ("d", "decimal(65,30)"), ("d0", "decimal(10,0)"), ("f", "float"), ("dbl", "double"),
    ("bt1", "bit(1)"), ("bt12", "bit(12)"), ("bt64", "bit(64)"),
    ("dt", "date"), ("dtm", "datetime(6)"), ("dtm0", "datetime"), ("ts", "timestamp(3) NULL"),
    ("tm", "time"), ("tm6", "time(6)"), ("y", "year"),
    ("c", "char(10) CHARACTER SET utf8mb4"), ("vc3", "varchar(20) CHARACTER SET utf8mb3"),
    ("l1", "varchar(20) CHARACTER SET latin1"), ("vb", "varchar(10) COLLATE utf8mb4_bin"),
    ("tx", "mediumtext"), ("bin", "binary(4)"), ("vbin", "varbinary(10)"), ("bl", "blob"),
    ("row_uuid", "binary(16)"), ("b16", "binary(16)"), ("e", "enum('a','b''c','d')"),
    ("st", "set('x','y','z')"), ("j", "json"), ("g", "geometry"), ("mu", "uuid"),
    ("i4", "inet4"), ("i6", "inet6"),
]

F32 = lambda x: struct.unpack("f", struct.pack("f", x))[0]      # noqa: E731
UTC = datetime.timezone.utc

# (column, SQL literal, expected): expected is ("exact", python value as the driver returns
# it) or ("reject", reason substring).
CORPUS = [
    ("b", "0", ("exact", False)), ("b", "1", ("exact", True)),
    ("b", "5", ("reject", "tinyint(1) value 5 is not a boolean")),
    ("ti", "-128", ("exact", -128)), ("ti", "127", ("exact", 127)),
    ("tiu", "255", ("exact", 255)), ("si", "-32768", ("exact", -32768)),
    ("siu", "65535", ("exact", 65535)), ("mi", "-8388608", ("exact", -8388608)),
    ("miu", "16777215", ("exact", 16777215)), ("i", "-2147483648", ("exact", -2147483648)),
    ("iu", "4294967295", ("exact", 4294967295)),
    ("bi", "-9223372036854775808", ("exact", -9223372036854775808)),
    ("bi", "9223372036854775807", ("exact", 9223372036854775807)),
    ("biu", "18446744073709551615", ("exact", 18446744073709551615)),
    ("biu", "9223372036854775808", ("exact", 9223372036854775808)),
    ("biu", "0", ("exact", 0)),
    ("d", "'12345678901234567890123456789012345.123456789012345678901234567890'",
     ("exact", decimal.Decimal("12345678901234567890123456789012345.123456789012345678901234567890"))),
    ("d", "'-0.000000000000000000000000000001'",
     ("exact", decimal.Decimal("-0.000000000000000000000000000001"))),
    ("d0", "'-9999999999'", ("exact", decimal.Decimal("-9999999999"))),
    ("f", "3.14", ("exact", F32(3.14))), ("f", "-3.4028234e38", ("exact", F32(-3.4028234e38))),
    ("f", "1.17549435e-38", ("exact", F32(1.17549435e-38))), ("f", "16777217", ("exact", 16777216.0)),
    ("f", "0.1", ("exact", F32(0.1))),
    ("dbl", "0.1", ("exact", 0.1)), ("dbl", "1.7976931348623157e308", ("exact", 1.7976931348623157e308)),
    ("dbl", "4.9e-324", ("exact", 5e-324)), ("dbl", "0.30000000000000004", ("exact", 0.30000000000000004)),
    ("bt1", "b'1'", ("exact", True)), ("bt1", "b'0'", ("exact", False)),
    ("bt12", "b'101010101010'", ("exact", b"\x0a\xaa")),
    ("bt64", "18446744073709551615", ("exact", b"\xff" * 8)),
    ("dt", "'2024-02-29'", ("exact", "2024-02-29")), ("dt", "'1000-01-01'", ("exact", "1000-01-01")),
    ("dt", "'9999-12-31'", ("exact", "9999-12-31")),
    ("dt", "'0000-00-00'", ("reject", "zero date '0000-00-00'")),
    ("dt", "'2024-00-10'", ("reject", "zero date '2024-00-10'")),
    ("dtm", "'2024-01-02 03:04:05.123000'",
     ("exact", datetime.datetime(2024, 1, 2, 3, 4, 5, 123000))),
    ("dtm", "'2024-01-02 03:04:05.123456'", ("reject", "millisecond")),
    ("dtm", "'0000-00-00 00:00:00'", ("reject", "zero date")),
    ("dtm0", "'9999-12-31 23:59:59'", ("exact", datetime.datetime(9999, 12, 31, 23, 59, 59))),
    ("dtm0", "'1000-01-01 00:00:00'", ("exact", datetime.datetime(1000, 1, 1))),
    ("ts", "'2038-01-19 03:14:07.999'", ("exact", datetime.datetime(2038, 1, 19, 3, 14, 7, 999000))),
    ("ts", "'1970-01-01 00:00:01'", ("exact", datetime.datetime(1970, 1, 1, 0, 0, 1))),
    ("tm", "'12:34:56'", ("exact", 45296 * 10**9)), ("tm", "'00:00:00'", ("exact", 0)),
    ("tm", "'-01:00:00'", ("reject", "is negative")),
    ("tm", "'838:59:59'", ("reject", "24 hours or more")),
    ("tm", "'24:00:00'", ("reject", "24 hours or more")),
    ("tm6", "'23:59:59.999999'", ("exact", 86399999999000)),
    ("y", "2155", ("exact", 2155)), ("y", "1901", ("exact", 1901)), ("y", "0", ("exact", 0)),
    ("c", "'héllo😀'", ("exact", "héllo😀")), ("vc3", "'ümlaut€'", ("exact", "ümlaut€")),
    ("l1", "'café'", ("exact", "café")), ("vb", "'ABC'", ("exact", "ABC")),
    ("tx", "REPEAT('ab€', 30000)", ("exact", "ab€" * 30000)), ("c", "''", ("exact", "")),
    ("bin", "x'00010200'", ("exact", b"\x00\x01\x02\x00")), ("bin", "x'01'", ("exact", b"\x01\x00\x00\x00")),
    ("vbin", "x'ff00'", ("exact", b"\xff\x00")), ("bl", "x'" + bytes(range(256)).hex() + "'",
                                                  ("exact", bytes(range(256)))),
    ("row_uuid", "x'00112233445566778899aabbccddeeff'",
     ("exact", uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"))),
    ("b16", "x'00112233445566778899aabbccddeeff'", ("exact", bytes.fromhex("00112233445566778899aabbccddeeff"))),
    ("e", "'b''c'", ("exact", "b'c")), ("e", "'a'", ("exact", "a")),
    ("st", "'x,z'", ("exact", {"x", "z"})), ("st", "''", ("exact", None)),
    ("j", "'{\"a\": [1, 2.5, \"x\"]}'", ("exact", '{"a": [1, 2.5, "x"]}')),
    ("g", "ST_GeomFromText('POINT(1 2)')", ("exact", "from-source")),
    ("mu", "'123e4567-e89b-12d3-a456-426614174000'",
     ("exact", uuid.UUID("123e4567-e89b-12d3-a456-426614174000"))),
    ("i4", "'10.0.0.1'", ("exact", "10.0.0.1")), ("i6", "'::1'", ("exact", "::1")),
]


def test_type_corpus_exact_reported_or_rejected(build_dir, fresh_db, mariadb_port, py_session,
                                                fresh_keyspace, tmp_path, main_hosts):
    db, ks = fresh_db, fresh_keyspace
    src = connect(mariadb_port, db)
    with src.cursor() as c:
        c.execute("SET SESSION sql_mode = '', time_zone = '+00:00'")   # zero dates allowed
        c.execute("CREATE TABLE corpus (id int PRIMARY KEY, " +
                  ", ".join(f"`{n}` {d}" for n, d in CORPUS_COLS) +
                  ", gen int AS (i + 1) VIRTUAL)")
        for k, (col, lit, _) in enumerate(CORPUS, 1):
            c.execute(f"INSERT INTO corpus (id, `{col}`) VALUES ({k}, {lit})")
        c.execute("SELECT id, g FROM corpus WHERE g IS NOT NULL")
        geometry = {r[0]: r[1] for r in c.fetchall()}
        c.execute("CREATE VIEW corpus_view AS SELECT id FROM corpus")
    p = migrate(build_dir, mariadb_port, db, main_hosts, ks, tmp_path)
    # finished with rejected rows
    assert p.returncode == 4, p.stderr
    err = p.stderr

    # reported before the copy (the notes come before the run folder line)
    before = err.split("run folder:")[0]
    for note in ["corpus.b: tinyint(1) -> boolean: tinyint(1) is read as boolean",
                 "corpus.dt: date -> date: zero dates",
                 "corpus.dtm: datetime(6) -> timestamp", "digits below the millisecond",
                 "corpus.tm: time -> time: MySQL's time spans",
                 "corpus.st: set('x','y','z') -> set<text>: an empty set ('') is null",
                 "corpus.b16: binary(16) -> blob: binary(16): copied as blob",
                 "corpus.row_uuid: binary(16) -> uuid",
                 "corpus.g: geometry -> blob: geometry: copied as MySQL stores it",
                 "corpus.gen: int(11) -> int: generated column",
                 "corpus.biu: bigint(20) unsigned -> varint",
                 "corpus_view is a view: skipped"]:
        assert note in before, (note, err)

    rejects = reject_rows(tmp_path / "runs")
    by_pos = {}
    for r in rejects:
        by_pos[r["row"][0]] = r
    py_session.cluster.refresh_schema_metadata()
    rows = {r.id: r for r in py_session.execute(f"SELECT * FROM {ks}.corpus")}
    for k, (col, lit, (what, want)) in enumerate(CORPUS, 1):
        if what == "reject":
            assert k in by_pos and k not in rows, (col, lit, rows.get(k))
            text = json.dumps(by_pos[k])
            assert col in text and want in text, (col, lit, by_pos[k])
            continue
        assert k not in by_pos, (col, lit, by_pos.get(k))
        have = getattr(rows[k], col)
        if want == "from-source":
            want = geometry[k]
        if col == "dt":
            have = str(have)
        if col in ("i4", "i6"):
            have = str(have)
        if col == "tm" or col == "tm6":
            have = have.nanosecond_time if hasattr(have, "nanosecond_time") else have
        if col == "st" and want is not None:
            have = set(have)
        assert have == want and type(have) is type(want), (col, lit, have, want)
        # every other column of the row is null (the rowid of the value is k)
        for n, _ in CORPUS_COLS:
            if n != col:
                assert getattr(rows[k], n) is None, (col, n)
    assert len(rows) + len(by_pos) == len(CORPUS)
    src.close()


# ---- (c) one snapshot for 4 workers, with a concurrent writer -------------------------------

N_CONS = 60000


def writer_step(c, k):
    """Transaction k of the concurrent writer (and, in replay, its effect)."""
    up, dl = (k * 7919) % N_CONS + 1, (k * 104729 + 13) % N_CONS + 1
    c.execute("UPDATE cons SET v = %s WHERE id = %s", (k, up))
    c.execute("INSERT INTO cons VALUES (%s, %s, 'new')", (N_CONS + k, k))
    c.execute("DELETE FROM cons WHERE id = %s", (dl,))
    c.execute("INSERT INTO nokey VALUES (%s, 'w')", (k % 5,))
    c.execute("UPDATE progress SET k = %s WHERE one = 1", (k,))
    return up, dl


def replay(upto):
    rows = {i: (0, f"p{i}") for i in range(1, N_CONS + 1)}
    for k in range(1, upto + 1):
        up, dl = (k * 7919) % N_CONS + 1, (k * 104729 + 13) % N_CONS + 1
        if up in rows:
            rows[up] = (k, rows[up][1])
        rows[N_CONS + k] = (k, "new")
        rows.pop(dl, None)
    return rows


def test_snapshot_consistency_with_a_concurrent_writer(build_dir, fresh_db, mariadb_port,
                                                       py_session, fresh_keyspace, tmp_path,
                                                       main_hosts):
    db, ks = fresh_db, fresh_keyspace
    src = connect(mariadb_port, db)
    with src.cursor() as c:
        c.execute("CREATE TABLE cons (id int PRIMARY KEY, v int NOT NULL, pad varchar(40))")
        c.execute("CREATE TABLE progress (one int PRIMARY KEY, k int NOT NULL)")
        c.execute("INSERT INTO progress VALUES (1, 0)")
        c.execute("CREATE TABLE nokey (a int, b varchar(5))")
        c.execute("INSERT INTO nokey SELECT seq % 5, 'i' FROM seq_1_to_3000")
        c.execute("INSERT INTO cons SELECT seq, 0, CONCAT('p', seq) FROM seq_1_to_%d" % N_CONS)
        c.execute("ANALYZE TABLE cons")
    stop = threading.Event()
    done = []
    failed = []

    def write():
        try:
            w = connect(mariadb_port, db, autocommit=False)
            k = 0
            with w.cursor() as c:
                while not stop.is_set():
                    k += 1
                    writer_step(c, k)
                    w.commit()
                    done.append(k)
            w.close()
        except Exception as e:      # noqa: BLE001 (reported by the test)
            failed.append(e)

    t = threading.Thread(target=write)
    t.start()
    try:
        deadline = time.monotonic() + 60
        while len(done) < 20 and t.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(done) >= 20, failed
        p = migrate(build_dir, mariadb_port, db, main_hosts, ks, tmp_path, "--workers", "4")
        after_copy = len(done)
    finally:
        stop.set()
        t.join()
    assert not failed, failed
    assert p.returncode == 0, p.stderr
    log = (run_folder(tmp_path / "runs") / "run.log").read_text()
    assert '"binlog_file":"' in log and '"gtid_set":"' in log, log
    snap_k = py_session.execute(f"SELECT k FROM {ks}.progress WHERE one = 1").one().k
    # the writer was busy before and after the snapshot
    assert 20 <= snap_k < after_copy, (snap_k, after_copy)
    want = replay(snap_k)
    got = {r.id: (r.v, r.pad) for r in py_session.execute(f"SELECT id, v, pad FROM {ks}.cons")}
    assert len(got) == len(want)
    assert got == want
    # the table without a key: its rows as of the snapshot, duplicates kept apart
    nk = sorted((r.a, r.b) for r in py_session.execute(f"SELECT a, b FROM {ks}.nokey"))
    assert nk == sorted([(i % 5, "i") for i in range(1, 3001)] +
                        [(k % 5, "w") for k in range(1, snap_k + 1)])
    src.close()


# ---- (d) faults and refusals ------------------------------------------------------------------

def big_table(port, db, n):
    con = connect(port, db)
    with con.cursor() as c:
        c.execute("CREATE TABLE big (id bigint PRIMARY KEY, k varchar(20) NOT NULL, "
                  "v decimal(12,2), t datetime(3))")
        c.execute("INSERT INTO big SELECT seq, CONCAT('k', seq), seq / 100, "
                  "'2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_%d" % n)
        c.execute("ANALYZE TABLE big")
    con.close()


def check_big(py_session, ks, n):
    total = 0
    cnt = 0
    for r in py_session.execute(f"SELECT id, k, v FROM {ks}.big"):
        assert r.k == f"k{r.id}" and r.v == decimal.Decimal(r.id) / 100
        total += r.id
        cnt += 1
    assert cnt == n and total == n * (n + 1) // 2


def test_kill9_then_resume_is_exact(build_dir, fresh_db, mariadb_port, py_session,
                                    fresh_keyspace, tmp_path, main_hosts):
    n = 150000
    big_table(mariadb_port, fresh_db, n)
    args = [str(build_dir / "cqlshift"), "migrate", uri(mariadb_port, fresh_db),
            f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--out-dir", str(tmp_path / "runs"),
            "--workers", "4"]
    settled = kill_when_settled(args, tmp_path / "runs", 20000)
    assert settled < n
    p = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    check_big(py_session, fresh_keyspace, n)


def test_killed_connection_fails_clearly_then_resumes(build_dir, admin, fresh_db, mariadb_port,
                                                      py_session, fresh_keyspace, tmp_path,
                                                      main_hosts):
    n = 300000
    big_table(mariadb_port, fresh_db, n)
    args = [str(build_dir / "cqlshift"), "migrate", uri(mariadb_port, fresh_db),
            f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--out-dir", str(tmp_path / "runs"),
            "--workers", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        with admin.cursor() as c:
            c.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s "
                      "AND ID <> CONNECTION_ID()",
                      (f"SELECT `id`, `k`, `v`, `t` FROM `{fresh_db}`.`big`%",))
            r = c.fetchone()
        if r:
            killed = r[0]
            with admin.cursor() as c:
                c.execute(f"KILL CONNECTION {killed}")
        else:
            time.sleep(0.02)
    out, err = proc.communicate(timeout=600)
    assert killed is not None, err
    assert proc.returncode == 1, err
    assert "connection" in err and "--resume" in err, err
    p = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    check_big(py_session, fresh_keyspace, n)


@pytest.fixture
def limited_user(admin, fresh_db):
    """A user with SELECT only (no RELOAD), password PASSWORD."""
    name = "cqs_e2e_" + uuid.uuid4().hex[:6]
    with admin.cursor() as c:
        c.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{PASSWORD}'")
        c.execute(f"GRANT SELECT, SHOW VIEW ON `{fresh_db}`.* TO '{name}'@'%'")
    yield name
    with admin.cursor() as c:
        c.execute(f"DROP USER '{name}'@'%'")


def no_password_anywhere(p, tmp_path):
    assert PASSWORD not in p.stdout and PASSWORD not in p.stderr
    for f in Path(tmp_path).rglob("*"):
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f


def one_sentence(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_wrong_password_and_missing_database(build_dir, fresh_db, mariadb_port, limited_user,
                                             fresh_keyspace, tmp_path, main_hosts):
    big_table(mariadb_port, fresh_db, 10)
    p = migrate(build_dir, mariadb_port, fresh_db, main_hosts, fresh_keyspace, tmp_path,
                user=limited_user, env={"MYSQL_PWD": "not-" + PASSWORD[::-1]})
    assert p.returncode == 1, p.stderr
    line = one_sentence(p.stderr)
    assert "Access denied" in line and "MYSQL_PWD" in line and "mysql://" in line, line
    no_password_anywhere(p, tmp_path)

    # no password anywhere (an empty HOME: no ~/.my.cnf)
    empty = tmp_path / "empty-home"
    empty.mkdir()
    p = migrate(build_dir, mariadb_port, fresh_db, main_hosts, fresh_keyspace, tmp_path,
                user=limited_user, env={"HOME": str(empty)})
    assert p.returncode == 1, p.stderr
    line = one_sentence(p.stderr)
    assert "using password: NO" in line and "give the password in MYSQL_PWD or the [client] " \
        "section of ~/.my.cnf" in line, line

    # the password from the [client] group of ~/.my.cnf (user too: the URI names none)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".my.cnf").write_text(f"[client]\nuser={limited_user}\npassword={PASSWORD}\n")
    os.chmod(home / ".my.cnf", 0o600)
    p = cqlshift(build_dir, "migrate", f"mysql://127.0.0.1:{mariadb_port}/{fresh_db}",
                 f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--out-dir", tmp_path / "runs",
                 "--workers", "1", cwd=tmp_path, env={"HOME": str(home)})
    assert p.returncode == 0, p.stderr
    (home / ".my.cnf").unlink()
    no_password_anywhere(p, tmp_path)

    p = migrate(build_dir, mariadb_port, fresh_db + "_missing", main_hosts, fresh_keyspace,
                tmp_path)
    assert p.returncode in (1, 2), p.stderr
    line = one_sentence(p.stderr)
    assert "Unknown database" in line and fresh_db + "_missing" in line, line

    p = cqlshift(build_dir, "migrate", f"mysql://root@127.0.0.1:{mariadb_port}/",
                 f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--databases",
                 f"{fresh_db},{fresh_db}_nope", "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode in (1, 2), p.stderr
    assert "does not exist" in one_sentence(p.stderr)

    p = cqlshift(build_dir, "migrate",
                 f"mysql://{limited_user}:{PASSWORD}@127.0.0.1:{mariadb_port}/{fresh_db}",
                 f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--out-dir", tmp_path / "runs",
                 cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert "MYSQL_PWD" in one_sentence(p.stderr)
    no_password_anywhere(p, tmp_path)


def test_user_without_reload_gets_a_choice(build_dir, fresh_db, mariadb_port, limited_user,
                                           py_session, fresh_keyspace, tmp_path, main_hosts):
    big_table(mariadb_port, fresh_db, 5000)
    env = {"MYSQL_PWD": PASSWORD}
    p = migrate(build_dir, mariadb_port, fresh_db, main_hosts, fresh_keyspace, tmp_path,
                "--workers", "4", user=limited_user, env=env)
    assert p.returncode == 2, p.stderr
    line = [x for x in p.stderr.splitlines() if "RELOAD" in x]
    assert line and "--workers 1" in line[0] and "--no-lock" in line[0], p.stderr
    # one reader: one snapshot, no lock; the refused run left no unfinished job
    # behind, so the command the message suggests works as it is
    p = migrate(build_dir, mariadb_port, fresh_db, main_hosts, fresh_keyspace, tmp_path,
                "--workers", "1", user=limited_user, env=env)
    assert p.returncode == 0, p.stderr
    check_big(py_session, fresh_keyspace, 5000)
    # several readers without the lock, said so
    p = migrate(build_dir, mariadb_port, fresh_db, main_hosts, fresh_keyspace, tmp_path,
                "--workers", "4", "--no-lock", user=limited_user, env=env)
    assert p.returncode == 0, p.stderr
    assert "lock=none: with several workers each reader takes its own snapshot" in p.stderr
    no_password_anywhere(p, tmp_path)


# ---- key shapes: split points, resume points, tables without a key ---------------------------

KEY_TABLES = {
    # name: (DDL, INSERT ... SELECT from seq_1_to_N, key columns)
    "tk": ("CREATE TABLE tk (k varchar(30) COLLATE utf8mb4_general_ci PRIMARY KEY, v int)",
           "INSERT INTO tk SELECT CONCAT(ELT(1 + seq % 5, 'a', 'B', 'é', 'z z', 'Ä'), '-', "
           "LPAD(seq, 6, '0'), IF(seq % 7 = 0, ' ''q''', '')), seq FROM seq_1_to_12000", ["k"]),
    "ck": ("CREATE TABLE ck (a varchar(10), b datetime(3), c decimal(10,2), v int, "
           "PRIMARY KEY (a, b, c))",
           "INSERT INTO ck SELECT CONCAT('g', seq % 3), '2024-01-01' + INTERVAL (seq % 50) DAY, "
           "seq / 100, seq FROM seq_1_to_12000", ["a", "b", "c"]),
    "bk": ("CREATE TABLE bk (k varbinary(16) PRIMARY KEY, v int)",
           "INSERT INTO bk SELECT UNHEX(MD5(seq)), seq FROM seq_1_to_6000", ["k"]),
    "uk": ("CREATE TABLE uk (x int NOT NULL, y varchar(10) NOT NULL, v int, UNIQUE KEY (x, y))",
           "INSERT INTO uk SELECT seq % 100, CONCAT('y', seq), seq FROM seq_1_to_6000", ["x", "y"]),
    "nk": ("CREATE TABLE nk (a int, b varchar(10))",
           "INSERT INTO nk SELECT seq % 10, IF(seq % 3 = 0, NULL, 'dup') FROM seq_1_to_6000", None),
    "fk": ("CREATE TABLE fk (f float PRIMARY KEY, v int)",
           "INSERT INTO fk SELECT seq / 4, seq FROM seq_1_to_3000", ["f"]),
    # a bit(n) key is read as bytes that do not bound its ranges, an enum key sorts by
    # index but compares as text: one range each (these lost or doubled rows when split)
    "btk": ("CREATE TABLE btk (b bit(16) PRIMARY KEY, v int)",
            "INSERT INTO btk SELECT seq, seq FROM seq_1_to_3000", ["b"]),
    "ek": ("CREATE TABLE ek (e enum('b', 'a'), n int, PRIMARY KEY (e, n))",
           "INSERT INTO ek SELECT ELT(1 + seq % 2, 'b', 'a'), seq FROM seq_1_to_3000", ["e", "n"]),
}


def make_key_tables(port, db):
    con = connect(port, db)
    with con.cursor() as c:
        for ddl, ins, _ in KEY_TABLES.values():
            c.execute(ddl)
            c.execute(ins)
        for t in KEY_TABLES:
            c.execute(f"ANALYZE TABLE {t}")
    con.close()


def check_key_tables(port, db, py_session, ks):
    src = connect(port, db)
    for t, (_, _, key) in KEY_TABLES.items():
        with src.cursor() as c:
            c.execute(f"SELECT * FROM {t}")
            names = [d[0] for d in c.description]
            want = sorted(map(repr, c.fetchall()))
        rows = list(py_session.execute(f"SELECT * FROM {ks}.{t}"))
        if key is None:
            assert sorted(r.rowid for r in rows) == list(range(1, len(want) + 1)), t
        got = sorted(repr(tuple(getattr(r, n.lower()) for n in names)) for r in rows)
        assert got == want, t
    src.close()


def test_key_shapes_split_resume_and_keyless_tables(build_dir, fresh_db, mariadb_port,
                                                    py_session, fresh_keyspace, tmp_path,
                                                    main_hosts):
    make_key_tables(mariadb_port, fresh_db)
    args = [str(build_dir / "cqlshift"), "migrate", uri(mariadb_port, fresh_db),
            f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--out-dir", str(tmp_path / "runs"),
            "--workers", "4", "--batch-rows", "100"]
    settled = kill_when_settled(args, tmp_path / "runs", 8000)
    assert settled < 45000
    p = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    check_key_tables(mariadb_port, fresh_db, py_session, fresh_keyspace)
    # the text, composite and binary keys were split into several ranges
    import sqlite3
    st = sqlite3.connect(run_folder(tmp_path / "runs") / "state.db")
    per_table = dict(st.execute("SELECT table_name, count(*) FROM ranges GROUP BY table_name"))
    st.close()
    for t in ("tk", "ck", "bk", "uk"):
        assert per_table.get(t, 0) > 1, per_table
    for t in ("nk", "fk", "btk", "ek"):
        assert per_table.get(t) == 1, per_table


def test_key_walk_with_a_wrong_row_estimate_counts_every_row(build_dir, fresh_db, mariadb_port,
                                                             py_session, fresh_keyspace,
                                                             tmp_path, main_hosts):
    """A text key is split by walking it from both ends at once, sized by
    the row estimate. Another session's uncommitted rows move the estimate
    but not the snapshot: 4x too high (the walks overlap), 10% too high (they
    overlap after the forward walk's half: it goes on alone) and 4x too low
    (a wide range between them). Every row of the snapshot lands once, and the
    ranges' counts, saved in the state, add up to the table."""
    con = connect(mariadb_port, fresh_db)
    with con.cursor() as c:
        for t, n in (("wk_high", 5000), ("wk_low", 20000), ("wk_near", 20000)):
            c.execute(f"CREATE TABLE {t} (k varchar(40) PRIMARY KEY, v int)")
            c.execute(f"INSERT INTO {t} SELECT CONCAT('key-', LPAD(seq, 6, '0')), seq "
                      f"FROM seq_1_to_{n}")
    other = connect(mariadb_port, fresh_db, autocommit=False)
    try:
        with other.cursor() as c:
            c.execute("INSERT INTO wk_high SELECT CONCAT('zz-', seq), -seq FROM seq_1_to_15000")
            c.execute("INSERT INTO wk_near SELECT CONCAT('zz-', seq), -seq FROM seq_1_to_2000")
            c.execute("DELETE FROM wk_low WHERE v % 4 <> 0")
        with con.cursor() as c:
            c.execute("SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                      "WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1")
            est = dict(c.fetchall())
        p = migrate(build_dir, mariadb_port, fresh_db, main_hosts, fresh_keyspace, tmp_path,
                    "--workers", "4")
    finally:
        other.rollback()
        other.close()
        con.close()
    assert p.returncode == 0, p.stderr
    assert est["wk_high"] >= 15000 and est["wk_low"] <= 8000, est   # the premise
    assert 20500 <= est["wk_near"] <= 26000, est   # somewhat too high (InnoDB samples)
    want = {"wk_high": {(f"key-{i:06d}", i) for i in range(1, 5001)},
            "wk_near": {(f"key-{i:06d}", i) for i in range(1, 20001)},
            "wk_low": {(f"key-{i:06d}", i) for i in range(1, 20001)}}
    import sqlite3
    st = sqlite3.connect(run_folder(tmp_path / "runs") / "state.db")
    for t, rows in want.items():
        got = {(r.k, r.v) for r in py_session.execute(f"SELECT k, v FROM {fresh_keyspace}.{t}")}
        assert got == rows, t
        counts = [n for (n,) in st.execute("SELECT source_count FROM ranges WHERE table_name = ? "
                                           "ORDER BY range_id", (t,))]
        assert len(counts) > 1 and sum(counts) == len(rows), (t, counts, est)
        if t == "wk_near":
            # 10% too high: the walks overlap a little, and the forward walk
            # goes on alone, so the ranges stay even (none holds a tenth)
            assert len(counts) >= 14 and max(counts) < 2000, counts
    st.close()


def test_several_databases_and_tls_required(build_dir, admin, fresh_db, mariadb_port, py_session,
                                            fresh_keyspace, tmp_path, main_hosts):
    other = fresh_db + "_2"
    with admin.cursor() as c:
        c.execute(f"CREATE DATABASE `{other}`")
        for d in (fresh_db, other):
            c.execute(f"CREATE TABLE `{d}`.t (id int PRIMARY KEY, d varchar(64))")
            c.execute(f"INSERT INTO `{d}`.t VALUES (1, %s)", (d,))
    try:
        p = cqlshift(build_dir, "migrate", f"mysql://root@127.0.0.1:{mariadb_port}/",
                     f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--databases",
                     f"{fresh_db},{other}", "--out-dir", tmp_path / "runs", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        for d in (fresh_db, other):
            name = re.sub(r"[^a-z0-9_]+", "_", f"{d}.t".lower())[:48]
            assert py_session.execute(f"SELECT d FROM {fresh_keyspace}.{name} WHERE id = 1").one().d == d
        # TLS asked for, the server has none: refused, not silently plain
        p = migrate(build_dir, mariadb_port, fresh_db, main_hosts, fresh_keyspace, tmp_path,
                    params="?ssl-mode=REQUIRED")
        assert p.returncode == 1, p.stderr
        line = one_sentence(p.stderr)
        assert "does not support" in line and "ssl-mode=DISABLED" in line, line
    finally:
        with admin.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS `{other}`")


# ---- TLS: a private MariaDB with a certificate of a test CA -----------------------------------

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """(port, CA file, an untrusted CA file) of a MariaDB started here with TLS on (a
    certificate for 127.0.0.1 and localhost signed by a CA made here); stopped after."""
    d = tmp_path_factory.mktemp("tls-mariadb")

    def ossl(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "2", "-subj", "/CN=cqlshift test CA")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
         "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
         "other-ca.pem", "-days", "2", "-subj", "/CN=untrusted CA")
    subprocess.run(["mariadb-install-db", "--user=root", f"--datadir={d}/data",
                    "--auth-root-authentication-method=normal"], check=True, capture_output=True)
    port = free_port()
    srv = {"proc": None}

    def start():
        srv["proc"] = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--user=root", f"--datadir={d}/data",
             f"--socket={d}/sock", f"--port={port}", "--bind-address=127.0.0.1",
             f"--pid-file={d}/pid", f"--ssl-cert={d}/server.pem", f"--ssl-key={d}/server.key",
             f"--ssl-ca={d}/ca.pem", f"--log-error={d}/err.log", "--innodb-buffer-pool-size=32M"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                return connect(port)
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline or srv["proc"].poll() is not None:
                    srv["proc"].kill()
                    pytest.fail("the TLS MariaDB did not start: " +
                                (d / "err.log").read_text()[-2000:])
                time.sleep(0.2)

    def restart_now():
        """Stop the server at once (SIGKILL) and start it again."""
        srv["proc"].kill()
        srv["proc"].wait(timeout=60)
        start().close()

    con = start()
    with con.cursor() as c:
        c.execute("CREATE DATABASE tdb")
        c.execute("CREATE TABLE tdb.t (id int PRIMARY KEY, v varchar(10))")
        c.execute("INSERT INTO tdb.t VALUES (1, 'a'), (2, 'b')")
    con.close()
    yield port, d / "ca.pem", d / "other-ca.pem", restart_now
    srv["proc"].terminate()
    srv["proc"].wait(timeout=60)


def test_tls_verified_untrusted_and_required(build_dir, tls_server, py_session, fresh_keyspace,
                                             tmp_path, main_hosts):
    port, ca, other, _ = tls_server
    ks = fresh_keyspace
    for host in ("127.0.0.1", "localhost"):      # the certificate names both
        p = cqlshift(build_dir, "migrate",
                     f"mysql://root@{host}:{port}/tdb?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}",
                     f"cassandra://{main_hosts[0]}/{ks}", "--out-dir", tmp_path / "runs",
                     "--workers", "2", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    assert sorted(tuple(r) for r in py_session.execute(f"SELECT id, v FROM {ks}.t")) == \
        [(1, "a"), (2, "b")]
    # a certificate that does not verify: one sentence, nothing copied
    for params in (f"?ssl-mode=VERIFY_IDENTITY&ssl-ca={other}", "?ssl-mode=VERIFY_CA"):
        p = cqlshift(build_dir, "migrate", f"mysql://root@127.0.0.1:{port}/tdb{params}",
                     f"cassandra://{main_hosts[0]}/{ks}", "--out-dir", tmp_path / "runs2",
                     cwd=tmp_path)
        assert p.returncode == 1, p.stderr
        line = one_sentence(p.stderr)
        assert "certificate" in line and "ssl-mode=REQUIRED" in line, line
    # encrypted without verification
    p = cqlshift(build_dir, "migrate", f"mysql://root@127.0.0.1:{port}/tdb?ssl-mode=REQUIRED",
                 f"cassandra://{main_hosts[0]}/{ks}", "--out-dir", tmp_path / "runs3",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_server_restarted_mid_copy_then_resume(build_dir, tls_server, py_session, fresh_keyspace,
                                               tmp_path, main_hosts):
    """The source server dies (kill -9) and comes back while the copy runs: the run stops with
    one clear error (exit 1) and --resume copies exactly."""
    port, _, _, restart_now = tls_server
    n = 200000
    con = connect(port, "tdb")
    with con.cursor() as c:
        c.execute("CREATE TABLE big (id bigint PRIMARY KEY, k varchar(20) NOT NULL, "
                  "v decimal(12,2), t datetime(3))")
        c.execute("INSERT INTO big SELECT seq, CONCAT('k', seq), seq / 100, "
                  "'2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_%d" % n)
        c.execute("ANALYZE TABLE big")
    con.close()
    args = [str(build_dir / "cqlshift"), "migrate", f"mysql://root@127.0.0.1:{port}/tdb",
            f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--tables", "big",
            "--out-dir", str(tmp_path / "runs"), "--workers", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    from conftest import settled_rows, state_file
    deadline = time.monotonic() + 120
    while settled_rows(state_file(tmp_path / "runs")) < 20000 and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    restart_now()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    errors = [line for line in err.splitlines() if "error" in line]
    assert errors and "--resume" in errors[0] and "mysql://root@127.0.0.1" in errors[0], err
    p = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    check_big(py_session, fresh_keyspace, n)
