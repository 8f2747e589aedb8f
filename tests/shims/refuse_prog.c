// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * refuse_prog.so: a kernel whose verifier refuses one of tlsbpf's programs. Preloaded, it
 * makes the bpf system call refuse the load of the program named in TLSBPF_TEST_REFUSE
 * with EACCES, writing a line of log where one is asked for, as the verifier does. Only
 * the program itself: the loader's two-instruction stand-in (parload.c) goes through.
 * Every other call goes through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#define REFUSAL "refuse_prog.so: R1 invalid mem access 'scalar'\n"

static int refused(const union bpf_attr *a)
{
	const char *name = getenv("TLSBPF_TEST_REFUSE");

	if (!name || strncmp(a->prog_name, name, sizeof(a->prog_name)) || a->insn_cnt <= 2)
		return 0;
	if (a->log_level && a->log_buf && a->log_size > sizeof(REFUSAL))
		memcpy((char *)(unsigned long)a->log_buf, REFUSAL, sizeof(REFUSAL));
	return 1;
}

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
	if (nr == SYS_bpf && a[0] == BPF_PROG_LOAD && refused((const union bpf_attr *)a[1])) {
		errno = EACCES;
		return -1;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
