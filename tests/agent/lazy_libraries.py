#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that the agent, libvaccel and the rpc plugin do not link the
libraries they load on first use (src/base/lazy_*.cpp, agent/lazy_*.cpp):
a DT_NEEDED entry for one of them puts it back into every start, which is
what a fresh agent's start to ready and a client's start pay for.

  lazy_libraries.py FILE...
"""
import subprocess
import sys

LAZY = ("libssl.so", "libcrypto.so", "libcurl", "libmicrohttpd")


def needed(path):
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def main(paths):
    bad = 0
    for path in paths:
        libs = needed(path)
        if not libs:
            print("%s: no NEEDED entries at all: not a dynamic ELF file?" % path)
            bad += 1
        for lib in libs:
            if lib.startswith(LAZY):
                print("%s links %s, which it should load on first use" % (path, lib))
                bad += 1
        print("%s: %s" % (path, " ".join(libs)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
