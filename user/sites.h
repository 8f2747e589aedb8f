/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sites.h: allocation sites: what each call stack (the rows' stack_id) allocated, and of it
 * what was still live at the end, per thread; and for each cross-thread, inherited, double,
 * invalid and mismatched free, the stack that allocated the block and the one that freed it.
 * From correlated events and the model's blocks, so analyze rebuilds it from the rows.
 */
#ifndef TB_SITES_H
#define TB_SITES_H

#include <stdint.h>
#include "event.h"

#define SITES_MAX_BAD 4096	/* bad frees listed; more are counted */

/* What one stack allocated in one thread (a "site" once summed over threads). */
struct site_stats {
	uint64_t blocks, bytes;		/* allocated */
	uint64_t live_blocks, live_bytes;	/* still live at the end (or at the process's exit) */
};

/* A free the correlator flagged cross_thread, inherited, double_free, invalid_free or mismatched_free. */
struct site_bad_free {
	uint64_t seq, addr, size;	/* size: the block's, 0 when unknown */
	uint32_t pid, tid;
	uint32_t flags;			/* the row's TB_F_* */
	uint32_t alloc_stack;		/* the stack that allocated the block; 0: not known */
	uint32_t free_stack;		/* the free's own */
};

struct sites;

struct sites *sites__new(void);	/* NULL with errno set */
void sites__free(struct sites *s);

/*
 * One event, after correlator__process set its flags and the stack of the block a free
 * released. Out of memory is counted, not fatal.
 */
void sites__event(struct sites *s, const struct tb_event *e);
/*
 * What is live at the end, from the model once every event is in: each exited process's
 * blocks live at its exit, each other's live now (a fork's copies are its parent's; an
 * exec ends an image's). Once: the later calls do nothing.
 */
struct correlator;
void sites__take_live(struct sites *s, const struct correlator *c);

/* The sum over threads for stack id (1..); NULL when it allocated nothing. */
const struct site_stats *sites__stack(const struct sites *s, uint32_t id);
/* Ids 1..n may have stats. */
uint32_t sites__nstacks(const struct sites *s);

/* Each (stack, pid, tid) that allocated, in no set order. */
typedef void (*sites_fn)(void *arg, uint32_t stack, uint32_t pid, uint32_t tid,
			 const struct site_stats *st);
void sites__each(const struct sites *s, sites_fn fn, void *arg);

/* The bad frees listed (the first SITES_MAX_BAD), in row order; *more: those not listed. */
const struct site_bad_free *sites__bad_frees(const struct sites *s, uint32_t *n, uint64_t *more);

/* Events the tables had no memory for (their sites are short by them). */
uint64_t sites__nomem(const struct sites *s);

#endif
