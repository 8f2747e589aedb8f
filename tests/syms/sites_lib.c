// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sites_lib.c: call sites in a shared library, one plain and one inlined into its caller. */
#include "sites.h"

volatile int lib_after;

/* noipa: the call stays a call, so the return address is this function's */
__attribute__((noinline, noipa)) void lib_plain(site_sink_fn sink)
{
	sink(__func__, __LINE__, 0);
	lib_after++;
}

static inline void lib_inner(site_sink_fn sink, int call_line)
{
	sink(__func__, __LINE__, call_line);
	lib_after++;
}

__attribute__((noinline, noipa)) void lib_outer(site_sink_fn sink)
{
	lib_inner(sink, __LINE__);
	lib_after++;
}

void lib_sites(site_sink_fn sink)
{
	lib_plain(sink);
	lib_outer(sink);
}
