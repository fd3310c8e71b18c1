#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Summarises a vaccel-agent request trace (vaccel-agent --trace FILE).

For each method: how many requests, and the median and 90th percentile of
each timing column, in microseconds:
  queue    the request read whole -> a worker starts it
  handler  decoding, the op, encoding the reply
  op       the vAccel op call alone (0 for methods that run none)
  reply    writing the reply to the socket
  total    read -> replied (the agent's whole share of the round trip)

  scripts/trace_summary.py trace.tsv [--skip N] [--method NAME]

--skip N drops each method's first N requests (warm-up runs).
Standard library only, so that it runs wherever the agent does.
"""
import argparse
import statistics
import sys

COLUMNS = ("queue_us", "handler_us", "op_us", "reply_us", "total_us")


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def read(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().lstrip("#").split()
        if "method" not in header or "total_us" not in header:
            raise SystemExit(f"{path}: not a vaccel-agent trace (header {header})")
        for n, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(header):
                raise SystemExit(f"{path}:{n}: {len(parts)} fields, expected {len(header)}")
            rows.append(dict(zip(header, parts)))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--skip", type=int, default=0, help="first requests of each method to drop")
    ap.add_argument("--method", help="only this method")
    args = ap.parse_args(argv)

    by_method = {}
    for r in read(args.trace):
        if args.method and r["method"] != args.method:
            continue
        by_method.setdefault(r["method"], []).append(r)
    if not by_method:
        print("no requests")
        return 1
    print(f"{'method':<22} {'calls':>7} {'failed':>6}  " +
          "  ".join(f"{c[:-3]:>15}" for c in COLUMNS))
    print(f"{'':<22} {'':>7} {'':>6}  " + "  ".join(f"{'median / p90':>15}" for _ in COLUMNS))
    for method, rows in sorted(by_method.items()):
        rows = rows[args.skip:]
        if not rows:
            continue
        failed = sum(1 for r in rows if r["status"] != "0")
        cells = []
        for c in COLUMNS:
            v = [float(r[c]) for r in rows]
            cells.append(f"{statistics.median(v):7.1f}/{percentile(v, 0.9):7.1f}")
        print(f"{method:<22} {len(rows):>7} {failed:>6}  " + "  ".join(f"{x:>15}" for x in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
