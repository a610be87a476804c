# fixtures: cassandra_main
"""cqlshift's client against faults injected by a TCP proxy in front of a
real Cassandra node (tests/e2e/faultproxy.py): an old server refusing
protocol v5, connections reset mid-stream, a statement the server does not
know (UNPREPARED). What landed is counted with the Python driver."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import reject_rows, run_folders, settled_rows, state_file
from faultproxy import FaultProxy


def run(tool, name, *args, check=True):
    p = subprocess.run([str(tool(name)), *map(str, args)], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ))
    if check and p.returncode != 0:
        pytest.fail(f"{name} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture
def proxy_factory(main_hosts):
    made = []

    def make(**kw):
        px = FaultProxy(target=(main_hosts[0], 9042), **kw)
        made.append(px)
        return px
    yield make
    for px in made:
        px.close()


def test_falls_back_to_v4_when_v5_is_refused(tool, proxy_factory):
    px = proxy_factory(mode="refuse_v5")
    p = run(tool, "cql_exec", "--hosts", f"127.0.0.1:{px.port}", "--no-discovery",
            "SELECT release_version FROM system.local")
    assert "# protocol=4" in p.stderr
    assert json.loads(p.stdout) == {"release_version": "5.0.6"}
    assert px.refused == 1


def test_forced_v5_against_v4_server_is_a_clear_error(tool, proxy_factory):
    px = proxy_factory(mode="refuse_v5")
    p = run(tool, "cql_exec", "--hosts", f"127.0.0.1:{px.port}", "--no-discovery",
            "--protocol", 5, "SELECT 1", check=False)
    assert p.returncode == 1 and "unsupported protocol version" in p.stderr


def test_connection_resets_are_retried_and_nothing_is_lost(tool, proxy_factory, py_session,
                                                           fresh_keyspace, count_rows):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (k bigint PRIMARY KEY, v text, n int)")
    px = proxy_factory(mode="reset", resets=3, after_bytes=30_000)
    p = run(tool, "cql_bulk", "--hosts", f"127.0.0.1:{px.port}", "--no-discovery",
            "--keyspace", ks, "--table", "t", "--rows", 20_000)
    out = json.loads(p.stdout)
    assert px.resets_done == 3
    assert out["ok"] == 20_000 and out["failed"] == 0, out
    assert out["session_retries"] > 0, out
    assert count_rows(py_session, ks, "t", ["k"]) == 20_000


def test_unprepared_statement_is_prepared_again(tool, proxy_factory, py_session,
                                                fresh_keyspace, count_rows):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (k bigint PRIMARY KEY, v text, n int)")
    px = proxy_factory(mode="stale_prepared")
    p = run(tool, "cql_bulk", "--hosts", f"127.0.0.1:{px.port}", "--no-discovery",
            "--protocol", 4, "--keyspace", ks, "--table", "t", "--rows", 50)
    out = json.loads(p.stdout)
    assert px.corrupted == 1
    assert out["reprepares"] == 1 and out["ok"] == 50, out
    assert count_rows(py_session, ks, "t", ["k"]) == 50


def test_unanswered_requests_time_out_and_are_retried(tool, proxy_factory, py_session,
                                                      fresh_keyspace, count_rows):
    """The first connection stops receiving answers: requests time out on the
    client, their stream ids are orphaned, the connection is declared defunct
    and replaced, and every row still lands exactly once."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (k bigint PRIMARY KEY, v text, n int)")
    px = proxy_factory(mode="blackhole", resets=1, after_bytes=20_000)
    p = run(tool, "cql_bulk", "--hosts", f"127.0.0.1:{px.port}", "--no-discovery",
            "--keyspace", ks, "--table", "t", "--rows", 20_000, "--timeout-ms", 1000)
    out = json.loads(p.stdout)
    assert out["ok"] == 20_000 and out["failed"] == 0, out
    assert out["timeouts"] > 0 and out["session_retries"] >= out["timeouts"], out
    assert count_rows(py_session, ks, "t", ["k"]) == 20_000


def test_load_through_resets_retries_and_rejects_nothing(build_dir, tmp_path, proxy_factory,
                                                         py_session, fresh_keyspace):
    """cqlshift load behind a proxy that resets the connection three times:
    transient failures are retried, never rejected as bad data, and every
    row lands with its content."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (k bigint PRIMARY KEY, v text, n int)")
    rows = 30_000
    data = tmp_path / "t.csv"
    data.write_text("k,v,n\n" + "".join(f"{i},value {i},{i % 7}\n" for i in range(rows)))
    # answer bytes: rows go in batches of about 8, so 30,000 rows get ~3,800 answers
    px = proxy_factory(mode="reset", resets=3, after_bytes=10_000)
    report = tmp_path / "report.json"
    p = subprocess.run([str(build_dir / "cqlshift"), "load", str(data),
                        f"cassandra://127.0.0.1:{px.port}/{ks}?discovery=off", "t",
                        "--report", str(report), "--out-dir", str(tmp_path / "runs"),
                        "--quiet"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert px.resets_done == 3
    t = json.loads(report.read_text())["tables"][0]
    assert t["read"] == t["written"] == rows and t["rejected"] == 0, t
    assert reject_rows(tmp_path / "runs") == []
    got = {r.k: (r.v, r.n) for r in py_session.execute(f"SELECT k, v, n FROM {ks}.t")}
    assert got == {i: (f"value {i}", i % 7) for i in range(rows)}


def test_outage_stops_the_load_and_resume_finishes_it_exactly(build_dir, tmp_path,
                                                              proxy_factory, py_session,
                                                              fresh_keyspace):
    """The node becomes unreachable mid-load: writes fail after their
    retries, the run stops with exit 1 and asks for --resume, nothing is
    rejected. After the outage, --resume writes exactly the rows that were
    missing: every row lands, counts reconcile, the reject file stays empty."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (k bigint PRIMARY KEY, v text)")
    rows = 40_000
    data = tmp_path / "t.csv"
    data.write_text("k,v\n" + "".join(f"{i},value {i}\n" for i in range(rows)))
    px = proxy_factory(mode="pass")
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "load", str(data),
            f"cassandra://127.0.0.1:{px.port}/{ks}?discovery=off", "t", "--out-dir", str(out),
            "--rate-limit", "4000", "--quiet"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while settled_rows(state_file(out)) < 8_000 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None
    px.go_down()
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    assert "--resume" in err and "Nothing was rejected" in err, err
    before = settled_rows(state_file(out))
    assert 8_000 <= before < rows
    px.come_back()
    report = tmp_path / "report.json"
    p = subprocess.run(args[:-3] + ["--resume", "--report", str(report), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    t = json.loads(report.read_text())["tables"][0]
    assert t["read"] == t["written"] == rows and t["rejected"] == 0, t
    assert reject_rows(out) == [] and len(run_folders(out)) == 1
    got = {r.k: r.v for r in py_session.execute(f"SELECT k, v FROM {ks}.t")}
    assert got == {i: f"value {i}" for i in range(rows)}



def test_second_ctrl_c_exits_at_once_and_resume_is_exact(build_dir, tmp_path, proxy_factory,
                                                         py_session, fresh_keyspace):
    """The node stops answering (requests hang until the 12 s timeout): a
    first Ctrl-C waits for the writes in flight, a second exits at once with
    code 5; the state is consistent, and --resume (through a healthy
    connection) loads exactly the source."""
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.t (k bigint PRIMARY KEY, v text)")
    rows = 40_000
    data = tmp_path / "t.csv"
    data.write_text("k,v\n" + "".join(f"{i},value {i}\n" for i in range(rows)))
    px = proxy_factory(mode="blackhole", resets=1, after_bytes=30_000)
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "load", str(data),
            f"cassandra://127.0.0.1:{px.port}/{ks}?discovery=off", "t", "--out-dir", str(out),
            "--quiet"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # the answers stop after 30,000 bytes: writes hang
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    first = proc.stderr.readline() + proc.stderr.readline()
    assert "interrupted: finishing the work in flight" in first, first
    time.sleep(0.5)
    assert proc.poll() is None  # still waiting for the hung writes
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 5 and time.monotonic() - t0 < 2, (proc.returncode, err)
    assert "stopped at once" in err and "--resume" in err, err
    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report)], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    t = json.loads(report.read_text())["tables"][0]
    assert t["read"] == t["written"] == rows and t["rejected"] == 0, t
    got = {r.k: r.v for r in py_session.execute(f"SELECT k, v FROM {ks}.t")}
    assert got == {i: f"value {i}" for i in range(rows)}
