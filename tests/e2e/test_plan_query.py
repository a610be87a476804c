# fixtures: cassandra_main postgres mariadb
"""Plan mappings that read an SQL query (`query: SELECT ...`) instead of a
source table, end to end, for SQLite, PostgreSQL and MariaDB.

The plan is written by `cqlshift plan` and edited as a user would (PyYAML):
a table track_by_artist fed by a JOIN of tracks, albums and artists,
partitioned by artist. After `migrate`, the Python driver reads every
partition and must get exactly what the same SQL gives from the source
(sqlite3, psycopg, PyMySQL). A query with a mistake is refused at its
line:col in the plan with the server's message, exit 2, nothing created.
A query has no key to resume from: killed with -9 mid-way, --resume reads
it again from its start, and the content and the counts are exact."""

import decimal
import json
import random
import re
import sqlite3
import subprocess
import uuid

import pymysql
import pytest
import yaml

from test_migrate_mariadb import admin, fresh_db, load_chinook_mariadb  # noqa: F401 (fixtures)
from test_migrate_plan import make_orders, write_plan
from test_migrate_postgres import cqlshift, load_chinook, pg_db  # noqa: F401 (fixture)
from test_resume import run_and_kill, value_of

CHINOOK = "datasets/chinook/Chinook_Sqlite.sqlite"

TRACK_BY_ARTIST = {
    "columns": {"artist": "text", "track_id": "int", "name": "text", "album": "text",
                "label": "text", "price": "decimal"},
    "partition_key": ["artist"], "clustering": ["track_id"], "options": {}}

# per dialect: the query, and the SQL that checks it (same rows, in the
# table's order: artist, then track id)
SQLITE_QUERY = """SELECT t.TrackId, t.Name, al.Title AS AlbumTitle, ar.Name AS ArtistName,
       t.UnitPrice, ar.Name || ' / ' || al.Title AS Label
FROM Track t JOIN Album al ON al.AlbumId = t.AlbumId
JOIN Artist ar ON ar.ArtistId = al.ArtistId
"""
PG_QUERY = """SELECT t.track_id, t.name, al.title AS album_title, ar.name AS artist_name,
       t.unit_price, ar.name || ' / ' || al.title AS label
FROM track t JOIN album al ON al.album_id = t.album_id
JOIN artist ar ON ar.artist_id = al.artist_id;
"""
MY_QUERY = """SELECT t.TrackId, t.Name, al.Title AS AlbumTitle, ar.Name AS ArtistName,
       t.UnitPrice, CONCAT(ar.Name, ' / ', al.Title) AS Label
FROM Track t JOIN Album al ON al.AlbumId = t.AlbumId
JOIN Artist ar ON ar.ArtistId = al.ArtistId
"""


def query_plan(build_dir, tmp_path, uri, ks, query, cols):
    """The plan cqlshift writes for uri, narrowed to album (a table mapping)
    and track_by_artist fed by the query. cols: target column -> expression."""
    plan, doc = write_plan(build_dir, tmp_path, uri, ks)
    album = next(k for k in doc["tables"] if k == "album")
    doc["tables"] = {album: doc["tables"][album], "track_by_artist": TRACK_BY_ARTIST}
    doc["mappings"] = [m for m in doc["mappings"] if m["to"] == album]
    assert len(doc["mappings"]) == 1
    doc["mappings"].append({"query": query, "to": "track_by_artist", "columns": cols})
    plan.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    return plan


def expected_rows(rows):
    """(artist, track_id, name, album, label, price) rows from SQL, as the driver
    returns them; price text -> Decimal."""
    return sorted((a, int(t), n, al, lb, decimal.Decimal(str(p))) for a, t, n, al, lb, p in rows)


def cassandra_rows(py_session, ks):
    got = list(py_session.execute(
        f"SELECT artist, track_id, name, album, label, price FROM {ks}.track_by_artist",
        timeout=120))
    return sorted(tuple(r) for r in got)


def check_partitions(py_session, ks, want):
    """Every row, and a few partitions read the way an application would."""
    assert cassandra_rows(py_session, ks) == want
    by_artist = {}
    for r in want:
        by_artist.setdefault(r[0], []).append(r)
    for artist in list(by_artist)[:: max(1, len(by_artist) // 10)]:
        got = [tuple(r) for r in py_session.execute(
            f"SELECT artist, track_id, name, album, label, price FROM {ks}.track_by_artist "
            "WHERE artist = %s", (artist,))]
        assert got == sorted(by_artist[artist], key=lambda r: r[1]), artist


def migrate(build_dir, plan, main_hosts, tmp_path, *extra):
    report = tmp_path / "report.json"
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--report", report,
                 "--out-dir", tmp_path / "runs", *extra, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    return {t["table"]: t for t in json.loads(report.read_text())["tables"]}


def test_query_sqlite_chinook(build_dir, source_dir, py_session, fresh_keyspace, tmp_path,
                              main_hosts):
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    db = source_dir / CHINOOK
    plan = query_plan(build_dir, tmp_path, f"sqlite:{db}", ks, SQLITE_QUERY,
                      {"artist": "ArtistName", "track_id": "TrackId", "name": "Name",
                       "album": "AlbumTitle", "label": "Label", "price": "UnitPrice"})
    # --dry-run shows the query mapping's rows and touches nothing
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--dry-run",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "-- mapping query at line" in p.stdout and "track_by_artist" in p.stdout, p.stdout
    assert "--   query: SELECT t.TrackId" in p.stdout
    assert re.search(r"--   row 1: artist='AC/DC', track_id=1, .*label='AC/DC / ", p.stdout), \
        p.stdout
    assert ks not in py_session.cluster.metadata.keyspaces

    by = migrate(build_dir, plan, main_hosts, tmp_path)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute(f"SELECT ArtistName, TrackId, Name, AlbumTitle, Label, UnitPrice "
                       f"FROM ({SQLITE_QUERY})").fetchall()
    assert len(rows) == 3503
    t = by["track_by_artist"]
    assert t["read"] == t["written"] == len(rows) and t["rejected"] == 0, t
    assert by["album"]["written"] == con.execute("SELECT count(*) FROM Album").fetchone()[0]
    check_partitions(py_session, ks, expected_rows(rows))


def test_query_postgres_chinook(build_dir, source_dir, pg_uri, pg_db, py_session,  # noqa: F811
                                fresh_keyspace, tmp_path, main_hosts):
    uri, con = pg_db
    load_chinook(source_dir, pg_uri, uri.rsplit("/", 1)[1].split("?")[0])
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    plan = query_plan(build_dir, tmp_path, uri, ks, PG_QUERY,
                      {"artist": "artist_name", "track_id": "track_id", "name": "name",
                       "album": "album_title", "label": "label", "price": "unit_price"})
    by = migrate(build_dir, plan, main_hosts, tmp_path, "--workers", "2")
    rows = con.execute("SELECT artist_name, track_id, name, album_title, label, unit_price "
                       f"FROM ({PG_QUERY.rstrip().rstrip(';')}) q").fetchall()
    t = by["track_by_artist"]
    assert t["read"] == t["written"] == len(rows) == 3503 and t["rejected"] == 0, t
    check_partitions(py_session, ks, expected_rows(rows))

    # a mistake in the query: refused at its place with PostgreSQL's message
    text = plan.read_text().replace("JOIN artist ar", "JOIN artistz ar")
    ks2 = "plan_q_" + uuid.uuid4().hex[:8]
    plan.write_text(text.replace(ks, ks2))
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    line = p.stderr.strip().splitlines()[-1]
    assert 'relation "artistz" does not exist' in line, line
    lno, col = map(int, line.split(str(plan) + ":", 1)[1].split(":")[:2])
    assert plan.read_text().splitlines()[lno - 1][col - 1:].startswith("artistz"), line
    py_session.cluster.refresh_schema_metadata()
    assert ks2 not in py_session.cluster.metadata.keyspaces


def test_query_mariadb_chinook(build_dir, source_dir, admin, fresh_db,  # noqa: F811
                               mariadb_port, py_session, fresh_keyspace, tmp_path, main_hosts):
    db, ks = fresh_db, fresh_keyspace
    load_chinook_mariadb(source_dir, mariadb_port, db)
    py_session.execute(f"DROP KEYSPACE {ks}")
    plan = query_plan(build_dir, tmp_path, f"mysql://root@127.0.0.1:{mariadb_port}/{db}", ks,
                      MY_QUERY,
                      {"artist": "ArtistName", "track_id": "TrackId", "name": "Name",
                       "album": "AlbumTitle", "label": "Label", "price": "UnitPrice"})
    by = migrate(build_dir, plan, main_hosts, tmp_path, "--workers", "2")
    src = pymysql.connect(host="127.0.0.1", port=mariadb_port, user="root", database=db,
                          charset="utf8mb4")
    with src.cursor() as c:
        c.execute("SELECT ArtistName, TrackId, Name, AlbumTitle, Label, UnitPrice "
                  f"FROM ({MY_QUERY}) q")
        rows = c.fetchall()
    src.close()
    t = by["track_by_artist"]
    assert t["read"] == t["written"] == len(rows) == 3503 and t["rejected"] == 0, t
    check_partitions(py_session, ks, expected_rows(rows))

    # mistakes: MariaDB's message, at the place it quotes (syntax), else at the query
    ks2 = "plan_q_" + uuid.uuid4().hex[:8]
    text = plan.read_text().replace(ks, ks2)
    for bad, at, expect in (("AS Label", "AS Label", "near 'AS Label"),
                            ("JOIN Artist ar", "SELECT", "Artistz' doesn't exist")):
        wrong = "AS AS Label" if bad == "AS Label" else "JOIN Artistz ar"
        plan.write_text(text.replace(bad, wrong))
        p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
        assert p.returncode == 2, p.stderr
        line = p.stderr.strip().splitlines()[-1]
        assert expect in line and "cqlshift_q" not in line, line
        lno, col = map(int, line.split(str(plan) + ":", 1)[1].split(":")[:2])
        assert plan.read_text().splitlines()[lno - 1][col - 1:].startswith(at), line
    py_session.cluster.refresh_schema_metadata()
    assert ks2 not in py_session.cluster.metadata.keyspaces


@pytest.mark.parametrize("query,bad,expect", [
    ("SELECT id, v FROM oz", "SELECT", "no such table: oz"),
    ("SELECT id, v,, amount FROM o", ",", "syntax error"),
    ("DELETE FROM o", "DELETE", "one read-only SELECT"),
    ("SELECT id, v FROM o; DROP TABLE o", "DROP", "one statement"),
    ("SELECT id, v, id FROM o", "SELECT", "two columns named id"),
    ("SELECT id, v FROM o WHERE id = ?", "SELECT", "parameter"),
])
def test_query_errors(build_dir, tmp_path, main_hosts, py_session, query, bad, expect):
    """A query with a mistake is refused before anything is created, at its
    line:col in the plan with a sentence (the server's message); exit 2."""
    db = tmp_path / "src.db"
    make_orders(db, 10)
    ks = "plan_q_" + uuid.uuid4().hex[:8]
    plan, doc = write_plan(build_dir, tmp_path, f"sqlite:{db}", ks)
    doc["tables"]["o_q"] = {"columns": {"id": "bigint", "v": "text"}, "partition_key": ["id"],
                            "clustering": [], "options": {}}
    doc["mappings"].append({"query": query, "to": "o_q", "columns": {"id": "id", "v": "v"}})
    plan.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    line = p.stderr.strip().splitlines()[-1]
    assert re.match(rf"cqlshift: error: {re.escape(str(plan))}:\d+:\d+: mapping \d+: ", line), line
    assert expect in line, line
    lno, col = map(int, line.split(str(plan) + ":", 1)[1].split(":")[:2])
    text = plan.read_text().splitlines()[lno - 1]
    assert text[col - 1:].startswith(bad), (text, col)
    py_session.cluster.refresh_schema_metadata()
    assert ks not in py_session.cluster.metadata.keyspaces


def resume_case(build_dir, tmp_path, main_hosts, py_session, ks, uri, n):
    """A query feeding two tables, killed with -9 mid-way, then --resume: the
    query is read again from its start; each table holds exactly its rows,
    and the counts are those of one read (not the killed run's added)."""
    plan, doc = write_plan(build_dir, tmp_path, uri, ks)
    doc["tables"] = {
        "o_named": {"columns": {"id": "bigint", "cname": "text", "v": "text"},
                    "partition_key": ["id"], "clustering": [], "options": {}},
        "o_by_cname": {"columns": {"cname": "text", "id": "bigint", "amount": "decimal"},
                       "partition_key": ["cname"], "clustering": ["id"], "options": {}}}
    query = "SELECT o.id, c.name AS cname, o.v, o.amount FROM o JOIN c ON c.id = o.cust"
    doc["mappings"] = [
        {"query": query, "to": "o_named", "columns": {"id": "id", "cname": "cname", "v": "v"}},
        {"query": query, "to": "o_by_cname", "where": "amount > 50",
         "columns": {"cname": "cname", "id": "id", "amount": "amount"}}]
    plan.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", str(plan), f"cassandra://{main_hosts[0]}",
            "--out-dir", str(out)]
    settled, _, _ = run_and_kill(args + ["--quiet"], out, random.Random().randint(30_000, 150_000))
    assert 0 < settled < 2 * n
    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report)], capture_output=True,
                       text=True, timeout=1200)
    assert p.returncode == 0, p.stderr
    assert "no key to resume from" in p.stderr, p.stderr
    tables = {t["table"]: t for t in json.loads(report.read_text())["tables"]}
    nbig = sum(1 for i in range(n) if i % 1000 / 10 > 50)
    t = tables["o_named"]
    assert t["read"] == t["written"] == n and t["rejected"] == t["filtered"] == 0, t
    t = tables["o_by_cname"]
    assert t["read"] == n and t["written"] == nbig and t["filtered"] == n - nbig, t
    got = {r.id: (r.cname, r.v) for r in py_session.execute(
        f"SELECT id, cname, v FROM {ks}.o_named", timeout=120)}
    assert got == {i: (f"c{i % 500}", value_of(i)) for i in range(n)}
    for cust in (0, 7, 499):
        got = [r.id for r in py_session.execute(
            f"SELECT id FROM {ks}.o_by_cname WHERE cname = %s", (f"c{cust}",))]
        assert got == [i for i in range(cust, n, 500) if i % 1000 / 10 > 50], cust
    total = py_session.execute(f"SELECT count(*) FROM {ks}.o_by_cname", timeout=120).one()[0]
    assert total == nbig


def test_query_kill_9_then_resume(build_dir, tmp_path, main_hosts, py_session, fresh_keyspace):
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    n = 200_000
    db = tmp_path / "src.db"
    make_orders(db, n)
    resume_case(build_dir, tmp_path, main_hosts, py_session, ks, f"sqlite:{db}", n)


def test_query_kill_9_then_resume_postgres(build_dir, tmp_path, main_hosts, py_session,
                                           fresh_keyspace, pg_db):  # noqa: F811
    uri, con = pg_db
    n = 200_000
    con.execute("CREATE TABLE c (id int PRIMARY KEY, name text NOT NULL)")
    con.execute("CREATE TABLE o (id bigint PRIMARY KEY, cust int NOT NULL REFERENCES c (id), "
                "v text, amount numeric(10,2), updated bigint)")
    con.execute("INSERT INTO c SELECT i, 'c' || i FROM generate_series(0, 499) i")
    con.execute("INSERT INTO o SELECT i, i % 500, 'row-' || i || '-' || "
                "repeat(substr('abcdefghij', i % 10 + 1, 1), i % 37), (i % 1000) / 10.0, "
                f"1700000000 + i FROM generate_series(0, {n - 1}) i")
    con.execute("ANALYZE")
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    resume_case(build_dir, tmp_path, main_hosts, py_session, ks, uri, n)
