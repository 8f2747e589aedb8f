#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/vm/kernel.sh: fetch one of Debian's kernel packages and build the initramfs that boots it
# for tests/vm/run.sh. The package is downloaded and unpacked under DIR, never installed.
# Usage: tests/vm/kernel.sh [SUITE:]PACKAGE DIR   (e.g. linux-image-6.1.0-57-amd64, or
#        bullseye:linux-image-5.10.0-32-amd64 for a suite of Debian's archive this machine's
#        apt sources do not name: its package lists are fetched under DIR, apart from the host's)
set -euo pipefail
pkg=${1#*:} suite=${1%%:*} dir=$2
[ "$suite" = "$1" ] && suite=""
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

apt=()
if [ -n "$suite" ]; then
	lists=$dir/apt
	mkdir -p "$lists/lists/partial" "$lists/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
		>"$lists/sources.list"
	apt=(-o "Dir::Etc::SourceList=$lists/sources.list" -o Dir::Etc::SourceParts=/dev/null
	     -o "Dir::State::Lists=$lists/lists" -o "Dir::Cache=$lists/cache")
	apt-get "${apt[@]}" update -qq >/dev/null 2>&1 ||
		{ echo "tests/vm: cannot read Debian's $suite package lists" >&2; exit 1; }
fi
# a metapackage (linux-image-amd64) stands for the kernel it depends on
case $pkg in
linux-image-[0-9]*) ;;
*) pkg=$(apt-cache "${apt[@]}" depends "$pkg" 2>/dev/null |
		 awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }') ;;
esac
(cd "$work" && apt-get "${apt[@]}" download -q "$pkg" >/dev/null 2>&1) ||
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
