/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* correlate.h: the live model of every watched process (threads, fork tree, mappings, blocks). */
#ifndef TB_CORRELATE_H
#define TB_CORRELATE_H

#include <stdio.h>
#include "event.h"

struct correlator;

struct correlator *correlator__new(void);
void correlator__free(struct correlator *c);

/*
 * Update the model with one event and fill its correlation fields: region,
 * region_base, flags (TB_F_*), and for free/realloc/reallocarray origin_pid and
 * origin_tid (who allocated the block). Fork/thread rows arrive with origin_*
 * already set by the decoder. Pure logic: no BPF, no I/O.
 */
void correlator__process(struct correlator *c, struct tb_event *e);

/*
 * Attach mode: describe a process that existed before tlsbpf started. `maps` is
 * text in /proc/PID/maps format; `tids` its threads, main thread first. Blocks
 * freed later that the model never saw allocated get TB_F_UNKNOWN_ORIGIN.
 */
int correlator__seed_process(struct correlator *c, uint32_t pid, const char *comm, FILE *maps,
			     const uint32_t *tids, size_t ntids, uint64_t ts_ns);

/*
 * PID's new image brought an allocator that was probed only after its exec,
 * delay_ns later: calls in between were not seen, so its history is partial.
 */
void correlator__probed_late(struct correlator *c, uint32_t pid, uint64_t delay_ns);

/* Attach mode: a seeded thread's own name, which may differ from its process's. */
void correlator__thread_comm(struct correlator *c, uint32_t pid, uint32_t tid, const char *comm);
/*
 * PID's image, begun by its exec at exec_ts_ns, brought an allocator nobody
 * had probed, and the process ended before it could be: none of its calls was
 * seen, and the report must not read as if it made none.
 */
void correlator__never_probed(struct correlator *c, uint32_t pid, uint64_t exec_ts_ns);

/* Processes seen and not yet exited. */
size_t correlator__live_processes(const struct correlator *c);

#endif
