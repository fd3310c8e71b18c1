#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Where a first ResNet-18 call after an idle pause loses its time, natively
# in libtorch (issue 20's cached first result): after each pause, the call
# runs plain, or after a nudge 0.1-1 ms ahead of it (a one-element memset on
# the GPU left running, the same waited for, or the CPU kept busy), and the
# medians of the first call and of the call after it are printed. A nudge
# that brings the first call down to the next one's time says what an agent
# could do when a session opens, before its first request.
# Usage (GPU machine): python3 scripts/gpu_wake_probe.py MODEL.pt [PAUSE_S]
import statistics
import sys
import time

import torch


def busy(us):
    end = time.perf_counter() + us / 1e6
    while time.perf_counter() < end:
        pass


def main():
    model = torch.jit.load(sys.argv[1], map_location="cuda").eval()
    pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    inp = torch.rand(1, 3, 224, 224)
    dummy = torch.zeros(1, device="cuda")

    def call():
        t0 = time.perf_counter()
        with torch.no_grad():
            out = model(inp.to("cuda")).cpu()
        del out
        return (time.perf_counter() - t0) * 1e6

    for _ in range(50):
        call()

    def nudge_async(lead_us):
        def f():
            dummy.zero_()
            busy(lead_us)
        return f

    def nudge_sync():
        dummy.zero_()
        torch.cuda.synchronize()

    cases = [("plain", lambda: None),
             ("memset 100 us ahead", nudge_async(100)),
             ("memset 400 us ahead", nudge_async(400)),
             ("memset 1000 us ahead", nudge_async(1000)),
             ("memset, waited for", nudge_sync),
             ("CPU busy 400 us", lambda: busy(400))]
    for rnd in range(2):
        for name, before in cases:
            first, nxt = [], []
            for _ in range(9):
                time.sleep(pause)
                before()
                first.append(call())
                nxt.append(call())
            print("pause %.3f s, %-22s first %6.0f us, next %6.0f us"
                  % (pause, name + ":", statistics.median(first),
                     statistics.median(nxt)), flush=True)


if __name__ == "__main__":
    main()
