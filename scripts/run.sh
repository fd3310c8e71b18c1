#!/usr/bin/env bash
# The main job, in one command: installs the build dependencies, builds the
# default preset (build/default, the tree the README and docs refer to),
# then classifies 100 Fashion-MNIST test images with the shipped model
# natively (torch and opencv plugins), through a local vaccel-agent, and
# from inside a QEMU guest booted by vaccel-vm, and last finds the lines of
# a rendered text image with PaddleOCR's detector through the opencv plugin
# (scripts/main_job.py).
# Arguments go to scripts/main_job.py (--images N, --no-vm, --keep).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"
exec /usr/bin/python3 scripts/main_job.py "$@"
