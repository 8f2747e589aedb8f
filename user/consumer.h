/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* consumer.h: draining the per-CPU ring buffers, merged into time order, into the pipeline. */
#ifndef TB_CONSUMER_H
#define TB_CONSUMER_H

#include <stddef.h>
#include "decode.h"
#include "pipeline.h"

struct tb_ring;

struct consumer {
	struct tb_ring *rings;
	int nrings;
	int epfd;
	struct decoder *dec;
	void (*sink)(void *ctx, struct tb_event *e);	/* the pipeline, or a test */
	void *sink_ctx;
	uint64_t records;	/* ring-buffer records taken, names included */
	uint64_t malformed;
	uint64_t out_of_order;	/* records older than one already handed on */
	uint64_t rounds;
	uint64_t woken;		/* rounds begun before the timeout: a ring woke the wait */
	uint64_t last_ts;
};

/* The rings of ring_fds (-1 entries skipped), each of ring_bytes. */
int consumer__open(struct consumer *c, const int *ring_fds, int nfds, size_t ring_bytes,
		   struct pipeline *pipe);
/* Wait up to timeout_ms for a wakeup, then hand on every record whose turn has come; <0 on error. */
int consumer__poll(struct consumer *c, int timeout_ms);
/* Everything in the rings, whatever its time: the run is over. */
void consumer__drain(struct consumer *c);
void consumer__close(struct consumer *c);

#endif
