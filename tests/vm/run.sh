#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/vm/run.sh: boot a kernel built by tests/vm/kernel.sh under qemu, run one command in the
# guest (in this directory, on the host's files seen read-only with a tmpfs over them), print
# its output and exit with its status.
# Usage: tests/vm/run.sh KERNEL_DIR COMMAND...   (TLSBPF_VM_TIMEOUT: seconds, default 1200)
set -euo pipefail
kdir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

printf '%q ' "$@" >"$out/cmd"
pwd >"$out/cwd"
cp "$here/guest.sh" "$out/guest.sh"
# one host thread runs both virtual CPUs: with a thread each, the kernel's live patching of
# its own code (static keys flipped as probes attach) could spin forever on a breakpoint
accel=tcg,thread=single
# KVM only where the CPU offers it: /dev/kvm can exist while the VM it sits in cannot nest
grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ] && accel=kvm
timeout "${TLSBPF_VM_TIMEOUT:-1200}" qemu-system-x86_64 \
	-accel "$accel" -cpu max -smp 2 -m 3072 -nographic -no-reboot -nodefaults \
	-serial file:"$out/console.log" -serial stdio \
	-kernel "$kdir/vmlinuz" -initrd "$kdir/initrd.cpio.gz" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init" \
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$out",mount_tag=out,security_model=none \
	</dev/null | sed -u 's/\r$//'
if [ ! -f "$out/rc" ]; then
	echo "tests/vm: the guest stopped without an exit status; its console said:" >&2
	tail -n 20 "$out/console.log" >&2
	exit 125
fi
exit "$(cat "$out/rc")"
