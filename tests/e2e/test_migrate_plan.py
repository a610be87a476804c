# fixtures: cassandra_main postgres
"""cqlshift plan SOURCE -o plan.yaml, edited, then cqlshift migrate plan.yaml:
query tables for foreign keys, a computed column, a renamed column and a
row filter, end to end.

The plan is written by the real binary from Chinook (SQLite and
PostgreSQL), edited as a user would (PyYAML here), and migrated. Then the
Python driver runs the queries an application would (all tracks of album
N, all invoices of customer M) and must get exactly what SQL gets from the
source (sqlite3, psycopg), every row and value."""

import datetime
import decimal
import json
import random
import re
import sqlite3
import subprocess
import uuid

import pytest

import yaml

from test_migrate_postgres import cqlshift, load_chinook, pg_db  # noqa: F401 (fixture)
from test_resume import run_and_kill, value_of

CHINOOK = "datasets/chinook/Chinook_Sqlite.sqlite"


def simple_upper(s):
    """Unicode's simple (one-to-one) upper-case mapping, as docs/plan-expressions.md says
    upper() does: a character whose full mapping is longer (ß -> SS) stays."""
    if s is None:
        return None
    return "".join(u if len(u := c.upper()) == 1 else c for c in s)


def write_plan(build_dir, tmp_path, source_uri, ks, *extra):
    plan = tmp_path / "plan.yaml"
    p = cqlshift(build_dir, "plan", source_uri, "-k", ks, "-o", plan, *extra, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    return plan, yaml.safe_load(plan.read_text())


def find_key(d, name):
    """The key of d that is name, ignoring case (PostgreSQL folds, SQLite keeps)."""
    for k in d:
        if k.lower() == name.lower():
            return k
    raise KeyError(name)


def sqlite_name(x):
    return x.replace("_", "")


def pg_name(x):
    return x


def edit_plan(doc, n, src_name, src_unit_price):
    """Enable two query tables, add a computed column, rename one, add a
    filtered table fed by the same source table as track. n(canonical
    target column name) -> the name the plan gives it."""
    tables = doc["tables"]
    assert tables["track_by_album"]["enabled"] is False
    assert tables["invoice_by_customer"]["enabled"] is False
    tables["track_by_album"]["enabled"] = True
    tables["invoice_by_customer"]["enabled"] = True
    assert tables["track_by_album"]["partition_key"] == [n("album_id")]
    assert tables["track_by_album"]["clustering"] == [n("track_id")]
    # a computed column
    tables["track"]["columns"]["name_upper"] = "text"
    # a renamed column
    cols = tables["album"]["columns"]
    tables["album"]["columns"] = {("album_title" if k == "title" else k): v for k, v in cols.items()}
    # a filtered copy of track
    tables["pricey_track"] = {
        "columns": {"trackid": tables["track"]["columns"][n("track_id")], "name": "text",
                    "price": "decimal"},
        "partition_key": ["trackid"], "clustering": [], "options": {}}
    for m in doc["mappings"]:
        if m["to"] == "track":
            m["columns"]["name_upper"] = f"upper({src_name})"
        if m["to"] == "album":
            m["columns"]["album_title"] = m["columns"].pop("title")
    track_map = next(m for m in doc["mappings"] if m["to"] == "track")
    doc["mappings"].append({
        "from": track_map["from"], "to": "pricey_track",
        "where": f"{src_unit_price} > 0.99",
        "columns": {"trackid": track_map["columns"][n("track_id")],
                    "name": track_map["columns"]["name"],
                    "price": track_map["columns"][n("unit_price")]}})
    return doc


def check_queries(py_session, ks, n, sql_tracks_by_album, sql_invoices_by_customer, sql_albums,
                  sql_tracks):
    """The application's queries against the query tables return what SQL does."""
    for album, want in sql_tracks_by_album.items():
        got = [tuple(r) for r in py_session.execute(
            f"SELECT {n('track_id')}, name FROM {ks}.track_by_album WHERE {n('album_id')} = %s",
            (album,))]
        assert got == want, album
    for cust, want in sql_invoices_by_customer.items():
        got = [tuple(r) for r in py_session.execute(
            f"SELECT {n('invoice_id')}, total FROM {ks}.invoice_by_customer "
            f"WHERE {n('customer_id')} = %s", (cust,))]
        assert got == want, cust
    got = dict(tuple(r) for r in py_session.execute(
        f"SELECT {n('album_id')}, album_title FROM {ks}.album"))
    assert got == sql_albums
    got = dict(tuple(r) for r in py_session.execute(
        f"SELECT {n('track_id')}, name_upper FROM {ks}.track"))
    assert got == {k: simple_upper(v) for k, v in sql_tracks.items()}


def group(rows):
    out = {}
    for k, *rest in rows:
        out.setdefault(k, []).append(tuple(rest))
    return out


def test_plan_sqlite_query_tables(build_dir, source_dir, py_session, fresh_keyspace, tmp_path,
                                  main_hosts):
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    db = source_dir / CHINOOK
    plan, doc = write_plan(build_dir, tmp_path, f"sqlite:{db}", ks)
    assert doc["version"] == 1
    plan.write_text(yaml.safe_dump(edit_plan(doc, sqlite_name, "Name", "UnitPrice"), sort_keys=False))

    # --dry-run touches nothing
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--dry-run",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "CREATE TABLE" in p.stdout and "track_by_album" in p.stdout
    assert "name_upper=" in p.stdout
    assert ks not in py_session.cluster.metadata.keyspaces

    report = tmp_path / "report.json"
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--report", report,
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rep = json.loads(report.read_text())
    by = {t["table"]: t for t in rep["tables"]}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ntrack = con.execute("SELECT count(*) FROM Track").fetchone()[0]
    npricey = con.execute("SELECT count(*) FROM Track WHERE UnitPrice > 0.99").fetchone()[0]
    assert 0 < npricey < ntrack
    for t in ("track", "track_by_album"):
        assert by[t]["read"] == by[t]["written"] == ntrack, by[t]
    assert by["pricey_track"]["read"] == ntrack
    assert by["pricey_track"]["written"] == npricey
    assert by["pricey_track"]["filtered"] == ntrack - npricey
    assert "track_by_genre" not in by  # proposed, not enabled: not created
    py_session.cluster.refresh_schema_metadata()
    assert "track_by_genre" not in py_session.cluster.metadata.keyspaces[ks].tables

    check_queries(
        py_session, ks, sqlite_name,
        group(con.execute("SELECT AlbumId, TrackId, Name FROM Track ORDER BY AlbumId, TrackId")),
        {k: [(i, decimal.Decimal(str(t))) for i, t in v] for k, v in group(
            con.execute("SELECT CustomerId, InvoiceId, Total FROM Invoice "
                        "ORDER BY CustomerId, InvoiceId")).items()},
        dict(con.execute("SELECT AlbumId, Title FROM Album")),
        dict(con.execute("SELECT TrackId, Name FROM Track")))
    got = {r.trackid for r in py_session.execute(f"SELECT trackid FROM {ks}.pricey_track")}
    assert got == {r[0] for r in con.execute("SELECT TrackId FROM Track WHERE UnitPrice > 0.99")}


def test_plan_postgres_query_tables(build_dir, source_dir, pg_uri, pg_db, py_session,  # noqa: F811
                                    fresh_keyspace, tmp_path, main_hosts):
    uri, con = pg_db
    load_chinook(source_dir, pg_uri, uri.rsplit("/", 1)[1].split("?")[0])
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    plan, doc = write_plan(build_dir, tmp_path, uri, ks)
    plan.write_text(yaml.safe_dump(edit_plan(doc, pg_name, "name", "unit_price"), sort_keys=False))
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    check_queries(
        py_session, ks, pg_name,
        group(con.execute("SELECT album_id, track_id, name FROM track ORDER BY 1, 2").fetchall()),
        group(con.execute("SELECT customer_id, invoice_id, total FROM invoice "
                          "ORDER BY 1, 2").fetchall()),
        dict(con.execute("SELECT album_id, title FROM album").fetchall()),
        dict(con.execute("SELECT track_id, name FROM track").fetchall()))


def make_orders(path, n):
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE c (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE o (id INTEGER PRIMARY KEY, cust INTEGER NOT NULL REFERENCES c (id),
                        v TEXT, amount NUMERIC(10,2), updated INTEGER);
    """)
    con.executemany("INSERT INTO c VALUES (?, ?)", ((i, f"c{i}") for i in range(500)))
    con.executemany("INSERT INTO o VALUES (?, ?, ?, ?, ?)",
                    ((i, i % 500, value_of(i), i % 1000 / 10, 1_700_000_000 + i)
                     for i in range(n)))
    con.commit()
    con.close()


def fanout_plan(build_dir, tmp_path, db, ks):
    """o feeds three tables: o, o_by_c (the proposed query table) and
    o_big (amount > 50, a computed column, write time and TTL from the row)."""
    plan, doc = write_plan(build_dir, tmp_path, f"sqlite:{db}", ks)
    doc["tables"]["o_by_c"]["enabled"] = True
    doc["tables"]["o_big"] = {"columns": {"id": "bigint", "label": "text", "amount": "decimal"},
                              "partition_key": ["id"], "clustering": [], "options": {}}
    doc["mappings"].append({"from": "o", "to": "o_big", "where": "amount > 50",
                            "writetime": "from_epoch(updated, 's')", "ttl": 86400,
                            "columns": {"id": "id", "label": "upper(v) || '/' || cust",
                                        "amount": "amount"}})
    plan.write_text(yaml.safe_dump(doc, sort_keys=False))
    return plan


def check_fanout(py_session, ks, n):
    got = {r.id: (r.cust, r.v) for r in py_session.execute(f"SELECT id, cust, v FROM {ks}.o")}
    assert got == {i: (i % 500, value_of(i)) for i in range(n)}
    for cust in (0, 7, 499):
        got = [r.id for r in py_session.execute(
            f"SELECT id FROM {ks}.o_by_c WHERE cust = %s", (cust,))]
        assert got == list(range(cust, n, 500)), cust
    big = {i for i in range(n) if i % 1000 / 10 > 50}
    got = {r.id: (r.label, r.wt, r.ttl) for r in py_session.execute(
        f"SELECT id, label, WRITETIME(label) AS wt, TTL(label) AS ttl FROM {ks}.o_big")}
    assert set(got) == big
    for i in list(big)[:2000]:
        label, wt, ttl = got[i]
        assert label == f"{value_of(i).upper()}/{i % 500}"
        assert wt == (1_700_000_000 + i) * 1_000_000
        assert 0 < ttl <= 86400
    return len(big)


def test_plan_fanout_kill_9_then_resume(build_dir, tmp_path, main_hosts, py_session,
                                       fresh_keyspace):
    """One source table feeding three target tables, killed mid-way, then
    --resume: each table holds exactly its rows, counts reconcile per table
    (read = written + filtered), nothing read twice."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    n = 200_000
    db = tmp_path / "src.db"
    make_orders(db, n)
    plan = fanout_plan(build_dir, tmp_path, db, ks)
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", str(plan), f"cassandra://{main_hosts[0]}",
            "--out-dir", str(out), "--quiet"]
    run_and_kill(args, out, random.Random().randint(60_000, 400_000))
    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report)], capture_output=True,
                       text=True, timeout=1200)
    assert p.returncode == 0, p.stderr
    nbig = check_fanout(py_session, ks, n)
    tables = {t["table"]: t for t in json.loads(report.read_text())["tables"]}
    for name in ("o", "o_by_c"):
        t = tables[name]
        assert t["read"] == t["written"] == n and t["rejected"] == t["filtered"] == 0, t
    t = tables["o_big"]
    assert t["read"] == n and t["written"] == nbig and t["filtered"] == n - nbig, t
    # a resume with an edited plan is refused: the rows so far followed the old one
    plan.write_text(plan.read_text().replace("amount > 50", "amount > 60"))
    p = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 2, p.stderr


@pytest.mark.parametrize("mapping,where,expect", [
    ({"label": "upper(vv)"}, None, "unknown column"),
    ({"label": "lowr(v)"}, None, "unknown function"),
    ({"label": "upper(v"}, None, ""),
    ({}, "v", "where must be a condition"),
    ({"amount": "cast(v as uuid)"}, None, "amount"),
])
def test_plan_expression_errors(build_dir, tmp_path, main_hosts, py_session, mapping, where,
                                expect):
    """A mistake in an expression is refused before anything is created, with
    FILE:LINE:COL inside the expression and a sentence; exit 2."""
    db = tmp_path / "src.db"
    make_orders(db, 10)
    ks = "plan_err_" + uuid.uuid4().hex[:8]
    plan, doc = write_plan(build_dir, tmp_path, f"sqlite:{db}", ks)
    m = next(m for m in doc["mappings"] if m["to"] == "o")
    doc["tables"]["o"]["columns"]["label"] = "text"
    m["columns"]["label"] = "v"
    m["columns"].update(mapping)
    if where:
        m["where"] = where
    plan.write_text(yaml.safe_dump(doc, sort_keys=False))
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    line = p.stderr.strip().splitlines()[-1]
    assert re.match(rf"cqlshift: error: {re.escape(str(plan))}:\d+:\d+: ", line), line
    assert expect in line, line
    py_session.cluster.refresh_schema_metadata()
    assert ks not in py_session.cluster.metadata.keyspaces
    # the column points into the expression
    lno, col = map(int, line.split(str(plan) + ":", 1)[1].split(":")[:2])
    text = plan.read_text().splitlines()[lno - 1]
    bad = list(mapping.values())[0] if mapping else where
    start = text.index(bad)
    assert start + 1 <= col <= start + 1 + len(bad), (text, col)


def test_plan_integer_times_as_migrate_source(build_dir, tmp_path, main_hosts, py_session,
                                              fresh_keyspace):
    """Integers in a SQLite DATETIME column count the unit their range shows,
    in a plan as in migrate SOURCE (never silently milliseconds)."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    db = tmp_path / "t.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, at DATETIME)")
    con.executemany("INSERT INTO ev VALUES (?, ?)",
                    [(i, 1_600_000_000 + 86_400 * i) for i in range(100)])
    con.commit()
    con.close()
    plan, doc = write_plan(build_dir, tmp_path, f"sqlite:{db}", ks)
    # the same integers through an expression and as the write time: read alike
    doc["tables"]["ev"]["columns"]["at2"] = "timestamp"
    doc["mappings"][0]["columns"]["at2"] = "coalesce(at, at)"
    doc["mappings"][0]["writetime"] = "at"
    # a null TTL leaves the table's default TTL in force
    doc["tables"]["ev"]["options"] = {"default_time_to_live": 86400}
    doc["mappings"][0]["ttl"] = "null"
    plan.write_text(yaml.safe_dump(doc, sort_keys=False))
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "count seconds since 1970" in p.stderr
    epoch = datetime.datetime(1970, 1, 1)
    want = {i: epoch + datetime.timedelta(seconds=1_600_000_000 + 86_400 * i) for i in range(100)}
    rows = list(py_session.execute(
        f"SELECT id, at, at2, WRITETIME(at) AS wt, TTL(at) AS ttl FROM {ks}.ev"))
    assert {r.id: r.at for r in rows} == want
    assert {r.id: r.at2 for r in rows} == want
    assert {r.id: r.wt for r in rows} == {i: (1_600_000_000 + 86_400 * i) * 1_000_000
                                          for i in range(100)}
    assert all(r.ttl is not None and 0 < r.ttl <= 86400 for r in rows)


def test_plan_writetime_from_sqlite_datetime_text(build_dir, source_dir, tmp_path, main_hosts,
                                                  py_session, fresh_keyspace):
    """writetime from a SQLite DATETIME column (its values are text): each
    invoice is written at its invoice date; a 0/1 column as a where."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    db = source_dir / CHINOOK
    plan, doc = write_plan(build_dir, tmp_path, f"sqlite:{db}", ks, "--tables", "Invoice")
    m = next(m for m in doc["mappings"] if m["to"] == "invoice")
    m["writetime"] = "InvoiceDate"
    m["where"] = "CustomerId > 10"
    plan.write_text(yaml.safe_dump(doc, sort_keys=False))
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    want = {i: int(datetime.datetime.strptime(d, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()) * 1_000_000
        for i, d in con.execute("SELECT InvoiceId, InvoiceDate FROM Invoice WHERE CustomerId > 10")}
    got = {r.invoiceid: r.wt for r in py_session.execute(
        f"SELECT invoiceid, WRITETIME(total) AS wt FROM {ks}.invoice")}
    assert got == want


# (edit of Chinook's written plan: old, new), words the sentence must hold
INVALID = [
    (("version: 1\n", "version: 2\n"), "version 2 is not supported"),
    (("  album:  ", "  Album:  "), "not a valid name"),
    (("      title: text\n", "      title: txt\n"), "did you mean 'text'"),
    (("    partition_key: [albumid]\n", "    partition_key: [album_id]\n"), "albumid"),
    (("    to: album\n", "    to: albums\n"), "did you mean 'album'"),
    (("- from: Album ", "- from: Albums "), "which the source does not have"),
    (("      albumid: AlbumId\n", ""), "does not set partition key column albumid"),
    (("  name: ", "  name: other\n  name: "), "appears twice"),
    (("keyspace:\n", "keyspace: [\n"), "not valid YAML"),
    (("      title: text\n", "      title: text\n      title: int\n"), "twice"),
    (("      albumid: bigint\n", "      albumid: list<bigint>\n"), "albumid"),
    (("    options: {}", "    options: {time_to_live: 5}"), "time_to_live"),
    (("replication_factor: 1}", "dc1: 3}"), "SimpleStrategy"),
    (("      title: Title\n", "      titel: Title\n"), "titel"),
    (("      title: Title\n", "      title: Titel\n"), "unknown column"),
    (("      title: Title\n", "      title: lowr(Title)\n"), "unknown function"),
    (("      title: Title\n", "      title: Title + 1\n"), "Title is text"),
    (("    to: album\n", "    to: album\n    where: Title\n"), "where must be a condition"),
    (("    to: album\n", "    to: album\n    ttl: -5\n"), "ttl"),
    (("    to: album\n", "    to: album\n    writetime: Title\n"), "writetime"),
    (("      albumid: AlbumId\n", "      albumid: from_epoch(AlbumId, 's')\n"), "cannot take"),
    (("      title: Title\n", "      title: \"'abc\"\n"), "no closing quote"),
    (("source: ", "sauce: "), "sauce"),
    (("    partition_key: [albumid]\n", "    partition_key: []\n"), "partition"),
]


@pytest.mark.parametrize("edit,words", INVALID, ids=[w for _, w in INVALID])
def test_invalid_plan_refused_by_migrate(build_dir, source_dir, tmp_path, main_hosts, py_session,
                                         edit, words):
    """Each kind of invalid plan: exit 2, FILE:LINE:COL: and a sentence,
    nothing created in Cassandra."""
    ks = "plan_bad_" + uuid.uuid4().hex[:8]
    plan, _ = write_plan(build_dir, tmp_path, f"sqlite:{source_dir / CHINOOK}", ks)
    text = plan.read_text()
    assert edit[0] in text, edit[0]
    plan.write_text(text.replace(edit[0], edit[1], 1))
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    line = p.stderr.strip().splitlines()[-1]
    assert re.match(rf"cqlshift: error: {re.escape(str(plan))}:\d+:\d+: ", line), line
    assert words in line, line
    n = int(line.split(str(plan) + ":", 1)[1].split(":")[0])
    assert 1 <= n <= text.count("\n") + 3
    py_session.cluster.refresh_schema_metadata()
    assert ks not in py_session.cluster.metadata.keyspaces


def test_plan_fanout_values_converted_per_target(build_dir, tmp_path, main_hosts, py_session,
                                                 fresh_keyspace):
    """A fed table copies the reading table's encoded value only where the
    source column and the CQL type are the same; every other column is
    converted for its own table: a text column that is an int in one table,
    integers that are epochs in another unit, a REAL that is a double here
    and a decimal there, a reading table whose filter or reject leaves a row
    to the fed tables alone. Every value is checked with the Python driver."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    db = tmp_path / "v.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE s (id TEXT PRIMARY KEY, num TEXT, at DATETIME, x REAL, "
                "label TEXT, d TEXT)")
    rows = []
    for i in range(3000):
        rows.append((str(uuid.UUID(int=i + 1)), str(i * 7), 1_600_000_000 + i,
                     i / 3, f"label {i % 40}" if i % 500 else None,
                     f"2024-01-{1 + i % 28:02d}T10:00:00.{i % 1000:03d}Z"))
    rows.append((str(uuid.UUID(int=99_999)), "not a number", 1_600_000_000, 1.5, "bad", "x"))
    con.executemany("INSERT INTO s VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"""version: 1
source: 'sqlite:{db}'
keyspace:
  name: {ks}
  replication: {{class: SimpleStrategy, replication_factor: 1}}
tables:
  a:
    columns: {{id: uuid, num: int, at: timestamp, x: double, label: text, d: timestamp}}
    partition_key: [id]
  b:
    columns: {{id: uuid, num: text, at: timestamp, x: decimal, label: text, d: timestamp,
              up: text}}
    partition_key: [label]
    clustering: [id]
  c:
    columns: {{id: uuid, num: int, at: timestamp, x: double, d: text, d2: timestamp}}
    partition_key: [id]
mappings:
  - from: s
    to: a
    where: "x < 900"
    columns: {{id: id, num: num, at: at, x: x, label: label, d: d}}
  - from: s
    to: b
    columns: {{id: id, num: num, at: "coalesce(at, at)", x: x, label: label, d: d,
               up: upper(label)}}
  - from: s
    to: c
    columns: {{id: id, num: num, at: at, x: x, d: d, d2: d}}
""")
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", cwd=tmp_path)
    # rejected: the bad row by every table (d), the rows without a label by b (its key)
    assert p.returncode == 4, p.stderr
    epoch = datetime.datetime(1970, 1, 1)

    def ts(text):
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")

    good = rows[:-1]
    got = {r.id: r for r in py_session.execute(f"SELECT * FROM {ks}.a")}
    want = {uuid.UUID(i): (int(n), epoch + datetime.timedelta(seconds=at), x, lab, ts(d))
            for i, n, at, x, lab, d in good if x < 900}
    assert {k: (r.num, r.at, r.x, r.label, r.d) for k, r in got.items()} == want
    got = {(r.label, r.id): r for r in py_session.execute(f"SELECT * FROM {ks}.b")}
    want = {(lab, uuid.UUID(i)): (n, epoch + datetime.timedelta(seconds=at), decimal.Decimal(repr(x)),
                                  ts(d), lab.upper())
            for i, n, at, x, lab, d in rows if lab is not None and d != "x"}
    assert {k: (r.num, r.at, r.x, r.d, r.up) for k, r in got.items()} == want
    got = {r.id: r for r in py_session.execute(f"SELECT * FROM {ks}.c")}
    want = {uuid.UUID(i): (int(n), epoch + datetime.timedelta(seconds=at), x, d, ts(d))
            for i, n, at, x, lab, d in good}
    assert {k: (r.num, r.at, r.x, r.d, r.d2) for k, r in got.items()} == want


def test_dry_run_says_which_rows_the_run_rejects(build_dir, py_session, fresh_keyspace, tmp_path,
                                                 main_hosts):
    """--dry-run converts each shown value as the load would: a row the run
    rejects (text that is no int, a null key) is shown as rejected with its
    column, and the real run rejects exactly those rows."""
    ks = fresh_keyspace
    db = tmp_path / "d.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, c TEXT, k TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                    [(1, "c7", "a"), (2, "42", "b"), (3, "7", None), (4, "x", "d")])
    con.commit()
    con.close()
    plan = tmp_path / "p.yaml"
    plan.write_text(f"version: 1\nsource: 'sqlite:{db}'\nkeyspace: {{name: {ks}}}\ntables:\n"
                    "  t:\n    columns: {k: text, id: bigint, n: int}\n"
                    "    partition_key: [k]\n    clustering: [id]\n"
                    "mappings:\n  - from: t\n    to: t\n    columns: {id: id, n: c, k: k}\n")
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--dry-run",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    shown = {int(m.group(1)): m.group(2) for m in re.finditer(r"--   row (\d+): (.*)", p.stdout)}
    assert shown[1].startswith("rejected: column n:") and "'c7'" in shown[1], shown
    assert shown[2] == "k='b', id=2, n='42'", shown
    assert shown[3].startswith("rejected: column k:"), shown
    assert shown[4].startswith("rejected: column n:"), shown
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--out-dir",
                 tmp_path / "r", cwd=tmp_path)
    assert p.returncode == 4, p.stderr
    assert [(r.k, r.id, r.n) for r in py_session.execute(f"SELECT k, id, n FROM {ks}.t")] == \
        [("b", 2, 42)]
