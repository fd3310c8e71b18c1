#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boots the guest of guest/build-initramfs.sh in QEMU (TCG: no KVM needed)
# and runs one command in it against a vaccel-agent already running on the
# host. This is the plain QEMU wiring, spelled out; tools/vaccel-vm does the
# same and also starts and stops the agent.
#
#   guest/run-vm.sh --image DIR --transport virtio-serial --agent-socket PATH
#                   [--timeout S] [--memory MiB] -- COMMAND [ARGS...]
#   guest/run-vm.sh --image DIR --transport tcp --agent-port PORT ...
#
#   --image DIR          holds vmlinuz and initrd.img
#   virtio-serial        a virtio-serial port "vaccel" whose chardev connects
#                        to the agent's unix socket PATH; the guest uses
#                        virtio-serial:///dev/virtio-ports/vaccel
#   tcp                  user-mode network, restricted: the guest reaches only
#                        10.0.2.100:1234, forwarded to 127.0.0.1:PORT (the
#                        agent) by `busybox nc`, one per connection
#   --env NAME=VALUE     one more variable for the command (repeatable)
#
# The guest console goes to stdout; the exit status is the command's, 123
# if the guest did not report one (crash), 124 on timeout.
set -euo pipefail

image=""
transport=""
socket=""
port=""
timeout_s=120
memory=512
envs=()
die() { echo "run-vm: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --agent-socket) socket=$2; shift 2 ;;
    --agent-port) port=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '3,25p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -f "$image/vmlinuz" ] && [ -f "$image/initrd.img" ] || die "--image: no vmlinuz/initrd.img in '$image'"
[ $# -gt 0 ] || die "no command"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (qemu-system-x86)"

# POSIX shell quoting: 'text' with each ' spliced in as '\''.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

case "$transport" in
  virtio-serial)
    [ -S "$socket" ] || die "--agent-socket '$socket' is not a socket"
    addr=virtio-serial:///dev/virtio-ports/vaccel
    # QEMU's chardev is the client of the agent's unix socket; commas in
    # QEMU option values are doubled.
    wiring=(-chardev "socket,id=vaccel,path=${socket//,/,,},reconnect=1"
            -device virtio-serial-pci
            -device virtserialport,chardev=vaccel,name=vaccel
            -nic none)
    ;;
  tcp)
    [ -n "$port" ] || die "--agent-port is required for tcp"
    command -v busybox >/dev/null || die "busybox not found"
    addr=tcp://10.0.2.100:1234
    wiring=(-netdev "user,id=net0,restrict=on,guestfwd=tcp:10.0.2.100:1234-cmd:busybox nc 127.0.0.1 $port"
            -device virtio-net-pci,netdev=net0,romfile=)
    ;;
  *) die "--transport must be virtio-serial or tcp" ;;
esac

script="export VACCEL_RPC_ADDRESS=$(q "$addr")"$'\n'
for e in "${envs[@]}"; do
  script+="export ${e%%=*}=$(q "${e#*=}")"$'\n'
done
script+="exec"
for a in "$@"; do script+=" $(q "$a")"; done
script+=$'\n'

append="console=ttyS0 quiet loglevel=3 panic=-1 VACCEL_RPC_ADDRESS=$addr vaccel_run=$(printf '%s' "$script" | base64 -w0)"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
timeout --kill-after=5 "$timeout_s" \
  qemu-system-x86_64 -accel tcg -m "$memory" -smp 1 -nodefaults -no-user-config \
    -display none -serial stdio -monitor none -no-reboot \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$append" \
    "${wiring[@]}" </dev/null | tee "$out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && { echo "run-vm: timed out after $timeout_s s" >&2; exit 124; }
status=$(tr -d '\r' < "$out" | sed -n 's/^VACCEL_VM_EXIT=\([0-9]*\)$/\1/p' | tail -n1)
if [ -z "$status" ]; then
  echo "run-vm: the guest stopped without an exit status (QEMU: $rc)" >&2
  exit 123
fi
exit "$status"
