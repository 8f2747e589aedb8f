#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/vm/kernel.sh: fetch one of Debian's kernel packages and build the initramfs that boots it
# for tests/vm/run.sh. The package is downloaded and unpacked under DIR, never installed.
# Usage: tests/vm/kernel.sh PACKAGE DIR   (PACKAGE: e.g. linux-image-6.1.0-57-amd64)
set -euo pipefail
pkg=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)

# the modules that reach the host's root over virtio-9p and lay a writable tmpfs over it,
# in the order insmod needs them
mods=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
      9pnet 9pnet_virtio netfs fscache 9p overlay)

# the version file is written last: its presence means a complete build
[ -f "$dir/version" ] && exit 0
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
	{ echo "tests/vm: cannot download $pkg: is it in the archive? (apt-cache policy $pkg)" >&2; exit 1; }
dpkg -x "$work"/"$pkg"_*.deb "$work/root"
kver=$(ls "$work/root/lib/modules")
cp "$work/root/boot/vmlinuz-$kver" "$dir/vmlinuz"

init="$work/initrd"
mkdir -p "$init"/{bin,mods,proc,sys,dev,host,rw,newroot}
cp /bin/busybox "$init/bin/busybox"
for m in "${mods[@]}"; do
	f=$(find "$work/root/lib/modules/$kver" -name "$m.ko*" | head -n 1)
	# a module built into this kernel has no file: nothing to load
	[ -n "$f" ] || continue
	case "$f" in
	*.xz) xz -dc "$f" >"$init/mods/$m.ko" ;;
	*.zst) zstd -qdc "$f" >"$init/mods/$m.ko" ;;
	*) cp "$f" "$init/mods/$m.ko" ;;
	esac
	echo "$m" >>"$init/mods/order"
done
cp "$here/initrd-init" "$init/init"
chmod +x "$init/init"
(cd "$init" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$dir/initrd.cpio.gz"
echo "$kver" >"$dir/version"
