# fixtures: cassandra_main postgres
"""Review findings on the PostgreSQL source, each shown with the real binary
against real servers (one PostgreSQL database per test, dropped after)."""

import os
import re
import subprocess
import uuid

import psycopg
import pytest

from conftest import reject_rows, run_folder


def cqlshift(build_dir, *args, cwd=None, env=None, timeout=600):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=e, timeout=timeout)


def _replace_db(uri, db):
    scheme, rest = uri.split("://", 1)
    hostpart, _, tail = rest.partition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{scheme}://{hostpart}/{db}{query}"


@pytest.fixture
def pg_db(pg_uri, request):
    name = "rv_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:30] + "_" + \
        uuid.uuid4().hex[:6]
    with psycopg.connect(pg_uri, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    uri = _replace_db(pg_uri, name)
    con = psycopg.connect(uri, autocommit=True)
    yield uri, con
    con.close()
    with psycopg.connect(pg_uri, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def target(main_hosts, ks):
    return f"cassandra://{main_hosts[0]}/{ks}"


def files_text(folder):
    out = ""
    for root, _, names in os.walk(folder):
        for n in names:
            try:
                out += open(os.path.join(root, n), "rb").read().decode("utf-8", "replace")
            except OSError:
                pass
    return out


@pytest.mark.parametrize("query", ["sslpassword=x&password=S3cretPW",
                                   "pass%77ord=S3cretPW",
                                   "application_name=a&password=S3cretPW&password=S3cretPW"])
def test_password_in_any_query_parameter_is_refused(build_dir, pg_db, fresh_keyspace, tmp_path,
                                                    main_hosts, query):
    """libpq takes password= from any query parameter, percent-decoded: the
    URI check that refuses passwords (and the redaction of messages, reports
    and run files) must see every one of them."""
    uri, con = pg_db
    con.execute("CREATE TABLE t (id int PRIMARY KEY)")
    con.execute("INSERT INTO t VALUES (1)")
    src = uri + ("&" if "?" in uri else "?") + query
    out = tmp_path / "runs"
    p = cqlshift(build_dir, "migrate", src, target(main_hosts, fresh_keyspace), "--out-dir", out,
                 "--report", tmp_path / "report.json", cwd=tmp_path)
    seen = p.stdout + p.stderr + files_text(tmp_path)
    assert "S3cretPW" not in seen, (p.returncode, p.stderr)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "password in the URI" in p.stderr, p.stderr
