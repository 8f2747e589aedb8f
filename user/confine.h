/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* confine.h: a private copy of the command's allocator library, so probes slow nobody else. */
#ifndef TB_CONFINE_H
#define TB_CONFINE_H

#include <limits.h>

struct confine {
	char dir[PATH_MAX];	/* "" when not in use */
	char copy[PATH_MAX + NAME_MAX + 2];	/* the private copy: what gets probed */
};

/*
 * Copy PROVIDER (a library the loader finds by its search path) into a fresh
 * directory and put that directory first in LD_LIBRARY_PATH for what tlsbpf
 * starts from now on. COMMAND is checked: set-id programs ignore the variable.
 * 0 or -errno, with one line saying why it cannot be confined.
 */
int confine__prepare(struct confine *cf, const char *provider, const char *command);
void confine__cleanup(struct confine *cf);

#endif
