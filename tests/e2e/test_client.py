# fixtures: cassandra_main cassandra_secure
"""cqlshift's own CQL client against real Cassandra nodes.

What is written with cqlshift (tests/tools/cql_exec, cql_bulk) is read back
with the DataStax Python driver, and the reverse, so that our client is never
only checked by itself.
"""

import json
import os
import subprocess

import pytest

HANG_GUARD = 120  # seconds: a hung client fails the test instead of the suite


def run_tool(tool, name, *args, env=None, check=True, timeout=HANG_GUARD):
    full_env = dict(os.environ)
    full_env.pop("CQLSHIFT_PASSWORD", None)
    if env:
        full_env.update(env)
    p = subprocess.run([str(tool(name)), *map(str, args)], capture_output=True, text=True,
                       env=full_env, timeout=timeout)
    if check and p.returncode != 0:
        pytest.fail(f"{name} {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def rows_of(p):
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def test_negotiates_v5_and_discovers_both_nodes(tool, main_hosts):
    p = run_tool(tool, "cql_exec", "--hosts", main_hosts[0],
                 "SELECT release_version FROM system.local")
    assert "# protocol=5 nodes=2 up=2" in p.stderr
    assert rows_of(p) == [{"release_version": "5.0.6"}]


# A value larger than one v5 frame (128 KiB) makes the envelope span frames.
BIG = "x" * 200_000 + "é€😀"


@pytest.mark.parametrize("protocol,lz4", [(4, False), (4, True), (5, False), (5, True)])
def test_write_read_both_ways(tool, py_session, fresh_keyspace, main_hosts, tmp_path,
                              protocol, lz4):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (k bigint PRIMARY KEY, v text)")
    flags = ["--hosts", ",".join(main_hosts), "--protocol", protocol, "--keyspace", ks]
    if lz4:
        flags.append("--lz4")
    # cqlshift writes 300 rows (one of them big), the Python driver reads them.
    values = tmp_path / "values.jsonl"
    expected = {k: f"row {k} ünïcode" for k in range(300)}
    expected[7] = BIG
    values.write_text("".join(json.dumps([k, v]) + "\n" for k, v in expected.items()))
    p = run_tool(tool, "cql_exec", *flags, "INSERT INTO t (k, v) VALUES (?, ?)",
                 "--values-file", values)
    assert f"# protocol={protocol}" in p.stderr
    got = {r.k: r.v for r in py_session.execute(f"SELECT k, v FROM {ks}.t")}
    assert got == expected
    # The Python driver writes, cqlshift reads every page (page size 37).
    py_session.execute(f"INSERT INTO {ks}.t (k, v) VALUES (%s, %s)", (1000, BIG + "!"))
    p = run_tool(tool, "cql_exec", *flags, "--page-size", 37, "SELECT k, v FROM t")
    read = {r["k"]: r["v"] for r in rows_of(p)}
    expected[1000] = BIG + "!"
    assert read == expected


def test_prepared_select_with_bound_key(tool, py_session, fresh_keyspace, main_hosts):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.p (a int, b text, c bigint, PRIMARY KEY ((a, b)))")
    py_session.execute(f"INSERT INTO {ks}.p (a, b, c) VALUES (1, 'one', 11)")
    p = run_tool(tool, "cql_exec", "--hosts", ",".join(main_hosts), "--keyspace", ks,
                 "SELECT c FROM p WHERE a = ? AND b = ?", "--values-json", '[1, "one"]')
    assert rows_of(p) == [{"c": 11}]


def test_100k_prepared_inserts_one_connection_bounded_memory(tool, py_session, fresh_keyspace,
                                                            main_hosts, count_rows):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.bulk (k bigint PRIMARY KEY, v text, n int)")
    # A small ASan quarantine, so resident memory reflects live memory only.
    env = {"ASAN_OPTIONS": "quarantine_size_mb=4:detect_leaks=1"}
    common = ["--hosts", main_hosts[0], "--no-discovery", "--connections", 1,
              "--keyspace", ks, "--table", "bulk"]
    small = json.loads(run_tool(tool, "cql_bulk", *common, "--rows", 20_000, env=env).stdout)
    big = json.loads(run_tool(tool, "cql_bulk", *common, "--rows", 100_000, env=env).stdout)
    assert big["ok"] == 100_000 and big["failed"] == 0, big
    assert list(big["per_node"].keys()) == [f"{main_hosts[0]}:9042"], big
    assert count_rows(py_session, ks, "bulk", ["k"]) == 100_000
    row = py_session.execute(f"SELECT v, n FROM {ks}.bulk WHERE k = 99999").one()
    assert row.n == 99999 % 1000 and row.v.startswith("value-99999")
    # Bounded memory: five times the rows must not need materially more memory.
    growth_mb = (big["maxrss_kb"] - small["maxrss_kb"]) / 1024
    print(f"maxrss 20k rows: {small['maxrss_kb']} KiB, 100k rows: {big['maxrss_kb']} KiB")
    assert growth_mb < 24, (small, big)


def test_token_aware_routing_matches_driver_replicas(tool, py_session, fresh_keyspace,
                                                      main_hosts):
    """Every single-row write goes to the node the Python driver names as the
    key's replica (RF 1, so exactly one node is right)."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.r (k bigint PRIMARY KEY, v text, n int)")
    rows = 5000
    out = json.loads(run_tool(tool, "cql_bulk", "--hosts", main_hosts[0], "--keyspace", ks,
                              "--table", "r", "--rows", rows).stdout)
    assert out["ok"] == rows
    meta = py_session.cluster.metadata
    py_session.cluster.refresh_schema_metadata()
    expected = {}
    for k in range(rows):
        key = k.to_bytes(8, "big", signed=True)
        replicas = meta.get_replicas(ks, key)
        assert len(replicas) == 1
        addr = f"{replicas[0].address}:9042"
        expected[addr] = expected.get(addr, 0) + 1
    assert len(expected) == 2, expected  # both nodes own some of the keys
    # The per-node counts also include the prepare and a few system queries.
    for addr, n in expected.items():
        sent = out["per_node"][addr]
        assert n <= sent <= n + 10, (addr, n, sent, out["per_node"])


@pytest.mark.parametrize("batch_type", ["unlogged", "logged"])
def test_batches(tool, py_session, fresh_keyspace, main_hosts, count_rows, batch_type):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.b (k bigint PRIMARY KEY, v text, n int)")
    out = json.loads(run_tool(tool, "cql_bulk", "--hosts", ",".join(main_hosts), "--keyspace",
                              ks, "--table", "b", "--rows", 10_007, "--batch", 20,
                              "--batch-type", batch_type).stdout)
    assert out["ok"] == 10_007
    assert count_rows(py_session, ks, "b", ["k"]) == 10_007
    row = py_session.execute(f"SELECT v, n FROM {ks}.b WHERE k = 10006").one()
    assert row.n == 6 and row.v.startswith("value-10006")


@pytest.mark.parametrize("protocol", [4, 5])
def test_unset_leaves_a_column_untouched_and_null_clears_it(tool, py_session, fresh_keyspace,
                                                           main_hosts, protocol):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.u (k int PRIMARY KEY, a int, b text)")
    py_session.execute(f"INSERT INTO {ks}.u (k, a, b) VALUES (1, 10, 'ten')")
    run_tool(tool, "cql_exec", "--hosts", main_hosts[0], "--keyspace", ks, "--protocol", protocol,
             "INSERT INTO u (k, a, b) VALUES (?, ?, ?)",
             "--values-json", '[1, {"$unset": true}, null]')
    row = py_session.execute(f"SELECT a, b FROM {ks}.u WHERE k = 1").one()
    assert row.a == 10 and row.b is None


def test_server_errors_are_readable(tool, main_hosts):
    p = run_tool(tool, "cql_exec", "--hosts", main_hosts[0], "SELEC x FROM y", check=False)
    assert p.returncode == 1
    assert "Syntax_error" in p.stderr and "SELEC" in p.stderr
    p = run_tool(tool, "cql_exec", "--hosts", main_hosts[0], "--keyspace", "no_such_ks",
                 "SELECT * FROM t", check=False)
    assert p.returncode == 1 and "no_such_ks" in p.stderr and "does not exist" in p.stderr


def test_unreachable_host_fails_fast_with_reason(tool):
    p = run_tool(tool, "cql_exec", "--hosts", "127.0.0.9", "SELECT 1", check=False, timeout=30)
    assert p.returncode == 1
    assert "127.0.0.9:9042" in p.stderr and "refused" in p.stderr


# ---- the secure node: password authentication and client TLS -----------------

def secure_args(secure_host, ca):
    return ["--hosts", secure_host, "--tls", "--ca", ca]


def test_auth_and_tls_right_password(tool, secure_host, secure_ca, secure_credentials):
    user, pw = secure_credentials
    for protocol in (4, 5):
        p = run_tool(tool, "cql_exec", *secure_args(secure_host, secure_ca), "--user", user,
                     "--protocol", protocol, "SELECT release_version FROM system.local",
                     env={"CQLSHIFT_PASSWORD": pw})
        assert rows_of(p) == [{"release_version": "5.0.6"}]
    # The password never shows in what the client prints.
    assert pw not in p.stderr and pw not in p.stdout


def test_wrong_password_is_a_clear_error(tool, secure_host, secure_ca, secure_credentials):
    user, _ = secure_credentials
    p = run_tool(tool, "cql_exec", *secure_args(secure_host, secure_ca), "--user", user,
                 "SELECT 1", env={"CQLSHIFT_PASSWORD": "definitely-wrong"}, check=False,
                 timeout=30)
    assert p.returncode == 1
    assert "authentication failed" in p.stderr
    assert "definitely-wrong" not in p.stderr


def test_missing_credentials_are_a_clear_error(tool, secure_host, secure_ca):
    p = run_tool(tool, "cql_exec", *secure_args(secure_host, secure_ca), "SELECT 1",
                 check=False, timeout=30)
    assert p.returncode == 1 and "requires authentication" in p.stderr


def test_untrusted_certificate_is_refused(tool, secure_host, untrusted_ca, secure_credentials):
    user, pw = secure_credentials
    p = run_tool(tool, "cql_exec", *secure_args(secure_host, untrusted_ca), "--user", user,
                 "SELECT 1", env={"CQLSHIFT_PASSWORD": pw}, check=False, timeout=30)
    assert p.returncode == 1
    assert "certificate was not accepted" in p.stderr


def test_plain_connection_to_tls_port_fails(tool, secure_host, secure_credentials):
    user, pw = secure_credentials
    p = run_tool(tool, "cql_exec", "--hosts", secure_host, "--user", user, "SELECT 1",
                 env={"CQLSHIFT_PASSWORD": pw}, check=False, timeout=30)
    assert p.returncode == 1 and secure_host in p.stderr


@pytest.mark.parametrize("replication", [
    "{'class': 'SimpleStrategy', 'replication_factor': 1}",
    "{'class': 'SimpleStrategy', 'replication_factor': 2}",
    "{'class': 'NetworkTopologyStrategy', 'datacenter1': 1}",
    "{'class': 'NetworkTopologyStrategy', 'datacenter1': 2}",
])
def test_replica_sets_match_driver(tool, py_session, main_hosts, replication):
    """cqlshift's replica lists (used for routing and failover) equal the
    Python driver's token map, in order, for 2,000 random keys."""
    import random
    import uuid as uuidlib
    ks = "e2e_repl_" + uuidlib.uuid4().hex[:12]
    py_session.execute(f"CREATE KEYSPACE {ks} WITH replication = {replication}")
    try:
        py_session.cluster.refresh_schema_metadata()
        meta = py_session.cluster.metadata
        rnd = random.Random(7)
        keys = [rnd.randbytes(rnd.randint(1, 24)) for _ in range(2000)]
        p = subprocess.run([str(tool("cql_replicas")), "--hosts", main_hosts[0], "--keyspace", ks],
                           input="".join(k.hex() + "\n" for k in keys), capture_output=True,
                           text=True, timeout=HANG_GUARD)
        assert p.returncode == 0, p.stderr
        ours = p.stdout.splitlines()
        assert len(ours) == len(keys)
        for key, line in zip(keys, ours):
            theirs = ",".join(f"{h.address}:9042" for h in meta.get_replicas(ks, key))
            assert line == theirs, (key.hex(), line, theirs)
    finally:
        py_session.execute(f"DROP KEYSPACE {ks}")
