# fixtures: cassandra_main
"""load's file input options, end to end (issue 18, item 3): compressed
files (gzip, zstd, by name and by their first bytes, on stdin too), input
encodings, several null markers, skipped, limited and comment rows, JSON
documents, late JSONL keys. Each with a file that needs it and files that
break it: the exit code, one sentence naming the file and the position, the
good rows present in Cassandra (Python driver) and the counts reconciled."""

import gzip
import json
import os
import re
import subprocess
import uuid

import pytest

from conftest import reject_rows

HANG_GUARD = 120


def cqlshift(build_dir, *args, cwd=None, input=None):
    e = dict(os.environ)
    e.pop("CQLSHIFT_CASSANDRA_PASSWORD", None)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          cwd=cwd, env=e, timeout=HANG_GUARD, input=input)


@pytest.fixture
def ks(py_session, request):
    """A keyspace infmt_<test>_<random> with t (id int key, name text, n int)."""
    base = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:20]
    name = f"infmt_{base}_{uuid.uuid4().hex[:6]}"
    py_session.execute(f"CREATE KEYSPACE {name} WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
    py_session.execute(f"CREATE TABLE {name}.t (id int PRIMARY KEY, name text, n int)",
                       timeout=60)
    yield name
    py_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)


def names(py_session, ks):
    return {r.id: r.name for r in py_session.execute(f"SELECT id, name FROM {ks}.t")}


def load(build_dir, tmp_path, main_hosts, ks, path, *extra, input=None):
    report = tmp_path / "report.json"
    if report.exists():
        report.unlink()
    out = tmp_path / "runs"
    p = cqlshift(build_dir, "load", path, f"cassandra://{main_hosts[0]}/{ks}", "t",
                 "--report", report, "--out-dir", out, "--quiet", "--restart", *extra,
                 cwd=tmp_path, input=input)
    rep = json.loads(report.read_text()) if report.exists() else None
    return p, rep, reject_rows(out)


def verify(build_dir, tmp_path, main_hosts, ks, path, *extra):
    return cqlshift(build_dir, "verify", path, f"cassandra://{main_hosts[0]}/{ks}", "t",
                    "--out-dir", tmp_path / "vruns", *extra, cwd=tmp_path)


def counts(rep):
    t = rep["tables"][0]
    return t["read"], t["written"], t["rejected"]


def csv_rows(ids):
    return "id,name,n\n" + "".join(f"{i},name {i},{i * 2}\n" for i in ids)


def zstd_bytes(tmp_path, data):
    src = tmp_path / f"z{uuid.uuid4().hex[:6]}"
    src.write_bytes(data)
    subprocess.run(["zstd", "-q", "-f", str(src), "-o", str(src) + ".zst"], check=True)
    return (tmp_path / (src.name + ".zst")).read_bytes()


# ---- 1. compressed input ----------------------------------------------------

def test_gzip_zstd_by_name_by_magic_and_on_stdin(build_dir, tmp_path, main_hosts, py_session, ks):
    """data.csv.gz, data.jsonl.zst, a gzip file named .csv and gzip on stdin
    all load every row; the format follows the name without .gz."""
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(csv_rows(range(0, 100)).encode()))
    jl = "".join(json.dumps({"id": i, "name": f"name {i}", "n": i * 2}) + "\n"
                 for i in range(100, 200))
    (tmp_path / "b.jsonl.zst").write_bytes(zstd_bytes(tmp_path, jl.encode()))
    # two gzip members, and a name that does not say gzip
    (tmp_path / "c.csv").write_bytes(gzip.compress(csv_rows(range(200, 250)).encode()) +
                                     gzip.compress(b"".join(f"{i},name {i},{i * 2}\n".encode()
                                                            for i in range(250, 300))))
    for f, n in (("a.csv.gz", 100), ("b.jsonl.zst", 100), ("c.csv", 100)):
        p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, tmp_path / f)
        assert p.returncode == 0, (f, p.stderr.decode())
        assert counts(rep) == (n, n, 0) and rej == []
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, "-",
                       input=gzip.compress(csv_rows(range(300, 400)).encode()))
    assert p.returncode == 0, p.stderr.decode()
    assert counts(rep) == (100, 100, 0)
    got = names(py_session, ks)
    assert got == {i: f"name {i}" for i in range(400)}


def test_gzip_resume_is_exact(build_dir, tmp_path, main_hosts, py_session, ks):
    """A gzip load stopped by --max-errors resumes from its decompressed
    offset: every good row once, the bad ones rejected once."""
    body = "id,name,n\n" + "".join(
        f"{i},name {i},{'x' if i in (5000, 5001) else i}\n" for i in range(20000))
    f = tmp_path / "big.csv.gz"
    f.write_bytes(gzip.compress(body.encode()))
    out = tmp_path / "runs"
    args = ["load", f, f"cassandra://{main_hosts[0]}/{ks}", "t", "--out-dir", out, "--quiet",
            "--batch-rows", "100"]
    p = cqlshift(build_dir, *args, "--max-errors", "1", cwd=tmp_path)
    assert p.returncode != 0
    p = cqlshift(build_dir, *args, "--resume", cwd=tmp_path)
    assert p.returncode == 4, p.stderr.decode()
    got = names(py_session, ks)
    assert len(got) == 19998 and 5000 not in got and 4999 in got and 19999 in got


def test_broken_compressed_files(build_dir, tmp_path, main_hosts, py_session, ks):
    """A gzip file cut short, corrupt gzip (a wrong checksum), a truncated
    zstd file and a .gz name over plain bytes: exit 1, one sentence naming
    the file and both byte offsets; exactly the complete rows before the
    fault are loaded, and counted (read = written)."""
    data = csv_rows(range(20000)).encode()
    z = gzip.compress(data)
    cases = {
        "cut.csv.gz": z[:len(z) * 2 // 3],
        "crc.csv.gz": z[:-8] + bytes(b ^ 0xFF for b in z[-8:-4]) + z[-4:],
        "cut.csv.zst": zstd_bytes(tmp_path, data)[:-40],
        "notgzip.csv.gz": data,
    }
    for name, blob in cases.items():
        py_session.execute(f"TRUNCATE {ks}.t")
        (tmp_path / name).write_bytes(blob)
        p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, tmp_path / name)
        err = p.stderr.decode()
        assert p.returncode == 1, (name, err)
        assert len(err.strip().splitlines()) == 1, err
        assert f"{name}: " in err and "compressed byte " in err, err
        got = names(py_session, ks)
        if name == "notgzip.csv.gz":
            assert "not gzip data" in err and got == {}
            continue
        assert ("corrupt gzip data" if name == "crc.csv.gz" else "data ends early") in err, err
        # damaged data (not cut short) says the rows before it may be damaged too
        assert ("may hold damaged values" in err) == (name == "crc.csv.gz"), err
        m = re.search(r"decompressed byte (\d+)", err)
        lines = data[:int(m.group(1))].decode().split("\n")[1:-1]  # complete lines
        want = {int(line.split(",")[0]) for line in lines}
        assert len(want) > (19000 if name == "crc.csv.gz" else 1000), (name, len(want))
        assert set(got) == want, name
        assert counts(rep) == (len(want), len(want), 0), name


# ---- 2. encodings -----------------------------------------------------------

def test_encodings(build_dir, tmp_path, main_hosts, py_session, ks):
    """UTF-16 with a byte order mark (no option), latin1 and windows-1252
    with --encoding: the text lands as the characters the file meant."""
    want = {1: "café", 2: "naïve", 3: "€ “quoted” – dash", 4: "日本語 😀"}
    (tmp_path / "u16.csv").write_bytes(
        "id,name,n\n4,日本語 😀,1\n1,café,2\r\n".encode("utf-16"))
    (tmp_path / "l1.csv").write_bytes("id,name,n\n1,café,1\n2,naïve,2\n".encode("latin1"))
    (tmp_path / "w.csv").write_bytes("id,name,n\n3,€ “quoted” – dash,3\n".encode("cp1252"))
    for f, extra in (("u16.csv", []), ("l1.csv", ["--encoding", "latin1"]),
                     ("w.csv", ["--encoding", "windows-1252"])):
        p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, tmp_path / f, *extra)
        assert p.returncode == 0, (f, p.stderr.decode())
        assert rej == []
    assert names(py_session, ks) == want
    # verify reads a gzip latin1 file as load does: what it holds is there
    (tmp_path / "l1.csv.gz").write_bytes(gzip.compress((tmp_path / "l1.csv").read_bytes()))
    py_session.execute(f"DELETE FROM {ks}.t WHERE id IN (3, 4)")
    p = verify(build_dir, tmp_path, main_hosts, ks, tmp_path / "l1.csv.gz", "--encoding",
               "latin1")
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert "2 equal, 0 missing, 0 extra, 0 different" in p.stdout.decode()
    # gzip of UTF-16 on stdin
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, "-",
                       input=gzip.compress("id,name,n\n5,ünï,5\n".encode("utf-16")))
    assert p.returncode == 0, p.stderr.decode()
    assert names(py_session, ks)[5] == "ünï"


def test_wrong_encoding(build_dir, tmp_path, main_hosts, py_session, ks):
    """Bytes that are not of the declared encoding: exit 1, the file, line
    and byte named, --encoding suggested; the lines before it are loaded.
    An unknown encoding is a usage error. Undeclared non-UTF-8 bytes (no
    --encoding) reject their row with the reason, as before."""
    f = tmp_path / "mixed.csv"
    f.write_bytes(b"id,name,n\n1,plain,1\n2,also plain,2\n3,caf\xe9,3\n4,after,4\n")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--encoding", "ascii")
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert "mixed.csv: line 4, byte 40 of the file" in err and "--encoding" in err, err
    assert names(py_session, ks) == {1: "plain", 2: "also plain"}
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--encoding", "klingon-8")
    assert p.returncode == 2 and "unknown encoding 'klingon-8'" in p.stderr.decode()
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f)
    assert p.returncode == 4
    assert counts(rep) == (4, 3, 1)
    assert [r["position"] for r in rej] == [4] and "UTF-8" in rej[0]["reason"]


# ---- 3. several null markers ------------------------------------------------

def test_several_null_markers(build_dir, tmp_path, main_hosts, py_session, ks):
    """--null '' --null N/A: an empty field and N/A are null, a quoted "N/A"
    is text; with --null N/A alone an empty field is the empty string (and
    an int column rejects it)."""
    f = tmp_path / "nulls.csv"
    f.write_text('id,name,n\n1,,1\n2,N/A,N/A\n3,x,\n4,"N/A",4\n')
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--null", "", "--null", "N/A")
    assert p.returncode == 0, p.stderr.decode()
    assert counts(rep) == (4, 4, 0)
    got = {r.id: (r.name, r.n) for r in py_session.execute(f"SELECT * FROM {ks}.t")}
    assert got == {1: (None, 1), 2: (None, None), 3: ("x", None), 4: ("N/A", 4)}
    py_session.execute(f"TRUNCATE {ks}.t")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--null", "N/A")
    assert p.returncode == 4, p.stderr.decode()
    assert counts(rep) == (4, 3, 1) and [r["position"] for r in rej] == [4]
    got = {r.id: (r.name, r.n) for r in py_session.execute(f"SELECT * FROM {ks}.t")}
    assert got == {1: ("", 1), 2: (None, None), 4: ("N/A", 4)}


# ---- 4. skip rows, max rows, comments ---------------------------------------

def test_skip_max_and_comment_rows(build_dir, tmp_path, main_hosts, py_session, ks):
    """--comment '#' leaves out comment lines (before the header too),
    --skip-rows the first data rows and --max-rows stops each file; the
    summary counts comment lines and skipped rows as filtered."""
    f = tmp_path / "sk.csv"
    f.write_text("# exported by hand\nid,name,n\n1,a,1\n# a note, \"quoted\n2,b,2\n3,c,3\n\n"
                 "4,d,4\n5,e,5\n6,f,6\n")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f, "--comment", "#",
                       "--skip-rows", "2", "--max-rows", "3")
    assert p.returncode == 0, p.stderr.decode()
    assert names(py_session, ks) == {3: "c", 4: "d", 5: "e"}
    assert counts(rep) == (6, 3, 0) and rep["tables"][0]["filtered"] == 3
    # verify reads the file with the same options: all equal, 3 filtered
    p = verify(build_dir, tmp_path, main_hosts, ks, f, "--comment", "#", "--skip-rows", "2",
               "--max-rows", "3")
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert "3 equal, 0 missing, 0 extra, 0 different, 0 rejected, 3 filtered" in p.stdout.decode()
    # JSONL: the same options; without --comment a comment line is rejected
    g = tmp_path / "sk.jsonl"
    g.write_text("".join(("// note\n" if i % 3 == 0 else "") +
                         json.dumps({"id": 100 + i, "name": f"j{i}"}) + "\n" for i in range(10)))
    py_session.execute(f"TRUNCATE {ks}.t")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, g, "--comment", "/",
                       "--skip-rows", "1", "--max-rows", "5")
    assert p.returncode == 0, p.stderr.decode()
    assert set(names(py_session, ks)) == {101, 102, 103, 104, 105}
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, g)
    assert p.returncode == 4 and counts(rep) == (14, 10, 4)


def test_skip_and_max_rows_resume_exactly(build_dir, tmp_path, main_hosts, py_session, ks):
    """A gzip load with --skip-rows and --max-rows stopped by --max-errors
    resumes where it stopped (the resume point keeps the rows counted); a
    --resume with another --max-rows is another job and is refused."""
    bad = {3000, 3001}
    body = "id,name,n\n" + "".join(
        f"{i},name {i},{'x' if i in bad else i}\n" for i in range(20000))
    f = tmp_path / "big.csv.gz"
    f.write_bytes(gzip.compress(body.encode()))
    out = tmp_path / "runs"
    args = ["load", f, f"cassandra://{main_hosts[0]}/{ks}", "t", "--out-dir", out, "--quiet",
            "--batch-rows", "100", "--skip-rows", "100", "--max-rows", "15000"]
    p = cqlshift(build_dir, *args, "--max-errors", "1", cwd=tmp_path)
    assert p.returncode != 0
    assert len(names(py_session, ks)) < 15000
    other = [a if a != "15000" else "14000" for a in args]
    p = cqlshift(build_dir, *other, "--resume", cwd=tmp_path)
    assert p.returncode == 2, p.stderr.decode()
    report = tmp_path / "r.json"
    p = cqlshift(build_dir, *args, "--resume", "--report", report, cwd=tmp_path)
    assert p.returncode == 4, p.stderr.decode()
    got = names(py_session, ks)
    assert set(got) == set(range(100, 15100)) - bad


# ---- 5. JSON documents ------------------------------------------------------

def test_json_array_and_object_sequence(build_dir, tmp_path, main_hosts, py_session, ks):
    """A pretty-printed array, a compact array on one line, and objects one
    after another (pretty, or several on a line) load every record; the
    records' positions are the lines they start on."""
    recs = [{"id": i, "name": f"r{i}, with ] and }} and \"q\"", "n": i} for i in range(300)]
    (tmp_path / "pretty.json").write_text(json.dumps(recs[:100], indent=2))
    (tmp_path / "compact.json.gz").write_bytes(gzip.compress(json.dumps(recs[100:200]).encode()))
    seq = "".join(json.dumps(r, indent=1 if r["id"] % 2 else None) + (" " if r["id"] % 3 else "\n")
                  for r in recs[200:300])
    (tmp_path / "seq.json").write_text(seq)
    for f in ("pretty.json", "compact.json.gz", "seq.json"):
        p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, tmp_path / f)
        assert p.returncode == 0, (f, p.stderr.decode())
        assert counts(rep) == (100, 100, 0) and rej == [], f
    assert names(py_session, ks) == {r["id"]: r["name"] for r in recs}
    # a bad record inside the array is rejected with its line; the others load
    bad = json.dumps(recs[:3], indent=2).replace('"id": 1,', '"id": 1,,')
    (tmp_path / "bad.json").write_text(bad)
    py_session.execute(f"TRUNCATE {ks}.t")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, tmp_path / "bad.json")
    assert p.returncode == 4 and counts(rep) == (3, 2, 1)
    assert [r["position"] for r in rej] == [7] and "invalid JSON" in rej[0]["reason"]
    assert set(names(py_session, ks)) == {0, 2}


def test_unclosed_json_array(build_dir, tmp_path, main_hosts, py_session, ks):
    """An array cut inside a record, and one whose ']' is missing: the
    complete records load, one rejected row names the file and the line,
    exit code 4."""
    text = json.dumps([{"id": i, "name": f"r{i}"} for i in range(50)], indent=2)
    cut = text[:text.index('"id": 40,')] + '"id": 40, "na'
    (tmp_path / "cut.json").write_text(cut)
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, tmp_path / "cut.json")
    assert p.returncode == 4, p.stderr.decode()
    assert counts(rep) == (41, 40, 1)
    line = cut.count("\n", 0, cut.rindex("{")) + 1
    assert rej[0]["position"] == line
    assert rej[0]["reason"] == (f"{tmp_path / 'cut.json'}: line {line}: the object is not "
                                "closed: it goes on to the end of the data, and the array with it")
    assert set(names(py_session, ks)) == set(range(40))
    (tmp_path / "noend.json").write_text(text[:-1])
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, tmp_path / "noend.json")
    assert p.returncode == 4 and counts(rep) == (51, 50, 1)
    assert "noend.json: line 202: the array is not closed" in rej[0]["reason"]
    assert set(names(py_session, ks)) == set(range(50))


def test_json_array_resume_is_exact(build_dir, tmp_path, main_hosts, py_session, ks):
    """A pretty-printed array stopped by --max-errors resumes after its last
    saved record (resume points inside an array, not at line starts)."""
    recs = [{"id": i, "name": f"r{i}", "n": "x" if i in (700, 701) else i} for i in range(3000)]
    f = tmp_path / "big.json"
    f.write_text(json.dumps(recs, indent=2))
    args = ["load", f, f"cassandra://{main_hosts[0]}/{ks}", "t", "--out-dir", tmp_path / "runs",
            "--quiet", "--batch-rows", "100"]
    p = cqlshift(build_dir, *args, "--max-errors", "1", cwd=tmp_path)
    assert p.returncode != 0
    p = cqlshift(build_dir, *args, "--resume", cwd=tmp_path)
    assert p.returncode == 4, p.stderr.decode()
    assert set(names(py_session, ks)) == set(range(3000)) - {700, 701}


# ---- 6. JSONL keys first seen after line 1,000 --------------------------------

def test_jsonl_key_first_seen_late(build_dir, tmp_path, main_hosts, py_session, ks):
    """A key first seen at line 1,500 that is a column of the table loads
    into it; a key that is not a column is still rejected per row, with the
    reason; verify reads the file the same way."""
    lines = []
    for i in range(2000):
        o = {"id": i, "name": f"r{i}"}
        if i >= 1499:
            o["n"] = i * 10
        if i == 1700:
            o["nope"] = 1
        lines.append(json.dumps(o))
    f = tmp_path / "late.jsonl"
    f.write_text("\n".join(lines) + "\n")
    p, rep, rej = load(build_dir, tmp_path, main_hosts, ks, f)
    assert p.returncode == 4, p.stderr.decode()
    assert counts(rep) == (2000, 1999, 1)
    assert rej[0]["position"] == 1701
    assert 'key "nope" is not a column of the table' in rej[0]["reason"]
    got = {r.id: r.n for r in py_session.execute(f"SELECT id, n FROM {ks}.t")}
    assert len(got) == 1999 and 1700 not in got
    assert all(got[i] == (i * 10 if i >= 1499 else None) for i in got)
    p = verify(build_dir, tmp_path, main_hosts, ks, f)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert "1999 equal, 0 missing, 0 extra, 0 different, 1 rejected" in p.stdout.decode()


# ---- dates, timestamps and numbers in the user's forms, both ways ---------------

def test_timestamp_date_number_formats_both_ways(build_dir, tmp_path, main_hosts, py_session):
    """load --timestamp-format/--date-format/--time-zone/--decimal-separator/
    --thousands-separator read a European file exactly (Python driver), a
    text that breaks a format is rejected naming it and the rest loads;
    unload with the same options writes the same texts back, and a load of
    that output gives the same rows; --epoch-unit s both ways keeps the
    milliseconds."""
    import datetime
    import decimal
    name = f"infmt_tsfmt_{uuid.uuid4().hex[:6]}"
    py_session.execute(f"CREATE KEYSPACE {name} WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
    try:
        py_session.execute(f"CREATE TABLE {name}.t (id int PRIMARY KEY, at timestamp, "
                           "day date, amount decimal, ratio double, big bigint)", timeout=60)
        src = tmp_path / "eu.csv"
        src.write_text(
            "id;at;day;amount;ratio;big\n"
            "1;05/03/2024 16:07:09,123;29.02.2024;1.234.567,89;0,5;12.345.678\n"
            "2;31/12/1969 23:59:59,999;01.01.1900;-0,01;-1,25e3;-7\n"
            "3;2024-03-05 16:07:09;05.03.2024;1,0;2;3\n"          # breaks the timestamp format
            "4;05/03/2024 16:07:09,5;31.02.2024;1,0;2;3\n"        # no such day
            "5;05/03/2024 16:07:09,5;05.03.2024;12.34,5;2;3\n"    # separator out of place
            "6;05/03/2024 16:07:09,1234;05.03.2024;1;2;3\n")      # below the millisecond
        opts = ["--delimiter", ";", "--timestamp-format", "dd/MM/yyyy HH:mm:ss,SSS",
                "--date-format", "%d.%m.%Y", "--time-zone", "+02:00",
                "--decimal-separator", ",", "--thousands-separator", "."]
        out = tmp_path / "runs"
        p = cqlshift(build_dir, "load", src, f"cassandra://{main_hosts[0]}/{name}", "t",
                     *opts, "--out-dir", out, "--quiet", cwd=tmp_path)
        assert p.returncode == 4, p.stderr
        rows = {r.id: r for r in py_session.execute(f"SELECT * FROM {name}.t")}
        assert set(rows) == {1, 2}
        utc = datetime.timezone.utc
        r1 = rows[1]
        assert r1.at.replace(tzinfo=utc) == datetime.datetime(2024, 3, 5, 14, 7, 9, 123000, utc)
        assert str(r1.day) == "2024-02-29"
        assert r1.amount == decimal.Decimal("1234567.89") and r1.ratio == 0.5
        assert r1.big == 12345678
        r2 = rows[2]
        assert r2.at.replace(tzinfo=utc) == datetime.datetime(1969, 12, 31, 21, 59, 59, 999000, utc)
        assert str(r2.day) == "1900-01-01" and r2.amount == decimal.Decimal("-0.01")
        assert r2.ratio == -1250.0
        text = json.dumps(reject_rows(out))
        assert len(reject_rows(out)) == 4, text
        assert "does not match --timestamp-format" in text, text
        assert "has no day 31" in text, text
        assert "between groups of three digits" in text, text
        assert "below the millisecond" in text, text
        # unload with the same forms writes the same texts, which load again
        back = tmp_path / "back.csv"
        p = cqlshift(build_dir, "unload", f"cassandra://{main_hosts[0]}/{name}", "t", "-o", back,
                     "--columns", "id,at,day,amount,ratio,big", *opts, "--out-dir",
                     tmp_path / "u", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        lines = sorted(back.read_text().splitlines()[1:])
        assert lines[0] == "1;05/03/2024 16:07:09,123;29.02.2024;1.234.567,89;0,5;12.345.678", lines
        assert lines[1] == "2;31/12/1969 23:59:59,999;01.01.1900;-0,01;-1.250,0;-7", lines
        py_session.execute(f"CREATE TABLE {name}.t2 (id int PRIMARY KEY, at timestamp, "
                           "day date, amount decimal, ratio double, big bigint)", timeout=60)
        p = cqlshift(build_dir, "load", back, f"cassandra://{main_hosts[0]}/{name}", "t2",
                     *opts, "--out-dir", tmp_path / "r2", "--quiet", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        again = {r.id: r for r in py_session.execute(f"SELECT * FROM {name}.t2")}
        assert again == rows
        # verify reads the file with the same options: no difference
        p = cqlshift(build_dir, "verify", back, f"cassandra://{main_hosts[0]}/{name}", "t2",
                     *opts, "--out-dir", tmp_path / "v2", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        # epoch seconds: the milliseconds travel as decimals, both ways
        ep = tmp_path / "ep.csv"
        p = cqlshift(build_dir, "unload", f"cassandra://{main_hosts[0]}/{name}", "t", "-o", ep,
                     "--columns", "id,at", "--epoch-unit", "s", "--out-dir", tmp_path / "u2",
                     cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert sorted(ep.read_text().splitlines()[1:]) == ["1,1709647629.123", "2,-7200.001"]
        py_session.execute(f"TRUNCATE {name}.t2", timeout=60)
        p = cqlshift(build_dir, "load", ep, f"cassandra://{main_hosts[0]}/{name}", "t2",
                     "--epoch-unit", "s", "--out-dir", tmp_path / "r3", "--quiet", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        ats = {r.id: r.at for r in py_session.execute(f"SELECT id, at FROM {name}.t2")}
        assert ats == {1: rows[1].at, 2: rows[2].at}
        # a format that is wrong is a usage error, before anything runs
        p = cqlshift(build_dir, "load", src, f"cassandra://{main_hosts[0]}/{name}", "t",
                     "--timestamp-format", "dd/MM/yyyy qq", cwd=tmp_path)
        assert p.returncode == 2 and "'q'" in p.stderr.decode(), p.stderr
        p = cqlshift(build_dir, "load", src, f"cassandra://{main_hosts[0]}/{name}", "t",
                     "--time-zone", "Mars/Olympus", cwd=tmp_path)
        assert p.returncode == 2 and "not known here" in p.stderr.decode(), p.stderr
    finally:
        py_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)


def test_named_time_zone_both_ways(build_dir, tmp_path, main_hosts, py_session):
    """--time-zone Europe/Paris: each text without a zone gets the offset of
    its own wall-clock time (summer, winter, a time the clocks skip, one
    they repeat), checked against Python's zoneinfo; a text with its own
    offset keeps it; the same through --timestamp-format and through
    to_timestamp(..., 'America/New_York') in --map; unload --time-zone writes
    each instant with its offset, and that file loads back equal."""
    import datetime
    import zoneinfo
    name = f"infmt_tz_{uuid.uuid4().hex[:6]}"
    py_session.execute(f"CREATE KEYSPACE {name} WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
    try:
        py_session.execute(f"CREATE TABLE {name}.t (id int PRIMARY KEY, at timestamp)", timeout=60)
        texts = {1: "2024-07-01T12:00:00", 2: "2024-01-15 08:30:00.250", 3: "2024-03-31T02:30:00",
                 4: "2024-10-27T02:30:00", 5: "2024-07-01T12:00:00+05:00", 6: "2061-07-01T12:00",
                 7: "1950-06-01T00:00:00", 8: "2024-07-01"}
        src = tmp_path / "tz.csv"
        src.write_text("id,at\n" + "".join(f"{k},{v}\n" for k, v in texts.items()))
        p = cqlshift(build_dir, "load", src, f"cassandra://{main_hosts[0]}/{name}", "t",
                     "--time-zone", "Europe/Paris", "--out-dir", tmp_path / "r", "--quiet",
                     cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        paris, utc = zoneinfo.ZoneInfo("Europe/Paris"), datetime.timezone.utc

        def want(text, zone):
            d = datetime.datetime.fromisoformat(text)
            if d.tzinfo is None:
                d = d.replace(tzinfo=zone)     # fold=0: the first of two, the offset before a gap
            return d.astimezone(utc).replace(tzinfo=None)

        rows = {r.id: r.at for r in py_session.execute(f"SELECT id, at FROM {name}.t")}
        assert rows == {k: want(v, paris) for k, v in texts.items()}, rows
        assert rows[3] == datetime.datetime(2024, 3, 31, 1, 30)     # 03:30 summer time
        assert rows[4] == datetime.datetime(2024, 10, 27, 0, 30)    # the first 02:30
        # through a format, and through to_timestamp with another zone
        f2 = tmp_path / "f.csv"
        f2.write_text("id,at\n1,01/07/2024 12:00\n2,15/01/2024 08:30\n")
        py_session.execute(f"CREATE TABLE {name}.t2 (id int PRIMARY KEY, at timestamp, "
                           f"ny timestamp)", timeout=60)
        p = cqlshift(build_dir, "load", f2, f"cassandra://{main_hosts[0]}/{name}", "t2",
                     "--timestamp-format", "dd/MM/yyyy HH:mm", "--time-zone", "Europe/Paris",
                     "--map", "id, at, ny=to_timestamp(at, 'dd/MM/yyyy HH:mm', 'America/New_York')",
                     "--out-dir", tmp_path / "r2", "--quiet", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        ny = zoneinfo.ZoneInfo("America/New_York")
        got = {r.id: (r.at, r.ny) for r in py_session.execute(f"SELECT * FROM {name}.t2")}
        assert got == {1: (want("2024-07-01T12:00", paris), want("2024-07-01T12:00", ny)),
                       2: (want("2024-01-15T08:30", paris), want("2024-01-15T08:30", ny))}, got
        # unload writes each instant at its offset; it loads back equal
        back = tmp_path / "back.csv"
        p = cqlshift(build_dir, "unload", f"cassandra://{main_hosts[0]}/{name}", "t", "-o", back,
                     "--time-zone", "Europe/Paris", "--out-dir", tmp_path / "u", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        lines = dict(line.split(",", 1) for line in back.read_text().splitlines()[1:])
        assert lines["1"] == "2024-07-01T12:00:00.000+02:00", lines
        assert lines["2"] == "2024-01-15T08:30:00.250+01:00", lines
        assert lines["3"] == "2024-03-31T03:30:00.000+02:00", lines
        py_session.execute(f"TRUNCATE {name}.t", timeout=60)
        p = cqlshift(build_dir, "load", back, f"cassandra://{main_hosts[0]}/{name}", "t",
                     "--out-dir", tmp_path / "r3", "--quiet", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert {r.id: r.at for r in py_session.execute(f"SELECT id, at FROM {name}.t")} == rows
    finally:
        py_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
