#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds a minimal guest for QEMU: Debian's cloud kernel and a busybox
# initramfs holding the virtio modules, guest/init.sh as /init, and the
# programs and files given. docs/guests.md describes the result.
#
#   guest/build-initramfs.sh --out DIR [--bin DIR]... [--file SRC[:DEST]]...
#                            [--cache DIR]
#
#   --out DIR        writes DIR/vmlinuz, DIR/initrd.img, DIR/kernel-version
#   --bin DIR        every regular file of DIR goes to /usr/bin, stripped
#   --file SRC:DEST  one file into the image (DEST absolute; default
#                    /data/<name of SRC>)
#   --cache DIR      where the kernel package is downloaded and unpacked
#                    (default DIR/cache); kept between runs
#
# The kernel comes from the Debian archive: linux-image-cloud-amd64 names the
# versioned package, which `apt-get download` fetches once into the cache.
# VACCEL_GUEST_KERNEL_DEB=<file.deb> uses a package already at hand.
# Needs: apt-get (or that variable), dpkg-deb, objcopy, strip, gzip and a
# static busybox (busybox-static).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=""
cache=""
bins=()
files=()
# What the guest needs from the kernel, by module name: virtio over PCI, the
# virtio-serial ports, the network card, vsock and a disk for --rootfs. On a
# kernel where one is built in, it is simply not found as a module.
modules=(virtio_pci virtio_mmio virtio_console virtio_net
         vmw_vsock_virtio_transport virtio_blk)

die() { echo "build-initramfs: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    -h|--help) sed -n '3,21p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$out" ] || die "--out DIR is required"
mkdir -p "$out"
out=$(cd "$out" && pwd)
cache=${cache:-$out/cache}
mkdir -p "$cache"

for tool in dpkg-deb objcopy strip gzip; do
  command -v "$tool" >/dev/null || die "'$tool' not found"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (install busybox-static)"
# The guest has no libc: only a static busybox works as its userland.
if command -v file >/dev/null && ! file -L "$busybox" | grep -q 'statically linked'; then
  die "$busybox is not statically linked (install busybox-static)"
fi

# ---- kernel -----------------------------------------------------------------
deb=${VACCEL_GUEST_KERNEL_DEB:-}
if [ -z "$deb" ]; then
  deb=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | sort -V | tail -n1 || true)
fi
if [ -z "$deb" ]; then
  command -v apt-get >/dev/null || die "apt-get not found: set VACCEL_GUEST_KERNEL_DEB"
  # The metapackage depends on exactly one versioned image package.
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
  [ -n "$pkg" ] || die "cannot resolve linux-image-cloud-amd64 (run apt-get update?)"
  echo "build-initramfs: downloading $pkg into $cache"
  (cd "$cache" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | tail -n1 || true)
  [ -n "$deb" ] || die "apt-get download $pkg failed"
fi
kroot=$cache/kernel-$(basename "$deb" .deb)
if [ ! -f "$kroot/.unpacked" ]; then
  rm -rf "$kroot"
  mkdir -p "$kroot"
  dpkg-deb -x "$deb" "$kroot"
  touch "$kroot/.unpacked"
fi
vmlinuz=$(ls "$kroot"/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}
moddir=$kroot/lib/modules/$kver

# The sandbox memory (QEMU's ivshmem device, docs/guests.md) is mapped
# through the device's sysfs resource2 file, with no driver: the kernel
# needs PCI and sysfs, and must not be locked down (lockdown refuses to map
# a PCI BAR; Debian's locks down only under EFI secure boot, which QEMU's
# default firmware does not have). Said loudly, since guests then copy.
kconfig=$kroot/boot/config-$kver
if [ -f "$kconfig" ]; then
  for want in CONFIG_PCI=y CONFIG_SYSFS=y; do
    grep -qx "$want" "$kconfig" ||
      echo "build-initramfs: warning: $kver lacks $want: no sandbox memory in the guest" >&2
  done
  if grep -qE '^CONFIG_LOCK_DOWN_KERNEL_FORCE_(INTEGRITY|CONFIDENTIALITY)=y' "$kconfig"; then
    echo "build-initramfs: warning: $kver is always locked down: no sandbox memory in the guest" >&2
  fi
fi

# ---- initramfs tree ---------------------------------------------------------
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,data,etc}
cp "$busybox" "$stage/bin/busybox"
install -m 0755 "$here/init.sh" "$stage/init"

# Modules with their dependencies (from each .ko's .modinfo "depends="),
# then busybox depmod writes the modules.dep that modprobe reads.
declare -A seen=()
find_module() { # name -> path of its .ko under $moddir, or nothing
  local n=${1//-/_}
  find "$moddir/kernel" \( -name "$n.ko" -o -name "${n//_/-}.ko" \) | head -n1
}
add_module() {
  local name=${1//-/_} ko dep
  [ -z "${seen[$name]:-}" ] || return 0
  seen[$name]=1
  ko=$(find_module "$name")
  if [ -z "$ko" ]; then
    grep -qE "/${name}\.ko$" "$moddir/modules.builtin" 2>/dev/null ||
      echo "build-initramfs: note: module $name not found in $kver" >&2
    return 0
  fi
  local rel=${ko#"$moddir"/}
  mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
  cp "$ko" "$stage/lib/modules/$kver/$rel"
  for dep in $(objcopy -O binary --only-section=.modinfo "$ko" /dev/stdout |
               tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
    add_module "$dep"
  done
}
for m in "${modules[@]}"; do add_module "$m"; done
cp "$moddir"/modules.builtin* "$stage/lib/modules/$kver/" 2>/dev/null || true
"$busybox" depmod -b "$stage" "$kver"
printf '%s\n' "${modules[@]}" > "$stage/etc/modules"

for d in "${bins[@]}"; do
  [ -d "$d" ] || die "--bin $d is not a directory"
  for f in "$d"/*; do
    [ -f "$f" ] || continue
    dest=$stage/usr/bin/$(basename "$f")
    # Debug info is most of a binary's size; the guest does not need it.
    strip --strip-all -o "$dest" "$f" 2>/dev/null || cp "$f" "$dest"
    chmod 0755 "$dest"
  done
done
for spec in "${files[@]}"; do
  src=${spec%%:*}
  dest=${spec#*:}
  [ "$dest" != "$spec" ] || dest=/data/$(basename "$src")
  [ -f "$src" ] || die "--file $src: no such file"
  mkdir -p "$stage$(dirname "$dest")"
  cp "$src" "$stage$dest"
done

# newc archive (files keep their builder's owner; the guest runs as root).
(cd "$stage" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) |
  gzip -1 > "$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
cp "$vmlinuz" "$out/vmlinuz"
echo "$kver" > "$out/kernel-version"
echo "build-initramfs: $out/vmlinuz ($kver), $out/initrd.img ($(du -h "$out/initrd.img" | cut -f1))"
