/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pidprobe.h: probes placed in the watched processes alone, inherited by what they start. */
#ifndef TB_PIDPROBE_H
#define TB_PIDPROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define TB_PP_MAX_EVENTS 128	/* tracefs uprobe events: entries and returns of every library */

/*
 * A tracefs uprobe event per probed offset (named tlsbpf_<our pid>_<n>, group
 * tlsbpf), and on it a perf event for each thread of each watched process,
 * opened with inherit: the kernel places the breakpoints in those processes'
 * memory only, and a child or thread they start gets the events at birth,
 * before it runs. The BPF program hangs on the tracefs event itself, so it
 * runs once a hit whatever the number of perf events.
 */
struct pidprobe {
	struct pp_event {
		int id;		/* tracefs event id */
		int prog_fd;
		uint64_t cookie;
		int link_fd;	/* the BPF link, made on the event's first perf event; -1 before */
		int n;		/* the n of its name */
	} ev[TB_PP_MAX_EVENTS];
	int nevents;
	int next_n;
	int *perf_fds;
	int nperf, cap_perf;
	int nprocs;		/* processes placed in */
	bool sealed;		/* probes placed: a library found later goes on its file */
};

/*
 * Mount tracefs if it is missing, remove the events a tlsbpf that died left
 * behind; 0, or -errno with *why saying what is missing (the caller falls back).
 */
int pidprobe__init(struct pidprobe *pp, const char **why);
/* A uprobe (uretprobe when ret) event at each offset of path, run by prog_fd with each cookie. */
int pidprobe__add(struct pidprobe *pp, int prog_fd, const char *path, const uint64_t *offsets,
		  const uint64_t *cookies, unsigned cnt, bool ret);
/* Every event in every thread of pid, rescanning its threads until no new one shows up. */
int pidprobe__place(struct pidprobe *pp, pid_t pid);
/* Close every perf event and link, then remove the tracefs events. */
void pidprobe__destroy(struct pidprobe *pp);

#endif
