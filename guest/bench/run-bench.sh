#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Guest benchmarks (docs/guests.md, "Numbers"):
#   1. a vAccel noop round trip from the guest over virtio-serial, against a
#      raw 64-byte ping-pong over a second virtio-serial port of the same
#      guest to an echo on the host (the floor any protocol pays there);
#   2. image classification in the guest against the same call natively:
#      over rpc from a host process, and in-process with the plugin;
#   3. data from the guest: minmax (the noop plugin copies the input to the
#      output) of 1, 16 and 64 MiB, through the sandbox memory (vaccel-vm's
#      ivshmem device; in place from vaccel_buffer_alloc() buffers, and
#      copied into it from malloc'd ones) against the same calls copied over
#      virtio-serial (VACCEL_RPC_SHM=0), in one guest, with their ratios.
# The same numbers from a host process over the agent's unix socket show
# what the VM adds.
#
#   guest/bench/run-bench.sh [--build DIR] [--plugins LIST] [-n N] [--accel tcg|kvm]
#                            [--data-n N] [--sizes "1 16 64"] [--only-data]
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
data_n=5
sizes="1 16 64"
only_data=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --plugins) plugins=$2; shift 2 ;;
    -n) n=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    --data-n) data_n=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --only-data) only_data=1; shift ;;
    -h|--help) sed -n '3,26p' "$0"; exit 0 ;;
    *) echo "run-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
image=$build/guest/vm
[ -f "$image/initrd.img" ] || { echo "run-bench: no guest image in $image (run ctest -L vm first)" >&2; exit 1; }
libs=""
for p in ${plugins//:/ }; do libs+="${libs:+:}$build/lib/libvaccel-$p.so"; done
ncls=$(( n / 10 > 0 ? n / 10 : 1 ))

# 3. Data through the sandbox memory against copies, in one guest.
data_bench() {
  local max=0
  for m in $sizes; do [ "$m" -gt "$max" ] && max=$m; done
  # Room for a size's input and output twice over (buffers, then the
  # copies of the malloc'd ones); a power of two.
  local shm=1
  while [ "$shm" -lt $(( 4 * max + 1 )) ]; do shm=$(( shm * 2 )); done
  echo "== guest (QEMU, $accel): minmax of MiB through the sandbox memory vs copies over virtio-serial, $data_n calls each"
  "$build/bin/vaccel-vm" --accel "$accel" -m $(( 512 + 8 * max )) --shm-size "${shm}M" \
      -k "$image/vmlinuz" -i "$image/initrd.img" -p "$libs" --timeout 3600 -- \
      sh -c "VACCEL_RPC_SHM=0 vaccel-shm bench $data_n $sizes | sed 's/^bench /copies /'; vaccel-shm bench $data_n $sizes" |
    tr -d '\r' | awk '
      # "bench|copies buffer|malloc N MiB: p50=T ms ...": buffer = in place
      # with the memory, malloc = copied into it.
      /^(copies|bench) / {
        print
        v = $5; sub(/p50=/, "", v)
        if ($1 == "copies") { copy[$2, $3] = v; next }
        if ((($2, $3) in copy) && v > 0)
          printf "ratio %s %s MiB: copies over virtio-serial / sandbox memory = %.1fx\n", $2, $3, copy[$2, $3] / v
      }'
}

if [ "$only_data" = 1 ]; then
  data_bench
  exit 0
fi

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# VACCEL_BENCH_AGENT_ARGS: more agent options (e.g. "--inline-us 0").
# shellcheck disable=SC2086
VACCEL_PLUGINS=$libs "$build/bin/vaccel-agent" -a "unix://$work/agent.sock" ${VACCEL_BENCH_AGENT_ARGS:-} >"$work/agent.log" 2>&1 &
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
  -nic none </dev/null | tr -d '\r' | grep -E '^(noop|classify|vport ping)' | tee "$work/guest.txt"
# The noop against the raw ping-pong of the same guest, medians.
awk '/^noop:/ { for (i = 1; i <= NF; i++) if ($i ~ /^p50=/) { sub("p50=", "", $i); noop = $i } }
     /^vport ping/ { for (i = 1; i <= NF; i++) if ($i ~ /^p50=/) { sub("p50=", "", $i); ping = $i } }
     END { if (noop > 0 && ping > 0) printf "ratio noop: %.2fx the raw virtio-serial ping-pong (p50 %s vs %s us)\n", noop / ping, noop, ping }' "$work/guest.txt"

data_bench
