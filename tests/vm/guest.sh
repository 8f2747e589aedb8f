#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/vm/guest.sh: runs inside the guest as its init, on the host's root seen through an
# overlay: mount what a tracer needs, run the command tests/vm/run.sh left, hand back its
# exit status, power off.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
# /tmp and /run stay the host's, seen through the overlay: the checkout may live there
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname tlsbpf-vm
# loopback up, as on any machine: tests serve their own stand-in servers on 127.0.0.1
ip link set lo up 2>/dev/null
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
# for the few checks that hold only on a real CPU and filesystem (tests/e2e/86-sample-time.sh)
export TLSBPF_GUEST=qemu-tcg-9p
ulimit -c 0
dir=$(cat /vm-out/cwd)
if cd "$dir"; then
	bash /vm-out/cmd </dev/null >/dev/ttyS1 2>&1
	echo $? >/vm-out/rc
else
	echo "vm: cannot enter $dir in the guest" >/dev/ttyS1
	echo 125 >/vm-out/rc
fi
sync
echo o >/proc/sysrq-trigger
sleep 10
