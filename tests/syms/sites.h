/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sites.h: what the symbol test programs share: the recorder every call site calls. */
#ifndef TB_SITES_H
#define TB_SITES_H

/*
 * Called from each site with the site's own function name, its __LINE__ and, for a site
 * inlined into a caller, the caller's __LINE__ of that call (0 otherwise). It prints the
 * return address it was called with, as the mapped file and file offset and as the file's
 * link-time address, so a test can ask a symbolizer and eu-addr2line about the same call.
 */
typedef void (*site_sink_fn)(const char *func, int line, int call_line);

/* The library's sites, each calling sink once. */
void lib_sites(site_sink_fn sink);

#endif
