#!/usr/bin/env bash
# The main job, end to end with no configuration: installs the build
# dependencies, builds the release preset, and runs the examples through the
# runtime and its bundled plugins.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

bin=build/release/bin
lib=build/release/lib
data=examples/data

run() {
  echo
  echo "\$ $*"
  "$@"
}

# Bare plugin names are found next to libvaccel.so.
export VACCEL_PLUGINS=${VACCEL_PLUGINS:-libvaccel-exec.so:libvaccel-noop.so}
echo "VACCEL_PLUGINS=$VACCEL_PLUGINS"
# exec: the exec plugin dlopen()s the library and runs mytestfunc (doubles 10)
run env VACCEL_PLUGINS=libvaccel-exec.so "$bin/exec" "$lib/libmytestlib.so"
run env VACCEL_PLUGINS=libvaccel-exec.so "$bin/exec_with_resource" "$lib/libmytestlib.so"
# the same calls as generic ops
run env VACCEL_PLUGINS=libvaccel-exec.so "$bin/exec_generic" "$lib/libmytestlib.so"
# image classification and sgemm routed to the noop plugin (dummy results)
run "$bin/classify" "$data/example.jpg" 1
run "$bin/sgemm"
run "$bin/noop"
