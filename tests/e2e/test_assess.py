# fixtures: postgres mariadb
"""cqlshift assess SOURCE, end to end, on every source kind.

A corpus per source holds every risk assess reports (no primary key, keys
that collide once converted, values Cassandra cannot hold, storage classes
that disagree with the declared type, invalid text, floating-point and
trailing-space keys, large and hot partitions); each must be reported with
its count and an example, in the text report and in the --json document.
Partition sizes are checked against what SQL computes through an
independent client (sqlite3, psycopg, pymysql), never our own code.
Chinook is assessed on SQLite and PostgreSQL with its foreign keys and the
partition sizes of their query tables.
"""

import json
import os
import sqlite3
import subprocess

import psycopg
import pymysql
import pytest

from test_migrate_postgres import load_chinook, pg_db  # noqa: F401 (a fixture)
from test_migrate_mariadb import admin, fresh_db  # noqa: F401 (fixtures)

CHINOOK_SQLITE = "datasets/chinook/Chinook_Sqlite.sqlite"


def cqlshift(build_dir, *args, timeout=600):
    e = dict(os.environ)
    e.pop("MYSQL_PWD", None)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, env=e, timeout=timeout)


def assess(build_dir, source, *extra):
    """(JSON document, text report) of one source; both runs exit 0."""
    j = cqlshift(build_dir, "assess", source, "--json", *extra)
    assert j.returncode == 0, j.stderr
    doc = json.loads(j.stdout)
    t = cqlshift(build_dir, "assess", source, *extra)
    assert t.returncode == 0, t.stderr
    assert t.stdout.rstrip().splitlines()[-1].startswith("Summary: ")
    return doc, t.stdout


def table(doc, name):
    for t in doc["tables"]:
        if t["name"] == name:
            return t
    raise AssertionError(f"table {name} not in the document: {[t['name'] for t in doc['tables']]}")


def column(t, name):
    for c in t["columns"]:
        if c["name"] == name:
            return c
    raise AssertionError(f"column {name} not in {t['name']}")


def risk(t, kind, column=None, count=None, example=None, text=None, for_table=None):
    """The one risk of this kind (and column, and proposed table); its count
    and example as given; its sentence (with the count and the example) in
    the report."""
    found = [r for r in t["risks"]
             if r["kind"] == kind and (column is None or r["column"] == column)
             and (for_table is None or r.get("for") == for_table)]
    assert len(found) == 1, (kind, column, t["risks"])
    r = found[0]
    if count is not None:
        assert r["count"] == count, r
        assert str(count) in r["message"], r
    if example is not None:
        assert r["example"] is not None and example in r["example"], r
        assert example in r["message"], r
    if text is not None:
        assert r["message"] in text, (r["message"], text)
    return r


def p99_desc(counts):
    """Nearest-rank 99th percentile: the value that 99% of the partitions do
    not exceed."""
    s = sorted(counts, reverse=True)
    return s[len(s) // 100]


def partition(t, for_table):
    found = [p for p in t["partitions"] if p["for"] == for_table]
    assert len(found) == 1, (for_table, t["partitions"])
    return found[0]


def check_sampled(build_dir, uri):
    """--sample below the table's rows: a random sample, scaled back."""
    doc, _ = assess(build_dir, uri, "--tables", "big", "--sample", "20000")
    t = table(doc, "big")
    assert t["sampled"] is True and t["rows"] == 110000
    p = partition(t, "big")
    assert p["sampled"] is True
    assert 90000 <= p["rows_max"] <= 110000, p


def fk_partition(t, for_table):
    """The partitions of a foreign key's query table (the connector's
    catalog gives the foreign keys)."""
    assert t["foreign_keys"], t["name"]
    return partition(t, for_table)


# ---- SQLite ------------------------------------------------------------------------


def make_sqlite_corpus(path):
    c = sqlite3.connect(path)
    c.executescript("""
CREATE TABLE nokey(a TEXT, b INTEGER);
INSERT INTO nokey VALUES ('x', 1), ('y', 2);
CREATE TABLE uq(a TEXT NOT NULL UNIQUE, b INTEGER);
INSERT INTO uq VALUES ('p', 1);
CREATE TABLE events(ts TIMESTAMP PRIMARY KEY, v TEXT);
INSERT INTO events VALUES ('2024-01-01 00:00:00.123456', 'a'), ('2024-01-01 00:00:00.123789', 'b'),
                          ('2024-01-01 00:00:01.500', 'c');
CREATE TABLE vals(id INTEGER PRIMARY KEY, n INTEGER, t TEXT);
INSERT INTO vals VALUES (1, 5, 'ok'), (2, 'abc', CAST(x'C328' AS TEXT)), (3, 7, 'fine');
CREATE TABLE fkey(k REAL PRIMARY KEY, v TEXT);
INSERT INTO fkey VALUES (1.5, 'a'), (2.0, 'b'), (2.25, 'c');
CREATE TABLE parent(id INTEGER PRIMARY KEY);
CREATE TABLE big(g INTEGER, i INTEGER, p INTEGER REFERENCES parent(id), PRIMARY KEY(g, i));
""")
    c.executemany("INSERT INTO parent VALUES (?)", ((i,) for i in range(61)))
    c.executemany("INSERT INTO big VALUES (?, ?, ?)",
                  ((1 if i < 100000 else 2 + i % 50, i, 3 if i % 5 == 0 else i % 7)
                   for i in range(110000)))
    c.commit()
    c.close()


def test_sqlite_corpus_every_risk(build_dir, tmp_path):
    db = tmp_path / "corpus.db"
    make_sqlite_corpus(db)
    doc, text = assess(build_dir, f"sqlite:{db}")
    assert doc["kind"] == "sqlite" and doc["source"] == f"sqlite:{db}"
    assert {t["name"] for t in doc["tables"]} == {"nokey", "uq", "events", "vals", "fkey",
                                                  "parent", "big"}

    t = table(doc, "nokey")
    assert t["primary_key"] == []
    r = risk(t, "no_primary_key", count=2, example="x, 1", text=text)
    assert "declare one" in r["message"]
    # a unique index of NOT NULL columns is named as the key to declare
    r = risk(table(doc, "uq"), "no_primary_key", count=1, example="p, 1", text=text)
    assert "unique index on (a)" in r["message"], r

    t = table(doc, "events")
    r = risk(t, "key_collision", "ts", count=2, example="2024-01-01 00:00:00.123456", text=text)
    assert "2024-01-01 00:00:00.123789" in r["example"]
    risk(t, "lossy_values", "ts", count=2, example="2024-01-01 00:00:00.123456", text=text)
    c = column(t, "ts")
    assert c["cql_type"] == "timestamp" and c["flag"] == "lossy"
    assert c["counts"]["sub_millisecond"] == 2

    t = table(doc, "vals")
    risk(t, "lossy_values", "n", count=1, example="abc", text=text)
    risk(t, "lossy_values", "t", count=1, example="\\xC3(", text=text)
    assert column(t, "n")["counts"]["storage_class"] == 1
    assert column(t, "t")["counts"]["invalid_utf8"] == 1
    assert column(t, "t")["flag"] == "lossy"
    assert column(t, "id")["flag"] is None

    t = table(doc, "fkey")
    risk(t, "key_collision", "k", count=2, example="1.5", text=text)

    # partitions, against sqlite3's own GROUP BY
    t = table(doc, "big")
    con = sqlite3.connect(db)
    counts = [r[0] for r in con.execute("SELECT count(*) FROM big GROUP BY g")]
    p = partition(t, "big")
    assert p["key"] == ["g"] and p["sampled"] is False
    assert p["rows_max"] == max(counts) == 100000
    assert p["rows_p99"] == p99_desc(counts)
    assert p["partitions"] == len(counts)
    assert p["example"] == "1"
    assert p["bytes_max"] > 0
    risk(t, "large_partition", "g", count=100000, example="1", text=text, for_table="big")
    risk(t, "hot_partition", "g", count=100000, example="1", text=text, for_table="big")
    assert t["rows"] == 110000 and t["rows_exact"] is True
    fp = fk_partition(t, "big_by_parent")
    fk_counts = [r[0] for r in con.execute(
        "SELECT count(*) FROM big WHERE p IS NOT NULL GROUP BY p")]
    assert fp["key"] == ["p"]
    assert fp["rows_max"] == max(fk_counts)
    assert fp["rows_p99"] == p99_desc(fk_counts)


def test_sqlite_sample_and_usage(build_dir, tmp_path):
    db = tmp_path / "corpus.db"
    make_sqlite_corpus(db)
    doc, _ = assess(build_dir, f"sqlite:{db}", "--tables", "big", "--sample", "20000")
    assert [t["name"] for t in doc["tables"]] == ["big"]
    t = doc["tables"][0]
    assert t["sampled"] is True and t["rows"] == 110000
    p = partition(t, "big")
    assert p["sampled"] is True
    # about 18% of the rows sampled, scaled back: within 10% of the truth
    assert 90000 <= p["rows_max"] <= 110000, p

    r = cqlshift(build_dir, "assess", f"sqlite:{db}", "--tables", "nosuch")
    assert r.returncode == 2 and "nosuch" in r.stderr and "big" in r.stderr, r.stderr
    r = cqlshift(build_dir, "assess", f"sqlite:{db}", "--sampel", "5")
    assert r.returncode == 2 and "did you mean --sample" in r.stderr, r.stderr
    r = cqlshift(build_dir, "assess", f"sqlite:{db}", "--schema", "x")
    assert r.returncode == 2 and "PostgreSQL" in r.stderr, r.stderr
    r = cqlshift(build_dir, "assess", f"sqlite:{tmp_path / 'missing.db'}")
    assert r.returncode == 1 and "missing.db" in r.stderr, r.stderr
    r = cqlshift(build_dir, "assess")
    assert r.returncode == 2 and "missing SOURCE" in r.stderr, r.stderr


def test_sqlite_chinook(build_dir, source_dir):
    path = source_dir / CHINOOK_SQLITE
    doc, text = assess(build_dir, f"sqlite:{path}")
    con = sqlite3.connect(path)
    names = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")]
    assert {t["name"] for t in doc["tables"]} == set(names)
    for t in doc["tables"]:
        assert t["rows"] == con.execute(f'SELECT count(*) FROM "{t["name"]}"').fetchone()[0]
        assert t["rows_exact"] is True
    track = table(doc, "Track")
    assert track["target"] == "track" and track["primary_key"] == ["TrackId"]
    assert partition(track, "track")["rows_max"] == 1
    assert column(track, "UnitPrice")["cql_type"] == "decimal"
    pt = table(doc, "PlaylistTrack")
    counts = [r[0] for r in con.execute("SELECT count(*) FROM PlaylistTrack GROUP BY PlaylistId")]
    p = partition(pt, "playlisttrack")
    assert p["rows_max"] == max(counts) and p["rows_p99"] == p99_desc(counts)
    r = risk(pt, "hot_partition", "PlaylistId", count=max(counts), text=text,
             for_table="playlisttrack")
    assert r["example"] in {str(k) for (k,) in con.execute(
        "SELECT PlaylistId FROM PlaylistTrack GROUP BY PlaylistId HAVING count(*) = ?",
        (max(counts),))}
    # foreign keys and their query tables
    fp = fk_partition(track, "track_by_album")
    (want,) = con.execute(
        "SELECT max(c) FROM (SELECT count(*) c FROM Track GROUP BY AlbumId)").fetchone()
    assert fp["key"] == ["AlbumId"] and fp["rows_max"] == want
    assert any(f["columns"] == ["AlbumId"] and f["references"]["table"] == "Album"
               for f in track["foreign_keys"])
    assert any(ix["columns"] == ["AlbumId"] for ix in track["indexes"])
    inv = table(doc, "Invoice")
    fp = partition(inv, "invoice_by_customer")
    (want,) = con.execute(
        "SELECT max(c) FROM (SELECT count(*) c FROM Invoice GROUP BY CustomerId)").fetchone()
    assert fp["rows_max"] == want


# ---- files --------------------------------------------------------------------------


def test_csv_and_jsonl_types_from_a_scan(build_dir, tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("id,name,score\n1,a,1.5\n2,b,2\n3,c,x\n")
    doc, text = assess(build_dir, f"csv:{csv}")
    assert doc["kind"] == "csv"
    t = doc["tables"][0]
    assert t["rows"] == 3 and t["bytes"] == csv.stat().st_size and t["primary_key"] == []
    assert column(t, "id")["cql_type"] == "bigint" and column(t, "id")["flag"] is None
    assert column(t, "name")["cql_type"] == "text"
    score = column(t, "score")
    assert score["cql_type"] == "text" and score["flag"] == "ambiguous"
    assert "1 integer, 1 real, 1 text value" in score["note"]
    risk(t, "no_primary_key", count=3, text=text)
    assert "people.score (no type -> text): ambiguous" in text

    jl = tmp_path / "items.jsonl"
    jl.write_text('{"id": 1, "v": 1.5}\n{"id": 2, "v": 2}\n')
    doc, _ = assess(build_dir, f"jsonl:{jl}")
    t = doc["tables"][0]
    assert t["rows"] == 2
    assert column(t, "id")["cql_type"] == "bigint"
    assert column(t, "v")["cql_type"] == "double"


# ---- PostgreSQL ----------------------------------------------------------------------


PG_CORPUS = """
CREATE TABLE nokey(a text, b int);
INSERT INTO nokey VALUES ('x', 1), ('y', 2);
CREATE TABLE events(ts timestamp(6) PRIMARY KEY, v text);
INSERT INTO events VALUES ('2024-01-01 00:00:00.123456', 'a'), ('2024-01-01 00:00:00.123789', 'b'),
                          ('2024-01-01 00:00:01.5', 'c');
CREATE TABLE dates(id int PRIMARY KEY, d date, t timestamptz);
INSERT INTO dates VALUES (1, 'infinity', '-infinity'),
                         (2, '2020-01-01', '2020-01-01 00:00:00.000001+00'),
                         (3, '2021-02-03', '2021-02-03 04:05:06.789+00');
CREATE TABLE fkey(k float8 PRIMARY KEY, v text);
INSERT INTO fkey VALUES (1.5, 'a'), (2.0, 'b'), (2.25, 'c');
CREATE TABLE novalue(id int PRIMARY KEY, n numeric, i inet, t time, iv interval, a int[]);
INSERT INTO novalue VALUES (1, 'NaN', '10.1.2.3/16', '24:00', '1 mon -1 day', '{1,NULL}'),
                           (2, 1.5, '10.1.2.3', '23:00', '1 day', '[0:1]={1,2}'),
                           (3, 'Infinity', '::1', '01:00', '-1 day 2 hours', '{3}'),
                           (4, 2, '::2', '02:00', '-1 day -2 hours', '{4,5}');
CREATE TABLE parent(id int PRIMARY KEY);
INSERT INTO parent SELECT g FROM generate_series(0, 60) g;
CREATE TABLE big(g int, i int, p int REFERENCES parent(id), PRIMARY KEY (g, i));
INSERT INTO big SELECT CASE WHEN i < 100000 THEN 1 ELSE 2 + i % 50 END, i,
                       CASE WHEN i % 5 = 0 THEN 3 ELSE i % 7 END FROM generate_series(0, 109999) i;
ANALYZE;
"""


def test_postgres_corpus_every_risk(build_dir, pg_db):  # noqa: F811
    uri, con = pg_db
    con.execute(PG_CORPUS)
    doc, text = assess(build_dir, uri)
    assert doc["kind"] == "postgresql"
    r = risk(table(doc, "nokey"), "no_primary_key", count=2, text=text)
    assert r["example"] in ("x, 1", "y, 2"), r

    t = table(doc, "events")
    risk(t, "key_collision", "ts", count=2, example="2024-01-01 00:00:00.123456", text=text)
    risk(t, "lossy_values", "ts", count=2, example="2024-01-01 00:00:00.123456", text=text)

    t = table(doc, "dates")
    d, ts = column(t, "d"), column(t, "t")
    assert d["counts"]["infinity"] == 1 and d["flag"] == "lossy"
    assert ts["counts"]["infinity"] == 1 and ts["counts"]["sub_millisecond"] == 1
    found = [r for r in t["risks"] if r["column"] == "d"]
    assert len(found) == 1 and found[0]["count"] == 1 and found[0]["example"] == "infinity"
    found = {r["example"]: r for r in t["risks"] if r["column"] == "t"}
    assert set(found) == {"-infinity", "2020-01-01 00:00:00.000001+00"}, found
    for r in found.values():
        assert r["count"] == 1 and r["message"] in text

    risk(table(doc, "fkey"), "key_collision", "k", count=2, example="1.5", text=text)

    # values the CQL type has none for, counted as migrate then rejects them
    t = table(doc, "novalue")
    want = {"n": (2, "Infinity"), "i": (1, "10.1.2.3/16"), "t": (1, "24:00:00"),
            "iv": (2, "-1 days +02:00:00"), "a": (2, "[0:1]={1,2}")}
    for col, (n, ex) in want.items():
        assert column(t, col)["counts"]["no_cql_value"] == n and column(t, col)["flag"] == "lossy"
        risk(t, "lossy_values", col, count=n, example=ex, text=text)

    t = table(doc, "big")
    counts = [r[0] for r in con.execute("SELECT count(*) FROM big GROUP BY g")]
    p = partition(t, "big")
    assert p["rows_max"] == max(counts) and p["rows_p99"] == p99_desc(counts)
    (bmax,) = con.execute("SELECT max(s) FROM (SELECT sum(pg_column_size(b.*)) s FROM big b "
                          "GROUP BY g) x").fetchone()
    assert p["bytes_max"] == bmax
    risk(t, "large_partition", "g", count=100000, example="1", text=text, for_table="big")
    risk(t, "hot_partition", "g", count=100000, example="1", text=text, for_table="big")
    check_sampled(build_dir, uri)
    fp = fk_partition(t, "big_by_parent")
    fk_counts = [r[0] for r in con.execute("SELECT count(*) FROM big GROUP BY p")]
    assert fp["rows_max"] == max(fk_counts) and fp["rows_p99"] == p99_desc(fk_counts)


def test_postgres_errors(build_dir, pg_uri):
    r = cqlshift(build_dir, "assess", pg_uri.rsplit("/", 1)[0] + "/no_such_db_assess")
    assert r.returncode == 1 and "no_such_db_assess" in r.stderr, r.stderr
    r = cqlshift(build_dir, "assess", pg_uri, "--databases", "x")
    assert r.returncode == 2 and "MySQL" in r.stderr, r.stderr


def test_postgres_chinook(build_dir, source_dir, pg_uri, pg_db):  # noqa: F811
    uri, con = pg_db
    load_chinook(source_dir, pg_uri, uri.rsplit("/", 1)[1])
    doc, text = assess(build_dir, uri)
    for t in doc["tables"]:
        (n,) = con.execute(f'SELECT count(*) FROM "{t["name"]}"').fetchone()
        assert t["rows"] == n and t["rows_exact"] is True
    track = table(doc, "track")
    assert track["primary_key"] == ["track_id"]
    fp = fk_partition(track, "track_by_album")
    (want,) = con.execute(
        "SELECT max(c) FROM (SELECT count(*) c FROM track GROUP BY album_id) x").fetchone()
    assert fp["key"] == ["album_id"] and fp["rows_max"] == want
    counts = [r[0] for r in con.execute("SELECT count(*) FROM track GROUP BY album_id")]
    assert fp["rows_p99"] == p99_desc(counts)
    inv = table(doc, "invoice")
    fp = partition(inv, "invoice_by_customer")
    (want,) = con.execute(
        "SELECT max(c) FROM (SELECT count(*) c FROM invoice GROUP BY customer_id) x").fetchone()
    assert fp["rows_max"] == want


# ---- MariaDB ---------------------------------------------------------------------------


MY_CORPUS = """
CREATE TABLE nokey(a varchar(10), b int);
INSERT INTO nokey VALUES ('x', 1), ('y', 2);
CREATE TABLE events(ts datetime(6) PRIMARY KEY, v text);
INSERT INTO events VALUES ('2024-01-01 00:00:00.123456', 'a'), ('2024-01-01 00:00:00.123789', 'b'),
                          ('2024-01-01 00:00:01.5', 'c');
CREATE TABLE dates(id int PRIMARY KEY, d date, t datetime);
INSERT INTO dates VALUES (1, '0000-00-00', '0000-00-00 00:00:00'),
                         (2, '2020-00-15', '2020-01-01 00:00:00'),
                         (3, '2021-02-03', '2021-02-03 04:05:06');
CREATE TABLE fkey(k float PRIMARY KEY, v text);
INSERT INTO fkey VALUES (1.0000001, 'a'), (1.0000002, 'b'), (2.5, 'c');
CREATE TABLE novalue(id int PRIMARY KEY, b tinyint(1), t time);
INSERT INTO novalue VALUES (1, 2, '-01:00:00'), (2, 1, '25:00:00'), (3, 0, '10:00:00');
CREATE TABLE padkey(k varchar(10) PRIMARY KEY, v int) COLLATE utf8mb4_general_ci;
INSERT INTO padkey VALUES ('abc ', 1), ('x', 2), ('y  ', 3);
CREATE TABLE l1(id int PRIMARY KEY, t varchar(20) CHARACTER SET latin1);
INSERT INTO l1 VALUES (1, 'café'), (2, CONVERT(_binary 0x636166C3A9 USING latin1)), (3, 'plain');
CREATE TABLE parent(id int PRIMARY KEY);
CREATE TABLE big(g int, i int, p int, PRIMARY KEY (g, i), FOREIGN KEY (p) REFERENCES parent(id))
"""


def test_mariadb_corpus_every_risk(build_dir, mariadb_port, fresh_db):  # noqa: F811
    con = pymysql.connect(host="127.0.0.1", port=mariadb_port, user="root", database=fresh_db,
                          autocommit=True, charset="utf8mb4")
    with con.cursor() as c:
        c.execute("SET SESSION sql_mode = ''")
        for s in MY_CORPUS.split(";\n"):
            c.execute(s)
        c.execute("INSERT INTO parent VALUES " + ",".join(f"({i})" for i in range(61)))
        rows = [(1 if i < 100000 else 2 + i % 50, i, 3 if i % 5 == 0 else i % 7)
                for i in range(110000)]
        for k in range(0, len(rows), 10000):
            c.executemany("INSERT INTO big VALUES (%s, %s, %s)", rows[k:k + 10000])
    doc, text = assess(build_dir, f"mysql://root@127.0.0.1:{mariadb_port}/{fresh_db}")
    assert doc["kind"] == "mysql"
    r = risk(table(doc, "nokey"), "no_primary_key", count=2, text=text)
    assert r["example"] in ("x, 1", "y, 2"), r

    t = table(doc, "events")
    risk(t, "key_collision", "ts", count=2, example="2024-01-01 00:00:00.123456", text=text)
    risk(t, "lossy_values", "ts", count=2, example="2024-01-01 00:00:00.123456", text=text)

    t = table(doc, "dates")
    risk(t, "lossy_values", "d", count=2, example="0000-00-00", text=text)
    risk(t, "lossy_values", "t", count=1, example="0000-00-00 00:00:00", text=text)
    assert column(t, "d")["counts"]["zero_date"] == 2

    t = table(doc, "fkey")
    found = [r for r in t["risks"] if r["kind"] == "key_collision"]
    assert len(found) == 2, found
    text_form = [r for r in found if "text form" in r["message"]][0]
    assert text_form["count"] == 2 and "1.0000001192092896" in text_form["example"]
    assert text_form["message"] in text

    risk(table(doc, "padkey"), "key_collision", "k", count=2, example="abc ", text=text)
    t = table(doc, "novalue")
    risk(t, "lossy_values", "b", count=1, example="2", text=text)
    risk(t, "lossy_values", "t", count=2, example="-01:00:00", text=text)
    assert column(t, "t")["counts"]["no_cql_value"] == 2
    risk(table(doc, "l1"), "lossy_values", "t", count=1, example="cafÃ©", text=text)

    t = table(doc, "big")
    with con.cursor() as c:
        c.execute("SELECT count(*) FROM big GROUP BY g")
        counts = [r[0] for r in c.fetchall()]
        c.execute("SELECT count(*) FROM big GROUP BY p")
        fk_counts = [r[0] for r in c.fetchall()]
    p = partition(t, "big")
    assert p["rows_max"] == max(counts) and p["rows_p99"] == p99_desc(counts)
    risk(t, "large_partition", "g", count=100000, example="1", text=text, for_table="big")
    risk(t, "hot_partition", "g", count=100000, example="1", text=text, for_table="big")
    check_sampled(build_dir, f"mysql://root@127.0.0.1:{mariadb_port}/{fresh_db}")
    fp = fk_partition(t, "big_by_parent")
    assert fp["rows_max"] == max(fk_counts) and fp["rows_p99"] == p99_desc(fk_counts)


# ---- the query operation (tests/tools/source_query) ------------------------------------


def source_query(build_dir, uri, *args):
    p = subprocess.run([str(build_dir / "tests" / "source_query"), uri, *args],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


@pytest.mark.parametrize("snapshot", [False, True])
def test_query_operation_postgres(build_dir, pg_db, snapshot):  # noqa: F811
    """A statement_timeout, an error, a row callback that stops a long
    result: each ends its statement and the next one runs, inside the
    snapshot or not; a SET LOCAL does not outlive its statement."""
    uri, _ = pg_db
    out = source_query(build_dir, uri, *(["--snapshot"] if snapshot else []), "--stop", "3",
                       "SET LOCAL statement_timeout = 100; SELECT pg_sleep(5)",
                       "SELECT 1/0",
                       "SELECT g, NULL FROM generate_series(1, 1000000) g",
                       "SELECT current_setting('statement_timeout'), 'x'")
    assert out[0]["rc"] == -1 and "statement timeout" in out[0]["error"], out[0]
    assert out[1]["rc"] == -1 and "division by zero" in out[1]["error"], out[1]
    assert out[2] == {"rc": 1, "rows": [["1", None], ["2", None], ["3", None]]}
    assert out[3] == {"rc": 0, "rows": [["0", "x"]]}


def test_query_operation_mariadb(build_dir, mariadb_port, fresh_db):  # noqa: F811
    uri = f"mysql://root@127.0.0.1:{mariadb_port}/{fresh_db}"
    out = source_query(build_dir, uri, "--stop", "2",
                       "SELECT nosuch",
                       "SELECT seq, NULL FROM seq_1_to_100000",
                       "SELECT 'é', 1")
    assert out[0]["rc"] == -1 and "nosuch" in out[0]["error"], out[0]
    assert out[1] == {"rc": 1, "rows": [["1", None], ["2", None]]}
    assert out[2] == {"rc": 0, "rows": [["é", "1"]]}
