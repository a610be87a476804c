# fixtures: cassandra_main
"""The automatic model of the Chinook SQLite database, applied with
tests/tools/model_tool.c (target_apply_model) and checked with the DataStax Python
driver's schema metadata: every table, column, type and key as docs/model.md
says; applying twice is a no-op; an existing table that differs is refused
with exit 2 and a message naming the column."""

import sqlite3
import subprocess

import pytest

CHINOOK = "datasets/chinook/Chinook_Sqlite.sqlite"


def expected_type(decl):
    d = decl.upper()
    if d.startswith("NVARCHAR"):
        return "text"
    if d == "INTEGER":
        return "bigint"
    if d == "DATETIME":
        return "timestamp"
    if d.startswith("NUMERIC"):
        return "decimal"
    raise AssertionError(f"unexpected Chinook type {decl}")


@pytest.fixture(scope="module")
def chinook(source_dir):
    con = sqlite3.connect(f"file:{source_dir / CHINOOK}?mode=ro", uri=True)
    out = {}
    for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' "
                            "AND name NOT LIKE 'sqlite_%'"):
        info = con.execute(f'PRAGMA table_info("{t}")').fetchall()
        out[t] = info
    con.close()
    return out


def model_tool(tool, source_dir, ks, hosts, *extra):
    return subprocess.run([str(tool("model_tool")), f"sqlite:{source_dir / CHINOOK}",
                           "--keyspace", ks, "--hosts", ",".join(hosts), *extra],
                          capture_output=True, text=True, timeout=300)


def test_chinook_model_applied(tool, source_dir, py_session, fresh_keyspace, main_hosts, chinook):
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}", timeout=60)   # target_apply_model creates it
    p = model_tool(tool, source_dir, ks, main_hosts, "--apply")
    assert p.returncode == 0, p.stderr
    assert f"CREATE KEYSPACE IF NOT EXISTS {ks}" in p.stdout
    assert p.stdout.count("CREATE TABLE IF NOT EXISTS") == 11

    cluster = py_session.cluster
    cluster.refresh_schema_metadata()
    km = cluster.metadata.keyspaces[ks]
    assert km.replication_strategy.replication_factor == 1
    assert set(km.tables) == {t.lower() for t in chinook}
    for t, info in chinook.items():
        tm = km.tables[t.lower()]
        pk = [c[1].lower() for c in sorted(info, key=lambda c: c[5]) if c[5] > 0]
        assert [c.name for c in tm.partition_key] == pk[:1], t
        assert [c.name for c in tm.clustering_key] == pk[1:], t
        assert not any(c.is_reversed for c in tm.clustering_key), t   # ASC
        assert set(tm.columns) == {c[1].lower() for c in info}, t
        for c in info:
            assert tm.columns[c[1].lower()].cql_type == expected_type(c[2]), (t, c)

    # applied again: nothing to do, still exit 0
    p = model_tool(tool, source_dir, ks, main_hosts, "--apply")
    assert p.returncode == 0, p.stderr


def test_conflicting_table_refused(tool, source_dir, py_session, fresh_keyspace, main_hosts):
    ks = fresh_keyspace
    # the model's track table, but with bytes as int and milliseconds missing
    py_session.execute(
        f"CREATE TABLE {ks}.track (trackid bigint PRIMARY KEY, name text, albumid bigint, "
        "mediatypeid bigint, genreid bigint, composer text, bytes int, unitprice decimal)",
        timeout=60)
    # and playlisttrack keyed the wrong way round
    py_session.execute(
        f"CREATE TABLE {ks}.playlisttrack (trackid bigint, playlistid bigint, "
        "PRIMARY KEY ((trackid), playlistid))", timeout=60)
    p = model_tool(tool, source_dir, ks, main_hosts, "--apply")
    assert p.returncode == 2, (p.returncode, p.stderr)
    err = p.stderr
    # another type is not a difference: values are converted to it (a note)
    assert "column bytes exists" not in err, err
    assert f"{ks}.track.bytes: the existing table has int where the model would use bigint" \
        in err, err
    assert f"{ks}.track: column milliseconds is missing" in err, err
    assert f"{ks}.playlisttrack: column playlistid is a clustering column there, " \
           "the model wants a partition key" in err, err
    assert "drop those tables" in err
    # every existing table is checked before anything is created: no other
    # table was created
    py_session.cluster.refresh_schema_metadata()
    assert set(py_session.cluster.metadata.keyspaces[ks].tables) == {"track", "playlisttrack"}
    # an extra regular column is not a conflict
    py_session.execute(f"DROP TABLE {ks}.track", timeout=60)
    py_session.execute(f"DROP TABLE {ks}.playlisttrack", timeout=60)
    p = model_tool(tool, source_dir, ks, main_hosts, "--apply")
    assert p.returncode == 0, p.stderr
    py_session.execute(f"ALTER TABLE {ks}.genre ADD extra text", timeout=60)
    p = model_tool(tool, source_dir, ks, main_hosts, "--apply")
    assert p.returncode == 0, p.stderr


def test_unreadable_source(tool, tmp_path, main_hosts):
    bad = tmp_path / "bad.db"
    bad.write_text("not a database\n" * 100)
    p = subprocess.run([str(tool("model_tool")), f"sqlite:{bad}", "--keyspace", "x"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "not an SQLite database" in p.stderr
