// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * refuse_prog.so: a kernel whose verifier refuses one of tlsbpf's programs. Preloaded, it
 * makes the bpf system call refuse the load of the program named in TLSBPF_TEST_REFUSE
 * with EACCES, writing a line of log where one is asked for, as the verifier does. Only
 * the program itself: the loader's two-instruction stand-in (parload.c) goes through.
 * Every other call goes through.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "bpf_refusal.h"

#define REFUSAL "refuse_prog.so: R1 invalid mem access 'scalar'\n"

static int refused(const union bpf_attr *a)
{
	const char *name = getenv("TLSBPF_TEST_REFUSE");

	if (!name || strncmp(a->prog_name, name, sizeof(a->prog_name)) || a->insn_cnt <= 2)
		return 0;
	if (a->log_level && a->log_buf && a->log_size > sizeof(REFUSAL))
		memcpy((char *)(unsigned long)a->log_buf, REFUSAL, sizeof(REFUSAL));
	return EACCES;
}
