#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/vm/kernel.sh: fetch one of Debian's kernel packages and build the initramfs that boots it
# for tests/vm/run.sh. The package is downloaded and unpacked under DIR, never installed.
# Usage: tests/vm/kernel.sh PACKAGE DIR   (PACKAGE: e.g. linux-image-6.1.0-57-amd64)
set -euo pipefail
pkg=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)

# the modules that reach the host's root over virtio-9p and lay a writable tmpfs over it; each
# one's own dependencies, read from its .modinfo, are loaded before it
mods=(virtio_pci 9pnet_virtio 9p overlay)

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
modfile() { find "$work/root/lib/modules/$kver" -name "$1.ko*" -o -name "${1//_/-}.ko*" | head -n 1; }
unpacked() { case "$1" in *.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *) cat "$1" ;; esac; }
add_module() { # name: its dependencies, then itself, once each, into the initramfs
	local f dep
	[ -e "$init/mods/$1.ko" ] && return 0
	f=$(modfile "$1")
	# a module built into this kernel has no file: nothing to load
	[ -n "$f" ] || return 0
	unpacked "$f" >"$init/mods/$1.ko"
	for dep in $(strings "$init/mods/$1.ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '); do
		add_module "$dep"
	done
	echo "$1" >>"$init/mods/order"
}
for m in "${mods[@]}"; do
	add_module "$m"
done
cp "$here/initrd-init" "$init/init"
chmod +x "$init/init"
(cd "$init" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$dir/initrd.cpio.gz"
echo "$kver" >"$dir/version"
