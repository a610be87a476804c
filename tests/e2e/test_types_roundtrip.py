# fixtures: cassandra_main
"""Every CQL type round-trips between cqlshift's codecs and a real server.

Direction A: the Python driver writes edge values, cqlshift (tests/tools/cql_exec,
which decodes with cql_value_decode_json) reads them; its JSON must be exactly
the convention of src/cql/types.h.
Direction B: cqlshift writes the same values from that JSON (cql_value_encode_json
through a prepared INSERT), the Python driver reads them back; the values must be
exactly the driver's originals (decimal scale, NaN, -0.0 sign, far dates).

Run over protocol v4/v5, with and without LZ4.
"""

import datetime
import json
import math
import struct
import subprocess
import uuid
from decimal import Decimal

import pytest
from cassandra.util import Date, Duration, Time

UDT = "addr"
U1 = uuid.UUID("123e4567-e89b-12d3-a456-426614174000")
T1 = uuid.UUID("5e9a1b20-9f0a-11ee-8c90-0242ac120002")
EPOCH = datetime.datetime(1970, 1, 1)

# column type -> [(python value for the driver, JSON as cqlshift prints it)]
CASES = {
    "ascii": [("", ""), ("abc ~", "abc ~"), ("\x7f\x00", "\x7f\x00")],
    "text": [("", ""), ("héllo wörld 中文 😀", "héllo wörld 中文 😀"), ("'q\"\\", "'q\"\\"), ("a\x00b", "a\x00b")],
    "bigint": [(-2**63, -2**63), (2**63 - 1, 2**63 - 1), (0, 0)],
    "int": [(-2**31, -2**31), (2**31 - 1, 2**31 - 1)],
    "smallint": [(-2**15, -2**15), (2**15 - 1, 2**15 - 1)],
    "tinyint": [(-128, -128), (127, 127)],
    "varint": [(0, "0"), (-1, "-1"), (128, "128"), (-129, "-129"), (2**200, str(2**200)), (-(2**200), str(-(2**200)))],
    "decimal": [(Decimal("-12.50"), "-12.50"), (Decimal("1E+3"), "1E+3"), (Decimal("0.000001"), "0.000001"),
                (Decimal("0"), "0"), (Decimal("-0.00"), "0.00"),
                (Decimal("123456789012345678901234567890.123456789012345678901234567890"),
                 "123456789012345678901234567890.123456789012345678901234567890")],
    "double": [(0.1, 0.1), (-0.0, -0.0), (float("nan"), "NaN"), (float("inf"), "Infinity"),
               (float("-inf"), "-Infinity"), (1.7976931348623157e308, 1.7976931348623157e308), (5e-324, 5e-324)],
    "float": [(1.5, 1.5), (-0.0, -0.0), (float("nan"), "NaN"), (float("-inf"), "-Infinity"),
              (3.4028234663852886e38, 3.4028234663852886e38), (1.401298464324817e-45, 1.401298464324817e-45),
              (0.1, struct.unpack("f", struct.pack("f", 0.1))[0])],
    "boolean": [(True, True), (False, False)],
    "blob": [(b"", "0x"), (b"\x00\xff\x80", "0x00ff80"), (bytes(range(256)), "0x" + bytes(range(256)).hex())],
    "uuid": [(U1, str(U1))],
    "timeuuid": [(T1, str(T1))],
    "inet": [("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("2001:db8::ff00:42:8329", "2001:db8::ff00:42:8329"),
             ("::ffff:1.2.3.4", "::ffff:1.2.3.4")],
    "date": [(Date(0), "1970-01-01"), (Date(-2**31), -2**31), (Date(2**31 - 1), 2**31 - 1),
             (Date(-719162), "0001-01-01"), (Date(2932896), "9999-12-31"), (Date(2932897), 2932897)],
    "time": [(Time(0), "00:00:00.000000000"), (Time(86399999999999), "23:59:59.999999999"), (Time(1), "00:00:00.000000001")],
    # timestamps go in as integer ms (the driver's datetime path rounds through floats)
    "timestamp": [(0, "1970-01-01T00:00:00.000Z"), (-1, "1969-12-31T23:59:59.999Z"),
                  (253402300799999, "9999-12-31T23:59:59.999Z"), (-62135596800000, "0001-01-01T00:00:00.000Z"),
                  (-2**63, -2**63), (2**63 - 1, 2**63 - 1), (253402300800000, 253402300800000)],
    "duration": [(Duration(1, 2, 3), "1mo2d3ns"), (Duration(-1, -2, -3), "-1mo2d3ns"), (Duration(0, 0, 0), "0mo0d0ns"),
                 (Duration(2**31 - 1, 2**31 - 1, 2**63 - 1), f"{2**31 - 1}mo{2**31 - 1}d{2**63 - 1}ns"),
                 (Duration(-2**31, -2**31, -2**63), f"-{2**31}mo{2**31}d{2**63}ns")],
    "list<int>": [([1, -2, 3], [1, -2, 3])],
    "set<text>": [({"a", "é"}, ["a", "é"])],
    "map<text, int>": [({"a": 1, "b": -1}, {"a": 1, "b": -1})],
    "map<int, text>": [({1: "x", 2: "y"}, [[1, "x"], [2, "y"]])],
    "tuple<int, text, boolean>": [((1, None, False), [1, None, False])],
    "frozen<list<frozen<map<text, frozen<list<int>>>>>>": [([{"k": [1, 2]}, {"z": [3]}], [{"k": [1, 2]}, {"z": [3]}])],
    f"frozen<{UDT}>": [(("Main St", 12345), {"street": "Main St", "zip": 12345}), (("x", None), {"street": "x", "zip": None})],
    "vector<float, 3>": [([1.5, -0.0, 3.0], [1.5, -0.0, 3.0])],
    "vector<text, 2>": [(["", "héllo"], ["", "héllo"])],
    "vector<smallint, 2>": [([1, -1], [1, -1])],
}


def col_name(t):
    return "c_" + "".join(ch if ch.isalnum() else "_" for ch in t).strip("_")


def same_json(a, b):
    """Exact comparison of decoded JSON: float bits matter (-0.0), NaN only as "NaN"."""
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or isinstance(a, bool):
            return False
        return struct.pack(">d", float(a)) == struct.pack(">d", float(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def same_py(t, got, want):
    """Exact comparison of driver values (direction B)."""
    if t == "decimal":
        return got.as_tuple() == want.as_tuple() or (want.is_zero() and got.is_zero() and
                                                      got.as_tuple().exponent == want.as_tuple().exponent)
    if isinstance(want, float):
        if t == "float":
            want = struct.unpack(">f", struct.pack(">f", want))[0]
        return isinstance(got, float) and (math.isnan(got) if math.isnan(want)
                                           else struct.pack(">d", got) == struct.pack(">d", want))
    if isinstance(want, (list, tuple)) and not isinstance(want, str):
        return len(got) == len(want) and all(same_py(t.split("<", 1)[-1], g, w) for g, w in zip(got, want))
    if isinstance(want, Date):
        return got.days_from_epoch == want.days_from_epoch
    if isinstance(want, set):
        return set(got) == want
    if isinstance(want, dict):
        return dict(got) == want
    if t == "inet":
        return got == want
    return got == want


def run_exec(tool, hosts, proto, lz4, ks, stmt, values_file=None):
    cmd = [str(tool("cql_exec")), "--hosts", ",".join(hosts), "--protocol", str(proto), "--keyspace", ks]
    if lz4:
        cmd.append("--lz4")
    cmd.append(stmt)
    if values_file:
        cmd += ["--values-file", str(values_file)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"cql_exec failed: {p.stderr}"
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("proto,lz4", [(5, False), (5, True), (4, False), (4, True)])
def test_types_roundtrip(py_session, fresh_keyspace, tool, main_hosts, tmp_path, proto, lz4):
    ks = fresh_keyspace
    s = py_session
    s.execute(f"CREATE TYPE {ks}.{UDT} (street text, zip int)", timeout=60)
    cols = {t: col_name(t) for t in CASES}
    s.execute(f"CREATE TABLE {ks}.t (id int PRIMARY KEY, " + ", ".join(f"{c} {t}" for t, c in cols.items()) + ")",
              timeout=60)
    s.execute(f"CREATE TABLE {ks}.cnt (id int PRIMARY KEY, c counter)", timeout=60)

    # one row per (type, value); the other columns stay unset
    rows = []
    for t, vals in CASES.items():
        for py, js in vals:
            rows.append((len(rows) + 1, t, py, js))

    # ---- direction A: driver writes, cqlshift reads ----
    for rid, t, py, _ in rows:
        s.execute(s.prepare(f"INSERT INTO {ks}.t (id, {cols[t]}) VALUES (?, ?)"), (rid, py))
    got = {r["id"]: r for r in run_exec(tool, main_hosts, proto, lz4, ks, "SELECT * FROM t")}
    bad = []
    for rid, t, _, js in rows:
        v = got[rid][cols[t]]
        if not same_json(v, js):
            bad.append((t, js, v))
        others = [c for tt, c in cols.items() if tt != t and got[rid][c] is not None]
        assert not others, (rid, others)
    assert not bad, f"cqlshift decoded differently: {bad}"

    # ---- direction B: cqlshift writes (from the JSON form), driver reads ----
    # cql_exec reads its values file without JSON_ALLOW_NUL, so strings with
    # U+0000 only go in direction A (the codec itself handles them: see test_types.c).
    rows = [r for r in rows if not (isinstance(r[3], str) and "\x00" in r[3])]
    all_cols = list(cols.values())
    vf = tmp_path / "values.jsonl"
    with vf.open("w") as f:
        for rid, t, _, js in rows:
            vals = [1000 + rid] + [js if c == cols[t] else None for c in all_cols]
            f.write(json.dumps(vals) + "\n")
    run_exec(tool, main_hosts, proto, lz4, ks,
             f"INSERT INTO t (id, {', '.join(all_cols)}) VALUES ({', '.join('?' * (len(all_cols) + 1))})", vf)
    sel = ", ".join(f"toUnixTimestamp({c}) AS {c}" if t == "timestamp" else c for t, c in cols.items())
    back = {r.id: r for r in s.execute(f"SELECT id, {sel} FROM {ks}.t WHERE id >= 1000 ALLOW FILTERING")}
    bad = []
    for rid, t, py, _ in rows:
        v = getattr(back[1000 + rid], cols[t])
        want = py
        if t.startswith("frozen<" + UDT):
            v = tuple(v)
        if t == "tuple<int, text, boolean>" or t.startswith("frozen<" + UDT):
            ok = tuple(v) == tuple(want)
        else:
            ok = same_py(t, v, want)
        if not ok:
            bad.append((t, want, v))
    assert not bad, f"the driver read back different values: {bad}"

    # ---- counters: UPDATE only ----
    s.execute(f"UPDATE {ks}.cnt SET c = c + 5 WHERE id = 1")
    assert run_exec(tool, main_hosts, proto, lz4, ks, "SELECT * FROM cnt WHERE id = 1") == [{"id": 1, "c": 5}]
    vf2 = tmp_path / "cnt.jsonl"
    vf2.write_text(json.dumps([-(2**62), 2]) + "\n")
    run_exec(tool, main_hosts, proto, lz4, ks, "UPDATE cnt SET c = c + ? WHERE id = ?", vf2)
    assert s.execute(f"SELECT c FROM {ks}.cnt WHERE id = 2").one().c == -(2**62)


def test_encode_errors_are_reported(py_session, fresh_keyspace, tool, main_hosts):
    """A value that does not fit its bind type fails with the sentence of types.h."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.e (id int PRIMARY KEY, v tinyint)", timeout=60)
    cmd = [str(tool("cql_exec")), "--hosts", ",".join(main_hosts), "--keyspace", ks,
           "INSERT INTO e (id, v) VALUES (?, ?)", "--values-json", "[1, 300]"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "expected an integer in -128..127 for tinyint, got '300'" in p.stderr
