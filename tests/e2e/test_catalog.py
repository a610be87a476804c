# fixtures: postgres mariadb
"""What the SQL connectors' describe says about foreign keys, secondary
indexes, table sizes and quoted names (source_table's fields for assess and
plan), seen through tests/tools/catalog_dump (one JSON line per table) and
checked against the servers' catalogs read with psycopg, PyMySQL and
Python's sqlite3, and against Chinook's known schema:

- Chinook in SQLite, PostgreSQL and MariaDB: its 11 foreign keys, and an
  index on each of their columns, whatever the dialect's naming.
- a corpus per server: composite foreign key in another column order than
  the parent's key, self-reference, a key to another schema/database (read
  or not), unique constraint and unique index, expression and partial
  indexes, non-btree indexes, a keyless table (the rowid column shifts the
  column indexes) with an index and a foreign key, a partitioned table.

catalog_dump itself checks that every column index is in range and that
ref_index names ref_table (exit 3 otherwise).
"""

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pymysql
import pytest

# the server files' helpers: pg_db / fresh_db are fixtures (one fresh
# database per test, dropped after)
from test_migrate_mariadb import admin, fresh_db, load_chinook_mariadb  # noqa: F401
from test_migrate_postgres import load_chinook, pg_db  # noqa: F401

CHINOOK_FKEYS = {  # (child, column) -> (parent, column), names folded by norm()
    ("album", "artistid"): ("artist", "artistid"),
    ("customer", "supportrepid"): ("employee", "employeeid"),
    ("employee", "reportsto"): ("employee", "employeeid"),
    ("invoice", "customerid"): ("customer", "customerid"),
    ("invoiceline", "invoiceid"): ("invoice", "invoiceid"),
    ("invoiceline", "trackid"): ("track", "trackid"),
    ("playlisttrack", "playlistid"): ("playlist", "playlistid"),
    ("playlisttrack", "trackid"): ("track", "trackid"),
    ("track", "albumid"): ("album", "albumid"),
    ("track", "genreid"): ("genre", "genreid"),
    ("track", "mediatypeid"): ("mediatype", "mediatypeid"),
}


def norm(name):
    """Chinook's names across dialects: InvoiceLine, invoice_line -> invoiceline."""
    return name.replace("_", "").lower()


def dump(tool, uri, scope=None):
    """{table name: catalog_dump's object} for a source."""
    args = [str(tool("catalog_dump")), uri] + (["--scope", scope] if scope else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    tables = [json.loads(line) for line in p.stdout.splitlines()]
    names = [t["name"] for t in tables]
    for t in tables:
        for fk in t["foreign_keys"]:
            assert fk["ref_index"] == -1 or names[fk["ref_index"]] == fk["ref_table"], fk
    return {t["name"]: t for t in tables}


def check_chinook(cat):
    assert len(cat) == 11
    fkeys = {}
    for t in cat.values():
        assert all(c is not None for ix in t["indexes"] for c in ix["columns"])
        for fk in t["foreign_keys"]:
            assert len(fk["columns"]) == 1, fk
            assert fk["ref_index"] >= 0, fk
            fkeys[(norm(t["name"]), norm(fk["columns"][0]))] = (norm(fk["ref_table"]),
                                                                norm(fk["ref_columns"][0]))
        # one plain index per foreign key column, nothing else (the primary
        # key's own index is not listed)
        idx = sorted((ix["unique"], tuple(map(norm, ix["columns"])), ix["note"])
                     for ix in t["indexes"])
        want = sorted((False, (norm(fk["columns"][0]),), None) for fk in t["foreign_keys"])
        assert idx == want, (t["name"], idx)
        assert t["bytes"] > 0, t["name"]
        assert t["uses_rowid"] is False
    assert fkeys == CHINOOK_FKEYS


# ---- SQLite --------------------------------------------------------------------------------------

def chinook_sqlite(source_dir):
    for p in (source_dir / "datasets/chinook/Chinook_Sqlite.sqlite",
              Path("/work/shared/datasets/chinook/Chinook_Sqlite.sqlite")):
        if p.is_file():
            return p
    pytest.fail("Chinook_Sqlite.sqlite not found")


def test_sqlite_chinook(tool, source_dir):
    path = chinook_sqlite(source_dir)
    cat = dump(tool, f"sqlite:{path}")
    check_chinook(cat)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    for name, t in cat.items():
        assert t["sql_name"] == f'"{name}"'
        # the FK columns in the tool's order = the pragma's, for an
        # independent reader
        got = sorted((fk["columns"][0], fk["ref_table"], fk["ref_columns"][0])
                     for fk in t["foreign_keys"])
        want = sorted((r[3], r[2], r[4]) for r in
                      con.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,)))
        assert got == want
        try:
            pages = con.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?",
                                (name,)).fetchone()[0]
        except sqlite3.OperationalError:     # this sqlite3 module has no dbstat
            continue
        assert t["bytes"] == pages, name


# ---- PostgreSQL ----------------------------------------------------------------------------------

def pg_stat_bytes(con, regclass):
    """The size describe gives: the statistics' pages of the table and its
    TOAST table (no lock taken), None before the table was first analyzed."""
    return con.execute(
        "SELECT CASE WHEN c.reltuples >= 0 THEN (c.relpages::int8 + coalesce(t.relpages, 0)) * "
        "current_setting('block_size')::int8 END FROM pg_class c LEFT JOIN pg_class t "
        "ON t.oid = c.reltoastrelid WHERE c.oid = %s::regclass", (regclass,)).fetchone()[0]


def test_postgres_chinook(tool, source_dir, pg_uri, pg_db):
    uri, con = pg_db
    load_chinook(source_dir, pg_uri, uri.rsplit("/", 1)[1].split("?")[0])
    cat = dump(tool, uri)
    for t in cat.values():
        assert t["bytes"] == -1          # never analyzed: unknown, not 0
    con.execute("ANALYZE")
    cat = dump(tool, uri)
    check_chinook(cat)
    for name, t in cat.items():
        assert "." not in name          # one schema: bare names
        assert t["sql_name"] == f'"public"."{name}"'
        size = pg_stat_bytes(con, f"public.{name}")
        assert t["bytes"] == size and size > 0, name
    # constraint names as PostgreSQL has them
    names = {r[0] for r in con.execute("SELECT conname FROM pg_constraint WHERE contype = 'f'")}
    assert {fk["name"] for t in cat.values() for fk in t["foreign_keys"]} == names


PG_CORPUS = """
CREATE SCHEMA other;
CREATE TABLE other.country (code text PRIMARY KEY, name text);
CREATE TABLE "Pair" (a int, b int, note text, PRIMARY KEY (a, b),
                     CONSTRAINT pair_note UNIQUE (note));
CREATE TABLE emp (id int PRIMARY KEY, boss int REFERENCES emp (id),
                  country text CONSTRAINT emp_country REFERENCES other.country (code),
                  email text, tags text[]);
CREATE UNIQUE INDEX emp_email_lower ON emp (lower(email));
CREATE INDEX emp_boss_partial ON emp (boss) WHERE boss IS NOT NULL;
CREATE INDEX emp_mixed ON emp (country, (upper(email)), id) INCLUDE (email);
CREATE INDEX emp_tags ON emp USING gin (tags);
CREATE TABLE keyless (x int, y int, z text,
                      CONSTRAINT keyless_pair FOREIGN KEY (y, x) REFERENCES "Pair" (b, a));
CREATE INDEX keyless_z ON keyless (z, x);
CREATE TABLE meas (id int, at date, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE meas_2024 PARTITION OF meas FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE meas_2025 PARTITION OF meas FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX meas_v ON meas (v);
CREATE TABLE reading (id int PRIMARY KEY, mid int, mat date,
                      CONSTRAINT reading_meas FOREIGN KEY (mid, mat) REFERENCES meas (id, at));
INSERT INTO meas SELECT g, date '2024-06-01' + (g % 400), g FROM generate_series(1, 5000) g;
"""


def fk_named(t, name):
    found = [fk for fk in t["foreign_keys"] if fk["name"] == name]
    assert len(found) == 1, (t["name"], name, t["foreign_keys"])
    return found[0]


def ix_named(t, name):
    found = [ix for ix in t["indexes"] if ix["name"] == name]
    assert len(found) == 1, (t["name"], name, t["indexes"])
    return found[0]


def test_postgres_corpus(tool, pg_db):
    uri, con = pg_db
    con.execute(PG_CORPUS)
    con.execute("ANALYZE")          # sizes come from the statistics
    cat = dump(tool, uri)                   # two schemas: qualified names
    assert set(cat) == {"other.country", "public.Pair", "public.emp", "public.keyless",
                        "public.meas", "public.reading"}
    assert cat["public.Pair"]["sql_name"] == '"public"."Pair"'
    assert cat["other.country"]["sql_name"] == '"other"."country"'

    emp = cat["public.emp"]
    fk = fk_named(emp, "emp_boss_fkey")     # self-reference
    assert (fk["columns"], fk["ref_table"], fk["ref_columns"]) == (["boss"], "public.emp", ["id"])
    fk = fk_named(emp, "emp_country")       # to another schema, read
    assert (fk["ref_table"], fk["ref_columns"]) == ("other.country", ["code"])
    assert fk["ref_index"] >= 0
    assert {ix["name"] for ix in emp["indexes"]} == {"emp_email_lower", "emp_boss_partial",
                                                     "emp_mixed", "emp_tags"}
    ix = ix_named(emp, "emp_email_lower")
    assert ix["unique"] and ix["cols"] == [-1] and "expression index" in ix["note"]
    ix = ix_named(emp, "emp_boss_partial")
    assert not ix["unique"] and ix["columns"] == ["boss"]
    assert "partial index (WHERE" in ix["note"] and "boss IS NOT NULL" in ix["note"]
    ix = ix_named(emp, "emp_mixed")         # key parts only; the expression is -1
    assert ix["columns"] == ["country", None, "id"]
    assert "expression index" in ix["note"] and "INCLUDE 1 more column" in ix["note"]
    assert "gin index" in ix_named(emp, "emp_tags")["note"]

    pair = cat["public.Pair"]
    assert [ix["name"] for ix in pair["indexes"]] == ["pair_note"]   # not Pair_pkey
    assert pair["indexes"][0]["unique"] and pair["indexes"][0]["columns"] == ["note"]

    kl = cat["public.keyless"]              # composite, other order; rowid first
    assert kl["uses_rowid"] and kl["columns"][0] != "x"
    fk = fk_named(kl, "keyless_pair")
    assert fk["columns"] == ["y", "x"] and fk["ref_columns"] == ["b", "a"]
    assert fk["cols"] == [kl["columns"].index("y"), kl["columns"].index("x")]
    assert fk["cols"] == [2, 1] and fk["ref_table"] == "public.Pair"
    assert ix_named(kl, "keyless_z")["cols"] == [3, 1]

    meas = cat["public.meas"]               # partitioned: its leaves' size
    leaves = sum(pg_stat_bytes(con, str(r[0])) for r in con.execute(
        "SELECT relid::regclass FROM pg_partition_tree('meas') WHERE isleaf").fetchall())
    assert meas["bytes"] == leaves and leaves > 8192 * 2
    assert [ix["name"] for ix in meas["indexes"]] == ["meas_v"]
    fk = fk_named(cat["public.reading"], "reading_meas")     # to a partitioned table: once
    assert len(cat["public.reading"]["foreign_keys"]) == 1
    assert (fk["ref_table"], fk["ref_columns"]) == ("public.meas", ["id", "at"])
    for name, t in cat.items():
        size = pg_stat_bytes(con, t["sql_name"])
        assert t["bytes"] == (leaves if name == "public.meas" else size), name

    # --schema public: bare names; the other schema's table keeps its schema
    cat = dump(tool, uri, "public")
    assert "emp" in cat and "other.country" not in cat
    fk = fk_named(cat["emp"], "emp_country")
    assert (fk["ref_table"], fk["ref_index"]) == ("other.country", -1)
    assert fk_named(cat["emp"], "emp_boss_fkey")["ref_table"] == "emp"
    assert fk_named(cat["keyless"], "keyless_pair")["ref_table"] == "Pair"


# ---- MariaDB -------------------------------------------------------------------------------------

def my_uri(port, db):
    return f"mysql://root@127.0.0.1:{port}/{db}"


def my_connect(port, db):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", database=db,
                           autocommit=True, charset="utf8mb4")


def test_mariadb_chinook(tool, source_dir, fresh_db, mariadb_port):
    db = fresh_db
    load_chinook_mariadb(source_dir, mariadb_port, db)
    cat = dump(tool, my_uri(mariadb_port, db))
    check_chinook(cat)
    con = my_connect(mariadb_port, db)
    with con.cursor() as c:
        c.execute("SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE "
                  "TABLE_SCHEMA = %s", (db,))
        sizes = dict(c.fetchall())
    for name, t in cat.items():
        assert t["sql_name"] == f"`{db}`.`{name}`"
        assert t["bytes"] == sizes[name]
        assert all(ix["name"].startswith("IFK_") for ix in t["indexes"])


MY_CORPUS = [
    "CREATE TABLE pair (a int, b int, note varchar(50), PRIMARY KEY (a, b), "
    "UNIQUE KEY pair_note (note), KEY pair_ba (b, a))",
    "CREATE TABLE emp (id int PRIMARY KEY, boss int, country varchar(3), email varchar(200), "
    "bio text, loc point NOT NULL, "
    "CONSTRAINT emp_boss FOREIGN KEY (boss) REFERENCES emp (id), "
    "CONSTRAINT emp_country FOREIGN KEY (country) REFERENCES {other}.country (code), "
    "KEY emp_email_prefix (email(10), id), FULLTEXT KEY emp_bio (bio), SPATIAL KEY emp_loc (loc))",
    "CREATE TABLE keyless (x int, y int, z varchar(20), KEY keyless_z (z, x), "
    "CONSTRAINT keyless_pair FOREIGN KEY (y, x) REFERENCES pair (b, a))",
    "CREATE TABLE longu (id int PRIMARY KEY, t text, UNIQUE KEY longu_t (t))",
]


def test_mariadb_corpus(tool, admin, fresh_db, mariadb_port):
    db, other = fresh_db, fresh_db + "_o"
    with admin.cursor() as c:
        c.execute(f"CREATE DATABASE `{other}` CHARACTER SET utf8mb4")
        try:
            c.execute(f"CREATE TABLE `{other}`.country (code varchar(3) PRIMARY KEY, name text)")
            con = my_connect(mariadb_port, db)
            with con.cursor() as d:
                for stmt in MY_CORPUS:
                    d.execute(stmt.replace("{other}", f"`{other}`"))
                d.executemany("INSERT INTO pair VALUES (%s, %s, %s)",
                              [(i, i, "n" * 40 + str(i)) for i in range(3000)])
            check_mariadb_corpus(tool, mariadb_port, db, other)
        finally:
            # emp's key into it: drop emp first (fresh_db drops the rest)
            c.execute(f"DROP TABLE IF EXISTS `{db}`.emp")
            c.execute(f"DROP DATABASE IF EXISTS `{other}`")


def check_mariadb_corpus(tool, port, db, other):
    cat = dump(tool, my_uri(port, db))
    assert set(cat) == {"emp", "keyless", "longu", "pair"}
    emp = cat["emp"]
    fk = fk_named(emp, "emp_boss")
    assert (fk["columns"], fk["ref_table"], fk["ref_columns"]) == (["boss"], "emp", ["id"])
    fk = fk_named(emp, "emp_country")       # to a database not read
    assert (fk["ref_table"], fk["ref_index"], fk["ref_columns"]) == (f"{other}.country", -1,
                                                                     ["code"])
    assert ix_named(emp, "emp_bio")["note"] == "fulltext index"
    assert ix_named(emp, "emp_loc")["note"] == "spatial index"
    ix = ix_named(emp, "emp_email_prefix")
    assert ix["columns"] == ["email", "id"] and ix["note"] == "prefix email(10)"
    # InnoDB's own index for a foreign key without one is an index too
    assert ix_named(emp, "emp_country")["columns"] == ["country"]
    assert "PRIMARY" not in {ix["name"] for t in cat.values() for ix in t["indexes"]}

    kl = cat["keyless"]                     # composite, other order; rowid first
    assert kl["uses_rowid"] and kl["columns"] == ["rowid", "x", "y", "z"]
    fk = fk_named(kl, "keyless_pair")
    assert fk["cols"] == [2, 1] and fk["ref_columns"] == ["b", "a"] and fk["ref_table"] == "pair"
    assert ix_named(kl, "keyless_z")["cols"] == [3, 1]

    pair = cat["pair"]
    ix = ix_named(pair, "pair_note")
    assert ix["unique"] and ix["cols"] == [2]
    assert ix_named(pair, "pair_ba")["cols"] == [1, 0]
    ix = ix_named(cat["longu"], "longu_t")  # UNIQUE over a text: MariaDB's hash
    assert ix["unique"] and ix["note"] == "hash index"

    con = my_connect(port, db)
    with con.cursor() as c:
        c.execute("SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE "
                  "TABLE_SCHEMA = %s", (db,))
        sizes = dict(c.fetchall())
    for name, t in cat.items():
        assert t["bytes"] == sizes[name] and t["sql_name"] == f"`{db}`.`{name}`"

    # both databases: qualified names, the key to the other one resolved
    cat = dump(tool, my_uri(port, db), f"{db},{other}")
    fk = fk_named(cat[f"{db}.emp"], "emp_country")
    assert fk["ref_table"] == f"{other}.country" and fk["ref_index"] >= 0
    assert fk_named(cat[f"{db}.keyless"], "keyless_pair")["ref_table"] == f"{db}.pair"
