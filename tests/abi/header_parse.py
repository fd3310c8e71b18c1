#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The public headers as header-parsing bindings see them.

Bindings built with cffi (upstream's vaccel-python among them) run the C
compiler's preprocessor on <vaccel.h>, keep the lines that come from vAccel's
headers, drop the `deprecated` attributes (upstream's own headers carry them
too) and hand the rest to pycparser, which knows no other GNU extension.
This does the same and fails on anything pycparser or cffi's cdef() refuses.

usage: header_parse.py <cc> <include dir>...
"""

import re
import subprocess
import sys

# Standard types the kept lines use; their real definitions live in system
# headers, whose lines are dropped like the bindings drop them.
PRELUDE = """
typedef unsigned long size_t;
typedef long ssize_t;
typedef long ptrdiff_t;
typedef _Bool bool;
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long int64_t;
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;
typedef long intptr_t;
typedef unsigned long uintptr_t;
typedef struct { int opaque; } va_list;
"""

LINEMARKER = re.compile(r'^# \d+ "(.*?)"')


def preprocess(cc, includes):
    args = [cc, "-E", "-std=c11"] + [f"-I{d}" for d in includes] + ["-"]
    out = subprocess.run(args, input="#include <vaccel.h>\n", text=True,
                         capture_output=True, check=True)
    return out.stdout


def ours(path, includes):
    return any(path.startswith(d.rstrip("/") + "/") for d in includes)


def keep_our_lines(text, includes):
    kept, mine = [], False
    for line in text.splitlines():
        m = LINEMARKER.match(line)
        if m:
            mine = ours(m.group(1), includes)
            continue
        if mine and not line.startswith("#"):
            kept.append(line)
    return "\n".join(kept)


def strip_deprecated(text):
    """Removes __attribute__((...deprecated...)); leaves any other one."""
    out, i = [], 0
    attr = re.compile(r"__attribute__\s*\(\(")
    while True:
        m = attr.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:m.start()])
        j, depth = m.end(), 2
        while depth > 0:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        if "deprecated" not in text[m.start():j]:
            out.append(text[m.start():j])
        i = j


def strip_bodies(text):
    """Declarations only, as cdef() wants: inline definitions removed."""
    out, i = [], 0
    start = re.compile(r"\bstatic\s+inline\b")
    while True:
        m = start.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:m.start()])
        j = text.index("{", m.end()) + 1
        depth = 1
        while depth > 0:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j


def main():
    cc, includes = sys.argv[1], sys.argv[2:]
    source = strip_deprecated(keep_our_lines(preprocess(cc, includes),
                                             includes))
    if "__attribute__" in source:
        at = source.index("__attribute__")
        print("a GNU attribute reaches header parsers:\n" +
              source[max(0, at - 200):at + 80])
        return 1

    import pycparser
    pycparser.CParser().parse(PRELUDE + source, "<vaccel.h>")
    print(f"pycparser {pycparser.__version__}: parsed "
          f"{len(source.splitlines())} lines")

    try:
        import cffi
    except ImportError:
        print("cffi is not installed: cdef() not tried")
        return 0
    ffi = cffi.FFI()
    decls = strip_bodies(source)
    # cffi knows the standard types itself.
    ffi.cdef(decls)
    print(f"cffi {cffi.__version__}: cdef() accepted the declarations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
