#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# install-deps.sh: install the Debian packages tlsbpf builds and tests with, when any is missing.
# Usage: install-deps.sh [build|test|bench|vm]   (test and bench include the ones before them;
# vm is the test set and what tests/vm needs to boot other kernels)
set -euo pipefail

build=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc libcapstone-dev)
test=(g++ musl-tools libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 python3)
bench=(bpftrace heaptrack time)
vm=(qemu-system-x86 busybox-static)

want=("${build[@]}")
case "${1:-build}" in
build) ;;
test) want+=("${test[@]}") ;;
bench) want+=("${test[@]}" "${bench[@]}") ;;
vm) want+=("${test[@]}" "${vm[@]}") ;;
*) echo "install-deps.sh: unknown set '$1' (build, test, bench or vm)" >&2; exit 2 ;;
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
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
