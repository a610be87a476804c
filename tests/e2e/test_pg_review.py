# fixtures: cassandra_main postgres
"""Review findings on the PostgreSQL source, each shown with the real binary
against real servers (one PostgreSQL database per test, dropped after)."""

import os
import subprocess
import uuid

import psycopg
import pytest

from conftest import reject_rows, run_folder


# the PostgreSQL e2e file's helpers: pg_db is a fixture (one fresh database
# per test, dropped after)
from test_migrate_postgres import cqlshift, pg_db, target  # noqa: E402,F401


def files_text(folder):
    out = ""
    for root, _, names in os.walk(folder):
        for n in names:
            try:
                out += open(os.path.join(root, n), "rb").read().decode("utf-8", "replace")
            except OSError:
                pass
    return out


@pytest.mark.parametrize("query", ["sslpassword=x&password=S3cretPW",
                                   "pass%77ord=S3cretPW",
                                   "application_name=a&password=S3cretPW&password=S3cretPW",
                                   "userinfo:x?S3cretPW", "userinfo:x#S3cretPW"])
def test_password_in_any_query_parameter_is_refused(build_dir, pg_db, fresh_keyspace, tmp_path,
                                                    main_hosts, query):
    """libpq takes password= from any query parameter, percent-decoded: the
    URI check that refuses passwords (and the redaction of messages, reports
    and run files) must see every one of them."""
    uri, con = pg_db
    con.execute("CREATE TABLE t (id int PRIMARY KEY)")
    con.execute("INSERT INTO t VALUES (1)")
    if query.startswith("userinfo:"):
        # libpq reads user info up to the '@' before the first '/', so a '?'
        # or '#' in an unencoded password is still the password
        scheme, rest = uri.split("://", 1)
        user, _, hostpath = rest.partition("@")
        src = f"{scheme}://{user}:{query[9:]}@{hostpath}"
    else:
        src = uri + ("&" if "?" in uri else "?") + query
    out = tmp_path / "runs"
    p = cqlshift(build_dir, "migrate", src, target(main_hosts, fresh_keyspace), "--out-dir", out,
                 "--report", tmp_path / "report.json", cwd=tmp_path)
    seen = p.stdout + p.stderr + files_text(tmp_path)
    assert "S3cretPW" not in seen, (p.returncode, p.stderr)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "password in the URI" in p.stderr, p.stderr


def test_partitioned_table_without_key_resumes_with_exact_counts(build_dir, pg_db, py_session,
                                                                 fresh_keyspace, tmp_path,
                                                                 main_hosts):
    """A partitioned table without a primary key is one range whose batches
    have no resume point: after kill -9, --resume reads it again from the
    start. The rows land once (the rowids repeat), but what the earlier run
    settled must not be counted (or its rejects written) a second time."""
    from conftest import kill_when_settled, state_file
    import json
    import sqlite3
    uri, con = pg_db
    con.execute("CREATE TABLE p (part int NOT NULL, v int, d date) PARTITION BY LIST (part)")
    con.execute("CREATE TABLE p0 PARTITION OF p FOR VALUES IN (0)")
    con.execute("CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)")
    con.execute("INSERT INTO p SELECT 0, g, CASE WHEN g = 1 THEN 'infinity'::date ELSE "
                "'2024-01-01'::date END FROM generate_series(1, 30000) g")
    con.execute("INSERT INTO p SELECT 1, g, '2024-01-02' FROM generate_series(1, 30000) g")
    ks = fresh_keyspace
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "migrate", uri, target(main_hosts, ks), "--workers", "2",
            "--batch-rows", "100", "--out-dir", str(out), "--report", str(tmp_path / "r.json")]
    settled = kill_when_settled(args, out, 20_000)
    assert 0 < settled < 60_000
    p = cqlshift(build_dir, *args[1:], "--resume")
    assert p.returncode == 4, p.stderr       # one row rejected
    n = py_session.execute(f"SELECT count(*) FROM {ks}.p", timeout=120).one()[0]
    assert n == 59_999
    db = sqlite3.connect(str(state_file(out)))
    read, written, rejected = db.execute(
        "SELECT sum(rows_read), sum(rows_written), sum(rows_rejected) FROM ranges").fetchone()
    db.close()
    assert (read, written, rejected) == (60_000, 59_999, 1), p.stderr
    # the rejected row was written to a reject file once over both runs
    rejected_lines = [line for f in out.glob("*/rejects-p.jsonl")
                      for line in f.read_text().splitlines() if line]
    assert len(rejected_lines) == 1, rejected_lines
    assert "finished with 1 of 60000 rows rejected" in p.stderr, p.stderr


def test_array_into_existing_set_column_never_merges_elements(build_dir, pg_db, py_session,
                                                              fresh_keyspace, tmp_path,
                                                              main_hosts):
    """An existing table may hold an array column as a set (docs/model.md,
    "Existing tables"); a set keeps each element once, so an array with a
    repeated element would lose it silently. The text case is refused; the
    others must be too."""
    uri, con = pg_db
    con.execute("CREATE TABLE t (id int PRIMARY KEY, a int[], u uuid[], d date[])")
    con.execute("INSERT INTO t VALUES (1, '{3,1,3}', NULL, NULL), (2, '{1,2}', NULL, NULL), "
                "(3, NULL, '{123e4567-e89b-12d3-a456-426614174000,"
                "123e4567-e89b-12d3-a456-426614174000}', NULL), "
                "(4, NULL, NULL, '{2024-01-01,2024-01-01}')")
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (id int PRIMARY KEY, a set<int>, u set<uuid>, "
                       "d set<date>)", timeout=60)
    out = tmp_path / "runs"
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--out-dir", out, cwd=tmp_path)
    assert p.returncode == 4, p.stderr
    rows = {r.id: r for r in py_session.execute(f"SELECT id, a, u, d FROM {ks}.t", timeout=60)}
    assert sorted(rows) == [2], rows
    assert rows[2].a == {1, 2}
    rejects = {r["row"][0]: r["reason"] for r in reject_rows(out, "t")}
    assert sorted(rejects) == [1, 3, 4], rejects
    for rid, col in ((1, "a"), (3, "u"), (4, "d")):
        assert f"column {col}" in rejects[rid] and "twice" in rejects[rid], rejects[rid]


def test_row_level_security_never_copies_part_of_a_table(build_dir, pg_db, pg_uri, py_session,
                                                         fresh_keyspace, tmp_path, main_hosts):
    """A table with row-level security shows a user without BYPASSRLS only
    the rows its policies allow; the counts see the same subset, so the
    check said ok for a partial copy. As pg_dump does, such a table must
    not be copied in part without a word."""
    uri, con = pg_db
    role = "rv_rls_" + uuid.uuid4().hex[:6]
    con.execute(f"CREATE ROLE {role} LOGIN")
    try:
        con.execute("CREATE TABLE secret (id int PRIMARY KEY, owner text)")
        con.execute("INSERT INTO secret SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END "
                    "FROM generate_series(1, 100) g")
        con.execute("ALTER TABLE secret ENABLE ROW LEVEL SECURITY")
        con.execute(f"CREATE POLICY only_a ON secret FOR SELECT TO {role} USING (owner = 'a')")
        con.execute("CREATE TABLE open (id int PRIMARY KEY)")
        con.execute("INSERT INTO open SELECT generate_series(1, 10)")
        con.execute(f"GRANT SELECT ON secret, open TO {role}")
        scheme, rest = uri.split("://", 1)
        as_role = f"{scheme}://{role}@{rest.split('@', 1)[1]}"
        ks = fresh_keyspace
        p = cqlshift(build_dir, "migrate", as_role, target(main_hosts, ks), "--out-dir",
                     tmp_path / "runs", cwd=tmp_path)
        tables = {r.table_name for r in py_session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (ks,))}
        if "secret" in tables:
            n = py_session.execute(f"SELECT count(*) FROM {ks}.secret").one()[0]
            assert n == 100, (n, p.returncode, p.stderr)
        else:
            assert "row-level security" in p.stderr and "secret" in p.stderr, p.stderr
        assert p.returncode == 0, p.stderr
        assert py_session.execute(f"SELECT count(*) FROM {ks}.open").one()[0] == 10
    finally:
        con.execute(f"DROP OWNED BY {role}")
        con.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("ddl", ["TRUNCATE t", "ALTER TABLE t ALTER COLUMN v TYPE double precision",
                                 "VACUUM FULL t"])
def test_table_rewritten_while_the_copy_starts_is_never_copied_empty(build_dir, pg_db, py_session,
                                                                      fresh_keyspace, tmp_path,
                                                                      main_hosts, ddl):
    """cqlshift reads the schema, exports its snapshot, then waits for its
    ACCESS SHARE locks. A TRUNCATE or a rewriting ALTER TABLE that holds the
    table then and commits is not MVCC-safe: the snapshot, taken before,
    sees the rewritten table empty. Copying nothing (and counting nothing,
    so the check says ok) loses the table; the run must stop instead."""
    import time
    uri, con = pg_db
    con.execute("CREATE TABLE t (id int PRIMARY KEY, v bigint)")
    con.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
    ddl_con = psycopg.connect(uri, autocommit=ddl.startswith("VACUUM"))
    try:
        if ddl.startswith("VACUUM"):
            # VACUUM FULL cannot run in a transaction block: hold the table
            # with a lock first, then run it in a thread once cqlshift waits
            lock_con = psycopg.connect(uri)
            lock_con.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        else:
            ddl_con.execute(ddl)
        ks = fresh_keyspace
        out = tmp_path / "runs"
        proc = subprocess.Popen([str(build_dir / "cqlshift"), "migrate", uri,
                                 target(main_hosts, ks), "--out-dir", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            waiting = con.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                                  "'Lock' AND query LIKE 'LOCK TABLE%%'").fetchone()[0]
            if waiting:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert waiting, "cqlshift never waited for its lock"
        if ddl.startswith("VACUUM"):
            import threading
            th = threading.Thread(target=lambda: ddl_con.execute(ddl))
            th.start()
            time.sleep(0.5)         # VACUUM FULL queues behind the lock
            lock_con.commit()
            th.join()
            lock_con.close()
        else:
            ddl_con.commit()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        ddl_con.close()
    if proc.returncode == 0:
        # the snapshot was taken before the command committed: 1000 rows
        n = py_session.execute(f"SELECT count(*) FROM {ks}.t").one()[0]
        assert n == 1000, (n, stderr)
    else:
        assert proc.returncode == 1, stderr
        assert "run again" in stderr and "malformed" not in stderr, stderr


def test_array_and_interval_keys_become_keys_cassandra_takes(build_dir, pg_db, py_session,
                                                            fresh_keyspace, tmp_path, main_hosts):
    """An array key column becomes a frozen list, an interval key column the
    duration's text (Cassandra refuses a non-frozen collection and a
    duration in a primary key): every row lands, keyed as in the source, and
    verify finds them equal."""
    uri, con = pg_db
    con.execute("CREATE TABLE ak (a int[] PRIMARY KEY, v int)")
    con.execute("INSERT INTO ak SELECT ARRAY[g, g + 1], g FROM generate_series(1, 300) g")
    con.execute("CREATE TABLE ik (iv interval, n int, v int, PRIMARY KEY (iv, n))")
    con.execute("INSERT INTO ik SELECT make_interval(days => g % 7, secs => g * 1.5), g, g "
                "FROM generate_series(1, 300) g")
    ks = fresh_keyspace
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--out-dir", tmp_path / "runs")
    assert p.returncode == 0, p.stderr
    types = {(r.table_name, r.column_name): r.type for r in py_session.execute(
        "SELECT table_name, column_name, type FROM system_schema.columns WHERE keyspace_name = %s",
        (ks,))}
    assert types[("ak", "a")] == "frozen<list<int>>" and types[("ik", "iv")] == "text"
    got = {tuple(r.a): r.v for r in py_session.execute(f"SELECT a, v FROM {ks}.ak")}
    assert got == {(g, g + 1): g for g in range(1, 301)}
    got = {r.n: r.iv for r in py_session.execute(f"SELECT iv, n FROM {ks}.ik")}
    want = {}
    for n, days, micros in con.execute(
            "SELECT n, extract(day FROM iv)::int, (extract(epoch FROM iv) * 1000000)::bigint "
            "- extract(day FROM iv)::bigint * 86400000000 FROM ik"):
        want[n] = f"0mo{days}d{micros * 1000}ns"
    assert got == want
    v = cqlshift(build_dir, "verify", uri, target(main_hosts, ks), "--out-dir", tmp_path / "runs")
    assert v.returncode == 0, v.stdout + v.stderr


def test_names_that_fold_alike(build_dir, pg_db, py_session, fresh_keyspace, tmp_path,
                               main_hosts):
    """"Emp" and emp both fold to emp, and a table's "Unit Price" and
    "unit-price" both to unit_price: migrate refuses the whole database with
    a sentence, but --tables emp takes the table of that exact name and looks
    at no other; plan names them apart (emp_2, unit_price_2, with a note),
    and that plan migrates every row."""
    uri, con = pg_db
    con.execute('CREATE TABLE "Emp" (id int PRIMARY KEY, v text)')
    con.execute('CREATE TABLE emp (id int PRIMARY KEY, "Unit Price" int, "unit-price" int)')
    con.execute("INSERT INTO \"Emp\" VALUES (1, 'a'), (2, 'b')")
    con.execute("INSERT INTO emp VALUES (3, 30, 31)")
    ks = fresh_keyspace
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--out-dir", tmp_path / "r")
    assert p.returncode == 2 and "both become unit_price" in p.stderr, p.stderr
    assert "cqlshift plan names them apart" in p.stderr
    p = cqlshift(build_dir, "migrate", uri, target(main_hosts, ks), "--tables", "Emp",
                 "--out-dir", tmp_path / "r")
    assert p.returncode == 0, p.stderr
    assert sorted(tuple(r) for r in py_session.execute(f"SELECT id, v FROM {ks}.emp")) == \
        [(1, "a"), (2, "b")]
    plan = tmp_path / "p.yaml"
    ks2 = ks[:40] + "_p"
    p = cqlshift(build_dir, "plan", uri, "-k", ks2, "-o", plan)
    assert p.returncode == 0, p.stderr
    text = plan.read_text()
    assert "emp_2:" in text and "renamed from emp" in text and "unit_price_2: int" in text, text
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--out-dir",
                 tmp_path / "r")
    try:
        assert p.returncode == 0, p.stderr
        assert sorted(tuple(r) for r in py_session.execute(f"SELECT id, v FROM {ks2}.emp")) == \
            [(1, "a"), (2, "b")]
        assert [tuple(r) for r in py_session.execute(
            f"SELECT id, unit_price, unit_price_2 FROM {ks2}.emp_2")] == [(3, 30, 31)]
    finally:
        py_session.execute(f"DROP KEYSPACE IF EXISTS {ks2}", timeout=120)


def test_a_view_named_is_assessed_planned_and_migrated(build_dir, pg_db, py_session,
                                                      fresh_keyspace, tmp_path, main_hosts):
    """A view is skipped unless named: with --tables, assess and plan take it
    as migrate does (keyed by a synthetic rowid), and the plan's mapping from
    the view migrates and verifies."""
    import json
    uri, con = pg_db
    con.execute("CREATE TABLE base (id int PRIMARY KEY, w text)")
    con.execute("INSERT INTO base SELECT g, 'w' || g FROM generate_series(1, 50) g")
    con.execute("CREATE VIEW v_even AS SELECT id, w FROM base WHERE id % 2 = 0")
    a = cqlshift(build_dir, "assess", uri, "--tables", "v_even", "--json")
    assert a.returncode == 0, a.stderr
    doc = json.loads(a.stdout)
    assert [(t["name"], t["rows"]) for t in doc["tables"]] == [("v_even", 25)]
    ks = fresh_keyspace
    plan = tmp_path / "p.yaml"
    p = cqlshift(build_dir, "plan", uri, "--tables", "v_even", "-k", ks, "-o", plan)
    assert p.returncode == 0, p.stderr
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--out-dir",
                 tmp_path / "r")
    assert p.returncode == 0, p.stderr
    assert sorted((r.id, r.w) for r in py_session.execute(f"SELECT id, w FROM {ks}.v_even")) == \
        [(g, f"w{g}") for g in range(2, 51, 2)]
    v = cqlshift(build_dir, "verify", plan, f"cassandra://{main_hosts[0]}", "--out-dir",
                 tmp_path / "r")
    assert v.returncode == 0, v.stdout + v.stderr
