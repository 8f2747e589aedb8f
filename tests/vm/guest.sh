#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/vm/guest.sh: runs inside the guest as its init, on the host's root seen through an
# overlay: mount what a tracer needs, run the command tests/vm/run.sh left, hand back its
# exit status, power off.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname tlsbpf-vm
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
ulimit -c 0
cd "$(cat /vm-out/cwd)" && bash /vm-out/cmd </dev/null >/dev/ttyS1 2>&1
echo $? >/vm-out/rc
sync
echo o >/proc/sysrq-trigger
sleep 10
