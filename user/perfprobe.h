/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* perfprobe.h: classic uprobes, a perf event per offset, for kernels without uprobe_multi links. */
#ifndef TB_PERFPROBE_H
#define TB_PERFPROBE_H

#include <stdbool.h>
#include <stdint.h>

struct perfprobe {
	int pfd;	/* the perf event: the uprobe itself */
	int link_fd;	/* the BPF link that runs the program on it */
};

struct perfprobes {
	struct perfprobe *v;
	int n, cap;
	int uprobe_type, retprobe_bit;	/* the kernel's uprobe PMU, read once */
};

/*
 * Probe path at each offset (their returns if ret) with prog_fd, each offset's cookie given to
 * the program. Every probe made is kept, so that a failure releases them all.
 */
int perfprobes__attach(struct perfprobes *ps, int prog_fd, const char *path,
		       const uint64_t *offsets, const uint64_t *cookies, unsigned cnt, bool ret);
/*
 * Detach the programs at once; the kernel's release of the uprobes themselves, slow and one at
 * a time, goes on in a background process once the caller exits.
 */
void perfprobes__release(struct perfprobes *ps);

#endif
