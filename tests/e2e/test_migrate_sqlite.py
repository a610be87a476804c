# fixtures: cassandra_main
"""cqlshift migrate sqlite:FILE cassandra://HOST/KS, end to end.

The Chinook database is migrated with the real binary; then, for every
table, every row and every value is compared with what Python's sqlite3
reads from the same file, using the DataStax Python driver on the Cassandra
side (never our own client)."""

import datetime
import decimal
import json
import os
import sqlite3
import subprocess

import pytest

from conftest import reject_rows

CHINOOK = "datasets/chinook/Chinook_Sqlite.sqlite"


def cqlshift(build_dir, *args, cwd=None, env=None, timeout=600):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=e, timeout=timeout)


def sqlite_tables(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    out = {}
    for t in tables:
        info = con.execute(f'PRAGMA table_info("{t}")').fetchall()
        cols = [(c[1], (c[2] or "").upper()) for c in info]
        pk = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5] > 0]
        rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
        out[t] = (cols, pk, rows)
    con.close()
    return out


def expected_value(decl, v):
    """What the automatic model should store for a SQLite value of this
    declared type, as the Python driver returns it."""
    if v is None:
        return None
    if decl.startswith("DATETIME"):
        return datetime.datetime.strptime(v, "%Y-%m-%d %H:%M:%S")
    if decl.startswith("NUMERIC"):
        return decimal.Decimal(repr(v)) if isinstance(v, float) else decimal.Decimal(v)
    return v


@pytest.fixture(scope="module")
def chinook(source_dir):
    return sqlite_tables(source_dir / CHINOOK)


def test_migrate_chinook_every_value(build_dir, source_dir, py_session, fresh_keyspace, tmp_path,
                                     chinook, main_hosts):
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")  # migrate creates it
    report = tmp_path / "report.json"
    p = cqlshift(build_dir, "migrate", f"sqlite:{source_dir / CHINOOK}",
                 f"cassandra://{main_hosts[0]}/{ks}", "--report", report, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rep = json.loads(report.read_text())
    assert rep["ok"] is True
    by_table = {t["table"]: t for t in rep["tables"]}
    assert set(by_table) == {t.lower() for t in chinook}
    for t, (cols, pk, rows) in chinook.items():
        entry = by_table[t.lower()]
        assert entry["read"] == len(rows) == entry["written"], entry
        assert entry["rejected"] == 0

    py_session.cluster.refresh_schema_metadata()
    meta = py_session.cluster.metadata.keyspaces[ks]
    for t, (cols, pk, rows) in chinook.items():
        tm = meta.tables[t.lower()]
        # keys: first primary key column partitions, the rest cluster
        assert [c.name for c in tm.partition_key] == [pk[0].lower()]
        assert [c.name for c in tm.clustering_key] == [c.lower() for c in pk[1:]]
        got = {}
        names = [c[0].lower() for c in cols]
        for r in py_session.execute(f'SELECT {", ".join(names)} FROM {ks}.{t.lower()}'):
            key = tuple(getattr(r, k.lower()) for k in pk)
            got[key] = r
        assert len(got) == len(rows), t
        for row in rows:
            src = dict(zip([c[0] for c in cols], row))
            key = tuple(src[k] for k in pk)
            r = got[key]
            for (name, decl), v in zip(cols, row):
                want = expected_value(decl, v)
                have = getattr(r, name.lower())
                assert have == want, (t, key, name, decl, v, have)


def test_migrate_twice_is_idempotent(build_dir, source_dir, py_session, fresh_keyspace, tmp_path,
                                     chinook, main_hosts, count_rows):
    ks = fresh_keyspace
    for _ in range(2):
        p = cqlshift(build_dir, "migrate", f"sqlite:{source_dir / CHINOOK}",
                     f"cassandra://{main_hosts[0]}/{ks}", "--quiet", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    tm = py_session.cluster.metadata
    py_session.cluster.refresh_schema_metadata()
    assert count_rows(py_session, ks, "track", ["trackid"]) == len(chinook["Track"][2])
    assert count_rows(py_session, ks, "playlisttrack", ["playlistid"]) == \
        len(chinook["PlaylistTrack"][2])
    assert tm is not None


def test_summary_reconciles_on_stderr(build_dir, source_dir, fresh_keyspace, tmp_path,
                                      main_hosts, chinook):
    p = cqlshift(build_dir, "migrate", f"sqlite:{source_dir / CHINOOK}",
                 f"cassandra://{main_hosts[0]}/{fresh_keyspace}", "--tables", "Genre,MediaType",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = [line for line in p.stderr.splitlines() if line.strip().startswith(("genre", "mediatype"))]
    assert len(lines) == 2, p.stderr
    assert str(len(chinook["Genre"][2])) in " ".join(lines)


def test_existing_table_with_other_types_gets_converted_values(build_dir, py_session,
                                                                 fresh_keyspace, tmp_path,
                                                                 main_hosts):
    """A table created by hand with other types than the model's (int for
    bigint, set<text> for text holding a list literal, a key of type int) is
    written with the table's types: each value converted, a value that does
    not convert rejected with its reason, a note per column."""
    ks = fresh_keyspace
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, tags TEXT, "
                "price DECIMAL, name TEXT)")
    rows = [(1, 5, "['red','vip']", "12.50", "one"),
            (2, 3000000000, "['blue']", "1", "too many"),      # qty out of int range
            (3, 7, "not a list", "2", "bad tags"),             # tags not a set literal
            (4, None, None, None, None),
            (5, -2147483648, "['a', 'b', 'a']", "0.5", "five")]
    con.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    py_session.execute(f"CREATE TABLE {ks}.items (id int PRIMARY KEY, qty int, tags set<text>, "
                       "price decimal, name text)", timeout=60)
    report = tmp_path / "report.json"
    p = cqlshift(build_dir, "migrate", f"sqlite:{db}", f"cassandra://{main_hosts[0]}/{ks}",
                 "--out-dir", tmp_path / "runs", "--report", report, cwd=tmp_path)
    assert p.returncode == 4, p.stderr  # finished with rejected rows
    for col, have, model in (("id", "int", "bigint"), ("qty", "int", "bigint"),
                             ("tags", "set<text>", "text")):
        assert (f"cqlshift: note: {ks}.items.{col}: the existing table has {have} where the "
                f"model would use {model}; values are converted to {have}") in p.stderr, p.stderr
    assert "price: the existing table" not in p.stderr     # same type: no note
    t = json.loads(report.read_text())["tables"][0]
    assert (t["read"], t["written"], t["rejected"]) == (5, 3, 2), t
    rejects = {r["position"]: r["reason"] for r in reject_rows(tmp_path / "runs", "items")}
    assert set(rejects) == {2, 3}, rejects
    assert "qty" in rejects[2] and "out of range" in rejects[2], rejects[2]
    assert "tags" in rejects[3], rejects[3]
    got = {r.id: r for r in py_session.execute(f"SELECT id, qty, tags, price, name FROM {ks}.items")}
    assert set(got) == {1, 4, 5}
    assert (got[1].qty, got[1].tags, got[1].price, got[1].name) == \
        (5, {"red", "vip"}, decimal.Decimal("12.5"), "one")
    assert (got[4].qty, got[4].tags, got[4].price, got[4].name) == (None, None, None, None)
    assert (got[5].qty, got[5].tags) == (-2147483648, {"a", "b"})


def test_existing_counter_column_is_refused(build_dir, py_session, fresh_keyspace, tmp_path,
                                            main_hosts):
    ks = fresh_keyspace
    db = tmp_path / "c.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE hits (page TEXT PRIMARY KEY, n INTEGER)")
    con.execute("INSERT INTO hits VALUES ('home', 3)")
    con.commit()
    con.close()
    py_session.execute(f"CREATE TABLE {ks}.hits (page text PRIMARY KEY, n counter)", timeout=60)
    p = cqlshift(build_dir, "migrate", f"sqlite:{db}", f"cassandra://{main_hosts[0]}/{ks}",
                 cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert f"{ks}.hits: column n exists as counter, which INSERT cannot write; the model " \
           "wants bigint" in p.stderr, p.stderr
    assert py_session.execute(f"SELECT n FROM {ks}.hits WHERE page = 'home'").one() is None
