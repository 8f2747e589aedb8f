/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpf_refusal.h: a preloaded syscall() that refuses the bpf(BPF_PROG_LOAD) calls the shim's
 * refused() picks, with the errno it returns, as a kernel's verifier would; every other call
 * goes through. A shim defines refused() and includes this.
 */
#ifndef TLSBPF_BPF_REFUSAL_H
#define TLSBPF_BPF_REFUSAL_H

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

/* 0: let the load through; else the errno to fail it with */
static int refused(const union bpf_attr *attr);

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;
	int err;

	/* the C library's syscall() reads six arguments whatever the call: so does this */
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_bpf && a[0] == BPF_PROG_LOAD && (err = refused((const union bpf_attr *)a[1]))) {
		errno = err;
		return -1;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#endif
