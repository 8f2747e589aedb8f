/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* launcher.h: starting the watched command, held at a barrier until the probes are live. */
#ifndef TB_LAUNCHER_H
#define TB_LAUNCHER_H

#include <stdbool.h>
#include <sys/types.h>
#include "env.h"

/* Who the command runs as. */
struct tb_cred {
	bool drop;	/* false: keep tlsbpf's own (root) identity */
	uid_t uid;
	gid_t gid;
	char user[64];	/* for its supplementary groups; "" uses only gid */
};

struct confine;

struct launch {
	bool stdout_to_stderr;	/* in: an output of tlsbpf's holds stdout, so the command's goes to stderr */
	const struct confine *cf;	/* in: the private copies to bind in its namespace, or NULL */
	bool verbose;		/* in: -v, to say when the copies cannot be bound */
	pid_t pid;
	int go_fd;	/* closing or writing it releases the child */
	int err_fd;	/* the child's exec errno, or EOF once exec succeeded */
};

/* From -u, --as-root and SUDO_UID/SUDO_GID; 0 or -errno (already reported). */
int launcher__cred(const struct env *env, struct tb_cred *cred);
/* Fork the child, which drops privileges and waits; 0 or -errno. */
int launcher__start(struct launch *lc, const char *path, char **argv, const struct tb_cred *cred);
/* Let the child exec; 0 once it did, or the -errno its exec failed with. */
int launcher__release(struct launch *lc);

#endif
