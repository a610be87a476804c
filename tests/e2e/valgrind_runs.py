"""cqlshift migrate, verify, unload and load end to end under valgrind
(memcheck): one SQLite migrate (then a verify that re-checks and repairs,
and unloads to split CSV files and to JSONL) and one CSV
load through the paths that format rejected rows, notes, differences and
summaries, against the main ring. Not a test_*.py file, so the normal
e2e run (a sanitizer build, which valgrind cannot run) does not collect it:
tests/CMakeLists.txt runs it as valgrind.e2e_migrate_load in the plain
build of scripts/test.sh's valgrind stage, with VALGRIND set to the valgrind
binary.

Any memcheck error (an uninitialised value, an invalid read, a definite
leak) fails the run with exit code 9."""

import os
import sqlite3
import subprocess

import pytest
from conftest import reject_rows


def under_valgrind(build_dir, *args, cwd):
    vg = os.environ.get("VALGRIND")
    if not vg:
        pytest.fail("VALGRIND is not set: run this through ctest in a build configured with "
                    "-DCQLSHIFT_VALGRIND=ON (scripts/test.sh's valgrind stage)")
    return subprocess.run([vg, "-q", "--error-exitcode=9", "--leak-check=full",
                           "--errors-for-leak-kinds=definite,indirect",
                           str(build_dir / "cqlshift"), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=900)


def test_migrate_with_rejects_under_valgrind(build_dir, py_session, fresh_keyspace, tmp_path,
                                             main_hosts):
    ks = fresh_keyspace
    db = tmp_path / "v.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, n INTEGER, at DATETIME, u, "
                "\"unit price\" REAL)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", [
        (1, b"", "not a number", 1706708700, 1, 0.5),          # rejected: n; empty blob
        (2, b"\x00\xff", 7, 1706795100, 2.5, 1.25),
        (3, None, "x", "2024-01-31T12:00:00.123456Z", None, None),   # rejected twice over
    ])
    con.commit()
    con.close()
    p = under_valgrind(build_dir, "migrate", f"sqlite:{db}", f"cassandra://{main_hosts[0]}/{ks}",
                       "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode == 4, p.stderr            # finished with rejected rows
    assert "==" not in p.stderr, p.stderr         # no memcheck report
    rows = sorted((r["position"], r["row"]) for r in reject_rows(tmp_path / "runs"))
    assert [r[0] for r in rows] == [1, 3], rows
    assert rows[0][1][:3] == [1, "0x", "not a number"], rows
    got = list(py_session.execute(f"SELECT id, b, n, u, unit_price FROM {ks}.t"))
    assert [tuple(r) for r in got] == [(2, b"\x00\xff", 7, 2.5, 1.25)]

    # verify through the paths that find, print, report and repair differences
    py_session.execute(f"INSERT INTO {ks}.t (id, n) VALUES (9, 9)")
    py_session.execute(f"UPDATE {ks}.t SET n = 8 WHERE id = 2")
    p = under_valgrind(build_dir, "verify", f"sqlite:{db}", f"cassandra://{main_hosts[0]}/{ks}",
                       "--repair", "--delete-extra", "--recheck", "0.5",
                       "--out-dir", tmp_path / "verify", cwd=tmp_path)
    assert p.returncode == 0, p.stderr            # repaired, then read equal
    assert "==" not in p.stderr, p.stderr
    assert f"{ks}.t: extra in the target: (id=9)" in p.stdout, p.stdout
    assert f"{ks}.t: different: (id=2): n: source 7, target 8" in p.stdout, p.stdout
    got = list(py_session.execute(f"SELECT id, b, n, u, unit_price FROM {ks}.t"))
    assert [tuple(r) for r in got] == [(2, b"\x00\xff", 7, 2.5, 1.25)]

    # unload, to CSV split files and to JSONL, through the formatting of
    # every column and the file rotation
    py_session.execute(f"INSERT INTO {ks}.t (id, b, n, u) VALUES (5, 0x, null, 1e300)")
    p = under_valgrind(build_dir, "unload", f"cassandra://{main_hosts[0]}/{ks}", "t", "-o",
                       f"{tmp_path}/parts/", "--max-file-size", "30", "--out-dir",
                       tmp_path / "unload", "--workers", "3", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "==" not in p.stderr, p.stderr
    parts = sorted((tmp_path / "parts").iterdir())
    assert len(parts) == 2 and all(f.read_text().startswith("id,") for f in parts)
    p = under_valgrind(build_dir, "unload", f"cassandra://{main_hosts[0]}/{ks}", "t", "-o",
                       tmp_path / "t.jsonl", "--out-dir", tmp_path / "unload", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "==" not in p.stderr, p.stderr
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == 2

    # backup of the SQLite source (the model, conversions, the file writer)
    p = under_valgrind(build_dir, "backup", f"sqlite:{db}", "-o", tmp_path / "bk", "-k", ks,
                       "--compression", "gzip", "--out-dir", tmp_path / "bkruns", cwd=tmp_path)
    assert p.returncode in (0, 4), p.stderr
    assert "==" not in p.stderr, p.stderr
    assert (tmp_path / "bk" / "manifest.json").exists()


def test_load_with_rejects_under_valgrind(build_dir, py_session, fresh_keyspace, tmp_path,
                                          main_hosts):
    ks = fresh_keyspace
    py_session.execute(f"CREATE TABLE {ks}.m (id int PRIMARY KEY, ratio double, at timestamp)")
    lines = [("id", "ratio", "at"),
             (1, 0.5, "2024-01-31T12:00:00Z"),
             (2, "0.1000000000000000055511151231257827", "2024-01-31T12:00:00.123000Z"),
             (3, "oops", "2024-01-31"),                         # rejected: ratio
             (4, 1, "2024-01-31T12:00:00.1234Z")]               # rejected: below the ms
    csv = tmp_path / "m.csv"
    csv.write_text("".join(",".join(map(str, line)) + "\n" for line in lines))
    p = under_valgrind(build_dir, "load", csv, f"cassandra://{main_hosts[0]}/{ks}", "m",
                       "--out-dir", tmp_path / "runs", cwd=tmp_path)
    assert p.returncode == 4, p.stderr
    assert "==" not in p.stderr, p.stderr
    assert "1 value had more significant digits than a double holds" in p.stderr, p.stderr
    assert sorted(r["position"] for r in reject_rows(tmp_path / "runs")) == [4, 5]
    got = {r.id: r.ratio for r in py_session.execute(f"SELECT id, ratio FROM {ks}.m")}
    assert got == {1: 0.5, 2: 0.1}
