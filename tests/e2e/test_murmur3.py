# fixtures: cassandra_main
"""cqlshift's Murmur3 tokens equal the server's `token(...)` for random keys.

For each table the Python driver inserts random partition keys, reads back
`token(pk...)` with the keys, serializes the key components with the driver's
own type serializers, and feeds them to tests/tools/cql_token (which uses
cql_routing_key + cql_murmur3_token). Every token must match.
"""

import datetime
import ipaddress
import random
import subprocess
import uuid
from decimal import Decimal

import pytest
from cassandra import cqltypes
from cassandra.concurrent import execute_concurrent_with_args

PROTO = 5
RNG_SEED = 20261124


def rand_text(rng):
    alphabet = ["a", "Z", "0", " ", "é", "ß", "中", "文", "😀", "ж", "\u0080", "\u07ff", "\uffff", "'"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))


def rand_blob(rng, min_len=1):
    # bytes >= 0x80 in the tail are where Cassandra's Murmur3 differs from the reference
    return bytes(rng.choice([0x00, 0x7F, 0x80, 0xFF, rng.randrange(256)]) for _ in range(rng.randint(min_len, 40)))


def rand_ts(rng):
    ms = rng.randint(-62135596800000, 253402300799999)  # years 1..9999, what the driver can represent
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)


GENERATORS = {
    "int": (cqltypes.Int32Type, lambda r: r.randint(-2**31, 2**31 - 1)),
    "bigint": (cqltypes.LongType, lambda r: r.randint(-2**63, 2**63 - 1)),
    "smallint": (cqltypes.ShortType, lambda r: r.randint(-2**15, 2**15 - 1)),
    "tinyint": (cqltypes.ByteType, lambda r: r.randint(-128, 127)),
    "text": (cqltypes.UTF8Type, rand_text),
    "ascii": (cqltypes.AsciiType, lambda r: "".join(chr(r.randint(32, 126)) for _ in range(r.randint(1, 30)))),
    "blob": (cqltypes.BytesType, rand_blob),
    "uuid": (cqltypes.UUIDType, lambda r: uuid.UUID(int=r.getrandbits(128))),
    "timeuuid": (cqltypes.TimeUUIDType, lambda r: uuid.uuid1(node=r.getrandbits(48), clock_seq=r.getrandbits(14))),
    "timestamp": (cqltypes.DateType, rand_ts),
    "double": (cqltypes.DoubleType, lambda r: r.uniform(-1e300, 1e300)),
    "varint": (cqltypes.IntegerType, lambda r: r.randint(-2**200, 2**200)),
    "decimal": (cqltypes.DecimalType, lambda r: Decimal(r.randint(-10**30, 10**30)).scaleb(-r.randint(0, 20))),
    "inet": (cqltypes.InetAddressType,
             lambda r: str(ipaddress.IPv4Address(r.getrandbits(32))) if r.random() < 0.5
             else str(ipaddress.IPv6Address(r.getrandbits(128)))),
    "boolean": (cqltypes.BooleanType, lambda r: r.random() < 0.5),
}

# (table name, [column types]); one column = single key, more = composite
TABLES = [
    ("k_int", ["int"], 1200),
    ("k_bigint", ["bigint"], 1000),
    ("k_text", ["text"], 1200),
    ("k_ascii", ["ascii"], 400),
    ("k_blob", ["blob"], 1600),
    ("k_uuid", ["uuid"], 500),
    ("k_timeuuid", ["timeuuid"], 300),
    ("k_timestamp", ["timestamp"], 500),
    ("k_double", ["double"], 300),
    ("k_varint", ["varint"], 300),
    ("k_decimal", ["decimal"], 300),
    ("k_inet", ["inet"], 300),
    ("k_smallint", ["smallint"], 200),
    ("k_tinyint", ["tinyint"], 200),
    ("c_int_text", ["int", "text"], 1000),
    ("c_blob_bigint_uuid", ["blob", "bigint", "uuid"], 1000),
    ("c_text_boolean", ["text", "boolean"], 300),
    ("c_timestamp_blob", ["timestamp", "blob"], 300),
]


def serialize(ctype, value):
    return ctype.serialize(value, PROTO)


def run_cql_token(tool, lines):
    proc = subprocess.run([str(tool("cql_token"))], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [int(x) for x in proc.stdout.split()]


def test_tokens_match_server(py_session, fresh_keyspace, tool):
    rng = random.Random(RNG_SEED)
    ks = fresh_keyspace
    total = 0
    for name, types, count in TABLES:
        cols = [f"p{i}" for i in range(len(types))]
        pk = cols[0] if len(cols) == 1 else "(" + ", ".join(cols) + ")"
        coldefs = ", ".join(f"{c} {t}" for c, t in zip(cols, types))
        py_session.execute(f"CREATE TABLE {ks}.{name} ({coldefs}, v int, PRIMARY KEY ({pk}))", timeout=60)
        ins = py_session.prepare(
            f"INSERT INTO {ks}.{name} ({', '.join(cols)}, v) VALUES ({', '.join('?' * (len(cols) + 1))})")
        rows = [tuple(GENERATORS[t][1](rng) for t in types) + (1,) for _ in range(count)]
        execute_concurrent_with_args(py_session, ins, rows, concurrency=64, raise_on_first_error=True)

        # The driver's datetime <-> ms conversion goes through floats and can
        # be off by a millisecond far from 1970; read timestamps as ms instead.
        sel = [f"toUnixTimestamp({c})" if t == "timestamp" else c for c, t in zip(cols, types)]
        got = list(py_session.execute(f"SELECT token({', '.join(cols)}), {', '.join(sel)} FROM {ks}.{name}",
                                      timeout=120))
        distinct = len({r[:-1] for r in rows})  # random keys collide for booleans and tinyints
        assert len(got) == distinct, (name, len(got), distinct)
        lines = []
        for row in got:
            comps = [serialize(cqltypes.LongType if t == "timestamp" else GENERATORS[t][0], row[i + 1]).hex()
                     for i, t in enumerate(types)]
            lines.append(":".join(comps))
        ours = run_cql_token(tool, lines)
        assert len(ours) == len(got)
        mismatches = [(line, row[0], mine) for line, row, mine in zip(lines, got, ours) if row[0] != mine]
        assert not mismatches, f"{name}: {len(mismatches)} tokens differ, e.g. {mismatches[:3]}"
        total += len(got)
    assert total >= 10000, total

