# fixtures: cassandra_main
"""cqlshift migrate: values that must not change on the way, and what the
tool says about them (issue 14, items 8-10).

Every case builds a small SQLite file, runs the real binary, and checks what
landed in Cassandra with the DataStax Python driver, the reject file and the
notes on stderr."""

import datetime
import json
import os
import sqlite3
import subprocess

import pytest


def cqlshift(build_dir, *args, cwd=None, timeout=600):
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ), timeout=timeout)


def make_db(path, *statements, rows=()):
    """A SQLite file from DDL statements and (insert sql, params) pairs."""
    con = sqlite3.connect(path)
    for s in statements:
        con.execute(s)
    for sql, params in rows:
        con.execute(sql, params)
    con.commit()
    con.close()
    return path


def migrate(build_dir, db, hosts, ks, tmp_path, *extra):
    rej = tmp_path / "rejects.jsonl"
    p = cqlshift(build_dir, "migrate", f"sqlite:{db}", f"cassandra://{hosts[0]}/{ks}",
                 "--reject-file", rej, "--state", tmp_path / "state.db", *extra, cwd=tmp_path)
    rejects = [json.loads(line) for line in rej.read_text().splitlines()] if rej.exists() else []
    return p, rejects


# ---- item 8: an empty blob in a rejected row --------------------------------------------------

def test_empty_blob_in_rejected_row_is_0x(build_dir, py_session, fresh_keyspace, tmp_path,
                                          main_hosts):
    """A row rejected for one column shows an empty blob of another column as
    "0x" in the reject file (it read past the end of a buffer before), and a
    good row's empty blob lands as an empty blob."""
    ks = fresh_keyspace
    db = make_db(tmp_path / "b.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, n INTEGER)",
                 rows=[("INSERT INTO t VALUES (1, x'', 'not a number')", ()),
                       ("INSERT INTO t VALUES (2, x'00ff10', 'nor this')", ()),
                       ("INSERT INTO t VALUES (3, x'', 7)", ())])
    p, rejects = migrate(build_dir, db, main_hosts, ks, tmp_path, "-q")
    assert p.returncode in (0, 4), p.stderr
    assert "AddressSanitizer" not in p.stderr, p.stderr
    assert sorted((r["position"], r["row"]) for r in rejects) == \
        [(1, [1, "0x", "not a number"]), (2, [2, "0x00ff10", "nor this"])], rejects
    got = {r.id: (r.b, r.n) for r in py_session.execute(f"SELECT id, b, n FROM {ks}.t")}
    assert got == {3: (b"", 7)}, got


# ---- item 10: keyspace replication and column names -------------------------------------------

def order_items_db(tmp_path):
    return make_db(tmp_path / "o.db",
                   'CREATE TABLE "Order Items" (id INTEGER PRIMARY KEY, "unit price" NUMERIC(10,2), '
                   'Qty INT)',
                   rows=[('INSERT INTO "Order Items" VALUES (?, ?, ?)', (1, 2.5, 3)),
                         ('INSERT INTO "Order Items" VALUES (?, ?, ?)', (2, 10, 1))])


def migrate_into_new_keyspace(build_dir, py_session, ks, tmp_path, hosts, spec):
    """migrate order_items_db into keyspace ks, which does not exist yet."""
    py_session.execute(f"DROP KEYSPACE {ks}", timeout=60)
    p, _ = migrate(build_dir, order_items_db(tmp_path), hosts, ks, tmp_path, "--replication", spec)
    return p


def replication_of(py_session, ks):
    row = py_session.execute("SELECT replication FROM system_schema.keyspaces "
                             "WHERE keyspace_name = %s", (ks,)).one()
    return dict(row.replication) if row else None


def test_default_replication_has_a_note_and_columns_are_folded(build_dir, py_session,
                                                                 fresh_keyspace, tmp_path,
                                                                 main_hosts):
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}", timeout=60)   # migrate creates it
    p, rejects = migrate(build_dir, order_items_db(tmp_path), main_hosts, ks, tmp_path)
    assert p.returncode == 0, p.stderr
    assert replication_of(py_session, ks) == {
        "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"}
    assert (f"cqlshift: note: {ks}: keyspace created with SimpleStrategy and replication factor "
            "1: one copy of every row") in p.stderr, p.stderr
    assert "--replication" in p.stderr
    assert f'cqlshift: note: {ks}.order_items.unit_price: renamed from "unit price"' in p.stderr
    py_session.cluster.refresh_schema_metadata()
    cols = list(py_session.cluster.metadata.keyspaces[ks].tables["order_items"].columns)
    assert sorted(cols) == ["id", "qty", "unit_price"], cols
    got = sorted(tuple(r) for r in py_session.execute(
        f"SELECT id, unit_price, qty FROM {ks}.order_items"))
    assert [(i, float(u), q) for i, u, q in got] == [(1, 2.5, 3), (2, 10.0, 1)]


@pytest.mark.parametrize("spec, want", [
    ("SimpleStrategy:2", {"class": "org.apache.cassandra.locator.SimpleStrategy",
                          "replication_factor": "2"}),
    ("datacenter1:2", {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy",
                       "datacenter1": "2"}),
])
def test_replication_option_creates_the_keyspace(build_dir, py_session, fresh_keyspace, tmp_path,
                                                 main_hosts, spec, want):
    ks = fresh_keyspace
    p = migrate_into_new_keyspace(build_dir, py_session, ks, tmp_path, main_hosts, spec)
    assert p.returncode == 0, p.stderr
    assert replication_of(py_session, ks) == want
    assert "replication factor 1" not in p.stderr, p.stderr
    assert py_session.execute(f"SELECT count(*) FROM {ks}.order_items").one()[0] == 2


def test_replication_of_an_existing_keyspace_is_left_alone(build_dir, py_session, fresh_keyspace,
                                                           tmp_path, main_hosts):
    ks = fresh_keyspace
    p, _ = migrate(build_dir, order_items_db(tmp_path), main_hosts, ks, tmp_path,
                   "--replication", "SimpleStrategy:2")
    assert p.returncode == 0, p.stderr
    assert replication_of(py_session, ks)["replication_factor"] == "1"
    assert (f"cqlshift: note: {ks}: the keyspace exists, so its replication is left as it is"
            in p.stderr), p.stderr


@pytest.mark.parametrize("spec", ["SimpleStrategy:0", "dc1", "dc1:3,dc1:2", "SimpleStrategy:3,dc1:3",
                                  "3", "dc1:three"])
def test_bad_replication_is_refused_before_anything(build_dir, py_session, fresh_keyspace,
                                                    tmp_path, main_hosts, spec):
    ks = fresh_keyspace
    p = migrate_into_new_keyspace(build_dir, py_session, ks, tmp_path, main_hosts, spec)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith(f"cqlshift: error: --replication '{spec}'"), p.stderr
    assert p.stderr.count("\n") == 1, p.stderr
    assert replication_of(py_session, ks) is None


def test_columns_that_fold_alike_are_refused(build_dir, py_session, fresh_keyspace, tmp_path,
                                             main_hosts):
    ks = fresh_keyspace
    db = make_db(tmp_path / "c.db",
                 'CREATE TABLE t (id INTEGER PRIMARY KEY, "unit price" REAL, "Unit-Price" REAL)')
    p, _ = migrate(build_dir, db, main_hosts, ks, tmp_path)
    assert p.returncode == 2, p.stderr
    assert ('table t: columns "unit price" and "Unit-Price" both become unit_price' in p.stderr), \
        p.stderr
    py_session.cluster.refresh_schema_metadata()
    assert "t" not in py_session.cluster.metadata.keyspaces[ks].tables
