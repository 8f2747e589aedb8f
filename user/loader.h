/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* loader.h: the BPF object's life: open, configure, load, attach, watch, count drops, detach. */
#ifndef TB_LOADER_H
#define TB_LOADER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "env.h"
#include "libc_resolve.h"
#include <linux/types.h>
#include "tlsbpf.h"
#include "consumer.h"
#include "placement.h"
#include "kfeatures.h"
#include "perfprobe.h"
#include "pidprobe.h"

struct tlsbpf_bpf;
struct bpf_link;

struct loader {
	struct tlsbpf_bpf *skel;
	struct bpf_link *links[12];	/* kernel tracepoints */
	int nlinks;
	int multi_fds[2 * TB_MAX_LIBS];	/* one uprobe_multi link per program per file, -1 while off */
	struct multi_spec *multi_specs;	/* what each was made of: --sample-by time remakes them */
	int nmulti;
	bool probes_off;	/* --sample-by time: between loader__probes_off and _on */
	int releasing;		/* batches of links taken off whose release goes on (atomic) */
	struct perfprobes classic;	/* without uprobe_multi: a classic uprobe per offset */
	struct pidprobe *pp;	/* -p: probes placed in the watched processes until sealed */
	struct kfeatures kf;
	int nlibs;	/* libraries probed, each an entry of the libs map */
	int ncxx;	/* of them, C++ libraries: operators, no malloc (libstdc++) */
	__u32 session_type;	/* attach type of uprobe sessions; 0: entry and return links */
	struct probe_page pages[TB_MAX_LIBS * (TB_NPROBES + 1)];	/* every entry probe so far */
	size_t npages;
	bool pages_full;	/* one did not fit: no probe is told apart by its page offset */
	int nr_cpus;	/* possible CPUs: the slots of the rings map */
	bool *online;	/* CPUs online at the start: each gets a ring */
	int *ring_fds;	/* each CPU's ring buffer, -1 for a CPU that was offline at the start */
	int rings_fd;	/* the map of them, made before the BPF object and filled beside its load */
	pthread_t filler;	/* filling it: each update of a map of maps waits a grace period */
	int fill_err;
	bool filling;		/* the filler runs */
	size_t ring_bytes;	/* the size of each */
	uint32_t slot_count;	/* slots in each CPU's allocation ring */
	int slot_cpus;		/* allocation rings: one for each CPU up to the last online */
	uint64_t *percpu;	/* scratch for reading per-CPU counters: room for a struct tb_bystander each */
};

int loader__open_load(struct loader *l, const struct env *env);
int loader__attach_kernel(struct loader *l);
/* --pages: the faults the kernel counted, every watched process's summed. */
int loader__page_counts(struct loader *l, uint64_t count[TB_PC_MAX]);
/* Probe every allocator function of lib in every process that maps that file. */
int loader__attach_lib(struct loader *l, const struct alloc_lib *lib, bool verbose);
int loader__watch(struct loader *l, pid_t pid, uint32_t state);
void loader__unwatch(struct loader *l, pid_t pid);
/* Is any process still watched? Each stays until its exit is closed (loader__close_exits). */
bool loader__watching(struct loader *l);
/*
 * Forget each process in pids (n of cap) that has written its exit row and
 * whose whole thread group is gone. With *sweep, every such process in the
 * map too (its exit row was lost); *sweep stays set if one did not fit.
 * Returns how many are left to close, now the first of pids.
 */
int loader__close_exits(struct loader *l, pid_t *pids, int n, int cap, bool *sweep);
/*
 * --sample-by time: take the allocator probes off (their links are released
 * in the background: each release waits out a grace period), and put them
 * back. Calls cut by a window are no loss. Needs uprobe_multi links.
 */
int loader__probes_off(struct loader *l);
int loader__probes_on(struct loader *l);
/*
 * Whether the links last taken off are gone. Until they are, new ones must
 * wait: both would fire, and every call would be recorded twice.
 */
bool loader__probes_released(struct loader *l);
/* Allocator calls of processes not watched that trapped on tlsbpf's probes so far. */
uint64_t loader__bystander_calls(struct loader *l);
size_t loader__bystanders(struct loader *l, uint32_t since_epoch, size_t *all);
/* Records lost so far, over all CPUs and causes. */
uint64_t loader__drops(struct loader *l);
/* The same, and by cause (enum tb_drop_cause). */
uint64_t loader__drops_by_cause(struct loader *l, uint64_t cause[TB_DROP_MAX]);
/* The stack counters by enum tb_stack_count: stacks not kept, collisions kept apart. */
void loader__stack_counts(struct loader *l, uint64_t count[TB_STC_MAX]);
/* The stacks map's fd, for reading it in place. */
int loader__stacks_fd(const struct loader *l);
/* The files map's fd: the files the stacks' frames are placed in. */
int loader__files_fd(const struct loader *l);
/* Where the consumer finds the records. */
void loader__ring_set(const struct loader *l, struct tb_ring_set *set);
/* Wakeups the probes forced on the consumer and slot races, summed over the CPUs. */
struct tb_wake loader__wake_totals(struct loader *l);
void loader__destroy(struct loader *l);

#endif
