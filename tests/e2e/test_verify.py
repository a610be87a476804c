# fixtures: cassandra_main postgres mariadb
"""cqlshift verify, end to end: what migrate, migrate PLAN.yaml and load
wrote is compared with its source, and the outcome is checked against what
the Python driver and the source's own client (sqlite3, psycopg, PyMySQL)
say, never against our own code.

- Chinook migrated from SQLite, PostgreSQL and MariaDB, then verified: exit
  0, every table equal, its source rows as the source counts them.
- A plan with two query tables, a filtered table (its left-out rows counted
  as filtered) and a computed set column (Chinook's model has none),
  migrated and verified (exit 0); then the Python
  driver deletes rows, changes a text, a decimal's scale, a timestamp by one
  millisecond, a set element, nulls a column and inserts rows, in a base
  table and in a query table: exit 3, and stdout and the report name exactly
  those keys with their kind and exactly the changed columns. Then
  --repair --delete-extra: exit 0, and the driver reads the source's values
  back.
- A CSV (and JSONL) load with a row that cannot be converted: verified, the
  row is counted as rejected, not missing.
- Usage errors: exit 2, one error sentence, nothing on stdout.
- Keys printed as CQL literals that a WHERE accepts (decimal, uuid, blob).

The contract (stdout lines, report records, exit codes) is docs/verify.md.
"""

import datetime
import decimal
import json
import re
import sqlite3
import uuid

import pytest
import yaml

from conftest import reject_rows
from test_migrate_mariadb import admin, connect, fresh_db, load_chinook_mariadb  # noqa: F401
from test_migrate_plan import write_plan
from test_migrate_postgres import cqlshift, load_chinook, pg_db  # noqa: F401 (fixture)

CHINOOK = "datasets/chinook/Chinook_Sqlite.sqlite"
D = decimal.Decimal

# ---------------------------------------------------------------- parsing the output

COUNTS = re.compile(
    r"^(?P<table>[\w.]+): (?P<source_rows>\d+) source rows, (?P<target_rows>\d+) target rows: "
    r"(?P<equal>\d+) equal, (?P<missing>\d+) missing, (?P<extra>\d+) extra, "
    r"(?P<different>\d+) different, (?P<rejected>\d+) rejected, (?P<filtered>\d+) filtered"
    r"(?:, (?P<duplicate>\d+) duplicate keys)?(?:; (?P<rest>.*))?$")
DIFFERENCE = re.compile(
    r"^(?P<table>[\w.]+): (?P<kind>missing in the target|extra in the target|different|duplicate): "
    r"\((?P<key>[^)]*)\)(?:: (?P<columns>.*))?$")
KINDS = {"missing in the target": "missing", "extra in the target": "extra",
         "different": "different", "duplicate": "duplicate"}
KEY_PART = re.compile(r"(\w+)=('(?:[^']|'')*'|[^,)]+)")
COUNT_NAMES = ("source_rows", "target_rows", "equal", "missing", "extra", "different",
               "duplicate", "rejected", "filtered")


def key_of(d):
    """A key as a hashable value: its (column, value as text) pairs, sorted."""
    return tuple(sorted((k, str(v)) for k, v in d.items()))


def parse_stdout(out):
    """verify's stdout -> (differences, tables): each difference
    (table, kind, key, frozenset of columns), and {table: {count: n}}.
    Every line must be one of the two forms."""
    diffs, tables = [], {}
    for line in out.splitlines():
        if not line.strip():
            continue
        m = COUNTS.match(line)
        if m:
            assert m["table"] not in tables, f"two count lines for {m['table']}:\n{out}"
            tables[m["table"]] = {k: int(m[k] or 0) for k in COUNT_NAMES}
            tables[m["table"]]["rest"] = m["rest"]     # --repair, --recheck: what they did
            continue
        m = DIFFERENCE.match(line)
        assert m, f"a stdout line that is neither a difference nor a table's counts: {line!r}"
        assert not tables, f"a difference after the count lines: {line!r}"
        key = tuple(sorted((k, v.strip()) for k, v in KEY_PART.findall(m["key"])))
        assert key, line
        cols = frozenset(re.findall(r"(?:^|; )(\w+): source ", m["columns"] or ""))
        assert (m["kind"] == "different") == bool(cols), line
        diffs.append((m["table"], KINDS[m["kind"]], key, cols, line))
    return diffs, tables


def read_report(path):
    """The --report JSONL -> (difference records, {table: table record}, summary)."""
    recs = [json.loads(line, parse_float=D) for line in path.read_text().splitlines()
            if line.strip()]
    assert {r["type"] for r in recs} <= {"difference", "table", "summary"}, recs
    diffs = [r for r in recs if r["type"] == "difference"]
    tables = {}
    for r in recs:
        if r["type"] == "table":
            assert r["table"] not in tables, r
            tables[r["table"]] = r
    summaries = [r for r in recs if r["type"] == "summary"]
    assert len(summaries) == 1, summaries
    assert recs[-1]["type"] == "summary"
    return diffs, tables, summaries[0]


def verify(build_dir, tmp_path, *args):
    """Run `cqlshift verify ARGS` with its runs under tmp_path/runs and a new
    report file; (CompletedProcess, report path)."""
    report = tmp_path / f"verify-{uuid.uuid4().hex[:8]}.jsonl"
    p = cqlshift(build_dir, "verify", *args, "--out-dir", tmp_path / "runs", "--report", report,
                 cwd=tmp_path, timeout=600)
    return p, report


def check_outcome(p, report, want_tables, want_diffs, exit_code):
    """p and report say exactly: want_tables {table: {count: n}} (every count
    named; the tables are exactly these), and want_diffs {(table, kind, key):
    columns} (every difference, nothing more; all printed on stdout).
    Returns the report's difference records by (table, kind, key)."""
    msg = f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert p.returncode == exit_code, msg
    diffs, tables = parse_stdout(p.stdout)
    assert report.is_file(), msg
    rdiffs, rtables, summary = read_report(report)

    want_set = {(t, k, key): cols for (t, k, key), cols in want_diffs.items()}
    printed = {}
    for t, kind, key, cols, line in diffs:
        assert (t, kind, key) not in printed, f"printed twice: {line}"
        printed[(t, kind, key)] = cols
    assert_same(printed, want_set, "stdout", msg)

    by = {}
    for r in rdiffs:
        k = (r["table"], r["kind"], key_of(r["key"]))
        assert k not in by, f"reported twice: {r}"
        cols = r["columns"]
        assert len(cols) == len(set(cols)), r
        by[k] = frozenset(cols)
        if r["kind"] == "missing":
            assert cols == [] and "target" not in r and r.get("source"), r
        elif r["kind"] == "extra":
            assert cols == [] and "source" not in r and r.get("target"), r
        else:
            assert r["kind"] == "different", r
            assert set(r["source"]) == set(r["target"]) == set(cols), r
    assert_same(by, want_set, "report", msg)

    for name, got in (("stdout", tables), ("report", rtables)):
        assert set(got) == set(want_tables), (name, sorted(got), sorted(want_tables))
        for t, want in want_tables.items():
            have = {k: got[t][k] for k in COUNT_NAMES}
            assert have == {**have, **want}, (name, t, have, want, msg)
            # the counts reconcile: each source row the mapping gives (rejected and
            # filtered rows are not among them) is equal, missing or different; each
            # target row equal, different or extra
            assert have["equal"] + have["missing"] + have["different"] == have["source_rows"], \
                (name, t, have)
            assert have["equal"] + have["different"] + have["extra"] == have["target_rows"], \
                (name, t, have)

    totals = {k: sum(t.get(k, 0) for t in want_tables.values())
              for k in ("missing", "extra", "different", "duplicate")}
    assert summary["result"] == ("different" if want_diffs else "equal"), summary
    assert {k: summary[k] for k in totals} == totals, summary
    return {(r["table"], r["kind"], key_of(r["key"])): r for r in rdiffs}, diffs


def assert_same(got, want, what, out):
    """got == want ({(table, kind, key): columns}), saying what differs."""
    lost = {k: v for k, v in want.items() if k not in got}
    more = {k: v for k, v in got.items() if k not in want}
    other = {k: (got[k], want[k]) for k in got.keys() & want.keys() if got[k] != want[k]}
    assert not (lost or more or other), \
        f"{what}: not found {lost}; not expected {more}; other columns (got, want) {other}\n{out}"


def all_equal(counts, ks):
    """want_tables for tables of ks that are equal to their source: {table: rows}."""
    return {f"{ks}.{t}": {"source_rows": n, "target_rows": n, "equal": n, "missing": 0,
                          "extra": 0, "different": 0, "duplicate": 0, "rejected": 0,
                          "filtered": 0}
            for t, n in counts.items()}


def tables_of(session, ks):
    return {r.table_name for r in session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (ks,))}


# ---------------------------------------------------------------- the sources

def sqlite_counts(db):
    """{target table name: rows} of a SQLite database (the model folds names to lower case)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    names = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    out = {n.lower(): con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    con.close()
    return out


def pg_counts(con):
    names = [r[0] for r in con.execute(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r'")]
    return {n.lower(): con.execute(f'SELECT count(*) FROM public."{n}"').fetchone()[0]
            for n in names}


def mariadb_counts(port, db):
    con = connect(port, db)
    with con.cursor() as c:
        c.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                  (db,))
        names = [r[0] for r in c.fetchall()]
        out = {}
        for n in names:
            c.execute(f"SELECT count(*) FROM `{n}`")
            out[n.lower()] = c.fetchone()[0]
    con.close()
    return out


@pytest.fixture(scope="module")
def sqlite_chinook_ks(build_dir, source_dir, main_hosts, py_session, tmp_path_factory):
    """A keyspace holding what `migrate sqlite:Chinook` wrote (for the tests
    that only read it)."""
    ks = f"vtest_chinook_{uuid.uuid4().hex[:8]}"
    tmp = tmp_path_factory.mktemp("chinook")
    p = cqlshift(build_dir, "migrate", f"sqlite:{source_dir / CHINOOK}",
                 f"cassandra://{main_hosts[0]}/{ks}", "--out-dir", tmp / "runs", "--quiet",
                 cwd=tmp)
    assert p.returncode == 0, p.stderr
    yield ks
    py_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)


# ---------------------------------------------------------------- (a) Chinook, three sources

@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_chinook_migrated_then_verified_equal(kind, request, build_dir, source_dir, main_hosts,
                                              py_session, tmp_path):
    """migrate SOURCE TARGET, then verify SOURCE TARGET: exit 0, every table
    equal, with as many source rows as the source has; verify creates
    nothing."""
    if kind == "sqlite":
        ks = request.getfixturevalue("sqlite_chinook_ks")
        source = f"sqlite:{source_dir / CHINOOK}"
        counts = sqlite_counts(source_dir / CHINOOK)
    else:
        if kind == "postgres":
            source, con = request.getfixturevalue("pg_db")
            load_chinook(source_dir, request.getfixturevalue("pg_uri"),
                         source.rsplit("/", 1)[1].split("?")[0])
            counts = pg_counts(con)
        else:
            db, port = request.getfixturevalue("fresh_db"), request.getfixturevalue("mariadb_port")
            load_chinook_mariadb(source_dir, port, db)
            source = f"mysql://root@127.0.0.1:{port}/{db}"
            counts = mariadb_counts(port, db)
        ks = request.getfixturevalue("fresh_keyspace")
        py_session.execute(f"DROP KEYSPACE {ks}")      # migrate creates it
        p = cqlshift(build_dir, "migrate", source, f"cassandra://{main_hosts[0]}/{ks}",
                     "--out-dir", tmp_path / "runs", "--quiet", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    assert len(counts) == 11 and sum(counts.values()) == 15607, counts
    target = f"cassandra://{main_hosts[0]}/{ks}"
    before = tables_of(py_session, ks)
    assert before == set(counts)

    p, report = verify(build_dir, tmp_path, source, target)
    check_outcome(p, report, all_equal(counts, ks), {}, 0)
    assert tables_of(py_session, ks) == before

    if kind == "sqlite":
        # --tables: only those tables are compared (source names, any case)
        p, report = verify(build_dir, tmp_path, source, target, "--tables", "album,Track")
        check_outcome(p, report, all_equal({t: counts[t] for t in ("album", "track")}, ks), {},
                      0)


# ---------------------------------------------------------------- (b) a plan, then changes

# the role of each changed row, in order of the invoice ids it takes
ROLES = ("delete", "delete", "text", "decimal", "timestamp", "null", "set", "two")


def one_more_digit(v):
    """The same decimal number with one more digit of scale (0.99 -> 0.990)."""
    w = v.quantize(D(1).scaleb(v.as_tuple().exponent - 1))
    assert w == v and str(w) != str(v), (v, w)
    return w


def change_rows(session, ks, table, keys, extras):
    """Change the rows of ks.table with `keys` (one key dict per ROLES entry)
    and insert rows with the keys `extras` (two key dicts). Returns
    {(table, kind, key): columns} of what verify must find, and the changed
    values {role: {column: new value}}."""
    t = f"{ks}.{table}"
    want, new = {}, {}

    def where(key):
        return " AND ".join(f"{c} = ?" for c in key), tuple(key.values())

    def run(query, args):
        # prepared: the driver's simple statements write a Decimal through a
        # float (Decimal('8.910') becomes the literal 8.91)
        return session.execute(session.prepare(query), args)

    for role, key in zip(ROLES, keys):
        w, args = where(key)
        row = run(f"SELECT * FROM {t} WHERE {w}", args).one()
        assert row is not None, (t, key)
        if role == "delete":
            run(f"DELETE FROM {t} WHERE {w}", args)
            want[(t, "missing", key_of(key))] = frozenset()
            continue
        if role == "text":
            sets = {"billingcity": "Changed City"}
        elif role == "decimal":
            sets = {"total": one_more_digit(row.total)}
        elif role == "timestamp":
            sets = {"invoicedate": row.invoicedate + datetime.timedelta(milliseconds=1)}
        elif role == "null":
            assert row.billingaddress is not None
            sets = {"billingaddress": None}
        elif role == "set":
            old = sorted(row.ids)
            assert len(old) == 2, row
            sets = {"ids": {old[0], 999_999}}       # one element replaced
        else:
            assert row.billingcountry != "Nowhere"
            sets = {"billingcountry": "Nowhere", "total": row.total + 1}
        assign = ", ".join(f"{c} = ?" for c in sets)
        run(f"UPDATE {t} SET {assign} WHERE {w}", tuple(sets.values()) + args)
        want[(t, "different", key_of(key))] = frozenset(sets)
        new[role] = sets
    # one extra row with only its key (a row marker), one with values
    cols = list(extras[0])
    run(f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(extras[0].values()))
    cols = list(extras[1]) + ["billingcity", "total", "ids", "invoicedate"]
    run(f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(extras[1].values()) + ("Extra", D("1.50"), {1, 2}, datetime.datetime(2020, 1, 1)))
    for e in extras:
        want[(t, "extra", key_of(e))] = frozenset()
    return want, new


def test_plan_verified_then_every_change_found(build_dir, source_dir, main_hosts, py_session,
                                               fresh_keyspace, tmp_path):
    """migrate plan.yaml then verify plan.yaml: exit 0. Then changes made with
    the Python driver in invoice and in its query table invoice_by_customer:
    exit 3, and exactly those keys, kinds and columns are reported."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    db = source_dir / CHINOOK
    plan, doc = write_plan(build_dir, tmp_path, f"sqlite:{db}", ks)
    tables = doc["tables"]
    for q in ("track_by_album", "invoice_by_customer"):
        assert tables[q]["enabled"] is False
        tables[q]["enabled"] = True
    # Chinook's model has no set column anywhere, so the plan adds one (computed,
    # set<bigint> of the customer and the invoice) to invoice and its query table.
    for name in ("invoice", "invoice_by_customer"):
        assert "set<" not in json.dumps(tables[name]["columns"])
        tables[name]["columns"]["ids"] = "set<bigint>"
        m = next(m for m in doc["mappings"] if m["to"] == name)
        m["columns"]["ids"] = "'[' || CustomerId || ', ' || InvoiceId || ']'"
    # a filtered table: the rows its where leaves out are counted as filtered
    tables["pricey_track"] = {"columns": {"trackid": "bigint", "name": "text", "price": "decimal"},
                              "partition_key": ["trackid"], "clustering": [], "options": {}}
    doc["mappings"].append({"from": "Track", "to": "pricey_track", "where": "UnitPrice > 0.99",
                            "columns": {"trackid": "TrackId", "name": "Name",
                                        "price": "UnitPrice"}})
    plan.write_text(yaml.safe_dump(doc, sort_keys=False))
    target = f"cassandra://{main_hosts[0]}"
    p = cqlshift(build_dir, "migrate", plan, target, "--out-dir", tmp_path / "runs", "--quiet",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr

    # every enabled table, query tables too, with the rows of its source table
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    src_counts = {r[0].lower(): r[1] for r in (
        (n, con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for (n,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))}
    counts = {m["to"]: src_counts[m["from"].lower()] for m in doc["mappings"]
              if tables[m["to"]].get("enabled", True) and m["to"] != "pricey_track"}
    assert len(counts) == 13 and counts["track_by_album"] == counts["track"] == 3503
    assert counts["invoice_by_customer"] == counts["invoice"] == 412
    npricey = con.execute("SELECT count(*) FROM Track WHERE UnitPrice > 0.99").fetchone()[0]
    assert 0 < npricey < 3503
    row = py_session.execute(f"SELECT customerid, ids FROM {ks}.invoice WHERE invoiceid = 7").one()
    assert set(row.ids) == {row.customerid, 7}
    before = tables_of(py_session, ks)
    assert before == set(counts) | {"pricey_track"}

    def with_pricey(want):
        want[f"{ks}.pricey_track"] = {**all_equal({"pricey_track": npricey}, ks)[
            f"{ks}.pricey_track"], "filtered": 3503 - npricey}
        return want

    p, report = verify(build_dir, tmp_path, plan, target)
    check_outcome(p, report, with_pricey(all_equal(counts, ks)), {}, 0)

    # the changes: invoices 1-8 in invoice, 11-18 in invoice_by_customer
    customer = dict(con.execute("SELECT InvoiceId, CustomerId FROM Invoice"))
    want, new = change_rows(py_session, ks, "invoice", [{"invoiceid": i} for i in range(1, 9)],
                            [{"invoiceid": 100_001}, {"invoiceid": 100_002}])
    want_q, new_q = change_rows(
        py_session, ks, "invoice_by_customer",
        [{"customerid": customer[i], "invoiceid": i} for i in range(11, 19)],
        [{"customerid": customer[11], "invoiceid": 100_003},
         {"customerid": 9_999, "invoiceid": 100_004}])
    want.update(want_q)
    assert len(want) == 20
    want_tables = with_pricey(all_equal(counts, ks))
    for t in ("invoice", "invoice_by_customer"):
        want_tables[f"{ks}.{t}"] = {"source_rows": 412, "target_rows": 412, "equal": 412 - 2 - 6,
                                    "missing": 2, "extra": 2, "different": 6, "rejected": 0,
                                    "filtered": 0}

    p, report = verify(build_dir, tmp_path, plan, target, "--max-print", "100")
    recs, lines = check_outcome(p, report, want_tables, want, 3)

    # the values, loosely: the report holds the target's values, the source's as converted
    for table, changed, first in (("invoice", new, 1), ("invoice_by_customer", new_q, 11)):
        def rec(role, table=table, first=first):
            i = first + ROLES.index(role)
            key = {"invoiceid": i} if table == "invoice" else \
                {"customerid": customer[i], "invoiceid": i}
            return recs[(f"{ks}.{table}", "different", key_of(key))]
        r = rec("text")
        assert r["target"]["billingcity"] == "Changed City" != r["source"]["billingcity"], r
        r = rec("decimal")
        s, t = D(str(r["source"]["total"])), D(str(r["target"]["total"]))
        assert s == t == changed["decimal"]["total"], r
        assert t.as_tuple().exponent == changed["decimal"]["total"].as_tuple().exponent, r
        assert s.as_tuple().exponent == t.as_tuple().exponent + 1, r
        r = rec("null")
        assert r["target"]["billingaddress"] is None and r["source"]["billingaddress"], r
        r = rec("set")
        assert sorted(r["target"]["ids"]) == sorted(changed["set"]["ids"]), r
        r = rec("two")
        assert r["target"]["billingcountry"] == "Nowhere", r
        r = rec("timestamp")
        assert r["source"]["invoicedate"] != r["target"]["invoicedate"], r
    text_line = next(line for t, k, key, cols, line in lines
                     if t == f"{ks}.invoice" and cols == {"billingcity"})
    assert re.search(r"billingcity: source '[^']*', target 'Changed City'$", text_line), text_line
    assert text_line.startswith(f"{ks}.invoice: different: (invoiceid=3): "), text_line

    # --max-print 3: three differences on stdout, every table's counts, all in the report
    p, report = verify(build_dir, tmp_path, plan, target, "--max-print", "3")
    assert p.returncode == 3, p.stderr
    diffs, tables_out = parse_stdout(p.stdout)
    assert len(diffs) == 3 and set(tables_out) == set(want_tables), p.stdout
    assert {(t, k, key) for t, k, key, _, _ in diffs} <= set(want)
    assert len(read_report(report)[0]) == 20

    # verify wrote nothing: no table, no repair
    assert tables_of(py_session, ks) == before
    assert py_session.execute(f"SELECT * FROM {ks}.invoice WHERE invoiceid = 1").one() is None
    assert py_session.execute(
        f"SELECT * FROM {ks}.invoice WHERE invoiceid = 100001").one() is not None

    # --repair --delete-extra: exit 0, then a verify finds nothing, and the driver
    # reads exactly the source's values back (read with sqlite3), no extra row
    p, report = verify(build_dir, tmp_path, plan, target, "--repair", "--delete-extra")
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    _, tables_out = parse_stdout(p.stdout)
    rdiffs, rtables, summary = read_report(report)
    for t in ("invoice", "invoice_by_customer"):
        assert tables_out[f"{ks}.{t}"]["rest"] == "repaired 8, deleted 2 (read again: equal)", \
            p.stdout
        assert (rtables[f"{ks}.{t}"]["repaired"], rtables[f"{ks}.{t}"]["deleted"]) == (8, 2)
    assert {(r["table"], r["kind"], key_of(r["key"])) for r in rdiffs
            if r.get("repaired")} == set(want)
    assert summary["result"] == "repaired", summary
    p, report = verify(build_dir, tmp_path, plan, target)
    check_outcome(p, report, with_pricey(all_equal(counts, ks)), {}, 0)
    want_rows = source_invoices(con)
    for table in ("invoice", "invoice_by_customer"):
        got = {r.invoiceid: r._asdict() for r in py_session.execute(
            f"SELECT {', '.join(INVOICE_COLUMNS)} FROM {ks}.{table}")}
        assert set(got) == set(want_rows), (table, set(got) ^ set(want_rows))
        bad = {i: (got[i], want_rows[i]) for i in got if got[i] != want_rows[i]}
        assert not bad, (table, bad)
    assert tables_of(py_session, ks) == before


INVOICE_COLUMNS = ("invoiceid", "customerid", "invoicedate", "billingaddress", "billingcity",
                   "billingstate", "billingcountry", "billingpostalcode", "total", "ids")


def source_invoices(con):
    """Chinook's invoices as the plan maps them, read with sqlite3: {invoiceid: row}."""
    out = {}
    for r in con.execute("SELECT InvoiceId, CustomerId, InvoiceDate, BillingAddress, BillingCity, "
                         "BillingState, BillingCountry, BillingPostalCode, Total FROM Invoice"):
        row = dict(zip(INVOICE_COLUMNS, r))
        row["invoicedate"] = datetime.datetime.strptime(r[2], "%Y-%m-%d %H:%M:%S")
        row["total"] = D(repr(r[8]))
        row["ids"] = {r[1], r[0]}
        out[r[0]] = row
    return out


# ---------------------------------------------------------------- (c) a file load with a reject

ITEMS = [  # id, qty, name, price; id 2's qty cannot be an int
    (1, "10", "apple", "0.50"),
    (2, "abc", "bad qty", "1.00"),
    (3, "30", "cherry, red", "2.5"),
    (4, None, "no qty", None),
    (5, "50", "elder", "10"),
]


def write_items(path, fmt):
    if fmt == "csv":
        lines = ["id,qty,name,price"]
        for i, q, n, pr in ITEMS:
            lines.append(",".join([str(i), q or "", f'"{n}"', pr or ""]))
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text("".join(
            json.dumps({"id": i, "qty": (int(q) if q and q.isdigit() else q), "name": n,
                        "price": pr}) + "\n" for i, q, n, pr in ITEMS))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_file_load_reject_counted_as_rejected(fmt, build_dir, main_hosts, py_session,
                                              fresh_keyspace, tmp_path):
    """load FILE (one row rejected, exit 4), then verify FILE TARGET TABLE:
    exit 0, the row rejected, not missing; a row deleted afterwards is
    missing, the rejected one still is not."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.items (id int PRIMARY KEY, qty int, name text, "
                       "price decimal)")
    data = tmp_path / f"items.{fmt}"
    write_items(data, fmt)
    target = f"cassandra://{main_hosts[0]}/{ks}"
    out = tmp_path / "runs"
    p = cqlshift(build_dir, "load", data, target, "items", "--out-dir", out, cwd=tmp_path)
    assert p.returncode == 4, p.stderr
    rejects = reject_rows(out, "items")
    assert len(rejects) == 1 and "qty" in rejects[0]["reason"], rejects
    got = {r.id: r for r in py_session.execute(f"SELECT * FROM {ks}.items")}
    assert sorted(got) == [1, 3, 4, 5] and str(got[1].price) == "0.50"

    want = {f"{ks}.items": {"source_rows": 4, "target_rows": 4, "equal": 4, "missing": 0,
                            "extra": 0, "different": 0, "rejected": 1, "filtered": 0}}
    p, report = verify(build_dir, tmp_path, data, target, "items")
    check_outcome(p, report, want, {}, 0)

    py_session.execute(f"DELETE FROM {ks}.items WHERE id = 5")
    want[f"{ks}.items"].update(target_rows=3, equal=3, missing=1)
    p, report = verify(build_dir, tmp_path, data, target, "items")
    check_outcome(p, report, want, {(f"{ks}.items", "missing", key_of({"id": 5})): frozenset()},
                  3)


# ---------------------------------------------------------------- (d) usage errors

def test_usage_errors(build_dir, source_dir, main_hosts, sqlite_chinook_ks, tmp_path):
    """A usage error: exit 2, one error sentence on stderr, nothing on stdout."""
    source = f"sqlite:{source_dir / CHINOOK}"
    target = f"cassandra://{main_hosts[0]}/{sqlite_chinook_ks}"
    cases = [
        ((source,), "TARGET"),
        ((source, target, "--tables", "Album,Nope"), "Nope"),
        ((source, target, "--max-print", "many"), "--max-print"),
    ]
    for args, words in cases:
        p = cqlshift(build_dir, "verify", *args, "--out-dir", tmp_path / "runs", cwd=tmp_path)
        assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
        assert p.stdout == "", (args, p.stdout)
        assert p.stderr.startswith("cqlshift: error: "), (args, p.stderr)
        assert p.stderr.count("cqlshift:") == 1, (args, p.stderr)
        assert words in p.stderr, (args, p.stderr)


# ---------------------------------------------------------------- keys as CQL literals

def test_keys_print_as_cql_literals(build_dir, main_hosts, py_session, fresh_keyspace, tmp_path):
    """A key on stdout can be pasted into a CQL WHERE: decimal, uuid and blob
    unquoted, text and timestamp quoted (a quote doubled)."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.k (d decimal, t text, at timestamp, u uuid, b blob, "
                       "v text, PRIMARY KEY ((d, t), at, u, b))")
    data = tmp_path / "k.csv"
    data.write_text("d,t,at,u,b,v\n"
                    "1.50,O'Brien,2024-01-02T03:04:05.678Z,5f0c9b3a-1d2e-4f00-9a1b-2c3d4e5f6a7b,"
                    "0xcafe,x\n")
    target = f"cassandra://{main_hosts[0]}/{ks}"
    p = cqlshift(build_dir, "load", data, target, "k", "--out-dir", tmp_path / "runs",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    py_session.execute(f"TRUNCATE {ks}.k")
    p, _ = verify(build_dir, tmp_path, data, target, "k")
    assert p.returncode == 3, p.stderr
    line = p.stdout.splitlines()[0]
    key = ("d=1.50, t='O''Brien', at='2024-01-02T03:04:05.678Z', "
           "u=5f0c9b3a-1d2e-4f00-9a1b-2c3d4e5f6a7b, b=0xcafe")
    assert line == f"{ks}.k: missing in the target: ({key})", line
    # the key as printed finds the row once it is there again
    py_session.execute(f"INSERT INTO {ks}.k (d, t, at, u, b, v) VALUES (1.50, 'O''Brien', "
                       "'2024-01-02T03:04:05.678Z', 5f0c9b3a-1d2e-4f00-9a1b-2c3d4e5f6a7b, 0xcafe, "
                       "'x')")
    where = key.replace(", ", " AND ")
    assert py_session.execute(f"SELECT v FROM {ks}.k WHERE {where}").one().v == "x"
