#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# install-deps.sh: install the Debian packages tlsbpf builds and tests with, when any is missing.
# Usage: install-deps.sh [build|test|bench|vm|deb]   (test and bench include the ones before
# them; vm is the test set and what tests/vm needs to boot other kernels; deb is the build set
# and what `make deb` and its checks need)
set -euo pipefail

build=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc libcapstone-dev libdw-dev
       libiberty-dev)
test=(g++ musl-tools libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 python3 redis-server redis-tools
      bpftrace man-db groff-base jq python3-pandas sqlite3 elfutils golang-go libc6-dbg
      dwz chromium protobuf-compiler)
bench=(heaptrack time)
vm=(qemu-system-x86 busybox-static)
deb=(debhelper dpkg-dev fakeroot lintian man-db groff-base bash-completion)

want=("${build[@]}")
case "${1:-build}" in
build) ;;
test) want+=("${test[@]}") ;;
bench) want+=("${test[@]}" "${bench[@]}") ;;
vm) want+=("${test[@]}" "${vm[@]}") ;;
deb) want+=("${deb[@]}") ;;
*) echo "install-deps.sh: unknown set '$1' (build, test, bench, vm or deb)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "tlsbpf: missing packages: ${missing[*]}: run 'sudo make deps' (or apt-get install them)" >&2
	exit 1
fi
echo "tlsbpf: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# redis-server's package starts a system redis on port 6379 (and enables it under systemd):
# the tests run their own on a private port and want no other. A policy-rc.d already in
# place (Docker's denies every start) is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
	trap 'rm -f $policy' EXIT
	printf '#!/bin/sh\n# install-deps.sh, for one apt-get run\n[ "$1" = redis-server ] && exit 101\nexit 0\n' \
		>$policy
	chmod 755 $policy
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ " ${missing[*]} " == *" redis-server "* ]] && [ -d /run/systemd/system ]; then
	systemctl disable --now --quiet redis-server 2>/dev/null || true
fi
