#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Summarises a request trace of vaccel-agent or of the rpc plugin.

Agent traces (vaccel-agent --trace FILE): per method, how many requests and
the median and 90th percentile of each timing, in microseconds:
  queue    the request read whole -> a worker starts it
  handler  decoding, the op, encoding the reply
  op       the vAccel op call alone (0 for methods that run none)
  reply    writing the reply to the socket
  total    read -> replied (the agent's whole share of the round trip)

Client traces (VACCEL_RPC_TRACE=FILE): per op, the same statistics of
  total    the op's whole time in the plugin
  call     inside the plugin's calls (encoding, round trip, decoding)
  wire     the round trips alone (request written -> reply read)
  own      total - call: the plugin's work around its calls (copies into
           shared memory, output tensors)

  scripts/trace_summary.py trace.tsv [--skip N] [--method NAME]

--skip N drops each group's first N lines (warm-up runs); --method keeps one
method (agent) or op (client). Standard library only, so that it runs
wherever the agent does.
"""
import argparse
import statistics
import sys

AGENT = ("method", ("queue_us", "handler_us", "op_us", "reply_us", "total_us"), "status")
CLIENT = ("op", ("total_us", "call_us", "wire_us", "own_us"), "rc")


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def read(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().lstrip("#").split()
        if "total_us" not in header or not ("method" in header or "op" in header):
            raise SystemExit(f"{path}: not a vAccel request trace (header {header})")
        for n, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(header):
                raise SystemExit(f"{path}:{n}: {len(parts)} fields, expected {len(header)}")
            rows.append(dict(zip(header, parts)))
    return header, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--skip", type=int, default=0, help="first requests of each method to drop")
    ap.add_argument("--method", help="only this method")
    args = ap.parse_args(argv)

    header, rows = read(args.trace)
    key, columns, status = CLIENT if "op" in header else AGENT
    groups = {}
    for r in rows:
        if args.method and r[key] != args.method:
            continue
        groups.setdefault(r[key], []).append(r)
    if not groups:
        print("no requests")
        return 1
    print(f"{key:<22} {'calls':>7} {'failed':>6}  " +
          "  ".join(f"{c[:-3]:>15}" for c in columns))
    print(f"{'':<22} {'':>7} {'':>6}  " + "  ".join(f"{'median / p90':>15}" for _ in columns))
    for name, group in sorted(groups.items()):
        group = group[args.skip:]
        if not group:
            continue
        failed = sum(1 for r in group if r[status] != "0")
        cells = []
        for c in columns:
            v = [float(r[c]) for r in group]
            cells.append(f"{statistics.median(v):7.1f}/{percentile(v, 0.9):7.1f}")
        print(f"{name:<22} {len(group):>7} {failed:>6}  " + "  ".join(f"{x:>15}" for x in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
