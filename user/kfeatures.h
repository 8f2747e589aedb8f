/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* kfeatures.h: what the running kernel offers the probes, read from its own BTF. */
#ifndef TB_KFEATURES_H
#define TB_KFEATURES_H

#include <stdbool.h>

struct kfeatures {
	bool uprobe_multi;	/* BPF_TRACE_UPROBE_MULTI links: many offsets of a file, one link */
	bool sessions;		/* uprobe sessions: an entry that asks for its return (6.13) */
	bool page_faults;	/* --pages: the page_fault_user, mm_page_alloc and rss_stat tracepoints */
	char missing[160];	/* what every path needs and this kernel lacks, if anything */
};

/*
 * Fills f from /sys/kernel/btf/vmlinux: the kernel's own list of attach types,
 * helpers, tracepoints and kfuncs, not its version, which backports make
 * meaningless. TLSBPF_OLDEST=1 takes the oldest paths on any kernel;
 * TLSBPF_NO_SESSIONS=1 only forgoes sessions. -EOPNOTSUPP when the kernel lacks
 * something every path needs, named in f->missing.
 */
int kfeatures__probe(struct kfeatures *f);

#endif
