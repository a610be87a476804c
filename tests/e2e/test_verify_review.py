# fixtures: cassandra_main
"""verify, regressions found in review: rows the copy rejects for their
write time counted as rejected."""

import re
import sqlite3
import subprocess
import uuid

import pytest



def run(args, timeout=600):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def table_line(out, table):
    """The counts of `table` from verify's stdout line."""
    for line in out.splitlines():
        if line.startswith(table + ": ") and " source rows, " in line:
            rest = line.split(": ", 1)[1]
            return {name: int(n) for n, name in
                    re.findall(r"(\d+) ([a-z][a-z -]*?)(?=[,;:(]|$)", rest)}
    raise AssertionError(f"no line for {table} in:\n{out}")


@pytest.fixture
def rv_keyspace(py_session, request):
    name = "rv_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:20] + "_" + \
        uuid.uuid4().hex[:6]
    yield name
    py_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)


def test_writetime_rejects_are_rejected_not_equal(build_dir, tmp_path, main_hosts, rv_keyspace):
    """A null writetime makes the copy reject the row: verify counts it as
    rejected (not as a source row the target should hold, nor as equal)."""
    db = tmp_path / "a.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, upd INTEGER)")
    con.executemany("INSERT INTO item VALUES (?, ?, ?)",
                    [(i, f"n{i}", None if i % 50 == 0 else 1_600_000_000_000_000 + i)
                     for i in range(1, 201)])
    con.commit()
    con.close()
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"""version: 1
source: 'sqlite:{db}'
keyspace:
  name: {rv_keyspace}
tables:
  item:
    columns: {{id: int, name: text}}
    partition_key: [id]
mappings:
  - from: item
    to: item
    writetime: upd
    columns: {{id: id, name: name}}
""")
    b = build_dir / "cqlshift"
    tgt = f"cassandra://{main_hosts[0]}"
    rc, out, err = run([b, "migrate", plan, tgt, "--out-dir", tmp_path / "m", "-q"])
    assert rc == 4, err  # 4 rows rejected: null writetime
    rc, out, err = run([b, "verify", plan, tgt, "--out-dir", tmp_path / "v"])
    assert rc == 0, out + err
    c = table_line(out, f"{rv_keyspace}.item")
    assert (c["source rows"], c["target rows"], c["equal"], c["rejected"]) == (196, 196, 196, 4), out
