# fixtures: cassandra_main
"""cqlshift load FILE TARGET TABLE --map 'col=EXPR,...', end to end: renamed
columns, constants, computed columns, skipped fields, a timestamp from text
with a format, a JSONL object read with json_path; the rows read back with
the Python driver equal the file as Python reads it and computes it. Errors
name their position in the option and exit 2 with nothing written; a --map
run killed with -9 and resumed gives exactly the uninterrupted result."""

import csv
import datetime
import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

from conftest import settled_rows, state_file

HANG_GUARD = 300


def cqlshift(build_dir, *args, cwd=None):
    e = dict(os.environ)
    e.pop("CQLSHIFT_CASSANDRA_PASSWORD", None)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=e, timeout=HANG_GUARD)


PEOPLE = ("CREATE TABLE {ks}.people (id int PRIMARY KEY, name text, region text, country text, "
          "signed_up timestamp, score int, label text)")


def write_people(path, n=200):
    rng = random.Random(16)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "full_name", "country_code", "signup", "score", "junk", "more"])
        for i in range(1, n + 1):
            ts = datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=rng.randrange(10**8))
            name = rng.choice(["Ada", "Grace, H.", 'Al "the" T', "Émile", "x"]) + f" {i}"
            w.writerow([i, name, rng.choice(["uk", "us", "fr"]), ts.strftime("%Y-%m-%d %H:%M:%S"),
                        "" if i % 7 == 0 else rng.randrange(-1000, 1000), "junk", i * 2])


def load(build_dir, tmp_path, host, ks, path, table, spec, *extra):
    report = tmp_path / "report.json"
    if report.exists():
        report.unlink()
    p = cqlshift(build_dir, "load", path, f"cassandra://{host}/{ks}", table, "--map", spec,
                 "--report", report, "--out-dir", tmp_path / "runs", *extra, cwd=tmp_path)
    rep = json.loads(report.read_text()) if report.exists() else None
    return p, rep


SPEC = ("id=user_id, name = full_name, region='EU', country=upper(country_code), "
        "signed_up=to_timestamp(signup, 'yyyy-MM-dd HH:mm:ss', 'UTC'), score, "
        "label=coalesce(full_name, 'none') || ', ' || lower(country_code)")


def expected_people(path):
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            out[int(r["user_id"])] = dict(
                name=r["full_name"], region="EU", country=r["country_code"].upper(),
                signed_up=datetime.datetime.strptime(r["signup"], "%Y-%m-%d %H:%M:%S"),
                score=int(r["score"]) if r["score"] else None,
                label=r["full_name"] + ", " + r["country_code"].lower())
    return out


def got_people(py_session, ks):
    return {r.id: dict(name=r.name, region=r.region, country=r.country, signed_up=r.signed_up,
                       score=r.score, label=r.label)
            for r in py_session.execute(f"SELECT * FROM {ks}.people")}


def test_csv_renamed_constant_computed_skipped(build_dir, tmp_path, main_hosts, py_session,
                                              fresh_keyspace):
    ks = fresh_keyspace
    py_session.execute(PEOPLE.format(ks=ks))
    data = tmp_path / "people.csv"
    write_people(data)
    p, rep = load(build_dir, tmp_path, main_hosts[0], ks, data, "people", SPEC)
    assert p.returncode == 0, p.stderr
    assert re.search(r"--map names no column for 2 fields of \S*people.csv, which are skipped: "
                     r"junk, more", p.stderr), p.stderr
    t = rep["tables"][0]
    assert t["read"] == 200 and t["written"] == 200 and t["rejected"] == 0, t
    assert got_people(py_session, ks) == expected_people(data)


def test_star_takes_the_other_columns_by_name(build_dir, tmp_path, main_hosts, py_session,
                                              fresh_keyspace):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (id int PRIMARY KEY, name text, score int, src text)")
    data = tmp_path / "t.csv"
    data.write_text("ID,Name,score,other\n1,a,5,x\n2,\"b,c\",,y\n")
    p, _ = load(build_dir, tmp_path, main_hosts[0], ks, data, "t", "src='file', *")
    assert p.returncode == 0, p.stderr
    rows = {r.id: (r.name, r.score, r.src) for r in py_session.execute(f"SELECT * FROM {ks}.t")}
    assert rows == {1: ("a", 5, "file"), 2: ("b,c", None, "file")}
    assert "skipped: other" in p.stderr


def test_jsonl_json_path_and_numbers(build_dir, tmp_path, main_hosts, py_session, fresh_keyspace):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.ev (id int PRIMARY KEY, city text, first_tag text, "
                       "big boolean, qty int, at timestamp, raw text)")
    objs = [{"id": i, "info": {"city": f"c{i}", "tags": [f"t{i}", "z"]} if i % 3 else {"tags": []},
             "qty": i * 7 % 23, "when": 1_700_000_000 + i, "extra": i % 2 == 0}
            for i in range(1, 60)]
    data = tmp_path / "ev.jsonl"
    data.write_text("".join(json.dumps(o) + "\n" for o in objs))
    spec = ("id, city=json_path(info, '$.city'), first_tag=json_path(info, '$.tags[0]'), "
            "big=cast(qty as int) > 10, qty, at=from_epoch(cast(\"when\" as bigint), 's'), "
            "raw=info || ''")
    p, rep = load(build_dir, tmp_path, main_hosts[0], ks, data, "ev", spec)
    assert p.returncode == 0, p.stderr
    assert "skipped: extra" in p.stderr
    got = {r.id: r for r in py_session.execute(f"SELECT * FROM {ks}.ev")}
    assert len(got) == len(objs)
    for o in objs:
        r = got[o["id"]]
        assert r.city == o["info"].get("city")
        assert r.first_tag == (o["info"]["tags"][0] if o["info"]["tags"] else None)
        assert r.big == (o["qty"] > 10) and r.qty == o["qty"]
        assert r.at == datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=o["when"])
        assert json.loads(r.raw) == o["info"]


@pytest.mark.parametrize("spec, at, words", [
    # at: where the position points (the first occurrence of this text), or the end
    ("id=user_id, name=nosuch", "nosuch", 'unknown column "nosuch"'),
    ("id=user_id, name=upper(full_name", None, "upper"),
    ("id=user_id, name=to_timestamp(signup, 'yyyy-MM-dd', 'Mars/Base')", "'Mars", "time zone"),
    ("name=full_name", None, "id, part of the primary key of"),
    ("user_id=id", "user_id", "the table column goes on the left: write id=user_id"),
    ("id=user_id,,name=full_name", ",name", "an empty entry"),
    ("id=user_id, bogus=full_name", "bogus", "bogus is not a column of"),
    ("id=user_id, name=full_name, name=junk", "name=junk", "mapped twice"),
    ("id=user_id, score=to_timestamp(signup, 'yyyy-MM-dd HH:mm:ss', 'UTC')", "to_",
     "column score (int) cannot take this timestamp expression"),
    ("id=user_id, signed_up=score > 3", "> 3", "cannot compare text with int"),
    ("id=user_id name=full_name", "name", "missing operator or comma"),
    ("id=user_id, name=", None, "nothing after name="),
])
def test_errors_say_where_and_write_nothing(build_dir, tmp_path, main_hosts, py_session,
                                            fresh_keyspace, spec, at, words):
    pos = spec.index(at) + 1 if at else len(spec) + 1
    ks = fresh_keyspace
    py_session.execute(PEOPLE.format(ks=ks))
    data = tmp_path / "people.csv"
    write_people(data, 5)
    p, rep = load(build_dir, tmp_path, main_hosts[0], ks, data, "people", spec)
    assert p.returncode == 2, p.stderr
    m = re.search(r"error: --map: position (\d+): (.*)", p.stderr)
    assert m, p.stderr
    assert int(m.group(1)) == pos, p.stderr
    assert words in m.group(2), p.stderr
    assert list(py_session.execute(f"SELECT id FROM {ks}.people")) == []


ROWS = 400_000


def test_map_kill_9_then_resume_is_exact(build_dir, tmp_path, main_hosts, py_session,
                                         fresh_keyspace, count_rows):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.r (id bigint PRIMARY KEY, v text, k text, n int)")
    data = tmp_path / "big.csv"
    with open(data, "w") as f:
        f.write("a,b,c\n")
        for i in range(ROWS):
            f.write(f"{i},v{i},{i % 97}\n")
    out = tmp_path / "runs"
    spec = "id=a, v=upper(b), k='K' || c, n=c"
    args = [str(build_dir / "cqlshift"), "load", str(data), f"cassandra://{main_hosts[0]}/{ks}",
            "r", "--map", spec, "--out-dir", str(out), "--progress-interval", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    target = random.Random().randint(50_000, 250_000)
    deadline = time.monotonic() + 600
    while settled_rows(state_file(out)) < target and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < settled_rows(state_file(out)) < ROWS

    # another --map is another job: nothing of this one to resume
    p = subprocess.run(args[:6] + ["id=a, v=b, k=c, n=c"] + args[7:] + ["--resume"],
                       capture_output=True, text=True, timeout=HANG_GUARD)
    assert p.returncode == 2 and "nothing to resume" in p.stderr, p.stderr

    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report), "--quiet"],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr
    t = json.loads(report.read_text())["tables"][0]
    assert t["read"] == ROWS and t["written"] == ROWS and t["rejected"] == 0, t
    assert count_rows(py_session, ks, "r", ["id"]) == ROWS
    for i in random.Random(3).sample(range(ROWS), 500):
        r = py_session.execute(f"SELECT v, k, n FROM {ks}.r WHERE id = {i}").one()
        assert (r.v, r.k, r.n) == (f"V{i}", f"K{i % 97}", i % 97)


PLAN = """version: 1
source: csv:somewhere-else.csv      # load --plan reads FILE instead
keyspace:
  name: {ks}
  replication: {{class: SimpleStrategy, replication_factor: 1}}
tables:
  people:
    columns: {{id: int, name: text, country: text, signed_up: timestamp}}
    partition_key: [id]
  people_by_country:
    columns: {{country: text, id: int, name: text, score: int}}
    partition_key: [country]
    clustering: [id]
  from_elsewhere:
    enabled: false
    columns: {{x: int}}
    partition_key: [x]
mappings:
  - from: people
    to: people
    columns:
      id: user_id
      name: full_name
      country: upper(country_code)
      signed_up: "to_timestamp(signup, 'yyyy-MM-dd HH:mm:ss', 'UTC')"
  - from: people
    to: people_by_country
    where: "score is not null"
    columns: {{country: upper(country_code), id: user_id, name: full_name, score: score}}
  - from: other_table           # into a disabled table: not checked against the file
    to: from_elsewhere
    columns: {{x: a}}
"""


def tables_of(py_session, ks):
    return {r.table_name for r in py_session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", [ks])}


def test_plan_feeds_two_tables_from_one_csv(build_dir, tmp_path, main_hosts, py_session,
                                            fresh_keyspace):
    ks = fresh_keyspace
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(ks=ks))
    data = tmp_path / "export-2024.csv"   # not named like the plan's table: the plan names it
    write_people(data, 300)
    report = tmp_path / "report.json"
    p = cqlshift(build_dir, "load", data, f"cassandra://{main_hosts[0]}", "--plan", plan,
                 "--out-dir", tmp_path / "runs", "--report", report, "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    exp = expected_people(data)
    rep = {t["table"]: t
           for t in json.loads(report.read_text())["tables"]}
    assert rep["people"]["written"] == 300, rep
    with_score = {i: e for i, e in exp.items() if e["score"] is not None}
    assert rep["people_by_country"]["written"] == len(with_score), rep
    assert tables_of(py_session, ks) == {"people", "people_by_country"}
    got = {r.id: (r.name, r.country, r.signed_up) for r in
           py_session.execute(f"SELECT * FROM {ks}.people")}
    assert got == {i: (e["name"], e["country"], e["signed_up"]) for i, e in exp.items()}
    for country in ("UK", "US", "FR"):
        rows = list(py_session.execute(
            f"SELECT id, name, score FROM {ks}.people_by_country WHERE country = %s", [country]))
        want = sorted((i, e["name"], e["score"]) for i, e in with_score.items()
                      if e["country"] == country)
        assert [(r.id, r.name, r.score) for r in rows] == want


def test_plan_with_table_loads_only_it(build_dir, tmp_path, main_hosts, py_session,
                                       fresh_keyspace):
    ks = fresh_keyspace
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(ks=ks))
    data = tmp_path / "p.csv"
    write_people(data, 20)
    p = cqlshift(build_dir, "load", data, f"cassandra://{main_hosts[0]}/{ks}", "people_by_country",
                 "--plan", plan, "--out-dir", tmp_path / "runs", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert tables_of(py_session, ks) == {"people_by_country"}


@pytest.mark.parametrize("edit, table, extra, words", [
    (None, "nosuch", [], "has no table nosuch (its enabled tables: people, people_by_country)"),
    (None, "from_elsewhere", [], "table from_elsewhere is disabled"),
    (None, "people", ["--map", "id=user_id"], "--map and --plan exclude each other"),
    (("- from: people\n    to: people_by_country", "- from: others\n    to: people_by_country"),
     None, [], "a file is one table"),
    (("country: upper(country_code)\n", "country: upper(nosuch)\n"), None, [],
     'unknown column "nosuch"'),
    (("- from: people\n    to: people_by_country", "- query: SELECT 1\n    to: people_by_country"),
     None, [], "this mapping reads an SQL query; cqlshift load reads a file"),
])
def test_plan_errors(build_dir, tmp_path, main_hosts, py_session, fresh_keyspace, edit, table,
                     extra, words):
    ks = fresh_keyspace
    text = PLAN.format(ks=ks)
    if edit:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1], 1)
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    data = tmp_path / "p.csv"
    write_people(data, 5)
    p = cqlshift(build_dir, "load", data, f"cassandra://{main_hosts[0]}/{ks}",
                 *([table] if table else []), "--plan", plan, *extra, "--out-dir",
                 tmp_path / "runs", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert words in p.stderr, p.stderr
    assert tables_of(py_session, ks) == set()


def test_plan_kill_9_then_resume_is_exact(build_dir, tmp_path, main_hosts, py_session,
                                          fresh_keyspace, count_rows):
    ks = fresh_keyspace
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"""version: 1
keyspace: {{name: {ks}}}
tables:
  r: {{columns: {{id: bigint, v: text}}, partition_key: [id]}}
  r_by_k: {{columns: {{k: text, id: bigint}}, partition_key: [k], clustering: [id]}}
mappings:
  - {{from: big, to: r, columns: {{id: a, v: upper(b)}}}}
  - {{from: big, to: r_by_k, columns: {{k: "'K' || c", id: a}}}}
""")
    data = tmp_path / "big.csv"
    with open(data, "w") as f:
        f.write("a,b,c\n")
        for i in range(ROWS):
            f.write(f"{i},v{i},{i % 97}\n")
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "load", str(data), f"cassandra://{main_hosts[0]}",
            "--plan", str(plan), "--out-dir", str(out), "--progress-interval", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    target = random.Random().randint(50_000, 250_000)
    deadline = time.monotonic() + 600
    while settled_rows(state_file(out)) < target and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report), "--quiet"],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr
    assert count_rows(py_session, ks, "r", ["id"]) == ROWS
    assert count_rows(py_session, ks, "r_by_k", ["k"]) == ROWS
    for i in random.Random(4).sample(range(ROWS), 300):
        assert py_session.execute(f"SELECT v FROM {ks}.r WHERE id = {i}").one().v == f"V{i}"
        assert py_session.execute(
            f"SELECT id FROM {ks}.r_by_k WHERE k = 'K{i % 97}' AND id = {i}").one() is not None


def test_migrate_plan_with_a_csv_source(build_dir, tmp_path, main_hosts, py_session,
                                        fresh_keyspace):
    """The plan's own `source: csv:...` works with migrate too (no key
    inference from the file, which has none)."""
    ks = fresh_keyspace
    data = tmp_path / "people.csv"
    write_people(data, 30)
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(ks=ks).replace("csv:somewhere-else.csv", f"csv:{data}")
                    .replace("- from: other_table", "- from: people"))
    p = cqlshift(build_dir, "migrate", plan, f"cassandra://{main_hosts[0]}", "--out-dir",
                 tmp_path / "runs", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    got = {r.id: r.name for r in py_session.execute(f"SELECT id, name FROM {ks}.people")}
    assert got == {i: e["name"] for i, e in expected_people(data).items()}


def test_where_writetime_ttl(build_dir, tmp_path, main_hosts, py_session, fresh_keyspace):
    """--where keeps the rows whose condition holds (the others counted as
    filtered), --writetime sets each row's write time from a field, --ttl
    each row's TTL (null leaves the table's default); without
    --map, '*' is implied. WRITETIME and TTL read back with the Python
    driver; wrong expressions exit 2 naming the option and position."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.o (id int PRIMARY KEY, amount decimal, status text) "
                       "WITH default_time_to_live = 5000", timeout=60)
    src = tmp_path / "o.csv"
    src.write_text("id,amount,status,updated,keep\n"
                   "1,10.5,ok,2024-01-02 03:04:05,600\n"
                   "2,-1,ok,2024-01-02 03:04:05,600\n"         # filtered: amount
                   "3,7,test,2024-01-02 03:04:05,600\n"        # filtered: status
                   "4,3,ok,2023-12-31 23:59:59,\n")            # null: the table's default TTL
    report = tmp_path / "r.json"
    p = cqlshift(build_dir, "load", src, f"cassandra://{main_hosts[0]}/{ks}", "o",
                 "--where", "cast(amount as decimal) > 0 and status <> 'test'",
                 "--writetime", "to_timestamp(updated, 'yyyy-MM-dd HH:mm:ss', 'UTC')",
                 "--ttl", "cast(keep as int)", "--report", report, "--out-dir", tmp_path / "runs",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rep = json.loads(report.read_text())["tables"][0]
    assert (rep["read"], rep["written"], rep["filtered"]) == (4, 2, 2), rep
    rows = {r.id: r for r in py_session.execute(
        f"SELECT id, status, WRITETIME(status) AS wt, TTL(status) AS ttl FROM {ks}.o")}
    assert set(rows) == {1, 4}
    assert rows[1].wt == 1704164645000000 and rows[4].wt == 1704067199000000
    assert 500 < rows[1].ttl <= 600, rows[1]
    assert 4500 < rows[4].ttl <= 5000, rows[4]           # the table's default
    for opt, expr, words in (("--where", "amount + ", "--where: position"),
                             ("--ttl", "status", "--ttl"),
                             ("--where", "nosuch = 1", "nosuch")):
        p = cqlshift(build_dir, "load", src, f"cassandra://{main_hosts[0]}/{ks}", "o", opt, expr,
                     "--out-dir", tmp_path / "bad", cwd=tmp_path)
        assert p.returncode == 2, (opt, expr, p.stderr)
        assert words in p.stderr, (opt, expr, p.stderr)


def test_plan_of_a_csv_loads_every_row(build_dir, tmp_path, main_hosts, py_session,
                                       fresh_keyspace):
    """cqlshift plan FILE proposes the table (typed from the values, keyed by
    user_id, whose values are all present and distinct); the plan, with a
    computed column added as a person would, loads with load --plan; every
    row and value, read back with the Python driver, is what the CSV holds."""
    ks = fresh_keyspace
    data = tmp_path / "people.csv"
    write_people(data, 300)
    plan = tmp_path / "plan.yaml"
    p = cqlshift(build_dir, "plan", data, "-k", ks, "-o", plan)
    assert p.returncode == 0, p.stderr
    text = plan.read_text()
    assert "partition_key: [user_id]" in text, text
    text = text.replace("      more: bigint\n", "      more: bigint\n      shout: text\n") \
               .replace("      more: more\n", "      more: more\n      shout: upper(full_name)\n")
    assert "shout: upper" in text
    plan.write_text(text)
    p = cqlshift(build_dir, "load", data, f"cassandra://{main_hosts[0]}/", "--plan", plan,
                 "--out-dir", tmp_path / "runs", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    with open(data, newline="") as f:
        want = {int(r["user_id"]): r for r in csv.DictReader(f)}
    got = {r.user_id: r for r in py_session.execute(f"SELECT * FROM {ks}.people")}
    assert set(got) == set(want)
    for k, r in want.items():
        g = got[k]
        assert (g.full_name, g.country_code, g.signup, g.junk, g.more, g.shout) == \
            (r["full_name"], r["country_code"], r["signup"], r["junk"], int(r["more"]),
             r["full_name"].upper())
        assert g.score == (int(r["score"]) if r["score"] else None)
