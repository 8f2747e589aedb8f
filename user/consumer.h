/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* consumer.h: draining the per-CPU ring buffers, merged into time order, into the pipeline. */
#ifndef TB_CONSUMER_H
#define TB_CONSUMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include "decode.h"
#include "pipeline.h"

struct tb_ring;

/* Where the records are: each possible CPU's ring buffer and each allocation ring. */
struct tb_ring_set {
	const int *ring_fds;	/* per possible CPU; -1 for one offline at the start */
	int nr_cpus;
	size_t ring_bytes;	/* the size of each ring buffer */
	int slots_fd, slot_pos_fd;	/* the allocation rings' arrays */
	int slot_cpus;		/* how many allocation rings, from CPU 0 on */
	uint32_t slot_count;	/* slots in each */
};

struct consumer {
	struct tb_ring *rings;
	int nrings;
	int epfd;
	struct decoder *dec;
	void (*sink)(void *ctx, struct tb_event *e);	/* the pipeline, or a test */
	void *sink_ctx;
	void (*sample_sink)(void *ctx, const void *rec, size_t len);	/* --stacks=dwarf's samples */
	/* --stacks=dwarf: each ring-buffer record on arrival, by the peeker thread; or NULL */
	void (*peek)(void *ctx, const void *rec, size_t len);
	int peek_epfd;
	pthread_t peek_thread;
	bool peek_running;
	int peek_stop;
	uint64_t records;	/* ring-buffer records taken, names included */
	uint64_t malformed;
	uint64_t out_of_order;	/* records older than one already handed on */
	uint64_t rounds;
	uint64_t woken;		/* rounds begun before the timeout: a ring woke the wait */
	uint64_t last_ts;
	void *slots_area, *pos_area;	/* the allocation rings' arrays, mapped */
	size_t slots_len, pos_len;
	struct tb_event marks[4];	/* the loader's own events, waiting for their turn */
	int nmarks;
};

int consumer__open(struct consumer *c, const struct tb_ring_set *set, struct pipeline *pipe);
/* Wait up to timeout_ms for a wakeup, then hand on every record whose turn has come; <0 on error. */
int consumer__poll(struct consumer *c, int timeout_ms);
/*
 * An event of the loader's own (the probes going off or on), handed on in
 * time order among the records: ts must not be older than the last mark's.
 */
void consumer__mark(struct consumer *c, const struct tb_event *e);
/* Everything in the rings, whatever its time: the run is over. */
void consumer__drain(struct consumer *c);
void consumer__close(struct consumer *c);

#endif
