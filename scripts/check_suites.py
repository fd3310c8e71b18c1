#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that the last ctest run in a build tree ran every suite CI expects.

A suite (a CTest label) with no tests means CMake left it out because a
dependency was missing at configure time; a test that skipped itself
(GTEST_SKIP, "[  SKIPPED ]" in its output) did not test anything. Both fail
here, loudly, naming what is missing, unless the skip is one this machine
cannot avoid (ALLOWED_SKIPS, each with its reason). Also prints, per suite,
how many tests ran and how long they took.

  scripts/check_suites.py BUILD_DIR
"""
import json
import os
import re
import subprocess
import sys

# Every label the default build must have tests in, and what provides it.
EXPECTED = {
    "unit": "the core runtime's unit tests",
    "capi": "the C API value helpers",
    "abi": "the public headers as C11/C++20",
    "plugins": "noop/exec/mbench plugin tests",
    "examples": "the examples with their expected output",
    "transport": "sockets and framing",
    "agent": "vaccel-agent",
    "rpc": "the rpc plugin against a real agent",
    "security": "the agent's attack suite",
    "cli": "the vaccel CLI",
    "torch": "the torch plugin (libtorch-dev)",
    "opencv": "the opencv plugin (libopencv-dev)",
    "opencl": "the opencl plugin (ocl-icd-opencl-dev, pocl-opencl-icd)",
    "blas": "the blas plugin (libopenblas-dev)",
    "cuda": "the cuda plugin's no-device tests (nvidia-cuda-toolkit)",
    "python": "the Python bindings (python3-dev, pybind11-dev)",
    "vm": "QEMU guests (qemu-system-x86, busybox-static)",
    "package": "the install and consumer package test",
    "deploy": "systemd unit and Kubernetes manifests",
    "main": "the main job (scripts/main_job.py)",
    "coldstart": "the cold-start benchmark's smoke run (the torch plugin, libtorch)",
    "parity": "upstream vAccel's observable behaviour (tests/unit/test_parity.cpp)",
}

# Single tests whose absence a label count would not show (the vm label
# also holds vaccel-vm's unit tests, which need no QEMU).
EXPECTED_TESTS = {
    "vm_guest_image": "QEMU guests (qemu-system-x86, busybox-static, the static guest build)",
    "main_job": "the main job (the torch and opencv plugins and QEMU)",
    "abi_headers_parse": "the headers through pycparser/cffi (python3-pycparser, python3-cffi)",
}

# Skips this machine cannot avoid: test name pattern -> why.
ALLOWED_SKIPS = {
    r"^Stream\w*\.Vsock\w*$|vsock": "no vsock transport in this VM (bind only; never connect)",
}


# gtest's line for a skipped test (not its "N tests, listed below" summary).
SKIP_LINE = re.compile(r"\[  SKIPPED \] [A-Za-z_][\w/]*\.[\w/]+")


def tests_and_labels(build):
    out = subprocess.run(["ctest", "--test-dir", build, "-N", "--show-only=json-v1"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    labels = {}
    for t in json.loads(out)["tests"]:
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        labels[t["name"]] = props.get("LABELS", [])
    return labels


def last_run(build):
    """{test name: (seconds, skipped)} from Testing/Temporary/LastTest.log."""
    path = os.path.join(build, "Testing", "Temporary", "LastTest.log")
    runs = {}
    name, skipped = None, False
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^\d+/\d+ Test: (.+)$", line.rstrip("\n"))
            if m:
                name, skipped = m.group(1), False
                continue
            if name is None:
                continue
            if SKIP_LINE.search(line):
                skipped = True
            m = re.match(r"^Test time =\s+([\d.]+) sec", line)
            if m:
                runs[name] = (float(m.group(1)), skipped)
                name = None
    return runs


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    runs = last_run(build)  # first: ctest -N rewrites LastTest.log
    labels = tests_and_labels(build)
    problems = []
    print("%-10s %6s %6s %8s %9s" % ("suite", "tests", "ran", "skipped", "seconds"))
    for label in sorted(set(EXPECTED) | {l for ls in labels.values() for l in ls}):
        names = [n for n, ls in labels.items() if label in ls]
        ran = [n for n in names if n in runs]
        skipped = [n for n in ran if runs[n][1]]
        secs = sum(runs[n][0] for n in ran)
        print("%-10s %6d %6d %8d %9.1f" % (label, len(names), len(ran), len(skipped), secs))
        if label in EXPECTED and not names:
            problems.append("suite '%s' has no tests: %s was not built (its dependency was missing "
                            "when CMake configured; scripts/setup.sh installs it)" % (label, EXPECTED[label]))
        elif label in EXPECTED and not ran:
            problems.append("suite '%s' did not run" % label)
    for name, what in EXPECTED_TESTS.items():
        if name not in labels:
            problems.append("test '%s' is not registered: %s was not built" % (name, what))
        elif name not in runs:
            problems.append("test '%s' did not run" % name)
    allowed = [(re.compile(p), why) for p, why in ALLOWED_SKIPS.items()]
    for n, (_, skipped) in sorted(runs.items()):
        if not skipped:
            continue
        why = next((w for p, w in allowed if p.search(n)), None)
        if why:
            print("skipped (allowed): %s: %s" % (n, why))
        else:
            problems.append("test '%s' skipped itself: its output says why" % n)
    if problems:
        print("\nSUITES INCOMPLETE:\n  " + "\n  ".join(problems))
        return 1
    print("every expected suite ran; %d tests" % len(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
