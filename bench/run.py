#!/usr/bin/env python3
"""cqlshift benchmark harness (issue 9): load one deterministic dataset into
identical empty tables with cqlshift, DSBulk, cqlsh COPY and a hand-written
Python-driver loader, check counts and fidelity, measure client and server
cost, and write docs/benchmarks.md with a chart. Issue 16 adds the fan-out
tools (cqlshift-plan3*): one source table written into three tables. Issue
17 adds the read tools (READ_TOOLS: cqlshift-verify*, dsbulk-unload; 18 cqlshift-unload), which
read back the table a load tool wrote in the same repetition.

    bench/run.sh [--rows N] [--reps R] [--smoke] [--tools a,b] [--report-only]

See docs/benchmarks.md for what is measured and how.
"""
import argparse
import csv
import datetime as dt
import decimal
import glob
import json
import os
import pickle
import platform
import random
import resource
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("CQLSHIFT_CACHE", os.path.expanduser("~/.cache/cqlshift"))
DSBULK_LIB = os.path.join(CACHE, "dsbulk", "lib")
CQLSH = os.path.join(CACHE, "bench-cqlsh-venv", "bin", "cqlsh")
BENCH_PY = os.path.join(CACHE, "bench-venv", "bin", "python")
CQLSHIFT = os.environ.get("CQLSHIFT_BIN", os.path.join(REPO, "build-bench", "cqlshift"))
# What the measured binary was built from: bench/run.sh builds build-bench
# from the working tree first, so HEAD (marked -dirty with local changes).
CQLSHIFT_COMMIT = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                                 capture_output=True, text=True).stdout.strip() or "?"
CLUSTER = os.environ.get("BENCH_CLUSTER", "bench")
RUN_DIR = os.environ.get("CQLSHIFT_RUN_DIR", "/tmp/cqlshift-run")
SERVER_CORES = 2
SEED = 20261124
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

COLUMNS = ["id", "n", "i", "ts", "short_text", "long_text", "amount",
           "score", "flag", "day", "tags"]
CQL_TABLE = """CREATE TABLE {ks}.t (
    id uuid PRIMARY KEY,
    n bigint,
    i int,
    ts timestamp,
    short_text text,
    long_text text,
    amount decimal,
    score double,
    flag boolean,
    day date,
    tags set<text>
)"""
# Fan-out (issue 16, tool cqlshift-plan3): one plan reads the SQLite table
# once and writes three tables: t (CQL_TABLE, as every other tool) and two
# query tables holding every column, partitioned by other columns: the rows
# of a day in time order (3,650 days: about N/3,650 rows a partition) and
# the rows with a given short_text (3 words of 36, cut at 20 characters:
# a few rows a partition, like a lookup by name). The harness creates all
# three before the timed run, as it creates t for every tool; migrate checks
# that they match the plan.
QUERY_TABLES = {
    "t_by_day": ("""CREATE TABLE {ks}.t_by_day (
    day date, ts timestamp, id uuid, n bigint, i int, short_text text, long_text text,
    amount decimal, score double, flag boolean, tags set<text>,
    PRIMARY KEY ((day), ts, id))""", ["day"], ["day", "ts", "id"]),
    "t_by_short_text": ("""CREATE TABLE {ks}.t_by_short_text (
    short_text text, id uuid, n bigint, i int, ts timestamp, long_text text,
    amount decimal, score double, flag boolean, day date, tags set<text>,
    PRIMARY KEY ((short_text), id))""", ["short_text"], ["short_text", "id"]),
}
FANOUT_TABLES = ["t"] + list(QUERY_TABLES)
FANOUT_KEYS = {"t": (["id"], ["id"])}
FANOUT_KEYS.update({k: (v[1], v[2]) for k, v in QUERY_TABLES.items()})
_ALL = ("{id: id, 'n': 'n', i: i, ts: ts, short_text: short_text, long_text: long_text, "
        "amount: amount, score: score, flag: flag, day: day, tags: tags}")
PLAN3_HEAD = """# bench/run.py: one source table, the tables below
version: 1
source: 'sqlite:{db}'
keyspace:
  name: {ks}
  replication: {{class: SimpleStrategy, replication_factor: 1}}
tables:
"""
PLAN3_TABLES = {
    "t": """  t:
    columns: {id: uuid, 'n': bigint, i: int, ts: timestamp, short_text: text, long_text: text,
              amount: decimal, score: double, flag: boolean, day: date, tags: 'set<text>'}
    partition_key: [id]
""",
    "t_by_day": """  t_by_day:                       # the rows of a day, in time order
    columns: {day: date, ts: timestamp, id: uuid, 'n': bigint, i: int, short_text: text,
              long_text: text, amount: decimal, score: double, flag: boolean, tags: 'set<text>'}
    partition_key: [day]
    clustering: [ts, id]
""",
    "t_by_short_text": """  t_by_short_text:                # the rows with a given short_text
    columns: {short_text: text, id: uuid, 'n': bigint, i: int, ts: timestamp, long_text: text,
              amount: decimal, score: double, flag: boolean, day: date, tags: 'set<text>'}
    partition_key: [short_text]
    clustering: [id]
""",
}


def plan_text(db, ks, tables):
    """A plan reading the SQLite table t once into each of tables (every
    column copied as it is)."""
    return (PLAN3_HEAD.format(db=db, ks=ks) + "".join(PLAN3_TABLES[t] for t in tables)
            + "mappings:\n" + "".join("  - {from: t, to: %s, columns: %s}\n" % (t, _ALL)
                                      for t in tables))


# SQLite declared types as an application would declare them; migrate
# writes into CQL_TABLE, created beforehand, and converts each value to its
# type (docs/model.md, "Existing tables"): INTEGER into int, the TEXT list
# literal into set<text>.
SQLITE_TABLE = """CREATE TABLE t (
    id UUID PRIMARY KEY,
    n INTEGER,
    i INTEGER,
    ts TIMESTAMP,
    short_text TEXT,
    long_text TEXT,
    amount DECIMAL,
    score DOUBLE,
    flag BOOLEAN,
    day DATE,
    tags TEXT
)"""

# The same table in PostgreSQL and MariaDB, with each server's natural
# types, filled from data.csv once per dataset (bench_db below); migrate
# writes into CQL_TABLE like every other tool. tags: a text[] in
# PostgreSQL (-> set<text> as a list), the CQL list literal as text in
# MariaDB (which has no arrays).
PG_TABLE = """CREATE TABLE t (
    id uuid PRIMARY KEY,
    n bigint,
    i integer,
    ts timestamptz(3),
    short_text text,
    long_text text,
    amount numeric(12,2),
    score double precision,
    flag boolean,
    day date,
    tags text[]
)"""
MARIADB_TABLE = """CREATE TABLE t (
    id char(36) CHARACTER SET ascii PRIMARY KEY,
    n bigint,
    i int,
    ts datetime(3),
    short_text varchar(64),
    long_text varchar(255),
    amount decimal(12,2),
    score double,
    flag boolean,
    day date,
    tags varchar(255)
) CHARACTER SET utf8mb4"""

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo "
         "lima mike november oscar papa quebec romeo sierra tango uniform "
         "victor whiskey xray yankee zulu café naïve über, señor "
         "order invoice customer shipped pending returned").split(" ")
TAGS = ("red green blue new sale vip eu us apac retail online store web "
        "mobile gift promo bulk clearance premium basic").split()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
TS0 = int(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
DAY0 = dt.date(2015, 1, 1)


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ dataset
def make_row(rng):
    """One row as the text every tool reads (CSV fields)."""
    rid = uuid.UUID(int=rng.getrandbits(128), version=4)
    n = rng.randrange(-(2 ** 62), 2 ** 62) if rng.random() < 0.5 else rng.randrange(0, 10 ** 9)
    i = rng.randrange(-(2 ** 31), 2 ** 31)
    ms = TS0 + rng.randrange(0, 5 * 365 * 86400 * 1000)
    ts = EPOCH + dt.timedelta(milliseconds=ms)
    ts_text = ts.strftime("%Y-%m-%d %H:%M:%S.") + "%03d+0000" % (ms % 1000)
    short = " ".join(rng.choices(WORDS, k=3))[:20]
    long_ = " ".join(rng.choices(WORDS, k=40))[:200]
    amount = "%d.%02d" % (rng.randrange(0, 10 ** 6), rng.randrange(0, 100))
    score = repr(rng.random() * 10000.0)
    flag = "true" if rng.random() < 0.5 else "false"
    day = (DAY0 + dt.timedelta(days=rng.randrange(0, 3650))).isoformat()
    tags = sorted(set(rng.choices(TAGS, k=rng.randrange(1, 5))))
    tags_text = "[" + ",".join("'%s'" % t for t in tags) + "]"
    return [str(rid), str(n), str(i), ts_text, short, long_, amount, score,
            flag, day, tags_text], ms


def dataset(rows, datadir):
    """Write data.csv, data.sqlite and sample.pkl (expected values of every
    k-th row) once per (rows, seed); cached."""
    d = os.path.join(datadir, "rows-%d-seed-%d" % (rows, SEED))
    done = os.path.join(d, ".complete")
    if os.path.exists(done):
        return d
    os.makedirs(d, exist_ok=True)
    log("generating %d rows in %s" % (rows, d))
    t0 = time.time()
    rng = random.Random(SEED)
    step = max(1, rows // 10000)
    sample = {}
    db_path = os.path.join(d, "data.sqlite")
    if os.path.exists(db_path):
        os.unlink(db_path)
    db = sqlite3.connect(db_path)
    db.execute(SQLITE_TABLE)
    with open(os.path.join(d, "data.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        buf = []
        for k in range(rows):
            r, ms = make_row(rng)
            w.writerow(r)
            buf.append((r[0], int(r[1]), int(r[2]), r[3], r[4], r[5], r[6],
                        float(r[7]), 1 if r[8] == "true" else 0, r[9], r[10]))
            if k % step == 0:
                sample[r[0]] = (r, ms)
            if len(buf) == 20000:
                db.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)", buf)
                buf = []
        if buf:
            db.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)", buf)
    db.commit()
    db.close()
    with open(os.path.join(d, "sample.pkl"), "wb") as f:
        pickle.dump(sample, f)
    open(done, "w").close()
    size = os.path.getsize(os.path.join(d, "data.csv"))
    log("generated in %.1f s: CSV %.1f MB (%.0f bytes a row), sample %d rows"
        % (time.time() - t0, size / 1e6, size / rows, len(sample)))
    return d


def _env_file(name):
    env = {}
    try:
        with open(os.path.join(RUN_DIR, name, "env")) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.strip().split("=", 1)
                    env[k] = v
    except FileNotFoundError:
        pass
    return env


def bench_db(kind, data, rows):
    """The source URI of the benchmark table in PostgreSQL or MariaDB,
    loaded from data.csv once (a marker table remembers the dataset)."""
    script = os.path.join(REPO, "scripts", "%s.sh" % kind)
    subprocess.run(["bash", script, "start"], check=True, stdout=subprocess.DEVNULL)
    db = "cqlshift_bench_%d_%d" % (rows, SEED)
    csvf = os.path.join(data, "data.csv")
    if kind == "postgres":
        port = _env_file("postgres").get("CQLSHIFT_PG_PORT") or "55432"
        base = "postgresql://postgres@127.0.0.1:%s" % port
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"]
        have = subprocess.run(psql + [base + "/postgres", "-c",
                              "SELECT 1 FROM pg_database WHERE datname = '%s'" % db],
                              capture_output=True, text=True, check=True).stdout.strip()
        uri = "%s/%s" % (base, db)
        if have == "1":
            done = subprocess.run(psql + [uri, "-c", "SELECT to_regclass('bench_done') IS NOT NULL"],
                                  capture_output=True, text=True).stdout.strip()
            if done == "t":
                return uri
            subprocess.run(psql + [base + "/postgres", "-c", "DROP DATABASE %s" % db], check=True)
        log("loading %d rows into PostgreSQL %s" % (rows, db))
        subprocess.run(psql + [base + "/postgres", "-c", "CREATE DATABASE %s" % db], check=True)
        sql = (PG_TABLE + ";\n"
               "CREATE TEMP TABLE s (id uuid, n bigint, i integer, ts timestamptz, short_text text,"
               " long_text text, amount numeric, score double precision, flag boolean, day date,"
               " tags text);\n"
               "\\copy s FROM '%s' WITH (FORMAT csv, HEADER true)\n"
               "INSERT INTO t SELECT id, n, i, ts, short_text, long_text, amount, score, flag, day,"
               " string_to_array(replace(btrim(tags, '[]'), chr(39), ''), ',') FROM s;\n"
               "CREATE TABLE bench_done ();\n"
               "VACUUM ANALYZE t;\n" % csvf)
        subprocess.run(psql + [uri], input=sql, text=True, check=True)
        return uri
    port = _env_file("mariadb").get("CQLSHIFT_MARIADB_PORT") or "53306"
    my = ["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", "-P" + port, "-uroot",
          "--local-infile=1", "-N", "-B"]
    uri = "mysql://root@127.0.0.1:%s/%s" % (port, db)
    done = subprocess.run(my + ["-e", "SELECT 1 FROM information_schema.tables WHERE "
                                "table_schema = '%s' AND table_name = 'bench_done'" % db],
                          capture_output=True, text=True, check=True).stdout.strip()
    if done == "1":
        return uri
    log("loading %d rows into MariaDB %s" % (rows, db))
    sql = ("SET GLOBAL local_infile = 1; DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; USE %s;\n"
           % (db, db, db) + MARIADB_TABLE + ";\n"
           "LOAD DATA LOCAL INFILE '%s' INTO TABLE t CHARACTER SET utf8mb4 FIELDS TERMINATED BY ','"
           " OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' IGNORE 1 LINES"
           " (id, n, i, @ts, short_text, long_text, amount, score, @flag, day, tags)"
           " SET ts = STR_TO_DATE(LEFT(@ts, 23), '%%Y-%%m-%%d %%H:%%i:%%s.%%f'),"
           " flag = (@flag = 'true');\n"
           "CREATE TABLE bench_done (x int);\n"
           "ANALYZE TABLE t;\n" % csvf)
    subprocess.run(my, input=sql, text=True, check=True, stdout=subprocess.DEVNULL)
    return uri


# ------------------------------------------------------------------ cluster
def cluster_env():
    env = {}
    with open(os.path.join(RUN_DIR, "cassandra-" + CLUSTER, "env")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.strip().split("=", 1)
                env[k] = v
    return env


def server_pid():
    with open(os.path.join(RUN_DIR, "cassandra-" + CLUSTER, "node-1", "pid")) as f:
        return int(f.read().strip())


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def session(host):
    from cassandra.cluster import Cluster
    from cassandra.policies import WhiteListRoundRobinPolicy
    c = Cluster([host], load_balancing_policy=WhiteListRoundRobinPolicy([host]),
                protocol_version=5)
    return c, c.connect()


def nodetool(*args):
    subprocess.run(["bash", os.path.join(REPO, "scripts", "cassandra.sh"), "nodetool",
                    "--name", CLUSTER, "--"] + list(args),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


QUIET_LIMIT = 60.0   # 10 s with --smoke, whose numbers are not compared


def wait_quiet(pid):
    """Wait until Cassandra uses under 5% of a core over 2 s (compactions and
    flushes of earlier runs done), at most QUIET_LIMIT seconds."""
    t0 = time.time()
    while time.time() - t0 < QUIET_LIMIT:
        a = proc_cpu(pid)
        time.sleep(2)
        if (proc_cpu(pid) - a) / 2 < 0.05:
            return
    log("server not quiet after %.0f s; going on" % QUIET_LIMIT)


# ------------------------------------------------------------------ measure
def tree(root):
    """pids of root and all its descendants."""
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(p))
        except (OSError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def machine_busy():
    """CPU seconds all cores spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / TICK  # minus idle and iowait


def rss_of(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/statm" % p) as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            pass
    return total


def run_measured(cmd, logpath, env=None, cwd=None):
    """Run cmd; return (rc, wall s, client CPU s, peak RSS bytes, server CPU s,
    CPU s used by everything else on the machine: noise).
    Client CPU is user+sys of the whole tree (the rusage of the child, which
    counts every descendant it waited for); peak RSS is the larger of the
    largest sum of the tree's resident sizes, sampled every 100 ms, and the
    command's own peak as GNU time reports it. (The rusage maxrss of a child
    of this script includes the copy of this script's memory the child had
    between fork and exec, 70-230 MB here, so it must not be used; the
    command runs under /usr/bin/time, whose fork is small.)"""
    spid = server_pid()
    s0 = proc_cpu(spid)
    m0 = machine_busy()
    t0 = time.monotonic()
    with open(logpath, "w") as lf:
        lf.write("$ %s\n" % " ".join(cmd))
        lf.flush()
        timefile = logpath + ".maxrss"
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", timefile] + list(cmd),
                             stdout=lf, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        peak = 0
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                break
            peak = max(peak, rss_of([q for q in tree(p.pid) if q != p.pid]))
            time.sleep(0.1)
        p.returncode = os.waitstatus_to_exitcode(status)
        try:
            with open(timefile) as tf:
                own = int(tf.read().split()[-1]) * 1024
        except (OSError, ValueError, IndexError):
            own = 0
    wall = time.monotonic() - t0
    s1 = proc_cpu(spid)
    m1 = machine_busy()
    cpu = ru.ru_utime + ru.ru_stime
    peak = max(peak, own)
    other = max(0.0, (m1 - m0) - cpu - (s1 - s0))
    return p.returncode, wall, cpu, peak, s1 - s0, other


# ------------------------------------------------------------------ tools
def insert_cols():
    return ",".join(COLUMNS)


def cmd_for(tool, ks, data, host, workdir):
    csvf = os.path.join(data, "data.csv")
    dsb = ["java", "-cp", DSBULK_LIB + "/*", "com.datastax.oss.dsbulk.runner.DataStaxBulkLoader",
           "load", "-url", csvf, "-k", ks, "-t", "t", "-h", host, "-header", "true",
           "--log.directory", os.path.join(workdir, "dsbulk-logs"),
           "-maxErrors", "0"]
    copy = "COPY %s.t (%s) FROM '%s' WITH HEADER=true" % (ks, insert_cols(), csvf)
    if tool == "cqlshift-csv":
        return [CQLSHIFT, "load", csvf, "cassandra://%s/%s" % (host, ks), "t", "--quiet",
                "--out-dir", os.path.join(workdir, "runs"), "--restart"]
    if tool == "cqlshift-csv-gz":
        # the same CSV gzip-compressed (level 6, made once and kept with the
        # data): issue 18's "load of the gzip CSV within 10% of the plain CSV"
        gz = csvf + ".gz"
        if not os.path.exists(gz):
            import gzip
            import shutil
            with open(csvf, "rb") as fi, gzip.open(gz + ".part", "wb", compresslevel=6) as fo:
                shutil.copyfileobj(fi, fo, 1 << 20)
            os.rename(gz + ".part", gz)
        return [CQLSHIFT, "load", gz, "cassandra://%s/%s" % (host, ks), "t", "--quiet",
                "--out-dir", os.path.join(workdir, "runs"), "--restart"]
    if tool == "cqlshift-sqlite":
        return [CQLSHIFT, "migrate", "sqlite:" + os.path.join(data, "data.sqlite"),
                "cassandra://%s/%s" % (host, ks), "--quiet",
                "--out-dir", os.path.join(workdir, "runs"), "--restart"]
    if tool == "cqlshift-plan3-split":
        # The reference without fan-out: three single-table plans, run at
        # once, each reading the source itself (its own run folder and job).
        cmds = []
        for k, table in enumerate(FANOUT_TABLES):
            plan = os.path.join(workdir, "plan-%s.yaml" % table)
            with open(plan, "w") as f:
                f.write(plan_text(os.path.join(data, "data.sqlite"), ks, [table]))
            cmds.append(" ".join(shlex.quote(x) for x in [
                CQLSHIFT, "migrate", plan, "cassandra://%s/%s" % (host, ks), "--quiet",
                "--out-dir", os.path.join(workdir, "runs-%d" % k), "--restart"]))
        script = "".join("%s & p%d=$!\n" % (c, k) for k, c in enumerate(cmds))
        script += "rc=0\n" + "".join("wait $p%d || rc=1\n" % k for k in range(len(cmds)))
        return ["sh", "-c", script + "exit $rc\n"]
    if tool in ("cqlshift-plan3", "cqlshift-plan3-replica"):
        plan = os.path.join(workdir, "plan3.yaml")
        with open(plan, "w") as f:
            f.write(plan_text(os.path.join(data, "data.sqlite"), ks, FANOUT_TABLES))
        return [CQLSHIFT, "migrate", plan, "cassandra://%s/%s" % (host, ks), "--quiet",
                "--out-dir", os.path.join(workdir, "runs"), "--restart"] + (
                    ["--batch-mode", "replica"] if tool == "cqlshift-plan3-replica" else [])
    if tool in ("cqlshift-postgres", "cqlshift-mariadb"):
        uri = bench_db("postgres" if tool == "cqlshift-postgres" else "mariadb", data,
                       int(os.path.basename(os.path.normpath(data)).split("-")[1]))
        return [CQLSHIFT, "migrate", uri, "cassandra://%s/%s" % (host, ks), "--tables", "t",
                "--quiet", "--out-dir", os.path.join(workdir, "runs"), "--restart"]
    if tool == "cqlshift-verify":
        # verify FILE TARGET TABLE: what `load FILE TARGET TABLE` wrote, with
        # the same (default) file options as cqlshift-csv
        return [CQLSHIFT, "verify", csvf, "cassandra://%s/%s" % (host, ks), "t", "--quiet",
                "--report", os.path.join(workdir, "verify.jsonl"),
                "--out-dir", os.path.join(workdir, "runs"), "--restart"]
    if tool == "cqlshift-verify-sqlite":
        # verify SOURCE TARGET: what `migrate sqlite:FILE TARGET` wrote
        return [CQLSHIFT, "verify", "sqlite:" + os.path.join(data, "data.sqlite"),
                "cassandra://%s/%s" % (host, ks), "--quiet",
                "--report", os.path.join(workdir, "verify.jsonl"),
                "--out-dir", os.path.join(workdir, "runs"), "--restart"]
    if tool == "cqlshift-unload":
        # the whole table, every column, into one CSV file (defaults)
        return [CQLSHIFT, "unload", "cassandra://%s/%s" % (host, ks), "t", "-o",
                os.path.join(workdir, "unload", "t.csv"), "--quiet",
                "--out-dir", os.path.join(workdir, "runs"), "--restart"]
    if tool == "dsbulk-unload":
        # DSBulk's reading of the whole table, every column, into CSV files
        # (defaults). Its `count` workflow would be the cheaper reference, but
        # dsbulk-workflow-count is not published on Maven Central (404 for
        # every version), which is where bench/setup.sh assembles DSBulk from.
        return ["java", "-cp", DSBULK_LIB + "/*",
                "com.datastax.oss.dsbulk.runner.DataStaxBulkLoader",
                "unload", "-k", ks, "-t", "t", "-h", host,
                "-url", os.path.join(workdir, "unload"),
                "--log.directory", os.path.join(workdir, "dsbulk-logs"), "-maxErrors", "0"]
    if tool == "dsbulk":
        return dsb
    if tool == "dsbulk-replicaset":
        return dsb + ["--batch.mode", "REPLICA_SET", "--batch.maxBatchStatements", "50"]
    if tool == "cqlsh-copy":
        return [CQLSH, host, "--request-timeout", "60", "-e", copy]
    if tool == "cqlsh-copy-tuned":
        return [CQLSH, host, "--request-timeout", "60", "-e",
                copy + " AND NUMPROCESSES=2 AND MAXBATCHSIZE=50 AND MINBATCHSIZE=10"
                " AND CHUNKSIZE=5000 AND INGESTRATE=1000000"]
    if tool == "python-driver":
        return [BENCH_PY, os.path.join(REPO, "bench", "pyloader.py"), csvf, host, ks, "t"]
    raise SystemExit("unknown tool " + tool)


TOOLS = ["cqlshift-csv", "cqlshift-csv-gz", "dsbulk", "dsbulk-replicaset", "cqlsh-copy", "cqlsh-copy-tuned",
         "python-driver", "cqlshift-sqlite", "cqlshift-postgres", "cqlshift-mariadb",
         "cqlshift-plan3", "cqlshift-plan3-replica", "cqlshift-plan3-split",
         "cqlshift-verify", "cqlshift-verify-sqlite", "dsbulk-unload", "cqlshift-unload"]
# Issue 17: tools that read back a table a load tool wrote (the one named
# here), in the same repetition when that load tool runs in it (its keyspace
# is kept until the repetition ends); else the harness loads one, unmeasured.
READ_TOOLS = {"cqlshift-verify": "cqlshift-csv", "cqlshift-verify-sqlite": "cqlshift-sqlite",
              "dsbulk-unload": "cqlshift-csv", "cqlshift-unload": "cqlshift-csv"}
# They write the three FANOUT_TABLES; the first two read the source once
# (the fan-out measured against issue 16's target), the last three times.
FANOUT = ("cqlshift-plan3", "cqlshift-plan3-replica", "cqlshift-plan3-split")
FANOUT_TARGET = ("cqlshift-plan3", "cqlshift-plan3-replica")
LABELS = {
    "cqlshift-csv": "cqlshift load (CSV)",
    "cqlshift-csv-gz": "cqlshift load (CSV, gzip)",
    "dsbulk": "DSBulk 1.10.0 (defaults)",
    "dsbulk-replicaset": "DSBulk 1.10.0 (REPLICA_SET, 50)",
    "cqlsh-copy": "cqlsh COPY FROM (defaults)",
    "cqlsh-copy-tuned": "cqlsh COPY FROM (tuned)",
    "python-driver": "Python driver, 100 in flight",
    "cqlshift-sqlite": "cqlshift migrate (SQLite)",
    "cqlshift-postgres": "cqlshift migrate (PostgreSQL 15)",
    "cqlshift-mariadb": "cqlshift migrate (MariaDB)",
    "cqlshift-plan3": "cqlshift migrate plan: SQLite → 3 tables",
    "cqlshift-plan3-replica": "cqlshift migrate plan: SQLite → 3 tables (--batch-mode replica)",
    "cqlshift-plan3-split": "3 concurrent cqlshift migrate plans: SQLite → 1 table each",
    "cqlshift-verify": "cqlshift verify (CSV file against the table load wrote)",
    "cqlshift-verify-sqlite": "cqlshift verify (SQLite against the table migrate wrote)",
    "dsbulk-unload": "DSBulk 1.10.0 unload (defaults, to CSV files)",
    "cqlshift-unload": "cqlshift unload (defaults, to one CSV file)",
}


# ------------------------------------------------------------------ checks
def count_rows(sess, ks, table, parts=256, key="id"):
    from cassandra.concurrent import execute_concurrent_with_args
    lo, hi = -(2 ** 63), 2 ** 63 - 1
    step = (hi - lo) // parts
    bounds = [lo + step * k for k in range(parts)] + [hi]
    q = sess.prepare("SELECT count(*) FROM %s.%s WHERE token(%s) > ? AND token(%s) <= ?"
                     % (ks, table, key, key))
    q.consistency_level = 1
    args = [(bounds[k], bounds[k + 1]) for k in range(parts)]
    # token(id) > min excludes only a token equal to -2^63, which Murmur3 never gives
    total = 0
    for ok, res in execute_concurrent_with_args(sess, q, args, concurrency=16):
        if not ok:
            raise res
        total += res.one()[0]
    return total


def key_value(col, fields, ms):
    """The value of key column col of a sampled row, as the driver binds it."""
    if col == "id":
        return uuid.UUID(fields[0])
    if col == "day":
        return dt.date.fromisoformat(fields[9])
    if col == "ts":
        return EPOCH + dt.timedelta(milliseconds=ms)
    if col == "short_text":
        return fields[4]
    raise ValueError(col)


def fidelity(sess, ks, sample, from_sqlite, table="t", keys=("id",)):
    """Read every sampled row from table by its primary key (keys) and compare
    it value by value; return (checked, bad, first diffs)."""
    from cassandra.concurrent import execute_concurrent_with_args
    q = sess.prepare("SELECT %s FROM %s.%s WHERE %s" % (
        insert_cols(), ks, table, " AND ".join("%s = ?" % k for k in keys)))
    ids = list(sample)
    bad, diffs = 0, []
    args = [tuple(key_value(c, *sample[k]) for c in keys) for k in ids]
    res = execute_concurrent_with_args(sess, q, args, concurrency=64)
    for k, (ok, rs) in zip(ids, res):
        fields, ms = sample[k]
        row = rs.one() if ok else None
        d = compare(fields, ms, row, from_sqlite)
        if d:
            bad += 1
            if len(diffs) < 5:
                diffs.append("%s %s: %s" % (table, k, d) if table != "t" else "%s: %s" % (k, d))
    return len(ids), bad, diffs


def compare(f, ms, row, from_sqlite):
    if row is None:
        return "missing"
    exp_ts = EPOCH.replace(tzinfo=None) + dt.timedelta(milliseconds=ms)
    exp_tags = set(t.strip("'") for t in f[10][1:-1].split(","))
    out = []
    checks = [
        ("id", str(row.id) == f[0]),
        ("n", row.n == int(f[1])),
        ("i", row.i == int(f[2])),
        ("ts", row.ts == exp_ts),
        ("short_text", row.short_text == f[4]),
        ("long_text", row.long_text == f[5]),
        ("score", row.score == float(f[7])),
        ("flag", row.flag == (f[8] == "true")),
        ("day", row.day is not None and str(row.day) == f[9]),
    ]
    if from_sqlite:
        # SQLite keeps DECIMAL as REAL: 12.50 comes back as 12.5 (same number)
        checks.append(("amount", row.amount == decimal.Decimal(f[6])))
    else:
        checks.append(("amount", row.amount is not None and
                       row.amount.as_tuple() == decimal.Decimal(f[6]).as_tuple()))
    checks.append(("tags", row.tags is not None and set(row.tags) == exp_tags))
    for name, ok in checks:
        if not ok:
            out.append("%s: got %r want %r" % (name, getattr(row, name), f[COLUMNS.index(name)]))
    return "; ".join(out)


# ------------------------------------------------------------------ one run
def fresh_table(host, ks, tool):
    """A fresh keyspace ks with the empty table t (and the query tables for
    the fan-out tools)."""
    cl, sess = session(host)
    try:
        sess.execute("DROP KEYSPACE IF EXISTS %s" % ks, timeout=120)
        sess.execute("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', "
                     "'replication_factor': 1}" % ks, timeout=120)
        # Every tool, migrate included, writes into the same table created
        # here; migrate converts its SQLite values to the table's types
        # (INTEGER to int, the TEXT list literal to set<text>).
        sess.execute(CQL_TABLE.format(ks=ks), timeout=120)
        if tool in FANOUT:
            for ddl, _, _ in QUERY_TABLES.values():
                sess.execute(ddl.format(ks=ks), timeout=120)
        cl.control_connection.wait_for_schema_agreement()
    finally:
        cl.shutdown()


def drop_keyspaces(host, kss):
    if not kss:
        return
    cl, sess = session(host)
    try:
        for ks in kss:
            sess.execute("DROP KEYSPACE IF EXISTS %s" % ks, timeout=120)
    finally:
        cl.shutdown()
    nodetool("clearsnapshot", "--all")


def one_run(tool, rep, rows, data, sample, host, outdir, keep=False, src_ks=None):
    """One measured run of tool. A load tool writes a fresh table, which is
    counted, sampled and dropped, or kept (keep: r["ks"] names it) for the
    read tools of the same repetition. A read tool (READ_TOOLS) reads src_ks,
    or a table it has loaded first, unmeasured."""
    ks = ("b_%s_r%d" % (tool.replace("-", "_"), rep))[:48]
    workdir = os.path.join(outdir, "work", ks)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    if tool in READ_TOOLS:
        return read_run(tool, rep, rows, data, host, ks, workdir, src_ks)
    fresh_table(host, ks, tool)
    wait_quiet(server_pid())
    cmd = cmd_for(tool, ks, data, host, workdir)
    logpath = os.path.join(workdir, "run.log")
    log("%s rep %d: %s" % (tool, rep, " ".join(cmd)))
    rc, wall, cpu, rss, scpu, other = run_measured(cmd, logpath, cwd=workdir)
    cl, sess = session(host)
    try:
        count = count_rows(sess, ks, "t")
        from_sqlite = tool == "cqlshift-sqlite" or tool in FANOUT
        checked, bad, diffs = fidelity(sess, ks, sample, from_sqlite)
        tables = {"t": count}
        if tool in FANOUT:  # the query tables: exact counts and the same sample
            for qt in QUERY_TABLES:
                pk, keys = FANOUT_KEYS[qt]
                tables[qt] = count_rows(sess, ks, qt, key=pk[0])
                c2, b2, d2 = fidelity(sess, ks, sample, from_sqlite, qt, keys)
                checked, bad, diffs = checked + c2, bad + b2, diffs + d2
        if not keep:
            sess.execute("DROP KEYSPACE IF EXISTS %s" % ks, timeout=120)
    finally:
        cl.shutdown()
    if not keep:
        nodetool("clearsnapshot", "--all")
    requests = {}  # write requests per table, from cqlshift's own report
    for rj in sorted(glob.glob(os.path.join(workdir, "runs*", "*", "report.json"))):
        try:
            with open(rj) as f:
                requests.update({x["table"]: x.get("write_requests")
                                 for x in json.load(f)["tables"]})
        except (OSError, ValueError, KeyError, TypeError):
            pass
    r = dict(tool=tool, rep=rep, rows=rows, commit=CQLSHIFT_COMMIT, rc=rc, wall=wall,
             client_cpu=cpu,
             rss=rss, server_cpu=scpu, other_cpu=other, count=count, checked=checked, bad=bad,
             diffs=diffs, rows_per_s=rows / wall, log=logpath, tables=tables,
             writes=rows * len(tables), requests=requests, ks=ks if keep else None)
    log("%s rep %d: rc=%d %.1f s %.0f rows/s client %.1f s server %.1f s rss %.0f MB "
        "count %d fidelity %d/%d" % (tool, rep, rc, wall, rows / wall, cpu, scpu,
                                     rss / 2 ** 20, count, checked - bad, checked))
    if len(tables) > 1:
        log("%s rep %d: counted %s; %.0f writes/s" % (tool, rep, ", ".join(
            "%s %d" % kv for kv in tables.items()), rows * len(tables) / wall))
    if rc != 0 or any(c != rows for c in tables.values()):
        with open(logpath) as f:
            tail = f.read()[-1500:]
        log("%s rep %d FAILED or count mismatch; log tail:\n%s" % (tool, rep, tail))
    if diffs:
        log("fidelity differences: " + " | ".join(diffs[:3]))
    return r


def read_run(tool, rep, rows, data, host, ks, workdir, src_ks):
    """Issue 17: measure a tool that reads the whole table t of src_ks back
    (cqlshift verify, DSBulk unload). Without src_ks, READ_TOOLS[tool] loads
    a fresh table first, unmeasured, dropped afterwards. The table is flushed
    and the node left to go quiet (compactions) before the measured read, so
    every read tool finds it in the same state: all in SSTables. The result
    has count = the rows the tool read (verify: target rows), checked = the
    rows verify compared, bad = the differences it found."""
    own = src_ks is None
    if own:
        loader = READ_TOOLS[tool]
        fresh_table(host, ks, loader)
        wait_quiet(server_pid())
        cmd = cmd_for(loader, ks, data, host, workdir)
        log("%s rep %d: loading the table to read, unmeasured: %s" % (tool, rep, " ".join(cmd)))
        with open(os.path.join(workdir, "setup.log"), "w") as lf:
            if subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT, cwd=workdir).returncode:
                log("%s rep %d: the unmeasured load failed (%s)" % (
                    tool, rep, os.path.join(workdir, "setup.log")))
        src_ks = ks
    nodetool("flush", src_ks)
    wait_quiet(server_pid())
    cmd = cmd_for(tool, src_ks, data, host, workdir)
    logpath = os.path.join(workdir, "run.log")
    if tool == "cqlshift-unload":
        os.makedirs(os.path.join(workdir, "unload"), exist_ok=True)
    log("%s rep %d: %s" % (tool, rep, " ".join(cmd)))
    rc, wall, cpu, rss, scpu, other = run_measured(cmd, logpath, cwd=workdir)
    count, checked, bad, diffs, extra = -1, 0, 0, [], {}
    if tool.startswith("cqlshift-verify"):
        # the report's table line: source_rows, target_rows, equal, missing, ...
        try:
            with open(os.path.join(workdir, "verify.jsonl")) as f:
                lines = [json.loads(l) for l in f if l.strip()]
        except (OSError, ValueError):
            lines = []
        for x in lines:
            if x.get("type") == "table":
                count = x.get("target_rows", -1)
                checked = x.get("source_rows", 0)
                bad = sum(x.get(k, 0) for k in ("missing", "extra", "different", "duplicate",
                                                "rejected"))
                extra = {k: x.get(k) for k in ("source_rows", "target_rows", "equal", "missing",
                                               "extra", "different", "duplicate", "rejected",
                                               "filtered", "buckets", "buckets_differing")}
            elif x.get("type") == "difference" and len(diffs) < 5:
                diffs.append("%s %s %s" % (x.get("kind"), json.dumps(x.get("key")),
                                           ",".join(x.get("columns") or [])))
    else:  # unload: the rows in the files it wrote (a header line each)
        n = 0
        files = sorted(glob.glob(os.path.join(workdir, "unload", "*.csv")))
        for fn in files:
            with open(fn, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 22), b""):
                    n += chunk.count(b"\n")
        count = n - len(files) if files else -1
        extra = {"files": len(files)}
        shutil.rmtree(os.path.join(workdir, "unload"), ignore_errors=True)
    if own:
        drop_keyspaces(host, [ks])
    r = dict(tool=tool, rep=rep, rows=rows, commit=CQLSHIFT_COMMIT, rc=rc, wall=wall,
             client_cpu=cpu, rss=rss, server_cpu=scpu, other_cpu=other, count=count,
             checked=checked, bad=bad, diffs=diffs, rows_per_s=rows / wall, log=logpath,
             tables={"t": count}, writes=rows, requests={}, read_of=src_ks,
             read_after=None if own else READ_TOOLS[tool], verify=extra)
    log("%s rep %d: rc=%d %.1f s %.0f rows/s client %.1f s (%.2f us a row) server %.1f s "
        "rss %.0f MB read %d rows%s" % (
            tool, rep, rc, wall, rows / wall, cpu, cpu / rows * 1e6, scpu, rss / 2 ** 20, count,
            ", %d differences" % bad if tool.startswith("cqlshift-verify") else ""))
    if rc != 0 or count != rows or bad:
        with open(logpath) as f:
            tail = f.read()[-1500:]
        log("%s rep %d FAILED, read a wrong count or found differences; log tail:\n%s"
            % (tool, rep, tail))
    return r


# ------------------------------------------------------------------ report
def med(xs):
    return statistics.median(xs) if xs else float("nan")


def summarize(results, rows):
    by = {}
    for r in results:
        if r["rows"] == rows:
            by.setdefault(r["tool"], []).append(r)
    summ = {}
    for tool in TOOLS:
        rs = by.get(tool, [])
        if not rs:
            continue
        ok = [r for r in rs if r["rc"] == 0 and r["count"] == rows
              and all(c == rows for c in r.get("tables", {}).values())]
        use = ok or rs
        rps = [r["rows_per_s"] for r in use]
        wr = [r.get("writes", rows) for r in use]  # rows written to all its tables
        summ[tool] = dict(
            n=len(rs), ok=len(ok),
            rows_per_s=med(rps), spread=(min(rps), max(rps)),
            wall=med([r["wall"] for r in use]),
            client_us=med([r["client_cpu"] / rows * 1e6 for r in use]),
            server_us=med([r["server_cpu"] / rows * 1e6 for r in use]),
            rss_mb=med([r["rss"] / 2 ** 20 for r in use]),
            other=med([r["other_cpu"] / r["wall"] for r in use if "other_cpu" in r]),
            counts=sorted(set(r["count"] for r in rs)),
            checked=sum(r["checked"] for r in rs), bad=sum(r["bad"] for r in rs),
            diffs=[d for r in rs for d in r["diffs"]][:3],
            ntables=len(rs[0].get("tables") or {"t": 0}),
            writes_per_s=med([w / r["wall"] for w, r in zip(wr, use)]),
            wspread=(min(w / r["wall"] for w, r in zip(wr, use)),
                     max(w / r["wall"] for w, r in zip(wr, use))),
            server_us_write=med([r["server_cpu"] / w * 1e6 for w, r in zip(wr, use)]),
            client_us_write=med([r["client_cpu"] / w * 1e6 for w, r in zip(wr, use)]),
            table_counts={t: sorted(set(r.get("tables", {}).get(t, -1) for r in rs))
                          for t in (rs[0].get("tables") or {})},
            requests={t: med([r["requests"][t] for r in use if (r.get("requests") or {}).get(t)])
                      for t in (use[0].get("requests") or {})})
    return summ


def versions(results):
    v = {}
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
        except Exception as e:  # noqa
            return "?"
    # the commit each measured binary was built from (recorded per run)
    commits = sorted({r.get("commit") or "not recorded" for r in results})
    v["cqlshift"] = ", ".join(commits)
    v["java"] = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    v["cqlsh"] = out([CQLSH, "--version"])
    v["python"] = platform.python_version()
    v["cpu"] = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?")
    v["cores"] = os.cpu_count()
    v["mem_gib"] = round(os.sysconf("SC_PHYS_PAGES") * PAGE / 2 ** 30)
    v["kernel"] = platform.release()
    return v


def chart(summ, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tools = [t for t in TOOLS if t in summ]
    labels = [LABELS[t].replace(" (", "\n(") for t in tools]
    fig, (a, b) = plt.subplots(1, 2, figsize=(14, 5.5))
    rps = [summ[t]["rows_per_s"] for t in tools]
    err = [[summ[t]["rows_per_s"] - summ[t]["spread"][0] for t in tools],
           [summ[t]["spread"][1] - summ[t]["rows_per_s"] for t in tools]]
    colors = ["#d62728" if t.startswith("cqlshift") else "#7f7f7f" for t in tools]
    a.barh(labels, rps, xerr=err, color=colors)
    a.invert_yaxis()
    a.set_xlabel("rows/s (median, min-max)")
    a.set_title("Throughput")
    y = range(len(tools))
    cu = [summ[t]["client_us"] for t in tools]
    su = [summ[t]["server_us"] for t in tools]
    b.barh([i - 0.2 for i in y], cu, height=0.4, label="client CPU µs/row", color="#1f77b4")
    b.barh([i + 0.2 for i in y], su, height=0.4, label="Cassandra CPU µs/row", color="#ff7f0e")
    b.set_yticks(list(y))
    b.set_yticklabels(labels)
    b.invert_yaxis()
    b.set_xlabel("CPU µs per row (median)")
    b.set_title("CPU cost per row")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def load_section(summ, rows, reps):
    """The loads' results, the server-bound limit and issue 9's targets."""
    base = summ.get("cqlshift-csv")
    best_server = min(s["server_us"] for s in summ.values())
    best_tool = min(summ, key=lambda t: summ[t]["server_us"])
    limit = SERVER_CORES / (best_server / 1e6)
    L = []
    L.append("## Results (%s rows, median of %s)\n" % (format(rows, ","),
             "%d run%s each, round-robin" % (reps, "s" if reps > 1 else "")))
    L.append("| tool | rows/s | spread (min–max) | × cqlshift | wall s | client CPU µs/row | "
             "server CPU µs/row | client peak RSS MB | rows loaded | fidelity (sampled rows equal) | "
             "other load (cores) |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |")
    for t in TOOLS:
        if t not in summ:
            continue
        s = summ[t]
        ratio = s["rows_per_s"] / base["rows_per_s"] if base else float("nan")
        counts = ", ".join(format(c, ",") for c in s["counts"])
        cnt = ("%s ✓" % counts) if s["counts"] == [rows] else ("**%s** ✗" % counts)
        fid = "%s/%s" % (format(s["checked"] - s["bad"], ","), format(s["checked"], ","))
        fid += " ✓" if s["bad"] == 0 else " ✗"
        if s["ok"] < s["n"]:
            cnt += " (%d of %d runs failed)" % (s["n"] - s["ok"], s["n"])
        L.append("| %s | %s | %s–%s | %.2f | %.1f | %.1f | %.1f | %.0f | %s | %s | %s |" % (
            LABELS[t], format(round(s["rows_per_s"]), ","), format(round(s["spread"][0]), ","),
            format(round(s["spread"][1]), ","), ratio, s["wall"], s["client_us"], s["server_us"],
            s["rss_mb"], cnt, fid, "–" if s["other"] != s["other"] else "%.2f" % s["other"]))
    L.append("")
    L.append("![rows/s and CPU µs per row](benchmarks.png)\n")
    L.append("**Server-bound limit.** The lowest Cassandra CPU per row any tool achieved is "
             "%.1f µs (%s). With %d cores that bounds this node at %s rows/s "
             "(%d ÷ %.1f µs). cqlshift load reaches %s rows/s, %.0f%% of it%s.\n" % (
                 best_server, LABELS[best_tool], SERVER_CORES, format(round(limit), ","),
                 SERVER_CORES, best_server, format(round(base["rows_per_s"]), ",") if base else "?",
                 100 * base["rows_per_s"] / limit if base else float("nan"),
                 ("; cqlshift migrate from SQLite %s rows/s, %.0f%%" % (
                     format(round(summ["cqlshift-sqlite"]["rows_per_s"]), ","),
                     100 * summ["cqlshift-sqlite"]["rows_per_s"] / limit))
                 if "cqlshift-sqlite" in summ else ""))
    if base:
        peers = {t: x for t, x in summ.items() if not t.startswith("cqlshift")}
        tg = []
        def row(what, got, ok):
            tg.append("| %s | %s | %s |" % (what, got, "✓" if ok else "✗"))
        row("cqlshift load ≥ 90% of the server-bound limit", "%.0f%%" % (
            100 * base["rows_per_s"] / limit), base["rows_per_s"] >= 0.9 * limit)
        row("client CPU ≤ 2.5 µs a row, CSV parsing included", "%.1f µs" % base["client_us"],
            base["client_us"] <= 2.5)
        if peers:
            bp = min(peers, key=lambda t: peers[t]["server_us"])
            row("server CPU a row no higher than the best peer's", "%.1f µs against %.1f µs (%s)" % (
                base["server_us"], peers[bp]["server_us"], LABELS[bp]),
                base["server_us"] <= peers[bp]["server_us"])
        if "cqlshift-sqlite" in summ:
            q = summ["cqlshift-sqlite"]["rows_per_s"] / base["rows_per_s"]
            row("SQLite → Cassandra ≥ 90% of CSV → Cassandra", "%.0f%%" % (100 * q), q >= 0.9)
        if "cqlshift-csv-gz" in summ:
            g = summ["cqlshift-csv-gz"]
            q = g["rows_per_s"] / base["rows_per_s"]
            row("load of the gzip CSV within 10% of the plain CSV (issue 18)",
                "%.0f%% of its rows/s; client CPU %.1f against %.1f µs a row" % (
                    100 * q, g["client_us"], base["client_us"]), q >= 0.9)
        mine = [x for t, x in summ.items() if t.startswith("cqlshift")]
        row("0 fidelity differences for cqlshift", "%d of %s sampled rows differ" % (
            sum(x["bad"] for x in mine), format(sum(x["checked"] for x in mine), ",")),
            all(x["bad"] == 0 for x in mine))
        row("peak RSS ≤ 100 MB (at this size; 10,000,000 rows: see below)",
            "%.0f MB (load), %s" % (base["rss_mb"], "%.0f MB (migrate)" % summ["cqlshift-sqlite"]["rss_mb"]
                                    if "cqlshift-sqlite" in summ else "–"),
            all(x["rss_mb"] <= 100 for x in mine))
        L.append("**Targets of issue 9, from the medians above:**\n")
        L.append("| target | measured | |")
        L.append("| --- | --- | --- |")
        L.extend(tg)
        L.append("")
    return L


def write_report(results, rows, reps, outdir, docpath, smoke):
    allsumm = summarize(results, rows)
    if not allsumm:
        log("no results for %d rows" % rows)
        return
    # the loads; the read tools (issue 17) have their own section
    summ = {t: x for t, x in allsumm.items() if t not in READ_TOOLS}
    v = versions(results)
    L = []
    L.append("# Benchmarks: loading one table into Cassandra\n")
    L.append("Generated by `bench/run.sh --rows %d --reps %d%s` on %s. Issue 9.\n"
             % (rows, reps, " --smoke" if smoke else "",
                dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))
    if summ:
        L.extend(load_section(summ, rows, reps))
    L.extend(fanout_section(summ, rows))
    L.extend(verify_section(allsumm, results, rows))
    for t in TOOLS:
        if t in allsumm and allsumm[t]["diffs"]:
            L.append("- %s, first differences: `%s`" % (LABELS[t], " | ".join(allsumm[t]["diffs"])))
    findings = os.path.join(REPO, "bench", "findings.md")
    # the hand-written reading of the published numbers, only on that page
    # (not in a --doc report of other tools)
    if (not smoke and os.path.exists(findings) and os.path.abspath(docpath)
            == os.path.join(REPO, "docs", "benchmarks.md")):
        L.append(open(findings, encoding="utf-8").read())
    L.append(NOTES)
    L.append("## Machine and versions\n")
    L.append("- CPU: %s, %d cores (shared by client and server), %d GiB RAM, Linux %s"
             % (v["cpu"], v["cores"], v["mem_gib"], v["kernel"]))
    L.append("- Cassandra 5.0.6, one node (`scripts/cassandra.sh start --name bench --nodes 1 "
             "--ip-base 127.0.0.4`, 1 GB heap), keyspace SimpleStrategy RF 1, a fresh keyspace per run")
    L.append("- cqlshift %s (Release build), DSBulk 1.10.0, %s, %s, Python %s, "
             "cassandra-driver 3.30.1" % (v["cqlshift"], v["cqlsh"] or "cqlsh ?", v["java"], v["python"]))
    L.append(REPRO)
    os.makedirs(os.path.dirname(docpath), exist_ok=True)
    with open(docpath, "w") as f:
        f.write("\n".join(L) + "\n")
    if summ:
        chart(summ, os.path.join(os.path.dirname(docpath), "benchmarks.png"))
    log("wrote %s" % docpath)


def fanout_section(summ, rows):
    """Issue 16: one source table feeding three tables. Writes/s against the
    server-bound limit for that write volume: 2 cores ÷ the lowest Cassandra
    CPU per write that cqlshift-sqlite (one table) or a fan-out run achieved
    in this run (issue 9's definition, per write instead of per row)."""
    fan = [t for t in FANOUT_TARGET if t in summ]
    if not fan:
        return []
    ref = [t for t in ("cqlshift-sqlite",) + FANOUT if t in summ]
    best = min(ref, key=lambda t: summ[t]["server_us_write"])
    limit = SERVER_CORES / (summ[best]["server_us_write"] / 1e6)
    L = ["## Fan-out: one source table, three target tables (issue 16)\n"]
    L.append("| tool | tables | source rows/s | writes/s | spread (writes/s) | client CPU µs per "
             "source row | client CPU µs per write | server CPU µs per write | client peak RSS MB "
             "| write requests per table | rows in each table | fidelity (sampled rows equal, "
             "all tables) |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |")
    for t in ref:
        s = summ[t]
        cnt = ", ".join("%s %s" % (tb, "/".join(format(c, ",") for c in cs))
                        for tb, cs in s["table_counts"].items()) or \
            "t " + "/".join(format(c, ",") for c in s["counts"])
        good = all(cs == [rows] for cs in s["table_counts"].values()) and s["counts"] == [rows]
        fid = "%s/%s" % (format(s["checked"] - s["bad"], ","), format(s["checked"], ","))
        req = ", ".join("%s %s" % (tb, format(round(n), ",")) for tb, n in s["requests"].items()
                        if n == n) or "–"
        L.append("| %s | %d | %s | %s | %s–%s | %.1f | %.1f | %.1f | %.0f | %s | %s %s | %s %s |" % (
            LABELS[t], s["ntables"], format(round(s["rows_per_s"]), ","),
            format(round(s["writes_per_s"]), ","), format(round(s["wspread"][0]), ","),
            format(round(s["wspread"][1]), ","), s["client_us"], s["client_us_write"],
            s["server_us_write"], s["rss_mb"], req, cnt, "✓" if good else "✗", fid,
            "✓" if s["bad"] == 0 else "✗"))
    L.append("")
    L.append("**Server-bound limit for this write volume.** The lowest Cassandra CPU per write "
             "in this run is %.1f µs (%s), so 2 cores bound this node at %s writes/s "
             "(2 ÷ %.1f µs), whichever tables the writes go to.\n" % (
                 summ[best]["server_us_write"], LABELS[best], format(round(limit), ","),
                 summ[best]["server_us_write"]))
    # The same write volume: the three tables' writes. A query-table write
    # costs the node more than a write to the one-row-a-partition table (a
    # clustering key, wider partitions), so the limit of this volume is set
    # by the cheapest way a run wrote these same three tables.
    fbest = min([t for t in FANOUT if t in summ], key=lambda t: summ[t]["server_us_write"])
    flimit = SERVER_CORES / (summ[fbest]["server_us_write"] / 1e6)
    L.append("**Server-bound limit for these three tables' writes.** The lowest Cassandra CPU "
             "per write among the runs that wrote the three tables is %.1f µs (%s), so 2 cores "
             "bound this node at %s writes/s for this write volume; the issue's target is "
             "measured against it. The stricter bar above (the cheapest write of any table) is "
             "shown beside it.\n" % (summ[fbest]["server_us_write"], LABELS[fbest],
                                      format(round(flimit), ",")))
    L.append("| target | measured | |")
    L.append("| --- | --- | --- |")
    for t in fan:
        w = summ[t]["writes_per_s"]
        L.append("| %s: writes/s ≥ 90%% of the server-bound limit for these writes | %s of %s "
                 "writes/s: %.0f%% | %s |"
                 % (LABELS[t], format(round(w), ","), format(round(flimit), ","),
                    100 * w / flimit, "✓" if w >= 0.9 * flimit else "✗"))
        L.append("| %s: writes/s against the cheapest write of any table | %s of %s writes/s: "
                 "%.0f%% | %s |"
                 % (LABELS[t], format(round(w), ","), format(round(limit), ","),
                    100 * w / limit, "✓" if w >= 0.9 * limit else "✗"))
        if "cqlshift-sqlite" in summ:
            q = w / summ["cqlshift-sqlite"]["writes_per_s"]
            L.append("| %s: writes/s against one table's (cqlshift migrate from SQLite, same run) "
                     "| %.0f%% | %s |" % (LABELS[t], 100 * q, "✓" if q >= 0.9 else "✗"))
    L.append("")
    return L


def verify_section(allsumm, results, rows):
    """Issue 17: reading the table back. Each read tool's rows/s against the
    load that wrote the table it read, repetition by repetition (the same
    run, the same node state), and cqlshift verify against DSBulk unload."""
    reads = [t for t in TOOLS if t in READ_TOOLS and t in allsumm]
    if not reads:
        return []
    by = {(r["tool"], r["rep"]): r for r in results if r["rows"] == rows}

    def ratios(t, ref, same_table=True):
        """rows/s of t over rows/s of ref, per repetition where both ran (and,
        with same_table, t read the table ref wrote in it)."""
        out = []
        for (tool, rep), r in sorted(by.items()):
            o = by.get((ref, rep))
            if tool == t and o and (not same_table or r.get("read_after") == ref):
                out.append(r["rows_per_s"] / o["rows_per_s"])
        return out

    def span(xs):
        return "%.2f× (%.2f–%.2f)" % (med(xs), min(xs), max(xs)) if xs else "–"

    L = ["## Verify: reading the table back (issue 17)\n"]
    L.append("Each read tool reads the whole table that the load tool named in the second "
             "column wrote earlier in the same repetition (kept until the repetition ends); "
             "the table is flushed and the node left to go quiet before each read, so every "
             "reader finds it in the same state. rows/s = %s ÷ wall seconds; CPU, RSS and "
             "other load are measured as for the loads. × load is this tool's rows/s over that "
             "load's rows/s in the same repetition (median and min–max over the "
             "repetitions).\n" % format(rows, ","))
    L.append("| tool | reads the table written by | rows/s | spread (min–max) | × load, same run "
             "| wall s | client CPU µs/row | server CPU µs/row | client peak RSS MB | rows read "
             "| result | other load (cores) |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |")
    for t in reads:
        s = allsumm[t]
        src = READ_TOOLS[t]
        rs = [r for (tool, _), r in sorted(by.items()) if tool == t]
        counts = ", ".join(format(c, ",") for c in s["counts"])
        cnt = ("%s ✓" % counts) if s["counts"] == [rows] else ("**%s** ✗" % counts)
        if t.startswith("cqlshift-verify"):
            res = ("equal in %d of %d runs" % (sum(1 for r in rs if r["rc"] == 0 and not r["bad"]),
                                                len(rs)))
            res += " ✓" if all(r["rc"] == 0 and not r["bad"] for r in rs) else \
                " ✗ (%d differences)" % s["bad"]
        else:
            res = "rc 0 in %d of %d runs %s" % (sum(1 for r in rs if r["rc"] == 0), len(rs),
                                                 "✓" if all(r["rc"] == 0 for r in rs) else "✗")
        L.append("| %s | %s | %s | %s–%s | %s | %.1f | %.2f | %.1f | %.0f | %s | %s | %s |" % (
            LABELS[t], LABELS[src] if any(r.get("read_after") for r in rs)
            else LABELS[src] + ", unmeasured", format(round(s["rows_per_s"]), ","),
            format(round(s["spread"][0]), ","), format(round(s["spread"][1]), ","),
            span(ratios(t, src)), s["wall"], s["client_us"], s["server_us"], s["rss_mb"], cnt,
            res, "–" if s["other"] != s["other"] else "%.2f" % s["other"]))
    L.append("")
    L.append("**Targets of issue 17:**\n")
    L.append("| target | measured | |")
    L.append("| --- | --- | --- |")
    for t in (x for x in ("cqlshift-verify", "cqlshift-verify-sqlite") if x in allsumm):
        src = READ_TOOLS[t]
        q = ratios(t, src)
        L.append("| %s ≥ 1.5× %s rows/s, same run | %s%s | %s |" % (
            LABELS[t], LABELS[src], span(q),
            "; per repetition " + ", ".join("%.2f" % x for x in q) if len(q) > 1 else "",
            "–" if not q else "✓" if med(q) >= 1.5 else "✗"))
        L.append("| %s: client CPU ≤ 3 µs a row | %.2f µs | %s |" % (
            LABELS[t], allsumm[t]["client_us"], "✓" if allsumm[t]["client_us"] <= 3 else "✗"))
        if "dsbulk-unload" in allsumm:
            q = ratios(t, "dsbulk-unload", same_table=False)
            L.append("| %s against %s (no target: compared) | %s rows/s against %s: %s; client "
                     "CPU %.2f against %.1f µs a row; server CPU %.1f against %.1f µs a row | |" % (
                         LABELS[t], LABELS["dsbulk-unload"],
                         format(round(allsumm[t]["rows_per_s"]), ","),
                         format(round(allsumm["dsbulk-unload"]["rows_per_s"]), ","), span(q),
                         allsumm[t]["client_us"], allsumm["dsbulk-unload"]["client_us"],
                         allsumm[t]["server_us"], allsumm["dsbulk-unload"]["server_us"]))
    if "cqlshift-unload" in allsumm:
        u = allsumm["cqlshift-unload"]
        if "dsbulk-unload" in allsumm:
            q = ratios("cqlshift-unload", "dsbulk-unload", same_table=False)
            L.append("| %s ≥ 2× %s rows/s, same run (issue 18) | %s%s | %s |" % (
                LABELS["cqlshift-unload"], LABELS["dsbulk-unload"], span(q),
                "; per repetition " + ", ".join("%.2f" % x for x in q) if len(q) > 1 else "",
                "–" if not q else "✓" if med(q) >= 2 else "✗"))
        L.append("| %s: client CPU ≤ 2 µs a row (issue 18) | %.2f µs | %s |" % (
            LABELS["cqlshift-unload"], u["client_us"], "✓" if u["client_us"] <= 2 else "✗"))
        L.append("| %s: peak RSS ≤ 100 MB (issue 18) | %.0f MB | %s |" % (
            LABELS["cqlshift-unload"], u["rss_mb"], "✓" if u["rss_mb"] <= 100 else "✗"))
    L.append("")
    return L


NOTES = """
## What is measured

- **Dataset**: one table, `id uuid PRIMARY KEY, n bigint, i int, ts timestamp,
  short_text text (~20 bytes), long_text text (~200 bytes), amount decimal,
  score double, flag boolean, day date, tags set<text>` (1–4 tags), about 378
  bytes a row as CSV. Generated deterministically (seed 20261124) as CSV (the
  set written as `['x','y']`, timestamps as `2023-04-05 06:07:08.123+0000`,
  texts with commas and non-ASCII letters; no double quotes, because DSBulk and cqlsh COPY default to `\\` as the escape character and misread RFC 4180 `""`) and as a SQLite
  database with the same rows.
- **Tools**: each loads the same rows into an identical empty table, created
  by the harness in a fresh keyspace: the CSV for all tools but `cqlshift
  migrate`, which reads the SQLite database (declared `INTEGER` for `i`,
  `DECIMAL` for `amount`, `TEXT` holding `['x','y']` for `tags`) and
  converts each value to the existing table's type (docs/model.md,
  "Existing tables"). SQLite keeps `DECIMAL` values as REALs, so 12.50
  arrives as 12.5; those are compared as numbers.
  - cqlshift: `cqlshift load data.csv cassandra://127.0.0.4/KS t` (defaults)
    and `cqlshift migrate sqlite:data.sqlite cassandra://127.0.0.4/KS`.
  - cqlshift fan-out (issue 16): `cqlshift migrate plan3.yaml
    cassandra://127.0.0.4/KS`, a plan that reads the SQLite table once and
    writes `t` and two query tables (`t_by_day`, `t_by_short_text`), at
    defaults and with `--batch-mode replica`; and three one-table plans run
    at once, for comparison. See "Fan-out" above.
  - DSBulk 1.10.0 (assembled from its Maven Central modules by
    `bench/setup.sh`): defaults, and `--batch.mode REPLICA_SET
    --batch.maxBatchStatements 50`.
  - cqlsh COPY FROM (PyPI cqlsh 6.2.2, own venv): defaults (NUMPROCESSES is
    cores − 1 = 1, batches of up to 20), and tuned `NUMPROCESSES=2
    MAXBATCHSIZE=50 MINBATCHSIZE=10 CHUNKSIZE=5000 INGESTRATE=1000000`.
  - Python driver (`bench/pyloader.py`): the loader people write by hand:
    `csv.reader`, convert each field, one prepared INSERT,
    `execute_concurrent_with_args(..., concurrency=100)`, token-aware.
  - Reading the table back (issue 17): `cqlshift verify data.csv
    cassandra://127.0.0.4/KS t` and `cqlshift verify sqlite:data.sqlite
    cassandra://127.0.0.4/KS` (defaults) compare the table that `cqlshift
    load` or `cqlshift migrate` wrote earlier in the same repetition with
    its source; DSBulk `unload` (defaults, to CSV files) reads the same
    table as the reference. DSBulk's `count` workflow would be the cheaper
    reference, but `dsbulk-workflow-count` is not published on Maven
    Central, where `bench/setup.sh` assembles DSBulk from. See "Verify".
- **Checks**: after each run the rows are counted with the Python driver by
  256 token ranges (must equal N exactly), and a sample of every
  (N ÷ 10,000)-th row (10,000 rows) is read back by key and compared value by
  value with the generator's values (decimals by digits and scale, except
  from SQLite).
- **Numbers**: wall seconds of the client command; rows/s = N ÷ wall; client
  CPU = user+sys of the client's whole process tree (`RUSAGE_CHILDREN`,
  so JVM threads and cqlsh worker processes count); client peak RSS = the
  largest sum of the tree's resident sizes, sampled every 100 ms; server CPU
  = utime+stime of the Cassandra process from `/proc/PID/stat` between start
  and end of the run (flushes during the run count; compaction after it does
  not). Before each run the harness waits until Cassandra is idle. Runs go
  round-robin over the tools, the table gives medians and the spread over
  the repetitions, and × cqlshift is rows/s relative to `cqlshift load`.
  "Other load" is the CPU that everything else on the machine used during
  the run (all busy time in `/proc/stat` minus client and server), in cores:
  other engineers' test clusters share this machine, so it is the noise.
- The client and the server share the same 2 cores, so a client that burns
  CPU takes it from the server. The server-bound limit is 2 cores ÷ the
  lowest server CPU per row any tool or request shape achieved: the rate at
  which this node would saturate if the client cost nothing.
"""

REPRO = """
## How to reproduce

```
scripts/deps.sh                       # project deps: venv, Cassandra jars
bench/setup.sh                        # DSBulk jars, cqlsh venv, bench venv (cached)
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCQLSHIFT_TESTS=OFF
ninja -C build-bench
scripts/cassandra.sh start --name bench --nodes 1 --ip-base 127.0.0.4
bench/run.sh --rows 1000000 --reps 5  # as published (default 3); --smoke: 10,000 rows, 1 rep, every tool
scripts/cassandra.sh stop --name bench
```

Data is cached in `~/.cache/cqlshift/bench-data`, per-run logs and
`results.jsonl` go to `bench/out/` (not committed). `--tools a,b` runs a
subset; `--report-only` rewrites this page from `results.jsonl`.
"""


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="10,000 rows, 1 rep, every tool")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "out"))
    ap.add_argument("--doc", default=None, help="report path (default docs/benchmarks.md; "
                    "smoke: bench/out/smoke.md)")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--no-warmup", action="store_true",
                    help="skip the unmeasured warm-up loads (a node that just started pays "
                         "for its JIT warm-up in the first runs, whichever tools those are)")
    a = ap.parse_args()
    if a.smoke:
        global QUIET_LIMIT
        a.rows, a.reps = 10000, 1
        QUIET_LIMIT = 10.0
    doc = a.doc or (os.path.join(a.out, "smoke.md") if a.smoke
                    else os.path.join(REPO, "docs", "benchmarks.md"))
    os.makedirs(a.out, exist_ok=True)
    resfile = os.path.join(a.out, "results-%d.jsonl" % a.rows)
    if a.report_only:
        results = [json.loads(l) for l in open(resfile)]
        write_report(results, a.rows, max(r["rep"] for r in results) + 1, a.out, doc, a.smoke)
        return
    tools = a.tools.split(",")
    for t in tools:
        if t not in TOOLS:
            raise SystemExit("unknown tool %s (tools: %s)" % (t, ",".join(TOOLS)))
    if not os.access(CQLSHIFT, os.X_OK):
        raise SystemExit("no cqlshift binary at %s (build it: see docs/benchmarks.md)" % CQLSHIFT)
    host = cluster_env()["CQLSHIFT_CASSANDRA_HOSTS"].split(",")[0]
    data = dataset(a.rows, os.path.join(CACHE, "bench-data"))
    with open(os.path.join(data, "sample.pkl"), "rb") as f:
        sample = pickle.load(f)
    for t in tools:  # the database copies are loaded (once per dataset) before any run
        if t in ("cqlshift-postgres", "cqlshift-mariadb"):
            bench_db("postgres" if t == "cqlshift-postgres" else "mariadb", data, a.rows)
    if os.path.exists(resfile):
        os.rename(resfile, resfile + ".old")
    reads = [t for t in tools if t in READ_TOOLS]
    if not a.smoke and not a.no_warmup:
        # A node that just started costs twice as much CPU a row in its first
        # load (JIT); warm it until two loads in a row cost the server within
        # 10% of each other, at most 4 loads.
        prev, warm = None, None
        for k in range(4):
            log("warm-up %d: an unmeasured cqlshift load, so no measured run pays for a "
                "cold node" % (k + 1))
            drop_keyspaces(host, [warm] if warm else [])
            r = one_run("cqlshift-csv", 99 - k, a.rows, data, sample, host, a.out,
                        keep=bool(reads))
            warm = r["ks"]
            cur = r["server_cpu"] / a.rows * 1e6
            if prev is not None and abs(cur - prev) <= 0.1 * prev:
                break
            prev = cur
        # and its read path: each read tool of the CSV load's table once,
        # unmeasured, on the last warm-up table
        for t in (t for t in reads if READ_TOOLS[t] == "cqlshift-csv"):
            log("warm-up: an unmeasured %s" % t)
            one_run(t, 90, a.rows, data, sample, host, a.out, src_ks=warm)
        drop_keyspaces(host, [warm] if warm else [])
    results = []
    keep = {READ_TOOLS[t] for t in reads}  # load tools whose table a read tool reads
    for rep in range(a.reps):
        kept = {}  # load tool -> its keyspace in this repetition
        try:
            for t in tools:
                if t in READ_TOOLS:
                    r = one_run(t, rep, a.rows, data, sample, host, a.out,
                                src_ks=kept.get(READ_TOOLS[t]))
                else:
                    r = one_run(t, rep, a.rows, data, sample, host, a.out, keep=t in keep)
                    if r.get("ks"):
                        kept[t] = r["ks"]
                results.append(r)
                with open(resfile, "a") as f:
                    f.write(json.dumps(r) + "\n")
        finally:
            drop_keyspaces(host, list(kept.values()))
    write_report(results, a.rows, a.reps, a.out, doc, a.smoke)
    bad = [r for r in results if r["rc"] != 0 or r["count"] != a.rows or r["bad"]]
    if bad:
        log("%d run(s) failed, lost rows or differ: %s" % (
            len(bad), ", ".join("%s/%d" % (r["tool"], r["rep"]) for r in bad)))
        sys.exit(1)


if __name__ == "__main__":
    main()
