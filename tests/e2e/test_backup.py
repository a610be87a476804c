# fixtures: cassandra_main
"""cqlshift backup and restore of a keyspace, end to end on the 2-node ring.

A keyspace with a user type, collections, clustering order, table options
(default TTL, comment, compaction) and an SAI index is backed up, then
restored into a keyspace of another name: system_schema must describe the
same schema and the Python driver must read the same rows. A backup file
changed afterwards is refused by its digest before anything is created.
"""

import hashlib
import json
import os
import subprocess
import time

import pytest

HANG_GUARD = 600


def cqlshift(build_dir, *args, cwd=None):
    e = dict(os.environ)
    e.pop("CQLSHIFT_CASSANDRA_PASSWORD", None)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          cwd=cwd, env=e, timeout=HANG_GUARD)


def schema_of(s, ks):
    """What system_schema says about ks, without its name or the ids."""
    tables = {}
    for r in s.execute("SELECT * FROM system_schema.tables WHERE keyspace_name = %s", [ks]):
        d = r._asdict()
        for k in ("keyspace_name", "id"):
            d.pop(k)
        tables[r.table_name] = d
    cols = sorted((r.table_name, r.column_name, r.kind, r.position, r.clustering_order, r.type)
                  for r in s.execute("SELECT * FROM system_schema.columns WHERE keyspace_name = %s",
                                     [ks]))
    types = sorted((r.type_name, tuple(r.field_names), tuple(r.field_types))
                   for r in s.execute("SELECT * FROM system_schema.types WHERE keyspace_name = %s",
                                      [ks]))
    idx = sorted((r.table_name, r.index_name, r.kind, tuple(sorted(r.options.items())))
                 for r in s.execute("SELECT * FROM system_schema.indexes WHERE keyspace_name = %s",
                                    [ks]))
    return tables, cols, types, idx


def rows_of(s, ks, table):
    return sorted(map(repr, s.execute(f"SELECT * FROM {ks}.{table}")))


@pytest.fixture
def shop(py_session, fresh_keyspace):
    ks, s = fresh_keyspace, py_session
    s.execute(f"CREATE TYPE {ks}.addr (street text, zip int, tags frozen<set<text>>)")
    s.execute(f"CREATE TABLE {ks}.orders (customer int, placed timestamp, id uuid, total decimal, "
              f"ship frozen<addr>, items map<text, int>, notes list<text>, "
              f"PRIMARY KEY (customer, placed, id)) "
              f"WITH CLUSTERING ORDER BY (placed DESC, id ASC) "
              # a ';' and blank lines inside a string do not end the statement
              f"AND comment = 'orders by customer;\n\n-- and ''date''; /* not a comment */' "
              f"AND compaction = {{'class': 'LeveledCompactionStrategy'}} AND gc_grace_seconds = 3600")
    s.execute(f"CREATE TABLE {ks}.sessions (tok text PRIMARY KEY, who int, data blob) "
              f"WITH default_time_to_live = 86400")
    s.execute(f"CREATE TABLE {ks}.\"Empty\" (k int PRIMARY KEY, v vector<float, 3>)")
    s.execute(f"CREATE INDEX orders_total ON {ks}.orders (total) USING 'sai'")
    ins = s.prepare(f"INSERT INTO {ks}.orders (customer, placed, id, total, ship, items, notes) "
                    f"VALUES (?, ?, uuid(), ?, ?, ?, ?)")
    import datetime
    import decimal
    for i in range(3000):
        s.execute(ins, (i % 50, datetime.datetime(2024, 1, 1) + datetime.timedelta(minutes=i),
                        decimal.Decimal(f"{i}.{i % 100:02d}"),
                        (f"{i} Main St, \"apt\" {i % 7}", 10000 + i, {"a", f"t{i % 3}"}),
                        {"apple": i, "pear": -i} if i % 4 else None,
                        [f"line {i}", ""] if i % 5 else None))
    s.execute(f"INSERT INTO {ks}.sessions (tok, who, data) VALUES ('abc', 1, 0x00ff)")
    s.execute(f"INSERT INTO {ks}.sessions (tok, who) VALUES ('x y', 2)")
    return ks


def test_backup_and_restore_into_another_keyspace(build_dir, tmp_path, main_hosts, py_session,
                                                  shop):
    ks, s = shop, py_session
    d = tmp_path / "bk"
    p = cqlshift(build_dir, "backup", f"cassandra://{main_hosts[0]}/{ks}", "-o", d, "--out-dir",
                 tmp_path / "runs", "--workers", "3", "--compression", "zstd")
    assert p.returncode == 0, p.stderr.decode()
    man = json.loads((d / "manifest.json").read_text())
    assert man["format"] == "cqlshift-backup" and man["version"] == 1 and man["keyspace"] == ks
    assert man["tool"].startswith("cqlshift ") and man["created"].endswith("Z")
    got = {t["name"]: t for t in man["tables"]}
    assert set(got) == {"orders", "sessions", "Empty"}
    assert got["orders"]["rows"] == 3000 and got["sessions"]["rows"] == 2
    assert got["Empty"]["rows"] == 0
    for t in man["tables"] + [man["schema"]]:
        data = (d / t["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == t["sha256"] and len(data) == t["bytes"]
    assert "CREATE TYPE" in (d / "schema.cql").read_text()
    assert got["orders"]["file"] == "orders.csv.zst"    # restored through load's zstd input
    assert not [f for f in os.listdir(d) if f.endswith(".cqlshift-part")]

    ks2 = ks + "_r"
    try:
        p = cqlshift(build_dir, "restore", d, f"cassandra://{main_hosts[0]}/{ks2}", "--out-dir",
                     tmp_path / "runs")
        assert p.returncode == 0, p.stderr.decode()
        assert schema_of(s, ks2) == schema_of(s, ks)
        for t in ("orders", "sessions", '"Empty"'):
            assert rows_of(s, ks2, t) == rows_of(s, ks, t), t
        # restored rows of the table with a default TTL got it
        assert s.execute(f"SELECT ttl(who) FROM {ks2}.sessions WHERE tok = 'abc'").one()[0] > 0
        # the SAI index works in the restored keyspace
        assert len(list(s.execute(f"SELECT id FROM {ks2}.orders WHERE total = 7.07"))) == 1
        # --tables: that table only (no other table, no index on another)
        ks3 = ks + "_one"
        try:
            p = cqlshift(build_dir, "restore", d, f"cassandra://{main_hosts[0]}/{ks3}",
                         "--tables", "sessions", "--out-dir", tmp_path / "runs3", "-q")
            assert p.returncode == 0, p.stderr.decode()
            assert [r.table_name for r in s.execute(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
                [ks3])] == ["sessions"]
            assert not list(s.execute("SELECT index_name FROM system_schema.indexes "
                                      "WHERE keyspace_name = %s", [ks3]))
            assert rows_of(s, ks3, "sessions") == rows_of(s, ks, "sessions")
        finally:
            s.execute(f"DROP KEYSPACE IF EXISTS {ks3}", timeout=120)
        # restoring again into the same keyspace: its tables are in the way
        p = cqlshift(build_dir, "restore", d, f"cassandra://{main_hosts[0]}/{ks2}", "--out-dir",
                     tmp_path / "runs2", "-q")
        assert p.returncode == 2 and b"already has tables" in p.stderr, p.stderr
    finally:
        s.execute(f"DROP KEYSPACE IF EXISTS {ks2}", timeout=120)


def test_a_changed_backup_file_is_refused_before_anything_is_created(build_dir, tmp_path,
                                                                     main_hosts, py_session,
                                                                     shop):
    ks, s = shop, py_session
    d = tmp_path / "bk"
    p = cqlshift(build_dir, "backup", f"cassandra://{main_hosts[0]}/{ks}", "-o", d,
                 "--tables", "orders,sessions", "--format", "jsonl", "--out-dir",
                 tmp_path / "runs", "-q")
    assert p.returncode == 0, p.stderr.decode()
    man = json.loads((d / "manifest.json").read_text())
    assert sorted(t["name"] for t in man["tables"]) == ["orders", "sessions"]
    f = d / "orders.jsonl"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    ks3 = ks + "_x"
    p = cqlshift(build_dir, "restore", d, f"cassandra://{main_hosts[0]}/{ks3}", "--out-dir",
                 tmp_path / "runs", "-q")
    assert p.returncode == 1, p.stderr
    assert str(f).encode() in p.stderr and b"SHA-256" in p.stderr and b"nothing was restored" \
        in p.stderr, p.stderr
    assert s.execute("SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s",
                     [ks3]).one() is None
    # a folder without a manifest, and a backup into a used folder
    p = cqlshift(build_dir, "restore", tmp_path, f"cassandra://{main_hosts[0]}/{ks3}", "-q")
    assert p.returncode == 2 and b"manifest.json" in p.stderr, p.stderr
    p = cqlshift(build_dir, "backup", f"cassandra://{main_hosts[0]}/{ks}", "-o", d, "--out-dir",
                 tmp_path / "runs3", "-q")
    assert p.returncode == 2 and b"is not empty" in p.stderr, p.stderr
    # into the current folder, which holds only this job's run folders
    here = tmp_path / "here"
    here.mkdir()
    p = cqlshift(build_dir, "backup", f"cassandra://{main_hosts[0]}/{ks}", "-o", ".", "-q",
                 "--tables", "sessions", cwd=here)
    assert p.returncode == 0, p.stderr
    assert (here / "manifest.json").exists() and (here / "cqlshift-runs").is_dir()


def test_killed_backup_resumes_to_the_same_files(build_dir, tmp_path, main_hosts, py_session,
                                                 shop):
    """kill -9 during a backup, then --resume: the manifest and every file
    are those of an uninterrupted backup of the same data."""
    ks = shop
    src = f"cassandra://{main_hosts[0]}/{ks}"
    whole = tmp_path / "whole"
    p = cqlshift(build_dir, "backup", src, "-o", whole, "--out-dir", tmp_path / "r1", "-q")
    assert p.returncode == 0, p.stderr.decode()
    d = tmp_path / "killed"
    args = [str(build_dir / "cqlshift"), "backup", src, "-o", str(d), "--out-dir",
            str(tmp_path / "r2"), "-q", "--workers", "1"]
    proc = subprocess.Popen(args)
    # kill it while the orders table's file is being written
    deadline = time.time() + 60
    part = d / "orders.csv.cqlshift-part"
    while time.time() < deadline and proc.poll() is None and \
            not (part.exists() and part.stat().st_size > 50_000):
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    assert not (d / "manifest.json").exists()
    p = cqlshift(build_dir, "backup", src, "-o", d, "--out-dir", tmp_path / "r2", "-q",
                 "--resume")
    assert p.returncode == 0, p.stderr.decode()
    a = json.loads((whole / "manifest.json").read_text())
    b = json.loads((d / "manifest.json").read_text())
    assert sorted((t["name"], t["rows"], t["sha256"]) for t in a["tables"]) == \
        sorted((t["name"], t["rows"], t["sha256"]) for t in b["tables"])
    assert a["schema"]["sha256"] == b["schema"]["sha256"]


@pytest.mark.parametrize("fmt,comp", [("csv", "none"), ("jsonl", "gzip")])
def test_backup_keeps_write_times_and_ttls(build_dir, tmp_path, main_hosts, py_session,
                                           fresh_keyspace, fmt, comp):
    """Rows are restored with their write times and what is left of their
    TTLs (checked with writetime()/ttl() by the Python driver); a row that
    expired between backup and restore is not restored; a row whose cells
    differ is reported at backup time and gets its latest write time and
    latest expiry; a row with no cell but its key is restored too."""
    ks, s = fresh_keyspace, py_session
    s.execute(f"CREATE TABLE {ks}.tt (k int, c int, v text, w int, tags set<text>, "
              f"st text static, PRIMARY KEY (k, c)) WITH default_time_to_live = 100000")
    t0 = 1_700_000_000_000_000
    for k in range(1, 51):      # one write each, a TTL of their own
        s.execute(f"INSERT INTO {ks}.tt (k, c, v, w, tags) VALUES ({k}, 1, 'v{k}', {k}, {{'a'}}) "
                  f"USING TIMESTAMP {t0 + k} AND TTL {3000 + k}")
    for k in range(51, 61):     # no TTL, though the table has a default one
        s.execute(f"INSERT INTO {ks}.tt (k, c, v, w) VALUES ({k}, 1, 'v{k}', {k}) "
                  f"USING TIMESTAMP {t0 + k} AND TTL 0")
    # cells written apart: the latest write time, the latest expiry
    s.execute(f"INSERT INTO {ks}.tt (k, c, v, w) VALUES (61, 1, 'v61', 61) "
              f"USING TIMESTAMP {t0 + 61} AND TTL 3600")
    s.execute(f"UPDATE {ks}.tt USING TIMESTAMP {t0 + 99} AND TTL 7200 SET w = 62 "
              f"WHERE k = 61 AND c = 1")
    # set elements added apart
    s.execute(f"INSERT INTO {ks}.tt (k, c, v, tags) VALUES (62, 1, 'v62', {{'x'}}) "
              f"USING TIMESTAMP {t0 + 62} AND TTL 5000")
    s.execute(f"UPDATE {ks}.tt USING TIMESTAMP {t0 + 63} AND TTL 5000 SET tags = tags + {{'y'}} "
              f"WHERE k = 62 AND c = 1")
    # a static cell, the partition's, written later and without a TTL: it counts with the
    # partition's row (k = 1 is mixed: restored without TTL, never giving st one); and a
    # partition of static values alone, with no row
    s.execute(f"UPDATE {ks}.tt USING TIMESTAMP {t0 + 500} AND TTL 0 SET st = 'p' WHERE k = 1")
    s.execute(f"UPDATE {ks}.tt USING TIMESTAMP {t0 + 600} AND TTL 0 SET st = 'only' WHERE k = 65")
    # about to expire; and a row that is only its key
    s.execute(f"INSERT INTO {ks}.tt (k, c, v) VALUES (63, 1, 'soon') USING TTL 4")
    s.execute(f"INSERT INTO {ks}.tt (k, c) VALUES (64, 1) USING TTL 0")
    d = tmp_path / "bk"
    p = cqlshift(build_dir, "backup", f"cassandra://{main_hosts[0]}/{ks}", "-o", d, "--out-dir",
                 tmp_path / "runs", "--format", fmt, "--compression", comp)
    assert p.returncode == 0, p.stderr.decode()
    err = p.stderr.decode()
    assert "rows have cells written at different times or with different TTLs" in err, err
    man = json.loads((d / "manifest.json").read_text())
    times = man["tables"][0]["times"]
    assert times["writetime"] == "row_writetime" and times["expires"] == "row_expires"
    assert times["mixed"] == 3, times       # k = 1 (its static cell), 61, and 62 (elements)
    time.sleep(5)                           # k = 63 expires
    ks2 = ks + "_t"
    try:
        started = time.time()
        p = cqlshift(build_dir, "restore", d, f"cassandra://{main_hosts[0]}/{ks2}", "--out-dir",
                     tmp_path / "runs")
        assert p.returncode == 0, p.stderr.decode()
        slack = int(time.time() - started) + 8
        got = {r.k: r for r in s.execute(
            f"SELECT k, v, w, tags, writetime(v) AS wv, ttl(v) AS tv, writetime(w) AS ww, "
            f"ttl(w) AS tw FROM {ks2}.tt")}
        assert set(got) == set(range(1, 63)) | {64, 65}, sorted(got)
        orig = {r.k: r for r in s.execute(f"SELECT k, v, w, tags FROM {ks}.tt")}
        assert times["columns"] == ["st", "v", "w", "tags"], times
        for k, r in got.items():
            assert (r.v, r.w, r.tags) == (orig[k].v, orig[k].w, orig[k].tags), k
        one = s.execute(f"SELECT st, ttl(st) AS t, writetime(st) AS w FROM {ks2}.tt "
                        f"WHERE k = 1").one()
        assert (one.st, one.t, one.w) == ("p", None, t0 + 500), one
        assert got[1].wv == t0 + 500 and got[1].tv is None
        alone = s.execute(f"SELECT c, st, ttl(st) AS t, writetime(st) AS w FROM {ks2}.tt "
                          f"WHERE k = 65").one()
        assert (alone.c, alone.st, alone.t, alone.w) == (None, "only", None, t0 + 600), alone
        for k in range(2, 51):
            assert got[k].wv == got[k].ww == t0 + k
            assert 3000 + k - slack <= got[k].tv <= 3000 + k and got[k].tw == got[k].tv, k
        for k in range(51, 61):
            assert got[k].wv == t0 + k and got[k].tv is None and got[k].tw is None, k
        assert got[61].wv == got[61].ww == t0 + 99
        assert 7200 - slack <= got[61].tv <= 7200 and got[61].tw == got[61].tv
        assert got[62].wv == t0 + 63 and 5000 - slack <= got[62].tv <= 5000
        assert got[64].v is None
    finally:
        s.execute(f"DROP KEYSPACE IF EXISTS {ks2}", timeout=120)


def test_counter_table_backed_up_and_restored(build_dir, tmp_path, main_hosts, py_session,
                                              fresh_keyspace):
    """A counter table is restored by adding each row's counters to a new
    table (Cassandra takes counters only as increments), in COUNTER
    batches, and verified equal; a counter load cannot resume (the
    increments would be added twice) and takes no --map."""
    ks, s = fresh_keyspace, py_session
    s.execute(f"CREATE TABLE {ks}.cnt (k int, c text, hits counter, misses counter, "
              f"PRIMARY KEY (k, c))")
    for i in range(300):
        s.execute(f"UPDATE {ks}.cnt SET hits = hits + {i * 7 - 500} WHERE k = {i % 20} "
                  f"AND c = 'c{i}'")
        if i % 3:
            s.execute(f"UPDATE {ks}.cnt SET misses = misses + {i} WHERE k = {i % 20} "
                      f"AND c = 'c{i}'")
    d = tmp_path / "bk"
    p = cqlshift(build_dir, "backup", f"cassandra://{main_hosts[0]}/{ks}", "-o", d, "--out-dir",
                 tmp_path / "runs")
    assert p.returncode == 0, p.stderr.decode()
    ks2 = ks + "_c"
    try:
        p = cqlshift(build_dir, "restore", d, f"cassandra://{main_hosts[0]}/{ks2}", "--out-dir",
                     tmp_path / "runs")
        assert p.returncode == 0, p.stderr.decode()
        assert "verified equal" in p.stderr.decode()
        assert rows_of(s, ks2, "cnt") == rows_of(s, ks, "cnt")
        assert len(rows_of(s, ks2, "cnt")) == 300
        p = cqlshift(build_dir, "load", d / "cnt.csv", f"cassandra://{main_hosts[0]}/{ks2}",
                     "cnt", "--map", "*", "--out-dir", tmp_path / "r2")
        assert p.returncode == 2 and b"counter table" in p.stderr, p.stderr
    finally:
        s.execute(f"DROP KEYSPACE IF EXISTS {ks2}", timeout=120)


def test_jsonl_backup_without_ttls_and_odd_column_names(build_dir, tmp_path, main_hosts,
                                                         py_session, fresh_keyspace):
    """A JSONL backup whose rows have no TTL (the usual case) restores: the
    row times' keys are in every line, null or not. Column names holding a
    comma or a double quote are quoted in the restore's statements."""
    ks, s = fresh_keyspace, py_session
    s.execute(f'CREATE TABLE {ks}.p (id int PRIMARY KEY, v text, never text, "a,b" int, '
              f'"q""uote" text)')
    for i in range(50):
        s.execute(f'INSERT INTO {ks}.p (id, v, "a,b", "q""uote") VALUES ({i}, \'v{i}\', {i * 2}, '
                  f'\'"{i}"\')')
    d = tmp_path / "bk"
    p = cqlshift(build_dir, "backup", f"cassandra://{main_hosts[0]}/{ks}", "-o", d, "--format",
                 "jsonl", "--out-dir", tmp_path / "runs")
    assert p.returncode == 0, p.stderr.decode()
    first = json.loads((d / "p.jsonl").read_text().splitlines()[0])
    assert first["row_expires"] is None and first["row_writetime"] > 0, first
    ks2 = ks + "_j"
    try:
        p = cqlshift(build_dir, "restore", d, f"cassandra://{main_hosts[0]}/{ks2}", "--out-dir",
                     tmp_path / "runs")
        assert p.returncode == 0, p.stderr.decode()
        assert rows_of(s, ks2, "p") == rows_of(s, ks, "p") and len(rows_of(s, ks, "p")) == 50
        wt = {r[0]: r[1] for r in s.execute(f"SELECT id, writetime(v) FROM {ks}.p")}
        assert {r[0]: r[1] for r in s.execute(f"SELECT id, writetime(v) FROM {ks2}.p")} == wt
    finally:
        s.execute(f"DROP KEYSPACE IF EXISTS {ks2}", timeout=120)


def test_restore_in_steps_and_after_an_interruption(build_dir, tmp_path, main_hosts, py_session,
                                                    fresh_keyspace):
    """A restore of some tables (--tables) leaves the keyspace with the
    backup's user type: a restore of another table keeps the type and goes
    on. A restore over tables that exist is refused before anything is
    created (exit 2). --resume after a restore that stopped part way (here:
    one table done) finishes the tables it had not begun."""
    ks, s = fresh_keyspace, py_session
    s.execute(f"CREATE TYPE {ks}.phone (n text, c int)")
    for t in ("a", "b", "c"):
        s.execute(f"CREATE TABLE {ks}.{t} (id int PRIMARY KEY, v text, p frozen<phone>)")
        for i in range(100):
            s.execute(f"INSERT INTO {ks}.{t} (id, v, p) VALUES ({i}, '{t}{i}', {{n: 'x', c: {i}}})")
    d = tmp_path / "bk"
    p = cqlshift(build_dir, "backup", f"cassandra://{main_hosts[0]}/{ks}", "-o", d, "--out-dir",
                 tmp_path / "runs")
    assert p.returncode == 0, p.stderr.decode()
    ks2 = ks + "_s"
    target = f"cassandra://{main_hosts[0]}/{ks2}"
    try:
        p = cqlshift(build_dir, "restore", d, target, "--tables", "a", "--out-dir", tmp_path / "r")
        assert p.returncode == 0, p.stderr.decode()
        p = cqlshift(build_dir, "restore", d, target, "--tables", "b", "--out-dir", tmp_path / "r")
        assert p.returncode == 0 and b"has the type already" in p.stderr, p.stderr.decode()
        assert rows_of(s, ks2, "b") == rows_of(s, ks, "b")
        p = cqlshift(build_dir, "restore", d, target, "--out-dir", tmp_path / "r")
        err = p.stderr.decode()
        assert p.returncode == 2 and "already has tables a, b" in err and "--resume" in err, err
        s.cluster.refresh_schema_metadata()
        assert "c" not in s.cluster.metadata.keyspaces[ks2].tables
        p = cqlshift(build_dir, "restore", d, target, "--resume", "--out-dir", tmp_path / "r")
        assert p.returncode == 0, p.stderr.decode()
        for t in ("a", "b", "c"):
            assert rows_of(s, ks2, t) == rows_of(s, ks, t) and len(rows_of(s, ks2, t)) == 100
    finally:
        s.execute(f"DROP KEYSPACE IF EXISTS {ks2}", timeout=120)
