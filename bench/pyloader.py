#!/usr/bin/env python3
"""The Python-driver loader people write by hand, for the benchmark:
csv.reader, convert each field, one prepared INSERT,
execute_concurrent_with_args with 100 requests in flight, token-aware.

    pyloader.py FILE.csv HOST KEYSPACE TABLE
"""
import csv
import datetime as dt
import decimal
import sys
import uuid

from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import TokenAwarePolicy, DCAwareRoundRobinPolicy

EPOCH = dt.datetime(1970, 1, 1)


def ts(s):  # '2023-04-05 06:07:08.123+0000'
    return dt.datetime.strptime(s[:23], "%Y-%m-%d %H:%M:%S.%f")


def tags(s):  # "['a','b']"
    return {t.strip().strip("'") for t in s[1:-1].split(",") if t.strip()}


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        for f_ in r:
            yield (uuid.UUID(f_[0]), int(f_[1]), int(f_[2]), ts(f_[3]), f_[4], f_[5],
                   decimal.Decimal(f_[6]), float(f_[7]), f_[8] == "true",
                   dt.date.fromisoformat(f_[9]), tags(f_[10]))


def main():
    path, host, ks, table = sys.argv[1:5]
    cluster = Cluster([host], protocol_version=5,
                      load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()))
    s = cluster.connect(ks)
    ins = s.prepare("INSERT INTO %s (id, n, i, ts, short_text, long_text, amount, score, "
                    "flag, day, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?)" % table)
    n = 0
    for ok, res in execute_concurrent_with_args(s, ins, rows(path), concurrency=100,
                                                raise_on_first_error=True,
                                                results_generator=True):
        n += 1
    cluster.shutdown()
    print("loaded %d rows" % n)


if __name__ == "__main__":
    main()
