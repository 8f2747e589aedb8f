/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* timesample.h: --sample-by time: when the allocator probes go off, and when on again. */
#ifndef TB_TIMESAMPLE_H
#define TB_TIMESAMPLE_H

#include <stdbool.h>
#include <stdint.h>

struct time_sampler {
	bool on;		/* the probes are on now */
	uint64_t window_ns;	/* each window's length */
	uint64_t off_mean_ns;	/* the mean gap between windows: (N - 1) windows */
	uint64_t since_ns;	/* when the probes last went on or off */
	uint64_t next_ns;	/* when they go the other way */
	uint64_t planned_on_ns;	/* when the gap was to end */
	uint64_t attach_ns;	/* the mean time from then to the probes being back, so far */
	uint64_t windows;
	uint64_t rng;
};

/* One window in n, each window_ms long; the first opens now, the probes being on. */
void time_sampler__init(struct time_sampler *t, unsigned n, unsigned window_ms, uint64_t now);
/* Whether the probes should switch at now; if so the sampler has switched (see t->on). */
bool time_sampler__due(struct time_sampler *t, uint64_t now);
/*
 * The probes are back at now, later than planned (the last links' release, then
 * the new ones' making): the window counts from now, and the gaps shorten by
 * the mean delay, so that one window in N is still the share of time they are on.
 */
void time_sampler__opened(struct time_sampler *t, uint64_t now);
/* Milliseconds until the next switch (1 once due), at most max_ms. */
int time_sampler__wait_ms(const struct time_sampler *t, uint64_t now, int max_ms);

#endif
