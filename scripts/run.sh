#!/usr/bin/env bash
# The main job, end to end with no configuration: installs the build
# dependencies, builds the release preset, runs the examples through the
# runtime and its bundled plugins, then the exec example remotely through
# the rpc plugin and a vaccel-agent.
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

# The same exec call from a "guest": the rpc transport plugin forwards it to
# a vaccel-agent (here on a unix socket) that runs it with the exec plugin.
sock=$(mktemp -u /tmp/vaccel-agent.XXXXXX.sock)
VACCEL_PLUGINS=libvaccel-exec.so "$bin/vaccel-agent" -a "unix://$sock" &
agent=$!
trap 'kill $agent 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
run env VACCEL_PLUGINS=libvaccel-rpc.so VACCEL_RPC_ADDRESS="unix://$sock" \
  "$bin/exec" "$(pwd)/$lib/libmytestlib.so"
kill "$agent"; wait "$agent" || true
