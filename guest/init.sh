#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of the guest that guest/build-initramfs.sh builds: PID 1 in a
# busybox initramfs. It brings up what a vAccel guest needs (virtio modules,
# /dev/virtio-ports/NAME links as udev would make them, the user-mode
# network), runs one command, prints its exit status on the console and
# powers the VM off.
#
# Kernel command line (name=value parameters become this script's
# environment; vaccel-vm writes them, docs/guests.md lists them):
#   VACCEL_RPC_ADDRESS=...  passed on to the command (and any other VACCEL_*)
#   vaccel_run=<base64>     the command: a shell script, base64-encoded so
#                           that any quoting survives the command line
#   vaccel_ip=ADDR/LEN      eth0's address (default 10.0.2.15/24, QEMU's
#                           user-mode network)
#   vaccel_halt=reboot      leave with reboot -f (Firecracker has no ACPI
#                           power-off; it stops on a reset)
# Without vaccel_run, the arguments after "--" on the command line run; with
# neither, a shell on the console.
#
# The last line the guest prints is "VACCEL_VM_EXIT=<status>": vaccel-vm
# returns that status, and a VM that stops without it has crashed.

export PATH=/usr/bin:/bin:/usr/sbin:/sbin
/bin/busybox --install -s /bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/virtio-ports
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

while read -r m; do
  modprobe -q "$m" 2>/dev/null
done < /etc/modules

# A port's name arrives from the host a moment after its device appears;
# wait (at most 2 s) until every port has one.
ports_named() {
  for p in /sys/class/virtio-ports/*; do
    [ -e "$p/name" ] || continue
    [ -n "$(cat "$p/name" 2>/dev/null)" ] || return 1
  done
  return 0
}
i=0
while ! ports_named && [ $i -lt 40 ]; do
  usleep 50000
  i=$((i + 1))
done
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] || continue
  name=$(cat "$p/name")
  [ -n "$name" ] && ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$name"
done

ip link set lo up 2>/dev/null
if [ -e /sys/class/net/eth0 ]; then
  ip addr add "${vaccel_ip:-10.0.2.15/24}" dev eth0
  ip link set eth0 up
fi

cd /tmp
if [ -n "$vaccel_run" ]; then
  echo "$vaccel_run" | base64 -d > /run/vaccel-run.sh
  sh /run/vaccel-run.sh
  rc=$?
elif [ $# -gt 0 ]; then
  "$@"
  rc=$?
else
  setsid cttyhack sh
  rc=$?
fi

sync
echo "VACCEL_VM_EXIT=$rc"
if [ "$vaccel_halt" = reboot ]; then
  reboot -f
else
  poweroff -f
fi
