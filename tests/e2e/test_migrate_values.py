# fixtures: cassandra_main
"""cqlshift migrate: values that must not change on the way, and what the
tool says about them (issue 14, items 8-10).

Every case builds a small SQLite file, runs the real binary, and checks what
landed in Cassandra with the DataStax Python driver, the reject file and the
notes on stderr."""

import datetime
import json
import os
import sqlite3
import subprocess

import pytest


def cqlshift(build_dir, *args, cwd=None, timeout=600):
    return subprocess.run([str(build_dir / "cqlshift"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ), timeout=timeout)


def make_db(path, *statements, rows=()):
    """A SQLite file from DDL statements and (insert sql, params) pairs."""
    con = sqlite3.connect(path)
    for s in statements:
        con.execute(s)
    for sql, params in rows:
        con.execute(sql, params)
    con.commit()
    con.close()
    return path


def migrate(build_dir, db, hosts, ks, tmp_path, *extra):
    rej = tmp_path / "rejects.jsonl"
    p = cqlshift(build_dir, "migrate", f"sqlite:{db}", f"cassandra://{hosts[0]}/{ks}",
                 "--reject-file", rej, "--state", tmp_path / "state.db", *extra, cwd=tmp_path)
    rejects = [json.loads(line) for line in rej.read_text().splitlines()] if rej.exists() else []
    return p, rejects


# ---- item 8: an empty blob in a rejected row --------------------------------------------------

def test_empty_blob_in_rejected_row_is_0x(build_dir, py_session, fresh_keyspace, tmp_path,
                                          main_hosts):
    """A row rejected for one column shows an empty blob of another column as
    "0x" in the reject file (it read past the end of a buffer before), and a
    good row's empty blob lands as an empty blob."""
    ks = fresh_keyspace
    db = make_db(tmp_path / "b.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, n INTEGER)",
                 rows=[("INSERT INTO t VALUES (1, x'', 'not a number')", ()),
                       ("INSERT INTO t VALUES (2, x'00ff10', 'nor this')", ()),
                       ("INSERT INTO t VALUES (3, x'', 7)", ())])
    p, rejects = migrate(build_dir, db, main_hosts, ks, tmp_path, "-q")
    assert p.returncode in (0, 4), p.stderr
    assert "AddressSanitizer" not in p.stderr, p.stderr
    assert [(r["position"], r["row"]) for r in rejects] == \
        [(1, [1, "0x", "not a number"]), (2, [2, "0x00ff10", "nor this"])], rejects
    got = {r.id: (r.b, r.n) for r in py_session.execute(f"SELECT id, b, n FROM {ks}.t")}
    assert got == {3: (b"", 7)}, got
