# fixtures:
"""cqlshift plan SOURCE, end to end (no server: plan touches no cluster).

The plan of Chinook (SQLite) is written with the real binary, loaded with
PyYAML and validated against docs/plan.schema.json with the `jsonschema`
package (an independent reader of the format), its version checked, and
parsed back by cqlshift's own reader (tests/tools/plan_check.c) into the DDL
of the enabled tables. Then the plan is edited as a person would (two query
tables enabled, a computed and a renamed column) and checked again; invalid
plans are refused with FILE:LINE:COL and exit 2."""

import json
import os
import re
import sqlite3
import subprocess

import jsonschema
import pytest
import yaml

CHINOOK = "datasets/chinook/Chinook_Sqlite.sqlite"


def cqlshift(build_dir, *args, cwd=None):
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def schema(source_dir):
    s = json.loads((source_dir / "docs/plan.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(s)
    return s


def validate(schema, doc):
    jsonschema.Draft202012Validator(schema).validate(doc)


@pytest.fixture(scope="module")
def chinook_src(source_dir):
    return "sqlite:" + str(source_dir / CHINOOK)


@pytest.fixture(scope="module")
def chinook_plan(build_dir, chinook_src, tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "chinook.yaml"
    r = cqlshift(build_dir, "plan", chinook_src, "-k", "chinook", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "11 tables" in r.stderr
    return out


def sqlite_tables(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    names = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    out = {t: [c[1] for c in con.execute(f'PRAGMA table_info("{t}")')] for t in names}
    fks = {t: con.execute(f'PRAGMA foreign_key_list("{t}")').fetchall() for t in names}
    con.close()
    return out, fks


def check_plan(tool, path, source=None):
    args = [str(tool("plan_check")), str(path)] + ([source] if source else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_chinook_plan_is_valid(chinook_plan, schema, source_dir, chinook_src, tool):
    text = chinook_plan.read_text()
    doc = yaml.safe_load(text)
    validate(schema, doc)
    assert doc["version"] == 1
    assert doc["keyspace"]["name"] == "chinook"
    assert doc["keyspace"]["replication"] == {"class": "SimpleStrategy", "replication_factor": 1}
    assert doc["source"] == chinook_src
    tables, _ = sqlite_tables(source_dir / CHINOOK)
    enabled = {n: t for n, t in doc["tables"].items() if t.get("enabled", True)}
    assert set(enabled) == {t.lower() for t in tables}
    for name, cols in tables.items():
        t = doc["tables"][name.lower()]
        assert set(t["columns"]) == {c.lower() for c in cols}
        keys = t["partition_key"] + t["clustering"]
        assert list(t["columns"])[:len(keys)] == keys
        m = [m for m in doc["mappings"] if m["to"] == name.lower()]
        assert len(m) == 1 and m[0]["from"] == name
        assert m[0]["columns"] == {c.lower(): c for c in cols}
    # notable choices are commented beside their lines
    assert re.search(r"NUMERIC\(10,2\) -> decimal", text)
    assert re.search(r"DATETIME -> timestamp", text)
    # cqlshift's own reader takes it back, and it names only source tables
    r = check_plan(tool, chinook_plan, chinook_src)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("CREATE TABLE IF NOT EXISTS chinook.") == len(tables)
    assert "CREATE KEYSPACE IF NOT EXISTS chinook WITH replication = {'class': 'SimpleStrategy', " \
           "'replication_factor': 1}" in r.stdout


def test_stdout_and_options(build_dir, chinook_src, chinook_plan, schema):
    a = cqlshift(build_dir, "plan", chinook_src, "-k", "chinook")
    b = cqlshift(build_dir, "plan", chinook_src, "--keyspace", "chinook", "-o", "-")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout == chinook_plan.read_text()
    # the default keyspace: the file's name, folded
    r = cqlshift(build_dir, "plan", chinook_src)
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(r.stdout)["keyspace"]["name"] == "chinook_sqlite"
    r = cqlshift(build_dir, "plan", chinook_src, "--tables", "Album,track", "--replication",
                 "dc1:3,dc2:2")
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(r.stdout)
    validate(schema, doc)
    assert {n for n, t in doc["tables"].items() if t.get("enabled", True)} == {"album", "track"}
    assert doc["keyspace"]["replication"] == {"class": "NetworkTopologyStrategy", "dc1": 3, "dc2": 2}
    for args, words in ((["--tables", "Nope"], "no table 'Nope'"),
                        (["-k", "bad-name"], "invalid keyspace name"),
                        (["--replication", "dc1:0"], "--replication"),
                        (["--schema", "public"], "PostgreSQL"),
                        (["--bogus"], "--bogus")):
        r = cqlshift(build_dir, "plan", chinook_src, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert words in r.stderr, (args, r.stderr)
        assert r.stdout == ""
    r = cqlshift(build_dir, "plan", "sqlite:/nonexistent/x.db", "-o", "/tmp/never-written.yaml")
    assert r.returncode in (1, 2) and "x.db" in r.stderr
    assert not os.path.exists("/tmp/never-written.yaml")


def test_query_tables(chinook_plan, source_dir, build_dir):
    doc = yaml.safe_load(chinook_plan.read_text())
    _, fks = sqlite_tables(source_dir / CHINOOK)
    proposed = {n: t for n, t in doc["tables"].items() if t.get("enabled") is False}
    if not proposed and not (build_dir / "tests" / "catalog_dump").exists():
        pytest.skip("the SQLite connector of this build does not report foreign keys yet")
    # one disabled query table per foreign key, keyed by it, clustered by the child's key,
    # but none for a foreign key that leads the child's own primary key (PlaylistTrack's
    # PlaylistId: the table itself is partitioned by it)
    con = sqlite3.connect(f"file:{source_dir / CHINOOK}?mode=ro", uri=True)
    leading = {t: [c[1] for c in sorted(con.execute(f'PRAGMA table_info("{t}")'),
                                        key=lambda c: c[5]) if c[5] > 0] for t in fks}
    con.close()
    want = sum(1 for t, v in fks.items() for fk in v if leading[t][:1] != [fk[3]])
    assert want == sum(len(v) for v in fks.values()) - 1
    assert len(proposed) == want
    assert "playlisttrack_by_playlist" not in proposed
    t = proposed["track_by_album"]
    assert t["partition_key"] == ["albumid"] and t["clustering"] == ["trackid"]
    assert set(t["columns"]) == set(doc["tables"]["track"]["columns"])
    t = proposed["invoice_by_customer"]
    assert t["partition_key"] == ["customerid"] and t["clustering"] == ["invoiceid"]
    m = [m for m in doc["mappings"] if m["to"] == "track_by_album"]
    assert len(m) == 1 and m[0]["from"] == "Track" and m[0]["where"] == "AlbumId is not null"
    # an SAI index proposed (commented) for Track's index on AlbumId
    assert "#   - {name: track_albumid_idx, column: albumid, using: sai}" in chinook_plan.read_text()


def test_edited_plan(chinook_plan, schema, chinook_src, tool, tmp_path):
    """Enable two query tables, add a computed column and rename one, as a person would."""
    text = chinook_plan.read_text()
    if "track_by_album:" not in text:
        pytest.skip("no query tables in this build's plan (SQLite foreign keys not reported)")
    text = re.sub(r"(  track_by_album:\n    enabled: )false", r"\1true", text)
    text = re.sub(r"(  invoice_by_customer:\n    enabled: )false", r"\1true", text)
    # a computed column in the query table, and track.name renamed to title
    text = re.sub(r"(  track_by_album:\n(?:    .*\n)*?    columns:[^\n]*\n)",
                  r"\1      name_upper: text\n", text, count=1)
    text = re.sub(r"(    to: track_by_album\n(?:    .*\n)*?    columns:[^\n]*\n)",
                  r"\1      name_upper: 'upper(Name)'\n", text, count=1)
    text = re.sub(r"(  track:[^\n]*\n(?:    .*\n)*?      )name: text\n", r"\1title: text\n", text,
                  count=1)
    text = re.sub(r"(    to: track\n    columns:[^\n]*\n(?:      .*\n)*?      )name: Name\n",
                  r"\1title: Name\n", text, count=1)
    # and the SAI index on track.albumid
    text = text.replace("    # indexes:\n    #   - {name: track_albumid_idx", "    indexes:\n      - {name: track_albumid_idx", 1)
    text = re.sub(r"\n    #   - \{name: track_(genreid|mediatypeid)_idx[^\n]*", "", text)
    p = tmp_path / "edited.yaml"
    p.write_text(text)
    doc = yaml.safe_load(text)
    validate(schema, doc)
    assert "title" in doc["tables"]["track"]["columns"]
    r = check_plan(tool, p, chinook_src)
    assert r.returncode == 0, r.stderr + "\n" + text
    assert "CREATE TABLE IF NOT EXISTS chinook.track_by_album (\n    albumid bigint,\n    trackid bigint," in r.stdout
    assert "name_upper text" in r.stdout and "    title text," in r.stdout
    assert "CREATE TABLE IF NOT EXISTS chinook.invoice_by_customer" in r.stdout
    assert "CREATE TABLE IF NOT EXISTS chinook.track_by_genre" not in r.stdout
    assert ('CREATE CUSTOM INDEX IF NOT EXISTS "track_albumid_idx" ON "chinook"."track" ("albumid") '
            "USING 'StorageAttachedIndex'") in r.stdout


INVALID = [
    # (edit of the Chinook plan: old, new), expected words
    (("version: 1\n", "version: 2\n"), "version 2 is not supported"),
    (("  album:  ", "  Album:  "), "not a valid name"),
    (("      title: text\n", "      title: txt\n"), "did you mean 'text'"),
    (("    partition_key: [albumid]\n", "    partition_key: [album_id]\n"), "did you mean 'albumid'"),
    (("    to: album\n", "    to: albums\n"), "did you mean 'album'"),
    (("- from: Album ", "- from: Albums "), "which the source does not have"),
    (("      albumid: AlbumId\n", ""), "does not set partition key column albumid"),
    (("  name: chinook\n", "  name: chinook\n  name: other\n"), "appears twice"),
    (("keyspace:\n", "keyspace: [\n"), "not valid YAML"),
]


@pytest.mark.parametrize("edit,words", INVALID, ids=[w for _, w in INVALID])
def test_invalid_plans_refused(chinook_plan, chinook_src, tool, tmp_path, edit, words):
    text = chinook_plan.read_text()
    assert edit[0] in text
    p = tmp_path / "bad.yaml"
    p.write_text(text.replace(edit[0], edit[1], 1))
    r = check_plan(tool, p, chinook_src)
    assert r.returncode == 2, r.stdout + r.stderr
    assert re.match(re.escape(str(p)) + r":\d+:\d+: ", r.stderr), r.stderr
    assert words in r.stderr
    line = int(r.stderr.split(":")[1])
    assert 1 <= line <= text.count("\n") + 3
    assert r.stdout == ""


@pytest.mark.parametrize("change", [
    lambda d: d.update(version=2),
    lambda d: d.pop("version"),
    lambda d: d.update(tabels=d.pop("tables")),
    lambda d: d["tables"]["album"].update(partition_key=[]),
    lambda d: d["tables"]["album"]["columns"].update(Title="text"),
    lambda d: d["tables"]["album"].update(clustering=["title sideways"]),
    lambda d: d["tables"]["album"].update(options={"time_to_live": 5}),
    lambda d: d["keyspace"].update(replication={"class": "SimpleStrategy", "dc1": 3}),
    lambda d: d["mappings"][0].pop("from"),
    lambda d: d["mappings"][0].update(ttl=-1),
], ids=["version 2", "no version", "unknown key", "empty partition key", "upper-case column",
        "bad order", "unknown option", "SimpleStrategy with a DC", "no from", "negative ttl"])
def test_schema_refuses(chinook_plan, schema, change):
    doc = yaml.safe_load(chinook_plan.read_text())
    change(doc)
    with pytest.raises(jsonschema.ValidationError):
        validate(schema, doc)


def test_file_source_planned_with_a_key_found_in_its_values(build_dir, tmp_path, schema):
    """A CSV has no key: plan types its columns from the values and keys the
    table by a column whose values, converted, are all present and distinct,
    preferring a name like ...Id, then integers; a column with a repeat, an
    empty value or two forms of one number ("7" and "07" as bigint) is
    passed over. The plan parses, matches the JSON Schema, and says why in
    the table's comment."""
    f = tmp_path / "orders.csv"
    rows = ["code,n,amount,OrderId,note"]
    for i in range(1, 200):
        # code: distinct text; n: integers, but "07" repeats 7; OrderId: one empty value
        rows.append(f"c{i},{'07' if i == 150 else i},{i}.5,{'' if i == 100 else i * 10},x")
    f.write_text("\n".join(rows) + "\n")
    out = tmp_path / "plan.yaml"
    r = cqlshift(build_dir, "plan", f"csv:{f}", "-k", "shop", "-o", out)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    doc = yaml.safe_load(text)
    validate(schema, doc)
    t = doc["tables"]["orders"]
    # OrderId has an empty value and n repeats 7 once converted: code (text) is the key
    assert t["partition_key"] == ["code"], text
    assert t["columns"]["n"] == "bigint" and t["columns"]["orderid"] == "bigint"
    assert "keyed by code, whose values are all present and distinct as text in the 199 rows" in \
        " ".join(l.strip("# ") for l in text.splitlines() if l.strip().startswith("#"))
    assert doc["mappings"] == [{"from": "orders", "to": "orders", "columns": {
        "code": "code", "n": "n", "amount": "amount", "orderid": "OrderId", "note": "note"}}]
    # with OrderId complete, the name wins over the earlier columns
    f.write_text("\n".join(r.replace(",,x", ",5000,x") for r in rows) + "\n")
    r = cqlshift(build_dir, "plan", f"csv:{f}", "-k", "shop", "-o", out)
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(out.read_text())["tables"]["orders"]["partition_key"] == ["orderid"]


def test_file_source_without_a_key_leaves_it_to_choose(build_dir, tmp_path, schema):
    """No column of the file identifies a row (repeated rows): the plan is
    written with partition_key: [] and a comment saying to choose, and is
    refused at that line until the key is named."""
    f = tmp_path / "pairs.jsonl"
    f.write_text('{"a": 1, "b": "x"}\n{"a": 1, "b": "y"}\n{"a": 2, "b": "x"}\n')
    out = tmp_path / "plan.yaml"
    r = cqlshift(build_dir, "plan", f"jsonl:{f}", "-k", "pp", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "choose its partition_key" in r.stderr
    text = out.read_text()
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "partition_key:" in l)
    assert "partition_key: []" in text and "TO CHOOSE" in text
    doc = yaml.safe_load(text)
    with pytest.raises(jsonschema.ValidationError):
        validate(schema, doc)
    r = cqlshift(build_dir, "load", f, "cassandra://127.0.0.1:1/", "--plan", out)
    assert r.returncode == 2 and f"{out}:{line}:" in r.stderr and "partition key" in r.stderr, \
        r.stderr


def test_output_through_a_link_and_into_a_fifo(build_dir, source_dir, tmp_path):
    """-o replaces a regular file whole, but writes through a symbolic link
    (the link stays a link, its file gets the plan) and into a FIFO as it is
    (a reader gets the plan; the FIFO is not replaced by a file)."""
    import stat
    import threading
    src = f"sqlite:{source_dir / CHINOOK}"
    (tmp_path / "shared").mkdir()
    real = tmp_path / "shared" / "real.yaml"
    real.write_text("old\n")
    link = tmp_path / "link.yaml"
    link.symlink_to("shared/real.yaml")
    r = cqlshift(build_dir, "plan", src, "-o", link)
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and yaml.safe_load(real.read_text())["version"] == 1
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    r = cqlshift(build_dir, "plan", src, "-o", fifo)
    reader.join(60)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert yaml.safe_load(got[0])["keyspace"]["name"] == "chinook_sqlite"
