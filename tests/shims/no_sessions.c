// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * no_sessions.so: a kernel without uprobe sessions (before Linux 6.13), as tlsbpf's loader
 * meets it: preloaded, it makes the bpf system call refuse a program loaded for them
 * (expected attach type BPF_TRACE_UPROBE_SESSION, 57) with EINVAL, as such a kernel does.
 * Every other call goes through.
 */
#define _GNU_SOURCE
#include "bpf_refusal.h"

#define UPROBE_SESSION 57

static int refused(const union bpf_attr *a)
{
	return a->expected_attach_type == UPROBE_SESSION ? EINVAL : 0;
}
