# fixtures: cassandra_main
"""cqlshift load FILE TARGET TABLE, end to end: CSV and JSONL edge cases
land exactly (read back with the Python driver), and bad input of many kinds
gives a clear message, goes to the reject file with its reason, and never
stops the good rows."""

import datetime
import decimal
import json
import os
import re
import subprocess
import time
import uuid

import pytest

from conftest import reject_rows

HANG_GUARD = 300


def cqlshift(build_dir, *args, cwd=None, env=None, input=None):
    e = dict(os.environ)
    e.pop("CQLSHIFT_CASSANDRA_PASSWORD", None)
    if env:
        e.update(env)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          cwd=cwd, env=e, timeout=HANG_GUARD, input=input)


TABLE = ("CREATE TABLE {ks}.t (id int PRIMARY KEY, name text, amount decimal, ts timestamp, "
         "flag boolean, tags list<text>, u uuid)")


@pytest.fixture
def ks(py_session, fresh_keyspace):
    py_session.execute(TABLE.format(ks=fresh_keyspace))
    return fresh_keyspace


def rows_by_id(py_session, ks):
    return {r.id: r for r in py_session.execute(f"SELECT * FROM {ks}.t")}


def load(build_dir, tmp_path, main_hosts, ks, path, *extra, table="t"):
    report = tmp_path / "report.json"
    if report.exists():
        report.unlink()
    out = tmp_path / "runs"
    p = cqlshift(build_dir, "load", path, f"cassandra://{main_hosts[0]}/{ks}", table,
                 "--report", report, "--out-dir", out, "--quiet", *extra, cwd=tmp_path)
    rep = json.loads(report.read_text()) if report.exists() else None
    return p, rep, reject_rows(out)


LONG = "long-" + "x" * 1_000_000


def test_csv_edge_cases_load_exactly(build_dir, tmp_path, main_hosts, py_session, ks):
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    csv = (
        "\ufeffid,name,amount,ts,flag,tags,u\r\n"                 # BOM and CRLF
        '1,"quoted, with comma",12.50,2020-01-02 03:04:05,true,"[\'a\',\'b\']",' + str(u) + "\r\n"
        '2,"line one\nline two\r\nline three",0.001,2020-01-02T03:04:05.123Z,false,[],\r\n'
        '3,"say ""hi""",-1E+3,1999-12-31,1,"[""x"",""y""]",\r\n'
        '4,"",,,,,\r\n'                                            # "" = empty string, rest null
        "5,,,,,,\r\n"                                              # unquoted empty = null
        "6,😀 𝄞 ünïcödé 中文,1,2020-01-01T00:00:00+02:00,no,,\r\n"  # 4-byte UTF-8, a zone
        f'7,"{LONG}",2,,,,\r\n'
    )
    f = tmp_path / "data.csv"
    f.write_bytes(csv.encode())
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f)
    assert p.returncode == 0, p.stderr.decode()
    assert rej == []
    assert rep["tables"][0]["read"] == 7 and rep["tables"][0]["written"] == 7
    got = rows_by_id(py_session, ks)
    assert got[1].name == "quoted, with comma" and got[1].amount == decimal.Decimal("12.50")
    assert got[1].ts == datetime.datetime(2020, 1, 2, 3, 4, 5) and got[1].flag is True
    assert got[1].tags == ["a", "b"] and got[1].u == u
    assert got[2].name == "line one\nline two\r\nline three"
    assert got[2].ts == datetime.datetime(2020, 1, 2, 3, 4, 5, 123000)
    assert got[2].tags is None  # an empty list is stored as null by Cassandra
    assert got[3].name == 'say "hi"' and got[3].amount == decimal.Decimal("-1E+3")
    assert got[3].ts == datetime.datetime(1999, 12, 31) and got[3].tags == ["x", "y"]
    assert got[4].name == "" and got[4].amount is None
    assert got[5].name is None
    assert got[6].name == "😀 𝄞 ünïcödé 中文" and got[6].flag is False
    assert got[6].ts == datetime.datetime(2019, 12, 31, 22, 0)
    assert got[7].name == LONG


def test_jsonl_edge_cases_load_exactly(build_dir, tmp_path, main_hosts, py_session, ks):
    lines = [
        {"id": 1, "name": "nested", "tags": ["a", "b", "😀"], "amount": "3.14"},
        {"id": 2, "name": "", "flag": True, "ts": "2021-06-01T12:00:00Z"},
        {"id": 3, "name": None},
        {"id": 4, "name": "tab\tand\nnewline \u0000 nul"},
    ]
    f = tmp_path / "data.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--columns",
                       "id,name,amount,ts,flag,tags,u")
    assert p.returncode == 0, p.stderr.decode()
    assert rej == []
    got = rows_by_id(py_session, ks)
    assert got[1].tags == ["a", "b", "😀"] and got[1].amount == decimal.Decimal("3.14")
    assert got[2].name == "" and got[2].flag is True
    assert got[2].ts == datetime.datetime(2021, 6, 1, 12)
    assert got[3].name is None
    assert got[4].name == "tab\tand\nnewline \u0000 nul"


# Each bad row: (CSV line, words the reason must contain). Good rows around
# them must all land; every bad row must be in the reject file.
BAD_CSV_ROWS = [
    ("101,x,12x,,,,", "amount"),                       # bad decimal
    ("102,x,,2020-13-45,,,", "ts"),                     # bad timestamp
    ("103,x,,,maybe,,", "flag"),                        # bad boolean
    ("104,x,,,,,not-a-uuid", "u"),                      # bad uuid
    ("3000000000,x,,,,,", "id"),                        # int out of range
    ("abc,x,,,,,", "id"),                               # not an integer
    (",x,,,,,", "id"),                                  # null primary key
    ("105,x,,,,,,extra", "fields"),                     # too many fields
    ("106,x", "fields"),                                # too few fields
    ('107,x"y,,,,,', "quote"),                          # quote inside an unquoted field
    ("108,x,,,,\"['a',\",", "tags"),                    # bad list literal
    ("109,x,1.5.5,,,,", "amount"),                      # bad number
    ("110,x,,2020-02-30,,,", "ts"),                     # impossible date
]


def test_bad_rows_are_rejected_with_reasons_and_good_rows_land(build_dir, tmp_path, main_hosts,
                                                                py_session, ks):
    good = [f"{i},good {i},1.0,,,," for i in range(1, 21)]
    body = ["id,name,amount,ts,flag,tags,u"]
    for i, (bad, _) in enumerate(BAD_CSV_ROWS):
        body.append(good[i])
        body.append(bad)
    body.extend(good[len(BAD_CSV_ROWS):])
    data = "\n".join(body).encode() + b"\n111,\xff\xfe invalid utf8,,,,,\n"  # invalid UTF-8
    data += b'112,"unterminated,,,,,\n'                                  # runs to EOF
    f = tmp_path / "bad.csv"
    f.write_bytes(data)
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f)
    assert p.returncode == 4, p.stderr.decode()  # finished with rejected rows
    t = rep["tables"][0]
    assert t["read"] == t["written"] + t["rejected"]
    assert t["written"] == 20, (t, rej)
    assert len(rej) == len(BAD_CSV_ROWS) + 2 == t["rejected"]
    reasons = [r["reason"] for r in rej]
    for (bad, word), r in zip(BAD_CSV_ROWS, rej):
        assert word in r["reason"], (bad, r)
        assert r["table"] == "t" and isinstance(r["position"], int)
        assert bad.split(",")[0] in r["row"] or r["row"].startswith(bad[:5]), r
    assert "UTF-8" in reasons[-2] or "utf-8" in reasons[-2].lower(), reasons[-2]
    assert "unterminated" in reasons[-1], reasons[-1]
    got = rows_by_id(py_session, ks)
    assert sorted(got) == list(range(1, 21))


def test_partition_key_too_large_is_refused_by_cassandra_and_rejected(build_dir, tmp_path,
                                                                     main_hosts, py_session,
                                                                     fresh_keyspace):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.big (k text PRIMARY KEY, v int)")
    f = tmp_path / "big.csv"
    f.write_text("k,v\nsmall,1\n" + "k" * 70000 + ",2\nsmall2,3\n")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, table="big")
    assert p.returncode == 4, p.stderr.decode()  # finished with rejected rows
    assert len(rej) == 1 and "refuses more than 65535" in rej[0]["reason"], rej
    assert rep["tables"][0]["written"] == 2


BAD_JSONL = [
    ('{"id": 201, "name": "x"', "invalid JSON"),
    ('[1, 2, 3]', "object"),
    ('{"id": "abc"}', "id"),
    ('{"id": 202, "nope": 1}', "nope"),
    ('{"id": 203, "tags": "not a list"}', "tags"),
]


def test_bad_jsonl_lines_are_rejected(build_dir, tmp_path, main_hosts, py_session, ks):
    lines = ['{"id": 1, "name": "ok"}'] + [b for b, _ in BAD_JSONL] + ['{"id": 2}']
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join(lines) + "\n")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--columns",
                       "id,name,amount,ts,flag,tags,u")
    assert p.returncode == 4, p.stderr.decode()  # finished with rejected rows
    assert [r["position"] for r in rej] == [2, 3, 4, 5, 6]
    for (line, word), r in zip(BAD_JSONL, rej):
        assert word in r["reason"], (line, r)
    assert sorted(rows_by_id(py_session, ks)) == [1, 2]


def test_max_errors_stops_the_run_and_resume_finishes_it(build_dir, tmp_path, main_hosts,
                                                         py_session, ks):
    """--max-errors stops reading, but the batches already read finish: the
    counts reconcile and the rejected rows are in the reject file. --resume
    (with a larger budget) goes on from there: every good row lands and
    every bad row is in the reject file exactly once."""
    f = tmp_path / "many.csv"
    lines = []
    for i in range(3000):
        lines.append(f"x{i},bad" if i % 100 == 7 else f"{i},good {i}")
    f.write_text("id,name\n" + "\n".join(lines) + "\n")
    bad = [i for i in range(3000) if i % 100 == 7]
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--max-errors", 5,
                       "--batch-rows", 100)
    assert p.returncode == 1
    assert "max-errors" in p.stderr.decode()
    t = rep["tables"][0]
    assert t["read"] == t["written"] + t["rejected"] and 5 < t["rejected"] < len(bad), t
    assert len(rej) == t["rejected"]
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--max-errors", 1000,
                       "--batch-rows", 100, "--resume")
    assert p.returncode == 4, p.stderr.decode()  # finished, with rejected rows
    t = rep["tables"][0]
    assert t["read"] == 3000 and t["rejected"] == len(bad) and t["written"] == 3000 - len(bad), t
    assert sorted(r["position"] for r in rej) == [i + 2 for i in bad]  # line numbers
    got = rows_by_id(py_session, ks)
    assert sorted(got) == [i for i in range(3000) if i not in bad]


# Command-level errors: (args builder, expected exit code, words in stderr)
def test_command_errors_are_clear(build_dir, tmp_path, main_hosts, ks):
    good = tmp_path / "good.csv"
    good.write_text("id,name\n1,a\n")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("id,colour\n1,red\n")
    nokey = tmp_path / "nokey.csv"
    nokey.write_text("name\nalone\n")
    twice = tmp_path / "twice.csv"
    twice.write_text("id,name,name\n1,a,b\n")
    cased = tmp_path / "cased.csv"
    cased.write_text("id,name,NAME\n1,a,b\n")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "a.csv").write_text("id,name\n1,a\n")
    (tmp_path / "two" / "b.csv").write_text("id,amount\n2,3\n")
    h = main_hosts[0]
    cases = [
        (["load", twice, f"cassandra://{h}/{ks}", "t"], 2, "appears twice"),
        (["load", cased, f"cassandra://{h}/{ks}", "t"], 2, "two fields ('NAME' and an earlier"),
        (["load", tmp_path / "two", f"cassandra://{h}/{ks}", "t"], 2, "different headers"),
        (["load", tmp_path / "missing.csv", f"cassandra://{h}/{ks}", "t"], 1, "missing.csv"),
        (["load", good, "cassandra://127.0.0.9/ks", "t"], 1, "127.0.0.9"),
        (["load", good, f"cassandra://{h}/no_such_keyspace", "t"], 1, "no_such_keyspace"),
        (["load", good, f"cassandra://{h}/{ks}", "no_such_table"], 1, "does not exist"),
        (["load", unknown, f"cassandra://{h}/{ks}", "t"], 2, "colour"),
        (["load", nokey, f"cassandra://{h}/{ks}", "t"], 2, "primary key"),
        (["load", good, f"cassandra://{h}/{ks}", "t", "--max-errors", "lots"], 2, "--max-errors"),
        (["load", good, f"cassandra://me:secret@{h}/{ks}", "t"], 2, "password"),
        (["load", good, f"http://{h}/{ks}", "t"], 2, "cassandra://"),
        (["load", good, f"cassandra://{h}/{ks}", "t", "--format", "xml"], 2, "--format"),
        (["load", good, f"cassandra://{h}/{ks}"], 2, "missing TABLE"),
        (["load", good, f"cassandra://{h}/{ks}", "t", "--rate-limit", "fast"], 2,
         "--rate-limit takes a number"),
        (["load", good, f"cassandra://{h}/{ks}", "t", "--rate-limit=5x"], 2, "not '5x'"),
        (["load", good, f"cassandra://{h}/{ks}", "t", "--workers", "-3"], 2,
         "--workers takes a whole number from 1 to 256, not '-3'"),
        (["load", good, f"cassandra://{h}/{ks}", "t", "--workers=abc"], 2, "not 'abc'"),
        (["migrate", good, f"cassandra://{h}/{ks}", "--tabels", "x"], 2,
         "did you mean --tables?"),
        (["load", good, f"cassandra://{h}/{ks}?connections=many", "t"], 2, "connections="),
        (["migrat"], 2, "did you mean 'migrate'"),
        (["migrate", f"sqlite:{tmp_path / 'nope.db'}", f"cassandra://{h}/{ks}"], 1, "nope.db"),
        (["migrate", good, f"cassandra://{h}/{ks}", "--bogus"], 2, "--bogus"),
        (["frobnicate"], 2, "unknown command"),
    ]
    for args, code, words in cases:
        p = cqlshift(build_dir, *args, cwd=tmp_path)
        err = p.stderr.decode()
        assert p.returncode == code, (args, p.returncode, err)
        assert words in err, (args, err)
        assert "secret" not in err


def test_rows_of_one_partition_go_as_one_batch_and_land_exactly(build_dir, tmp_path, main_hosts,
                                                                py_session, fresh_keyspace):
    """A table with clustering columns: consecutive rows of one partition are
    grouped into unlogged batches (fewer write requests than rows), and every
    row lands, including partitions split across batches and big rows that
    go alone."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.w (p int, c int, v text, PRIMARY KEY (p, c))")
    rows = []
    for p in range(40):                     # wide partitions, in order
        for c in range(150):
            rows.append((p, c, f"v{p}-{c}"))
    for k in range(300):                    # then alternating partitions: no grouping
        rows.append((1000 + k % 2, k, f"alt{k}"))
    rows.append((2000, 1, "x" * 100_000))   # bigger than a group: sent alone
    rows.append((2000, 2, "small"))
    f = tmp_path / "wide.csv"
    f.write_text("p,c,v\n" + "".join(f"{p},{c},{v}\n" for p, c, v in rows))
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, table="w")
    assert p.returncode == 0, p.stderr.decode()
    assert rej == []
    t = rep["tables"][0]
    assert t["read"] == t["written"] == len(rows)
    # 40 x 150 rows in groups of at most 64 need at least 120 requests; the
    # 300 alternating rows need 300; far fewer than one per row overall
    assert 420 <= t["write_requests"] < len(rows) // 4, t
    got = {(r.p, r.c): r.v for r in py_session.execute(f"SELECT p, c, v FROM {ks}.w")}
    assert got == {(p, c): v for p, c, v in rows}


def test_jsonl_objects_into_user_types_and_collections(build_dir, tmp_path, main_hosts,
                                                       py_session, fresh_keyspace):
    """Nested JSON objects land in user-defined types (also inside
    collections), and a CSV field in CQL literal syntax does too."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TYPE {ks}.addr (city text, zip int)")
    py_session.execute(f"CREATE TABLE {ks}.u (id int PRIMARY KEY, a frozen<addr>, "
                       "l list<frozen<addr>>, m map<text, int>)")
    f = tmp_path / "u.jsonl"
    f.write_text(json.dumps({"id": 1, "a": {"city": "Oslo", "zip": 150},
                             "l": [{"city": "Bergen"}, {"city": "Tromsø", "zip": 9008}],
                             "m": {"x": 1, "y": 2}}) + "\n" +
                 json.dumps({"id": 2, "a": {"city": "Nowhere", "zip": "not a number"}}) + "\n")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, table="u")
    assert p.returncode == 4, p.stderr.decode()  # finished with rejected rows
    assert len(rej) == 1 and rej[0]["position"] == 2 and "zip" in rej[0]["reason"], rej
    r = py_session.execute(f"SELECT * FROM {ks}.u WHERE id = 1").one()
    assert (r.a.city, r.a.zip) == ("Oslo", 150)
    assert [(x.city, x.zip) for x in r.l] == [("Bergen", None), ("Tromsø", 9008)]
    assert r.m == {"x": 1, "y": 2}


def test_directory_and_stdin(build_dir, tmp_path, main_hosts, py_session, ks):
    """A directory of CSV files (one with a BOM, one empty, one of another
    extension that is ignored) loads as one table; JSONL on stdin (-) with
    --format jsonl loads too."""
    d = tmp_path / "parts"
    d.mkdir()
    (d / "a.csv").write_text("id,name\n1,one\n2,two\n")
    (d / "b.csv").write_bytes("\ufeffid,name\r\n3,three\r\n".encode())
    (d / "c.csv").write_text("")
    (d / "notes.txt").write_text("id,name\n99,ignored\n")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, d)
    assert p.returncode == 0, p.stderr.decode()
    assert rep["tables"][0]["written"] == 3 and rej == []
    assert {i: r.name for i, r in rows_by_id(py_session, ks).items()} == \
        {1: "one", 2: "two", 3: "three"}

    lines = "".join(json.dumps({"id": i, "name": f"stdin {i}"}) + "\n" for i in range(10, 20))
    p = cqlshift(build_dir, "load", "-", f"cassandra://{main_hosts[0]}/{ks}", "t",
                 "--format", "jsonl", "--quiet", "--out-dir", tmp_path / "runs2",
                 cwd=tmp_path, input=lines.encode())
    assert p.returncode == 0, p.stderr.decode()
    got = rows_by_id(py_session, ks)
    assert all(got[i].name == f"stdin {i}" for i in range(10, 20)) and len(got) == 13


def test_replica_batches_land_exactly_and_oversized_batches_are_rejected(
        build_dir, tmp_path, main_hosts, py_session, ks):
    """--batch-mode replica groups rows by their replica node into unlogged
    batches: every row lands, in far fewer requests. Batches made larger
    than Cassandra's 50 KiB limit are refused by the server: their rows are
    sent again one by one and land; a row Cassandra refuses alone (a TTL
    past 2038) is rejected with the server's reason, its batch's other rows
    land."""
    rows = 5000
    f = tmp_path / "r.csv"
    f.write_text("id,name\n" + "".join(f"{i},name {i}\n" for i in range(rows)))
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--batch-mode", "replica")
    assert p.returncode == 0, p.stderr.decode()
    t = rep["tables"][0]
    assert t["written"] == rows and rej == [], t
    assert t["write_requests"] <= rows // 5, t
    got = rows_by_id(py_session, ks)
    assert {i: r.name for i, r in got.items()} == {i: f"name {i}" for i in range(rows)}

    py_session.execute(f"TRUNCATE {ks}.t")
    big = tmp_path / "big.csv"
    big.write_text("id,name\n" + "".join(f"{i},{'x' * 2000}\n" for i in range(200)))
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, big, "--batch-mode", "replica",
                       "--batch-max-rows", 100, "--batch-max-bytes", 1_000_000)
    assert p.returncode == 0, p.stderr.decode()
    t = rep["tables"][0]
    assert t["read"] == t["written"] == 200 and rej == [], t
    assert {i: r.name for i, r in rows_by_id(py_session, ks).items()} == \
        {i: "x" * 2000 for i in range(200)}

    py_session.execute(f"TRUNCATE {ks}.t")
    f = tmp_path / "ttl.csv"
    f.write_text("id,name,keep\n" + "".join(
        f"{i},n{i},{400_000_000 if i % 25 == 0 else 86400}\n" for i in range(1, 501)))
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--batch-mode", "replica",
                       "--map", "id,name", "--ttl", "cast(keep as int)")
    assert p.returncode == 4, p.stderr.decode()  # finished with rejected rows
    t = rep["tables"][0]
    assert (t["read"], t["written"], t["rejected"]) == (500, 480, 20), t
    assert sorted(r["position"] - 1 for r in rej) == list(range(25, 501, 25)), rej[:2]
    assert all(r["reason"].startswith("Cassandra refused the row: ") and "ttl" in r["reason"]
               for r in rej), rej[:2]
    assert sorted(rows_by_id(py_session, ks)) == [i for i in range(1, 501) if i % 25]



def batch_warnings(run_dir, ks, table):
    """Cassandra's 'Batch for [ks.table] is of size ..., exceeding ...'
    warnings, over every node's system.log."""
    return sum(log.read_text(errors="replace").count(f"Batch for [{ks}.{table}]")
               for log in (run_dir / "cassandra-main").glob("node-*/logs/system.log"))


def test_default_shape_batches_by_replica_under_cassandras_warning(
        build_dir, tmp_path, main_hosts, py_session, fresh_keyspace, run_dir):
    """The default request shape (auto) writes a table without clustering
    columns in unlogged batches grouped by replica, sized as Cassandra
    counts a batch (a set is a cell per element), so Cassandra logs no
    batch-size warning, and every row lands in far fewer requests. A control
    load with a larger byte limit into a twin table makes the warnings
    appear, so the log check can fail."""
    ks = fresh_keyspace
    rows = 3000
    want = {i: (f"a{i:05d}" * 4, "b" * 200, i * 7, {f"t{i % 5}", f"u{i % 3}", "common"})
            for i in range(rows)}
    f = tmp_path / "wide.csv"
    f.write_text("id,a,b,n,tags\n" + "".join(
        f"{i},{a},{b},{n},\"[{','.join(repr(x) for x in sorted(t))}]\"\n"
        for i, (a, b, n, t) in want.items()))
    for table, extra in (("wide", ()), ("control", ("--batch-max-rows", 30,
                                                     "--batch-max-bytes", 12_000))):
        py_session.execute(f"CREATE TABLE {ks}.{table} (id int PRIMARY KEY, a text, b text, "
                           f"n bigint, tags set<text>)")
        p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, *extra, table=table)
        assert p.returncode == 0, p.stderr.decode()
        t = rep["tables"][0]
        assert t["written"] == rows and rej == [], t
        assert t["write_requests"] <= rows // 5, t
        got = {r.id: (r.a, r.b, r.n, set(r.tags))
               for r in py_session.execute(f"SELECT * FROM {ks}.{table}")}
        assert got == want
        # the warnings Cassandra attaches to its answers are counted too
        if table == "wide":
            assert (t["server_warnings"], t["first_server_warning"]) == (0, None), t
        else:
            assert 0 < t["server_warnings"] <= t["write_requests"], t
            assert t["first_server_warning"].startswith(f"Batch for [{ks}.control] is of size"), t
            assert rep["totals"]["server_warnings"] == t["server_warnings"]
    deadline = time.monotonic() + 30  # the server's log is written asynchronously
    while batch_warnings(run_dir, ks, "control") == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert batch_warnings(run_dir, ks, "control") > 0
    assert batch_warnings(run_dir, ks, "wide") == 0
    # without --quiet, the user is told after the summary
    p = cqlshift(build_dir, "load", f, f"cassandra://{main_hosts[0]}/{ks}", "control",
                 "--batch-max-rows", 30, "--batch-max-bytes", 12_000, "--out-dir",
                 tmp_path / "runs2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert re.search(r"cqlshift: note: Cassandra attached a warning to \d+ write requests of "
                     rf"control; the first: Batch for \[{ks}\.control\] is of size",
                     p.stderr.decode()), p.stderr.decode()
