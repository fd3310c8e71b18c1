#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Guest benchmarks (docs/guests.md, "Numbers"):
#   1. a vAccel noop round trip from the guest over virtio-serial, against a
#      raw 64-byte ping-pong over a second virtio-serial port of the same
#      guest to an echo on the host (the floor any protocol pays there);
#   2. image classification in the guest against the same call natively:
#      over rpc from a host process, and in-process with the plugin.
# The same numbers from a host process over the agent's unix socket show
# what the VM adds.
#
#   guest/bench/run-bench.sh [--build DIR] [--plugins LIST] [-n N] [--accel tcg|kvm]
#
# DIR is a build tree configured with VACCEL_STATIC_GUEST=ON whose VM tests
# ran once (they make DIR/guest/vm); LIST the agent's plugins (default
# noop; a classify backend such as torch makes (2) meaningful).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build/default
plugins=noop
n=2000
accel=tcg
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --plugins) plugins=$2; shift 2 ;;
    -n) n=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    -h|--help) sed -n '3,19p' "$0"; exit 0 ;;
    *) echo "run-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
image=$build/guest/vm
[ -f "$image/initrd.img" ] || { echo "run-bench: no guest image in $image (run ctest -L vm first)" >&2; exit 1; }
libs=""
for p in ${plugins//:/ }; do libs+="${libs:+:}$build/lib/libvaccel-$p.so"; done
ncls=$(( n / 10 > 0 ? n / 10 : 1 ))

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

VACCEL_PLUGINS=$libs "$build/bin/vaccel-agent" -a "unix://$work/agent.sock" >"$work/agent.log" 2>&1 &
pids+=($!)
"$build/guest/host-bin/vport-echo" "$work/echo.sock" >"$work/echo.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  [ -S "$work/agent.sock" ] && [ -S "$work/echo.sock" ] && break
  sleep 0.05
done

lat=$build/guest/host-bin/vaccel-lat
img=$here/../../examples/data/example.jpg
echo "== host process, rpc over the agent's unix socket"
VACCEL_PLUGINS=$build/lib/libvaccel-rpc.so VACCEL_RPC_ADDRESS=unix://$work/agent.sock "$lat" noop "$n"
VACCEL_PLUGINS=$build/lib/libvaccel-rpc.so VACCEL_RPC_ADDRESS=unix://$work/agent.sock "$lat" classify "$img" "$ncls"
echo "== host process, plugins in-process"
VACCEL_PLUGINS=$libs "$lat" noop "$n"
VACCEL_PLUGINS=$libs "$lat" classify "$img" "$ncls"

echo "== guest (QEMU, $accel), virtio-serial"
script="export VACCEL_RPC_ADDRESS=virtio-serial:///dev/virtio-ports/vaccel
vaccel-lat noop $n
vport-ping /dev/virtio-ports/ping $n 64
vaccel-lat classify /data/example.jpg $ncls
"
qemu-system-x86_64 -accel "$accel" -m 512 -smp 1 -nodefaults -no-user-config \
  -display none -serial stdio -monitor none -no-reboot \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 vaccel_run=$(printf '%s' "$script" | base64 -w0)" \
  -device virtio-serial-pci \
  -chardev "socket,id=vaccel,path=$work/agent.sock" -device virtserialport,chardev=vaccel,name=vaccel \
  -chardev "socket,id=ping,path=$work/echo.sock" -device virtserialport,chardev=ping,name=ping \
  -nic none </dev/null | tr -d '\r' | grep -E '^(noop|classify|vport ping)'
