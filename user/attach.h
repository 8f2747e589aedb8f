/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* attach.h: watching processes that already run: -p PIDs, or every process with -a. */
#ifndef TB_ATTACH_H
#define TB_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>
#include "correlate.h"
#include "env.h"
#include "loader.h"

#define TB_MAX_PROBED_FILES 65536	/* files looked at, malloc or not */

/* Allocator files already probed, by inode: processes sharing a library share its probes. */
struct probed_set {
	struct probed_file { dev_t dev; ino_t ino; } *v;
	int n, cap;
};

/*
 * True the first time PATH's file (by inode) is seen: each file is probed once.
 * False too when the set cannot remember it: a file is never probed twice.
 */
bool attach__first_probe(struct probed_set *set, const char *path);
void attach__probed_free(struct probed_set *set);

/* Resolve -p's list into process ids (a thread id becomes its process); one line per bad one. */
int attach__check_pids(const struct env *env, pid_t *pids, int *npids, int max);

/* Probe every file mapped by PID that defines malloc, unless already probed; *newly (if not
 * NULL) is raised by the number of files probed. */
int attach__probe_process(struct loader *l, struct probed_set *set, pid_t pid,
			  const struct env *env, int *newly);
/* -p: the same, saying in one line why PID cannot be watched. */
int attach__probe_pid(struct loader *l, struct probed_set *set, pid_t pid, const struct env *env);

/*
 * A process that exec'd FILE and ended before its maps could be read: probe
 * the allocator FILE brings, for the processes that run it after, when
 * nobody probed it yet. *newly counts the libraries probed.
 */
int attach__probe_exec(struct loader *l, struct probed_set *set, const char *file,
		       const struct env *env, int *newly);

/* The allocator an exec of FILE brings is one nobody probed. */
bool attach__exec_unprobed(struct probed_set *set, const char *file);

/* Describe PID to the model (maps, threads), then watch it. */
int attach__watch(struct loader *l, struct correlator *c, pid_t pid, uint64_t ts_ns);

/*
 * -p: each process's probes placed in it (l->pp, when they go in the watched
 * processes alone), then the process watched, seeded at now_ns() read once
 * its placing is done; one line for each that cannot be. Names the ones
 * watched in what ("pid 12,34"), then seals l->pp.
 */
void attach__pids(struct loader *l, struct correlator *c, const pid_t *pids, int n,
		  uint64_t (*now_ns)(void), char *what, size_t cap);

/*
 * -a: probe and seed every process now running (except tlsbpf), matching
 * --comm when given. Returns how many processes are watched, or -errno.
 */
int attach__all(struct loader *l, struct correlator *c, struct probed_set *set,
		const struct env *env, uint64_t ts_ns);

#endif
