# fixtures: cassandra_main cassandra_secure postgres mariadb
"""The test servers that scripts/ start are what the other tests assume."""

import subprocess
import time

import pytest
from cassandra import AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import NoHostAvailable
from cassandra.concurrent import execute_concurrent_with_args

from conftest import MIN_TOKEN, connect_cluster, tls_context, token_ranges


def test_main_cluster_has_two_nodes_with_16_tokens_each(py_session, main_hosts):
    local = py_session.execute("SELECT broadcast_address, tokens, bootstrapped FROM system.local",
                               host=py_session.cluster.metadata.get_host(main_hosts[0])).one()
    assert local.bootstrapped == "COMPLETED"
    peers = list(py_session.execute(
        "SELECT peer, tokens FROM system.peers_v2",
        host=py_session.cluster.metadata.get_host(main_hosts[0])))
    nodes = {str(local.broadcast_address): local.tokens}
    nodes.update({str(p.peer): p.tokens for p in peers})
    assert sorted(nodes) == sorted(main_hosts)
    assert all(len(t) == 16 for t in nodes.values()), {k: len(v) for k, v in nodes.items()}
    all_tokens = set().union(*nodes.values())
    assert len(all_tokens) == 32
    up = [h.address for h in py_session.cluster.metadata.all_hosts() if h.is_up]
    assert sorted(up) == sorted(main_hosts)
    assert len(py_session.cluster.metadata.token_map.ring) == 32


def test_token_ranges_cover_the_ring():
    r = token_ranges(64)
    assert len(r) == 64
    assert r[0][0] == MIN_TOKEN and r[-1][1] == 2**63 - 1
    assert all(a[1] == b[0] for a, b in zip(r, r[1:]))
    assert all(lo < hi for lo, hi in r)


def test_count_rows_is_exact(py_session, fresh_keyspace, count_rows):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (a int, b text, c int, v text, PRIMARY KEY ((a, b), c))")
    ins = py_session.prepare(f"INSERT INTO {ks}.t (a, b, c, v) VALUES (?, ?, ?, ?)")
    rows = [(i, f"k{i % 7}", j, "x") for i in range(500) for j in range(3)]
    for ok, res in execute_concurrent_with_args(py_session, ins, rows, concurrency=64):
        assert ok, res
    assert count_rows(py_session, ks, "t", ["a", "b"]) == 1500
    assert count_rows(py_session, ks, "t", ["a", "b"], ranges=3) == 1500
    py_session.execute(f"CREATE TABLE {ks}.empty (k int PRIMARY KEY)")
    assert count_rows(py_session, ks, "empty", "k") == 0


def _secure(host, ca, user=None, password=None, ssl=True):
    kw = dict(connect_timeout=5, control_connection_timeout=5, request_timeout=10)
    if user is not None:
        kw["auth_provider"] = PlainTextAuthProvider(user, password)
    if ssl:
        kw["ssl_context"] = tls_context(ca)
    return connect_cluster([host], **kw)


def test_secure_node_right_password_over_tls(secure_host, secure_ca, secure_credentials):
    cluster, session = _secure(secure_host, secure_ca, *secure_credentials)
    try:
        row = session.execute("SELECT bootstrapped, release_version FROM system.local").one()
        assert row.bootstrapped == "COMPLETED"
        assert row.release_version.startswith("5.0")
        me = session.execute("LIST ROLES OF cassandra").one()
        assert me.role == "cassandra" and me.super
    finally:
        cluster.shutdown()


def test_secure_node_wrong_password_fails_fast(secure_host, secure_ca, secure_credentials):
    user, _ = secure_credentials
    t0 = time.monotonic()
    with pytest.raises(NoHostAvailable) as ei:
        _secure(secure_host, secure_ca, user, "not-the-password")
    assert time.monotonic() - t0 < 10
    errors = list(ei.value.errors.values())
    assert any(isinstance(e, AuthenticationFailed) for e in errors), errors
    assert "Bad credentials" in str(errors)


def test_secure_node_refuses_plain_connection(secure_host, secure_ca, secure_credentials):
    t0 = time.monotonic()
    with pytest.raises(NoHostAvailable):
        _secure(secure_host, secure_ca, *secure_credentials, ssl=False)
    assert time.monotonic() - t0 < 15


def test_secure_node_rejects_untrusted_ca(secure_host, untrusted_ca, secure_credentials):
    with pytest.raises(NoHostAvailable) as ei:
        _secure(secure_host, untrusted_ca, *secure_credentials)
    assert "certificate verify failed" in str(ei.value).lower() or "ssl" in str(ei.value).lower()


def _run(argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout.strip()


def test_postgres_answers_with_logical_wal(pg_uri):
    assert _run(["psql", "-XAtc", "SELECT 1", pg_uri]) == "1"
    assert _run(["psql", "-XAtc", "SHOW wal_level", pg_uri]) == "logical"
    assert _run(["psql", "-XAtc", "SELECT current_setting('server_version_num')::int / 10000", pg_uri]) == "15"


def test_mariadb_answers_with_row_binlog(mariadb_port):
    base = ["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", f"-P{mariadb_port}", "-uroot", "-N", "-e"]
    assert _run(base + ["SELECT 1"]) == "1"
    assert _run(base + ["SELECT @@binlog_format"]) == "ROW"
    assert _run(base + ["SELECT @@log_bin"]) == "1"
    assert _run(base + ["SELECT @@server_id"]) == "1"
