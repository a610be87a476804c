# fixtures: cassandra_secure
"""migrate and load into the node with password auth and client TLS: the
password comes from the environment or a file (never the command line),
the server certificate is verified with the given CA, and an untrusted CA
or a wrong password stops the run with a clear message before any row."""

import json
import os
import subprocess

import secrets

import pytest

from conftest import connect_cluster, tls_context
from cassandra.auth import PlainTextAuthProvider

CHINOOK = "datasets/chinook/Chinook_Sqlite.sqlite"


def run(build_dir, args, cwd, password=None):
    env = dict(os.environ)
    env.pop("CQLSHIFT_CASSANDRA_PASSWORD", None)
    if password is not None:
        env["CQLSHIFT_CASSANDRA_PASSWORD"] = password
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def secure_session(secure_host, secure_ca, secure_credentials):
    user, pw = secure_credentials
    cluster, session = connect_cluster(
        [secure_host], auth_provider=PlainTextAuthProvider(user, pw),
        ssl_context=tls_context(str(secure_ca)))
    yield session
    cluster.shutdown()


@pytest.fixture(scope="module")
def loader_role(secure_session):
    """A login role with a random password (the superuser's may be the
    well-known default, which would make "the password is not printed"
    checks meaningless)."""
    name, pw = "e2e_loader", "pw-" + secrets.token_hex(12)
    secure_session.execute(f"DROP ROLE IF EXISTS {name}")
    secure_session.execute(f"CREATE ROLE {name} WITH PASSWORD = '{pw}' AND LOGIN = true "
                           "AND SUPERUSER = true")
    yield name, pw
    secure_session.execute(f"DROP ROLE IF EXISTS {name}")


def test_migrate_over_tls_with_password_from_env(build_dir, source_dir, tmp_path, secure_host,
                                                 secure_ca, loader_role, secure_session):
    user, pw = loader_role
    ks = "e2e_secure_migrate"
    secure_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
    target = f"cassandra://{user}@{secure_host}/{ks}?tls=verify&ca={secure_ca}"
    p = run(build_dir, ["migrate", f"sqlite:{source_dir / CHINOOK}", target, "--tables",
                        "Genre,Artist", "--report", tmp_path / "r.json"], tmp_path, password=pw)
    assert p.returncode == 0, p.stderr
    assert pw not in p.stderr and pw not in p.stdout
    rep = json.loads((tmp_path / "r.json").read_text())
    assert {t["table"]: t["written"] for t in rep["tables"]} == {"genre": 25, "artist": 275}
    assert pw not in (tmp_path / "r.json").read_text()
    got = {r.genreid: r.name for r in secure_session.execute(f"SELECT * FROM {ks}.genre")}
    assert len(got) == 25 and got[1] == "Rock"
    secure_session.execute(f"DROP KEYSPACE {ks}", timeout=60)


def test_load_over_tls_with_password_file(build_dir, tmp_path, secure_host, secure_ca,
                                          loader_role, secure_session):
    user, pw = loader_role
    ks = "e2e_secure_load"
    secure_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
    secure_session.execute(f"CREATE KEYSPACE {ks} WITH replication = "
                           "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
    secure_session.execute(f"CREATE TABLE {ks}.t (id int PRIMARY KEY, name text)")
    pwfile = tmp_path / "pw"
    pwfile.write_text(pw + "\n")
    pwfile.chmod(0o600)
    data = tmp_path / "t.csv"
    data.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(500)))
    target = f"cassandra://{user}@{secure_host}/{ks}?ca={secure_ca}"
    p = run(build_dir, ["load", data, target, "t", "--password-file", pwfile, "--quiet"], tmp_path)
    assert p.returncode == 0, p.stderr
    rows = {r.id: r.name for r in secure_session.execute(f"SELECT * FROM {ks}.t")}
    assert rows == {i: f"n{i}" for i in range(500)}
    secure_session.execute(f"DROP KEYSPACE {ks}", timeout=60)


def test_wrong_password_and_untrusted_ca_stop_before_any_row(build_dir, tmp_path, secure_host,
                                                             secure_ca, untrusted_ca,
                                                             loader_role):
    user, pw = loader_role
    data = tmp_path / "t.csv"
    data.write_text("id,name\n1,a\n")
    cases = [
        (f"cassandra://{user}@{secure_host}/system?ca={secure_ca}", "not-the-password",
         "authentication"),
        (f"cassandra://{user}@{secure_host}/system?ca={untrusted_ca}", pw,
         "certificate was not accepted"),
        # without a user, the server's demand for credentials is explained
        (f"cassandra://{secure_host}/system?ca={secure_ca}", pw, "requires authentication"),
    ]
    for target, password, words in cases:
        p = run(build_dir, ["load", data, target, "t", "--quiet"], tmp_path, password=password)
        assert p.returncode == 1, (target, p.returncode, p.stderr)
        assert words in p.stderr.lower(), (target, p.stderr)
        assert pw not in p.stderr
    # a user without any password source is refused before connecting
    p = run(build_dir, ["load", data, f"cassandra://{user}@{secure_host}/system?ca={secure_ca}",
                        "t", "--quiet"], tmp_path)
    assert p.returncode == 2 and "no password for user" in p.stderr, p.stderr
