/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* confine.h: a private copy of the command's allocator library, so probes slow nobody else. */
#ifndef TB_CONFINE_H
#define TB_CONFINE_H

#include <limits.h>
#include "libc_resolve.h"

#define TB_CONFINE_MAX 3	/* the command's allocator library, the system C library, libstdc++ */

struct confine {
	char dir[PATH_MAX];	/* "" when not in use */
	char copies[TB_CONFINE_MAX][PATH_MAX + NAME_MAX + 2];	/* the private copies: what gets probed */
	char origs[TB_CONFINE_MAX][PATH_MAX];	/* the file each copy stands in for */
	int ncopies;
	int nalloc;	/* of the copies, the allocator libraries: the first ones */
	char *old_search;	/* LD_LIBRARY_PATH before, NULL if unset */
};

/*
 * Why COMMAND, which gets malloc as VIA says, would not load a private copy
 * (so probing one would miss its calls), or NULL when confining it is exact.
 */
const char *confine__why_not(const char *command, enum provider_via via);
/*
 * Copy PROVIDER (a library the loader finds by its search path), LIBC (the
 * system C library, NULL or "" for none) and CXX (libstdc++, whose operator new
 * and delete are probed; NULL or "" for none) into a fresh directory and put
 * that directory first in LD_LIBRARY_PATH for what tlsbpf starts from now on.
 * 0 or -errno, nothing said: the caller knows whether to fall back.
 */
int confine__prepare(struct confine *cf, const char *provider, const char *libc,
		     const char *cxx);
/*
 * In the launched command before its exec: a mount namespace of its own in which each
 * copy is bound over the file it stands in for, so that a descendant that drops
 * LD_LIBRARY_PATH (env -i, a set-user-ID program) loads the copy too; the variable
 * then goes back to what it was. 0, or -errno with the variable left to do the work.
 */
int confine__enter(const struct confine *cf);
void confine__cleanup(struct confine *cf);

#endif
