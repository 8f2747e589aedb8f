// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * no_sessions.so: a kernel without uprobe sessions (before Linux 6.13), as tlsbpf's loader
 * meets it: preloaded, it makes the bpf system call refuse a program loaded for them
 * (expected attach type BPF_TRACE_UPROBE_SESSION, 57) with EINVAL, as such a kernel does.
 * Every other call goes through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#define UPROBE_SESSION 57

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;

	/* the C library's syscall() reads six arguments whatever the call: so does this */
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_bpf && a[0] == BPF_PROG_LOAD &&
	    ((const union bpf_attr *)a[1])->expected_attach_type == UPROBE_SESSION) {
		errno = EINVAL;
		return -1;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
