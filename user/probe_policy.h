/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* probe_policy.h: which files each mode probes, decided before the probes attach. */
#ifndef TB_PROBE_POLICY_H
#define TB_PROBE_POLICY_H

#include <sys/types.h>
#include "confine.h"
#include "pidprobe.h"
#include "session.h"

/*
 * Launch: a private copy of the command's allocator when confining applies,
 * else its allocator and the system C library; every --lib either way.
 */
int probe_policy__command(struct session *s, struct confine *cf, const char *path);
/* -p: every file each process maps that defines malloc, and every --lib. */
int probe_policy__pids(struct session *s, const pid_t *pids, int n);
/*
 * -p: breakpoints placed in the watched processes alone (env->per_process set,
 * pp ready) wherever the kernel allows and --no-confine is not given, else the
 * files; -EINVAL, said in one line, when --confine insists and it cannot be.
 */
int probe_policy__pid_scope(struct env *env, struct pidprobe *pp, const pid_t *pids, int n);
/* -p: -ENOENT, said in one line, when no file probed defines malloc. */
int probe_policy__check_found(const struct session *s);
/* -a: the system C library and every --lib. */
int probe_policy__all(struct session *s);

#endif
