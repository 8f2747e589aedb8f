/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pidprobe.h: probes placed in the watched processes alone, inherited by what they start. */
#ifndef TB_PIDPROBE_H
#define TB_PIDPROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define TB_PP_MAX_EVENTS 128	/* tracefs uprobe events: entries and returns of every library */
#define TB_PP_EVENTS_PER_THREAD 40	/* what a thread there at the start costs: two libraries' worth */

/*
 * A tracefs uprobe event per probed offset (named tlsbpf_<our pid>_<n>, group
 * tlsbpf), and on it a perf event for each thread of each watched process,
 * opened with inherit: the kernel places the breakpoints in those processes'
 * memory only, and a child or thread they start gets copies of the events at
 * birth, before it runs.
 *
 * Two kernel behaviours would lose calls, and are kept out:
 * - The BPF program hangs on the tracefs event, shared by all its perf events,
 *   but a perf event's inherited copies carry the program too, and the first
 *   copy to end (a child's exit) takes it off the event for everyone. So the
 *   program rides on a perf event that nothing inherits, opened on a holder: a
 *   process of tlsbpf's that sleeps and never allocates.
 * - On a context switch between two processes whose perf contexts are copies
 *   of one another (a parent and its child), the kernel swaps the contexts
 *   instead of switching events; the copy that then ends with the other
 *   process unregisters the survivor from the uprobe's filter, and its
 *   breakpoints go. An inherited event that samples PERF_SAMPLE_READ forbids
 *   the swap (Linux 6.12 and later; older kernels refuse such an event, and
 *   the probes go on the files).
 */
struct pidprobe {
	struct pp_event {
		int id;		/* tracefs event id */
		int carrier_fd;	/* the holder's perf event, which carries the program */
		int link_fd;	/* the BPF link on it */
		int n;		/* the n of its name */
	} ev[TB_PP_MAX_EVENTS];
	int nevents;
	int next_n;
	int *perf_fds;
	int nperf, cap_perf;
	int ncarried;		/* at the end: perf_fds before this are threads', after it carriers */
	int waited_ms;		/* for earlier tlsbpfs' probe releases before placing ours */
	bool wait_gave_up;	/* and one still ran when the wait ended */
	int nprocs;		/* processes placed in */
	pid_t holder;		/* sleeps until tlsbpf ends: the programs' perf events are on it */
	pid_t owner;		/* tlsbpf's pid, in the events' names */
	bool sealed;		/* probes placed: a library found later goes on its file */
};

/*
 * Check that the threads of pids (n of them) fit the open-file limit, raised to its
 * maximum; mount tracefs if it is missing, start the holder, check that the kernel can
 * keep inherited events apart, remove the events a tlsbpf that died left
 * behind; 0, or -errno with *why saying what is missing (the caller falls back).
 */
int pidprobe__init(struct pidprobe *pp, const pid_t *pids, int n, const char **why);
/* A uprobe (uretprobe when ret) event at each offset of path, run by prog_fd with each cookie. */
int pidprobe__add(struct pidprobe *pp, int prog_fd, const char *path, const uint64_t *offsets,
		  const uint64_t *cookies, unsigned cnt, bool ret);
/* Every event in every thread of pid, rescanning its threads until no new one shows up. */
int pidprobe__place(struct pidprobe *pp, pid_t pid);
/* Close every perf event and link, remove the tracefs events, end the holder. */
void pidprobe__destroy(struct pidprobe *pp);

#endif
