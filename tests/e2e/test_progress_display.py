# fixtures: cassandra_main
"""The live progress display on a real terminal, and the rate of a resumed run.

A three-table SQLite migrate runs in a tmux pane 80 columns wide (then one
narrowed to 50 mid-run): the screen is sampled while it runs and read back
whole (scrollback included) when it ends, with `tmux capture-pane`; no line
may be wider than the pane, and no progress line may stay behind (issue 14:
the 117-column line wrapped and left 186 stale lines in 18 s).

A rate-limited load killed mid-way and resumed: the resumed run's rows/s,
on its progress lines, in its summary and in its report, counts only the
rows of that run (issue 14: 368,265 rows/s shown after --resume)."""

import json
import re
import shutil
import subprocess
import time

import pytest

from conftest import kill_when_settled, sqlite_migrate

TABLES = {"customer_order_line_items_archive": 12_000,
          "a_second_table_with_a_long_name_too": 9_000,
          "short": 6_000}
# rows/s across the whole run: the migrate lasts about 5 s
RATE = 5_000
LIVE = re.compile(r"\d rows/s")


class Tmux:
    """A tmux server of our own (its own socket, no user configuration)."""

    def __init__(self, tmp_path):
        self.sock = str(tmp_path / "tmux.sock")

    def __call__(self, *args, check=True):
        p = subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null", *args],
                           capture_output=True, text=True, timeout=30)
        if check:
            assert p.returncode == 0, (args, p.stderr)
        return p.stdout

    def screen(self, history=False):
        """The pane's rows as shown (wrapped lines stay split, -J is not given)."""
        extra = ["-S", "-"] if history else []
        return self("capture-pane", "-p", "-t", "s", *extra).split("\n")

    def kill(self):
        self("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path):
    if not shutil.which("tmux"):
        pytest.fail("tmux is not installed (scripts/deps.sh installs it)")
    t = Tmux(tmp_path)
    yield t
    t.kill()


def run_in_pane(tmux, tmp_path, args, width, height, resize_to=None):
    """Run args in a width x height pane; sample the screen until the command
    ends. Returns (exit code, samples, whole history at the end)."""
    done = tmp_path / "exit-code"
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n" + " ".join(f"'{a}'" for a in args) +
                      f"\necho $? > '{done}'\nsleep 600\n")
    script.chmod(0o755)
    tmux("new-session", "-d", "-s", "s", "-x", str(width), "-y", str(height),
         "env", "TERM=xterm-256color", str(script))
    samples = []
    deadline = time.monotonic() + 300
    resized = False
    while not done.exists() and time.monotonic() < deadline:
        samples.append(tmux.screen())
        if resize_to and not resized and any(LIVE.search(l) for l in samples[-1]):
            time.sleep(1.0)
            tmux("resize-window", "-t", "s", "-x", str(resize_to))
            resized = True
        time.sleep(0.2)
    assert done.exists(), "the command did not end in 300 s:\n" + "\n".join(tmux.screen())
    time.sleep(0.3)  # let tmux draw the last output
    return int(done.read_text()), samples, tmux.screen(history=True)


def is_display_row(r):
    """A row of a progress line: a rate, a bar, a table's name at its
    start, or the line for the tables not drawn."""
    return bool(LIVE.search(r) or re.search(r"\[[#.]{3,}", r) or "more tables in progress" in r or
                any(r.startswith(n[:10]) for n in TABLES))


def check_screen(rows, width, where):
    text = "\n".join(rows)
    for r in rows:
        assert len(r) <= width, f"{where}: a {len(r)}-column row in a {width}-column pane:\n{text}"


# 80x24; 80x6, where the output scrolls the block to the bottom row; and
# one narrowed to 50 columns mid-run
@pytest.mark.parametrize("width,height,resize_to", [(80, 24, None), (80, 6, None), (80, 24, 50)])
def test_no_stale_lines_in_a_narrow_pane(build_dir, tmp_path, main_hosts, py_session,
                                         fresh_keyspace, tmux, width, height, resize_to):
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    args, _ = sqlite_migrate(build_dir / "cqlshift", tmp_path, main_hosts[0], ks, TABLES,
                             "--workers", "2", "--rate-limit", str(RATE))
    rc, samples, history = run_in_pane(tmux, tmp_path, args, width, height, resize_to)
    final_width = resize_to or width
    text = "\n".join(history)
    assert rc == 0, text

    # A resize races with the frame on its way to the terminal (drawn for
    # the old width, shown at the new one): the rows of that one frame may
    # stay behind, never one per frame.
    allowed = len(TABLES) if resize_to else 0

    # While it ran: the display was seen, it never held more progress lines
    # than there are tables, and no row was wider than the pane.
    live = [sum(bool(LIVE.search(r)) for r in s) for s in samples]
    assert max(live) >= 1, "no progress line was ever seen:\n" + text
    for s, n in zip(samples, live):
        assert n <= len(TABLES) + allowed, f"{n} progress lines on one screen:\n" + "\n".join(s)
    # A sample during the resize may catch the old width for a moment, so
    # rows are checked on the samples of the pane's first width only when
    # it was not resized, and always on the final history.
    if not resize_to:
        for s in samples:
            check_screen(s, width, "while running")

    # At the end, before the summary: each table's "done in" line once, and
    # no other row of the display (but for what the resize may have left);
    # other messages (the run folder) may be there.
    header = [i for i, r in enumerate(history) if re.match(r"table +read", r)]
    assert len(header) == 1, text
    before = [r for r in history[:header[0]] if r.strip()]
    for name in TABLES:
        done = [r for r in before if "done in" in r and r.startswith(name[:10])]
        assert len(done) == 1, f"{name}: {len(done)} 'done in' lines:\n" + text
    stale = [r for r in before if is_display_row(r) and "done in" not in r]
    print(f"{len(samples)} samples, {len(stale)} stale rows at the end: {stale}")
    assert len(stale) <= allowed, f"{len(stale)} stale rows:\n" + text
    # The summary is not fitted (it is for logs too); what came before is.
    check_screen(history[:header[0]], final_width, "at the end")
    for name, n in TABLES.items():
        assert py_session.execute(f'SELECT count(*) FROM {ks}."{name}"').one()[0] == n


def test_resumed_run_counts_its_own_rate(build_dir, tmp_path, main_hosts, py_session,
                                         fresh_keyspace):
    """40,000 rows at 10,000 rows/s, killed after about half; the resumed
    run reads the rest at the same limit: its rate must stay near 10,000
    rows/s (counting the first run's rows would double it)."""
    ks = fresh_keyspace
    rows, limit = 40_000, 10_000
    py_session.execute(f"CREATE TABLE {ks}.r (id bigint PRIMARY KEY, v text)")
    data = tmp_path / "r.csv"
    data.write_text("id,v\n" + "".join(f"{i},value {i}\n" for i in range(rows)))
    out = tmp_path / "runs"
    args = [str(build_dir / "cqlshift"), "load", str(data), f"cassandra://{main_hosts[0]}/{ks}",
            "r", "--out-dir", str(out), "--rate-limit", str(limit), "--progress-interval", "0.5"]
    before = kill_when_settled(args, out, rows // 2)
    assert 0 < before < rows

    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report)], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    t = json.loads(report.read_text())["tables"][0]
    assert t["read"] == rows and t["written"] == rows, t
    assert t["read_this_run"] == rows - before, (t, before)
    # The limit holds on average; 25% over for the start of the run, where
    # the first batches go before the limiter has a history.
    assert 0 < t["rows_per_s"] <= limit * 1.25, t
    assert abs(t["rows_per_s"] - t["read_this_run"] / t["seconds"]) <= 0.01 * t["rows_per_s"] + 1
    rates = [float(m) for m in re.findall(r"rows/s=(\d+)", p.stderr)]
    print(f"resumed after {before} rows: rows/s {rates} on progress lines, "
          f"{t['rows_per_s']} in the report")
    assert rates and max(rates) <= limit * 1.25, p.stderr
    summary = re.search(r"^r\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+ok$", p.stderr, re.M)
    assert summary, p.stderr
    assert int(summary.group(1)) == rows and int(summary.group(5)) <= limit * 1.25, p.stderr
    assert f"earlier runs of this job read {before} of these rows" in p.stderr, p.stderr


def test_resume_finishes_tables_earlier_runs_did(build_dir, tmp_path, main_hosts, py_session,
                                                 fresh_keyspace):
    """A three-table migrate killed once the first table's rows were all
    settled: on --resume that table is finished at once (no time, no rate,
    no progress line), instead of staying active until the end of the run."""
    ks = fresh_keyspace
    py_session.execute(f"DROP KEYSPACE {ks}")
    sizes = {"a": 20_000, "b": 10_000, "c": 5_000}
    args, out = sqlite_migrate(build_dir / "cqlshift", tmp_path, main_hosts[0], ks, sizes,
                                 "--workers", "2", "--rate-limit", "8000",
                                 "--progress-interval", "0.3")
    # a's ranges go first; with two workers, b cannot be 6,000 rows ahead
    # of a's last range
    kill_when_settled(args, out, 26_000)

    report = tmp_path / "report.json"
    p = subprocess.run(args + ["--resume", "--report", str(report)], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    tables = {t["table"]: t for t in json.loads(report.read_text())["tables"]}
    assert tables["a"]["read"] == 20_000 and tables["a"]["read_this_run"] == 0, tables
    assert tables["a"]["seconds"] < 0.5 and tables["a"]["rows_per_s"] == 0, tables
    assert "table=a " not in p.stderr, p.stderr
    for name, n in sizes.items():
        assert tables[name]["read"] == tables[name]["written"] == n, tables[name]
