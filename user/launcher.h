/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* launcher.h: starting the watched command, held at a barrier until the probes are live. */
#ifndef TB_LAUNCHER_H
#define TB_LAUNCHER_H

#include <stddef.h>
#include <sys/types.h>
#include "env.h"

struct confine;
struct loader;

/*
 * The file COMMAND names, found as a shell finds it, into path; 0, or the
 * status a shell gives a command it cannot run (127 not found, 126 otherwise),
 * said in one line.
 */
int launcher__resolve(const char *command, char *path, size_t sz);
/* The command line as the report names it: the arguments joined by spaces. */
void launcher__command_line(char **argv, int argc, char *buf, size_t sz);
/*
 * Start the command at path held at the barrier, as -u, --as-root or sudo
 * says, in cf's namespace when cf has private copies; watch it in l; then let
 * it exec. 0 with *pid set, or the status a shell would give, said in one
 * line (2: the user to run it as is unusable).
 */
int launcher__run(const struct env *env, const struct confine *cf, const char *path,
		  struct loader *l, pid_t *pid);

#endif
