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

Both traces of one single-threaded client, call by call:

  scripts/trace_summary.py agent.tsv --pair client.tsv [--skip N]

pairs the agent's requests that ran an op (its most frequent such method)
with the client's most frequent op, in order, and prints per call:
  overhead   client total - agent op: everything vAccel adds around the
             op itself; the sum of the four below
  client     client total - client call: copies into shared memory etc.
  client codec  client call - client wire: encoding, decoding
  transport  client wire - agent (queue + handler): the socket both ways,
             wake-ups, the reply's write
  agent      agent queue + handler - agent op: waiting for a worker,
             decoding, encoding
Traces written by this version stamp the monotonic clock on both sides, so
the transport and agent rows split further:
  request leg     client starts writing -> agent read the frame whole
   reading frame   of which the agent's reader reading it
  reply leg       agent handler done -> client read the reply
   writing reply   of which the agent's write
  agent before op queue + decoding up to the op
  agent after op  the op's end -> the reply encoded
and a line says which CPUs the client and the agent's worker ran on, and
how many replies came through a reply slot (shared memory) rather than the
socket.
and the overhead as a percentage of the op. Pairing per call rather than
subtracting medians matters when the op's time varies widely.

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
    ap.add_argument("--pair", metavar="CLIENT_TRACE",
                    help="the rpc plugin's trace of the same calls (VACCEL_RPC_TRACE)")
    args = ap.parse_args(argv)
    if args.pair:
        return pair(args.trace, args.pair, args.skip)

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


def largest_group(rows, key, keep):
    groups = {}
    for r in rows:
        if keep(r):
            groups.setdefault(r[key], []).append(r)
    if not groups:
        return None, []
    name = max(groups, key=lambda k: len(groups[k]))
    return name, groups[name]


def agent_busy(a):
    # Read whole -> handler done. The reply's write is left to the
    # transport: the client may read the reply before write() returns here.
    return float(a["queue_us"]) + float(a["handler_us"])


def pair(agent_path, client_path, skip):
    header, agent_rows = read(agent_path)
    if "op" in header:
        raise SystemExit(f"{agent_path}: expected the agent's trace first")
    cheader, client_rows = read(client_path)
    if "op" not in cheader:
        raise SystemExit(f"{client_path}: not a client (VACCEL_RPC_TRACE) trace")
    method, agent = largest_group(agent_rows, "method", lambda r: float(r["op_us"]) > 0)
    # Lines are written after each reply, not always in the order the
    # requests came: put them back in that order.
    agent.sort(key=lambda r: float(r["at_ms"]))
    op, client = largest_group(client_rows, "op", lambda r: r["rc"] == "0")
    if not agent or not client:
        print("nothing to pair")
        return 1
    if len(agent) != len(client):
        # A call the client timed out on, or one the agent saw fail:
        # keep the common tail, where both sides are in step again.
        print(f"note: {len(agent)} agent {method} vs {len(client)} client {op}; "
              "pairing the last calls of each")
        n = min(len(agent), len(client))
        agent, client = agent[-n:], client[-n:]
    pairs = list(zip(agent, client))[skip:]
    if not pairs:
        print("nothing left after --skip")
        return 1
    cols = {
        "op (agent)": [float(a["op_us"]) for a, _ in pairs],
        "total (client)": [float(c["total_us"]) for _, c in pairs],
        "overhead": [float(c["total_us"]) - float(a["op_us"]) for a, c in pairs],
        "client": [float(c["own_us"]) for _, c in pairs],
        "client codec": [float(c["call_us"]) - float(c["wire_us"]) for _, c in pairs],
        "transport": [float(c["wire_us"]) - agent_busy(a) for a, c in pairs],
        "agent": [agent_busy(a) - float(a["op_us"]) for a, _ in pairs],
    }
    timeline = "read_ns" in agent[0] and "wire_start_ns" in client[0]
    if timeline:
        # Both traces stamp the monotonic clock: the transport's share
        # splits into the request's way to the agent and the reply's way
        # back, and the agent's into before and after the op.
        def busy_end_ns(a):
            return int(a["read_ns"]) + 1000.0 * agent_busy(a)
        cols.update({
            "request leg": [(int(a["read_ns"]) - int(c["wire_start_ns"])) / 1000.0
                            for a, c in pairs],
            " reading frame": [float(a["frame_us"]) for a, _ in pairs],
            "reply leg": [(int(c["wire_end_ns"]) - busy_end_ns(a)) / 1000.0
                          for a, c in pairs],
            " writing reply": [float(a["reply_us"]) for a, _ in pairs],
            "agent before op": [float(a["queue_us"]) + float(a["pre_op_us"])
                                for a, _ in pairs],
            "agent after op": [float(a["post_op_us"]) for a, _ in pairs],
        })
    pct = [100.0 * o / op_ for o, op_ in zip(cols["overhead"], cols["op (agent)"]) if op_ > 0]
    print(f"{len(pairs)} calls: agent {method} with client {op}; us, median / p10 / p90")
    for name, v in cols.items():
        print(f"  {name:<16} {statistics.median(v):9.1f} {percentile(v, 0.1):9.1f} "
              f"{percentile(v, 0.9):9.1f}")
    print(f"  {'overhead / op':<16} {statistics.median(pct):8.2f}% {percentile(pct, 0.1):8.2f}% "
          f"{percentile(pct, 0.9):8.2f}%")
    if timeline:
        print("  " + cpu_summary(pairs))
    if "slot" in client[0]:
        slotted = sum(1 for _, c in pairs if c["slot"] == "1")
        print(f"  replies through a reply slot: {slotted} of {len(pairs)}")
    return 0


def cpu_summary(pairs):
    """Where the threads ran: a worker sharing the caller's CPU, or either
    moving between calls, shows up as time in the legs."""
    def spread(values):
        counts = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        top = max(counts, key=counts.get)
        return f"{len(counts)} (mostly {top}, {100 * counts[top] // len(values)}%)"
    client = [c["cpu"] for _, c in pairs]
    worker = [a["cpu"] for a, _ in pairs]
    shared = sum(1 for a, c in pairs if a["cpu"] in (c["cpu"], c["cpu_end"]))
    moved = sum(1 for _, c in pairs if c["cpu"] != c["cpu_end"])
    return (f"cpus: client on {spread(client)}, agent worker on {spread(worker)}; "
            f"worker on the client's CPU in {shared} calls, client moved "
            f"during the round trip in {moved}")


if __name__ == "__main__":
    sys.exit(main())
