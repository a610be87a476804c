# fixtures: cassandra_main
"""cqlshift migrate: values that must not change on the way, and what the
tool says about them (issue 14, items 8-10).

Every case builds a small SQLite file, runs the real binary, and checks what
landed in Cassandra with the DataStax Python driver, the reject file and the
notes on stderr."""

import datetime
import os
import sqlite3
import subprocess

import pytest
from conftest import reject_rows


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
    """Run migrate with its run folders in tmp_path/runs; (process, the
    reject objects of its run)."""
    p = cqlshift(build_dir, "migrate", f"sqlite:{db}", f"cassandra://{hosts[0]}/{ks}",
                 "--out-dir", tmp_path / "runs", *extra, cwd=tmp_path)
    return p, reject_rows(tmp_path / "runs")


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
    assert p.returncode == 4, p.stderr        # finished with rejected rows
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
    ("SimpleStrategy:3", {"class": "org.apache.cassandra.locator.SimpleStrategy",
                          "replication_factor": "3"}),     # more than the ring's 2 nodes
])
def test_replication_option_creates_the_keyspace(build_dir, py_session, fresh_keyspace, tmp_path,
                                                 main_hosts, spec, want):
    ks = fresh_keyspace
    p = migrate_into_new_keyspace(build_dir, py_session, ks, tmp_path, main_hosts, spec)
    assert p.returncode == 0, p.stderr
    assert replication_of(py_session, ks) == want
    assert "replication factor 1" not in p.stderr, p.stderr
    # the server's warning about a factor above the node count reaches the user
    warned = (f"cqlshift: note: {ks}: Cassandra warns: Your replication factor 3 for keyspace "
              f"{ks} is higher than the number of nodes 2") in p.stderr
    assert warned == (spec == "SimpleStrategy:3"), p.stderr
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


# ---- item 9a: integers in timestamp columns ---------------------------------------------------

UTC = datetime.timezone.utc


def epoch_db(tmp_path, values, decl="DATETIME"):
    return make_db(tmp_path / "e.db", f"CREATE TABLE ev (id INTEGER PRIMARY KEY, at {decl})",
                   rows=[("INSERT INTO ev VALUES (?, ?)", (i, v)) for i, v in enumerate(values)])


def times(py_session, ks):
    return {r.id: r.at for r in py_session.execute(f"SELECT id, at FROM {ks}.ev")}


@pytest.mark.parametrize("values, unit", [
    ([1706708700, 1706795100, -315619200, None], "seconds"),
    ([1706708700123, 1706795100000], "milliseconds"),
    ([1706708700123000, 1706795100000000], "microseconds"),
])
def test_epoch_unit_from_the_range(build_dir, py_session, fresh_keyspace, tmp_path, main_hosts,
                                   values, unit):
    ks = fresh_keyspace
    p, rejects = migrate(build_dir, epoch_db(tmp_path, values), main_hosts, ks, tmp_path)
    assert p.returncode == 0, p.stderr
    assert rejects == []
    per = {"seconds": 1, "milliseconds": 1000, "microseconds": 1000000}[unit]
    want = {i: None if v is None else
            datetime.datetime.fromtimestamp(v // per, UTC).replace(tzinfo=None) +
            datetime.timedelta(milliseconds=v % per * 1000 // per)
            for i, v in enumerate(values)}
    assert times(py_session, ks) == want
    ints = [v for v in values if v is not None]
    assert (f"cqlshift: note: {ks}.ev.at: DATETIME -> timestamp: its {len(ints)} integers are "
            f"read as {unit} since 1970 (the unit their range shows; --epoch-unit s|ms|us sets "
            f"it): {min(ints)} to {max(ints)} is ") in p.stderr, p.stderr


@pytest.mark.parametrize("values, why, unit", [
    ([0, 86400], "", "s"),
    ([1706708700, 1706708700000], " (seconds at one end, milliseconds at the other)", "ms"),
])
def test_ambiguous_epoch_integers_are_refused(build_dir, py_session, fresh_keyspace, tmp_path,
                                              main_hosts, values, why, unit):
    ks = fresh_keyspace
    db = epoch_db(tmp_path, values)
    p, _ = migrate(build_dir, db, main_hosts, ks, tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stderr == (f"cqlshift: error: ev.at holds integers from {min(values)} to "
                        f"{max(values)}, which do not show whether they count seconds, "
                        f"milliseconds or microseconds since 1970{why}: pass --epoch-unit s, ms "
                        "or us\n")
    py_session.cluster.refresh_schema_metadata()
    assert "ev" not in py_session.cluster.metadata.keyspaces[ks].tables   # nothing created

    # stated by the user: every integer in that unit
    p, _ = migrate(build_dir, db, main_hosts, ks, tmp_path, "--epoch-unit", unit)
    assert p.returncode == 0, p.stderr
    assert "(as --epoch-unit says)" in p.stderr
    per = 1 if unit == "s" else 1000
    assert times(py_session, ks) == {
        i: datetime.datetime.fromtimestamp(v / per, UTC).replace(tzinfo=None)
        for i, v in enumerate(values)}


def test_epoch_unit_option_is_strict(build_dir, fresh_keyspace, tmp_path, main_hosts):
    db = epoch_db(tmp_path, [1])
    for bad in ("sec", "S", ""):
        p, _ = migrate(build_dir, db, main_hosts, fresh_keyspace, tmp_path, "--epoch-unit", bad)
        assert p.returncode == 2, p.stderr
        assert "--epoch-unit takes s, ms or us" in p.stderr, p.stderr


def test_microseconds_below_the_millisecond_are_rejected(build_dir, py_session, fresh_keyspace,
                                                         tmp_path, main_hosts):
    ks = fresh_keyspace
    p, rejects = migrate(build_dir, epoch_db(tmp_path, [1706708700123000, 1706708700123456]),
                         main_hosts, ks, tmp_path, "--epoch-unit", "us")
    assert [r["position"] for r in rejects] == [1], rejects     # the rowid: id
    assert "1706708700123456 microseconds since 1970 has digits below the millisecond" \
        in rejects[0]["reason"]
    assert times(py_session, ks) == {0: datetime.datetime(2024, 1, 31, 13, 45, 0, 123000)}


# ---- item 9c: timestamps in text with digits below the millisecond ----------------------------

def test_sub_millisecond_text(build_dir, py_session, fresh_keyspace, tmp_path, main_hosts):
    ks = fresh_keyspace
    db = epoch_db(tmp_path, ["2024-01-31 13:45:00.123000", "2024-01-31T13:45:00.123456Z",
                             "2024-01-31 13:45:00.5"])
    p, rejects = migrate(build_dir, db, main_hosts, ks, tmp_path)
    assert [r["position"] for r in rejects] == [1], rejects
    assert rejects[0]["reason"] == (
        "column at: '2024-01-31T13:45:00.123456Z' has digits below the millisecond, which "
        "Cassandra's timestamp does not keep: they would be lost, so the value is refused (round "
        "it in the source; trailing zeros are fine)")
    assert times(py_session, ks) == {0: datetime.datetime(2024, 1, 31, 13, 45, 0, 123000),
                                     2: datetime.datetime(2024, 1, 31, 13, 45, 0, 500000)}


# ---- item 9d: columns without a declared type -------------------------------------------------

def test_untyped_columns_map_from_their_values(build_dir, py_session, fresh_keyspace, tmp_path,
                                               main_hosts):
    ks = fresh_keyspace
    rows = [(1, 10, 1, "a", b"\x00\x01", None, 2**60),
            (2, -3, 2.5, 7, b"", None, 1.5),
            (3, None, None, 0.25, None, None, None)]
    db = make_db(tmp_path / "u.db", "CREATE TABLE u (id INTEGER PRIMARY KEY, i, d, t, b, e, big)",
                 rows=[("INSERT INTO u VALUES (?, ?, ?, ?, ?, ?, ?)", r) for r in rows])
    p, rejects = migrate(build_dir, db, main_hosts, ks, tmp_path)
    assert p.returncode == 0, p.stderr
    assert rejects == []
    py_session.cluster.refresh_schema_metadata()
    cols = py_session.cluster.metadata.keyspaces[ks].tables["u"].columns
    assert {c: cols[c].cql_type for c in cols} == {
        "id": "bigint", "i": "bigint", "d": "double", "t": "text", "b": "blob", "e": "text",
        "big": "text"}
    got = {r.id: tuple(r)[1:] for r in py_session.execute(f"SELECT id, i, d, t, b, e, big FROM {ks}.u")}
    assert got == {1: (10, 1.0, "a", b"\x00\x01", None, str(2**60)),
                   2: (-3, 2.5, "7", b"", None, "1.5"),
                   3: (None, None, "0.25", None, None, None)}
    for col, what in (("i", "(no type) -> bigint: no declared type; 2 integers found: mapped to "
                            "bigint"),
                      ("d", "(no type) -> double: no declared type; 1 integer, 1 real found: "
                            "mapped to double"),
                      ("t", "(no type) -> text: no declared type; 1 integer, 1 real, 1 text value "
                            "found: mapped to text"),
                      ("b", "(no type) -> blob: no declared type; 2 blobs found: mapped to blob"),
                      ("e", "(no type) -> text: no declared type; no values found: mapped to text"),
                      ("big", "(no type) -> text: no declared type; 1 integer, 1 real found: "
                              "mapped to text: a double does not hold integers beyond 2^53")):
        assert f"cqlshift: note: {ks}.u.{col}: {what}" in p.stderr, p.stderr


# ---- item 9b: more digits than a double holds -------------------------------------------------

def test_rounded_doubles_are_counted_in_a_note(build_dir, py_session, fresh_keyspace, tmp_path,
                                               main_hosts):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.m (id int PRIMARY KEY, ratio double, f float)")
    csv = tmp_path / "m.csv"
    csv.write_text("id,ratio,f\n"
                   "1,0.5,0.5\n"
                   "2,0.1000000000000000055511151231257827,0.1\n"
                   "3,0.30000000000000004,0.333333343\n"
                   "4,3.14159265358979323846,1\n")
    p = cqlshift(build_dir, "load", csv, f"cassandra://{main_hosts[0]}/{ks}", "m",
                 "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (f"cqlshift: note: {ks}.m.ratio: 2 values had more significant digits than a double "
            "holds and were rounded to the nearest double; the first, at position 3: "
            "0.1000000000000000055511151231257827\n") in p.stderr, p.stderr
    assert (f"cqlshift: note: {ks}.m.f: 1 value had more significant digits than a float holds "
            "and was rounded to the nearest float; the first, at position 4: "
            "0.333333343\n") in p.stderr, p.stderr
    got = {r.id: r.ratio for r in py_session.execute(f"SELECT id, ratio FROM {ks}.m")}
    assert got == {1: 0.5, 2: 0.1, 3: 0.30000000000000004, 4: 3.141592653589793}


def test_resume_with_another_epoch_unit_is_refused(build_dir, py_session, fresh_keyspace,
                                                   tmp_path, main_hosts):
    """The unit is part of the job's mapping: a resume that would read the
    rest of the integers in another unit is refused, naming both."""
    ks = fresh_keyspace
    db = make_db(tmp_path / "r.db", "CREATE TABLE ev (id INTEGER PRIMARY KEY, at DATETIME, n INTEGER)",
                 rows=[("INSERT INTO ev VALUES (?, ?, ?)", (i, 1706708700 + i, "bad" if i == 5 else i))
                       for i in range(200)])
    p, _ = migrate(build_dir, db, main_hosts, ks, tmp_path, "--max-errors", "0", "-q")
    assert p.returncode == 1, p.stderr          # stopped: the run is unfinished
    p, _ = migrate(build_dir, db, main_hosts, ks, tmp_path, "--resume", "--epoch-unit", "ms")
    assert p.returncode == 2, p.stderr
    assert (f"then: {ks}.ev(id bigint,at timestamp (integers in seconds),n bigint); now: "
            f"{ks}.ev(id bigint,at timestamp,n bigint)") in p.stderr, p.stderr
    p, _ = migrate(build_dir, db, main_hosts, ks, tmp_path, "--resume")
    assert p.returncode == 4, p.stderr          # the one bad row
    at = {r.id: r.at for r in py_session.execute(f"SELECT id, at FROM {ks}.ev")}
    assert len(at) == 199 and at[199] == datetime.datetime(2024, 1, 31, 13, 48, 19)
