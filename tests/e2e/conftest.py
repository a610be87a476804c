"""Shared fixtures for the end-to-end tests (tests/e2e/test_*.py).

Each test file runs as one CTest test (see e2e.cmake), which starts the
servers named on the file's `# fixtures:` line before it and passes:

    CQLSHIFT_BUILD_DIR   the CMake build directory (binaries, tests/<tool>)
    CQLSHIFT_SOURCE_DIR  the repository
    CQLSHIFT_RUN_DIR     where scripts/*.sh keep server state (default /tmp/cqlshift-run)

Fixtures: build_dir, source_dir, run_dir, main_hosts, secure_host, secure_ca,
untrusted_ca, secure_credentials, pg_uri, mariadb_port, py_session,
fresh_keyspace, tool, count_rows.
"""

import json
import os
import re
import signal
import sqlite3
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1


def _read_env_file(path):
    """KEY=VALUE lines of a scripts/*.sh env file ({} if it is missing)."""
    out = {}
    try:
        for line in Path(path).read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    except FileNotFoundError:
        pass
    return out


@pytest.fixture(scope="session")
def source_dir():
    return Path(os.environ.get("CQLSHIFT_SOURCE_DIR") or Path(__file__).resolve().parents[2])


@pytest.fixture(scope="session")
def build_dir():
    d = os.environ.get("CQLSHIFT_BUILD_DIR")
    if not d:
        pytest.fail("CQLSHIFT_BUILD_DIR is not set: run the e2e tests through ctest "
                    "(scripts/test.sh), or export it to a configured build directory")
    p = Path(d)
    if not p.is_dir():
        pytest.fail(f"CQLSHIFT_BUILD_DIR={d} is not a directory")
    return p


@pytest.fixture(scope="session")
def run_dir():
    return Path(os.environ.get("CQLSHIFT_RUN_DIR") or "/tmp/cqlshift-run")


@pytest.fixture(scope="session")
def main_hosts(run_dir):
    env = _read_env_file(run_dir / "cassandra-main" / "env")
    hosts = env.get("CQLSHIFT_CASSANDRA_HOSTS")
    return hosts.split(",") if hosts else ["127.0.0.1", "127.0.0.2"]


@pytest.fixture(scope="session")
def secure_host(run_dir):
    env = _read_env_file(run_dir / "cassandra-secure" / "env")
    return env.get("CQLSHIFT_CASSANDRA_HOSTS", "127.0.0.3").split(",")[0]


def _existing(path, what):
    if not path.is_file():
        pytest.fail(f"{what} not found at {path}: is the secure cluster running "
                    "(scripts/cassandra.sh start --name secure --auth --tls)?")
    return path


@pytest.fixture(scope="session")
def secure_ca(run_dir):
    """CA (PEM) that signed the secure node's certificate."""
    return _existing(run_dir / "cassandra-secure" / "ca.pem", "secure CA")


@pytest.fixture(scope="session")
def untrusted_ca(run_dir):
    """A CA (PEM) that signed nothing the servers use: for negative TLS tests."""
    return _existing(run_dir / "cassandra-secure" / "untrusted-ca.pem", "untrusted CA")


@pytest.fixture(scope="session")
def secure_credentials(run_dir):
    """(user, password) of the secure node's superuser, read from its file."""
    pw = _existing(run_dir / "cassandra-secure" / "superuser-password", "superuser password file")
    return ("cassandra", pw.read_text().strip())


@pytest.fixture(scope="session")
def pg_uri(run_dir):
    env = _read_env_file(run_dir / "postgres" / "env")
    return env.get("CQLSHIFT_PG_URI", "postgresql://postgres@127.0.0.1:55432/postgres")


@pytest.fixture(scope="session")
def mariadb_port(run_dir):
    env = _read_env_file(run_dir / "mariadb" / "env")
    return int(env.get("CQLSHIFT_MARIADB_PORT", "53306"))


def connect_cluster(hosts, **kw):
    """A driver Cluster and Session on `hosts`, with every host's pool ready.

    Session setup returns once the FIRST pool is up; requests pinned to another
    host (execute(host=...)) fail with "Host has been marked down or removed"
    until its pool exists, so wait for all of them here.
    """
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc="datacenter1")),
        request_timeout=kw.pop("request_timeout", 30))
    cluster = Cluster(contact_points=list(hosts), port=9042, protocol_version=5,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, **kw)
    session = cluster.connect()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        up = [h for h in cluster.metadata.all_hosts() if h.is_up]
        if up and all(h in session.get_pool_state() for h in up):
            break
        time.sleep(0.2)
    return cluster, session


@pytest.fixture(scope="module")
def py_session(main_hosts):
    """DataStax Python driver Session on the main cluster (module scope)."""
    cluster, session = connect_cluster(main_hosts)
    yield session
    cluster.shutdown()


@pytest.fixture
def fresh_keyspace(py_session, request):
    """A new keyspace (SimpleStrategy, RF 1) just for this test; dropped after."""
    base = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:24]
    name = f"e2e_{base}_{uuid.uuid4().hex[:8]}"
    py_session.execute(
        f"CREATE KEYSPACE {name} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
    yield name
    py_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)


@pytest.fixture(scope="session")
def tool(build_dir):
    """tool(name) -> absolute Path of tests/tools/<name>.c built in build_dir."""
    def find(name):
        p = (build_dir / "tests" / name).resolve()
        if not (p.is_file() and os.access(p, os.X_OK)):
            pytest.fail(f"test tool {name!r} not built at {p} "
                        f"(cmake --build {build_dir} --target {name})")
        return p
    return find


def token_ranges(n=64):
    """n contiguous (lo, hi] ranges covering the whole Murmur3 ring.

    The first starts at the minimum token, exclusive; no key has that token
    (Murmur3Partitioner maps it to the maximum), and a range that starts
    there covers the ring's start. Never ask for token = MIN_TOKEN alone:
    Cassandra reads the minimum token as "the whole ring".
    """
    span = MAX_TOKEN - MIN_TOKEN
    bounds = [MIN_TOKEN + span * i // n for i in range(n)] + [MAX_TOKEN]
    return list(zip(bounds[:-1], bounds[1:]))


def count_rows_exact(session, keyspace, table, partition_key_cols, ranges=64,
                     concurrency=8, timeout=120):
    """Exact row count of keyspace.table, counted per token range.

    `SELECT count(*)` over the whole table can time out on big tables; this
    asks for `count(*)` of each of `ranges` token ranges instead.
    """
    if isinstance(partition_key_cols, str):
        partition_key_cols = [partition_key_cols]
    tok = "token(" + ", ".join(f'"{c}"' for c in partition_key_cols) + ")"
    stmt = session.prepare(
        f'SELECT count(*) FROM "{keyspace}"."{table}" WHERE {tok} > ? AND {tok} <= ?')
    stmt.timeout = timeout
    results = execute_concurrent_with_args(session, stmt, token_ranges(ranges),
                                           concurrency=concurrency, raise_on_first_error=True)
    return sum(r.result_or_exc.one()[0] for r in results)


@pytest.fixture(scope="session")
def count_rows():
    """count_rows(session, keyspace, table, partition_key_cols) -> int (exact)."""
    return count_rows_exact


def tls_context(cafile):
    """An ssl.SSLContext that trusts `cafile` and checks the server's IP SAN."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    return ctx


def settled_rows(state_path):
    """Rows written according to a cqlshift state file (0 if it cannot be
    read yet), read without disturbing the running writer."""
    try:
        con = sqlite3.connect(f"file:{state_path}?mode=ro", uri=True, timeout=1)
        n = con.execute("SELECT COALESCE(SUM(rows_written), 0) FROM ranges").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def run_folders(out_dir):
    """The run folders cqlshift made under out_dir (--out-dir), oldest
    first (their names end in a sortable UTC time)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []

    def started(p):
        m = re.search(r"-(\d{8}T\d{6}Z)(?:-(\d+))?$", p.name)
        # runs started in the same second: the folder changed last (its
        # files were created later)
        return (m.group(1) if m else "", p.stat().st_mtime_ns, int(m.group(2) or 1) if m else 0)
    return sorted((p for p in out_dir.iterdir() if p.is_dir()), key=started)


def run_folder(out_dir):
    """The newest run folder under out_dir (None if there is none yet)."""
    runs = run_folders(out_dir)
    return runs[-1] if runs else None


def state_file(out_dir):
    """The state file of the newest run under out_dir (a path that does not
    exist yet while the run has not made its folder)."""
    f = run_folder(out_dir)
    return (f / "state.db") if f else Path(out_dir) / "no-run-yet" / "state.db"


def reject_rows(out_dir, table=None):
    """Every reject object of the newest run under out_dir (one table's, or
    all tables')."""
    f = run_folder(out_dir)
    rows = []
    if f:
        for p in sorted(f.glob("rejects-*.jsonl")):
            if table is None or p.name == f"rejects-{table}.jsonl":
                rows += [json.loads(line) for line in p.read_text().splitlines() if line]
    return rows


def sqlite_tables(path, sizes):
    """A SQLite file with a table `name (id INTEGER PRIMARY KEY, v TEXT)` of
    n rows (v = 'v<id>') for each name, n in sizes."""
    con = sqlite3.connect(path)
    for name, n in sizes.items():
        con.execute(f'CREATE TABLE "{name}" (id INTEGER PRIMARY KEY, v TEXT)')
        con.executemany(f'INSERT INTO "{name}" VALUES (?, ?)', ((i, f"v{i}") for i in range(n)))
    con.commit()
    con.close()


def kill_when_settled(args, out_dir, rows, stderr=subprocess.DEVNULL, env=None,
                      sig=signal.SIGKILL):
    """Run args; send it sig (kill -9) once the state file of its run under
    out_dir (--out-dir) has `rows` rows settled, and wait for its end.
    Fails if it ends first. Returns the rows settled then."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    deadline = time.monotonic() + 300
    while settled_rows(state_file(out_dir)) < rows and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before {rows} rows were settled"
    os.kill(proc.pid, sig)
    proc.wait(timeout=300)
    return settled_rows(state_file(out_dir))


def sqlite_migrate(binary, tmp_path, host, keyspace, sizes, *options):
    """(args, --out-dir) of `binary migrate` from a new SQLite file of
    sqlite_tables(sizes) into keyspace on host, its runs in tmp_path/runs,
    with options."""
    db = tmp_path / "src.db"
    sqlite_tables(db, sizes)
    out = tmp_path / "runs"
    return [str(binary), "migrate", f"sqlite:{db}", f"cassandra://{host}/{keyspace}", *options,
            "--out-dir", str(out)], out
