// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * timesample.c: --sample-by time. The allocator probes are on for a window,
 * then off for a gap whose length is random (uniform from half to one and a
 * half times its mean), so that no program rhythm lines up with the windows;
 * the mean makes one window in N. The times the probes really switched are
 * the rows' (sample_on, sample_off), so the fraction stated is measured, not
 * this plan.
 */
#include <unistd.h>
#include "timesample.h"

static uint64_t next_random(struct time_sampler *t)
{
	/* xorshift64: statistics need no more than an even spread */
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

void time_sampler__init(struct time_sampler *t, unsigned n, unsigned window_ms, uint64_t now)
{
	t->on = true;
	t->window_ns = (uint64_t)window_ms * 1000000;
	t->off_mean_ns = t->window_ns * (n - 1);
	t->since_ns = now;
	t->next_ns = now + t->window_ns;
	t->rng = now ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
	if (!t->rng)
		t->rng = 1;
}

bool time_sampler__due(struct time_sampler *t, uint64_t now)
{
	if (now < t->next_ns)
		return false;
	t->on = !t->on;
	t->since_ns = now;
	if (t->on) {
		t->next_ns = now + t->window_ns;
	} else {
		uint64_t mean = t->off_mean_ns > t->attach_ns ? t->off_mean_ns - t->attach_ns : 0;

		t->next_ns = now + mean / 2 + next_random(t) % (mean + 1);
		t->planned_on_ns = t->next_ns;
	}
	return true;
}

void time_sampler__opened(struct time_sampler *t, uint64_t now)
{
	uint64_t took = now > t->planned_on_ns ? now - t->planned_on_ns : 0;

	t->windows++;
	t->attach_ns += ((int64_t)took - (int64_t)t->attach_ns) / (int64_t)t->windows;
	t->since_ns = now;
	t->next_ns = now + t->window_ns;
}

int time_sampler__wait_ms(const struct time_sampler *t, uint64_t now, int max_ms)
{
	/* past due, the switch may be waiting on the last links' release: no spinning */
	uint64_t left = t->next_ns > now ? (t->next_ns - now + 999999) / 1000000 : 1;

	return left < (uint64_t)max_ms ? (int)left : max_ms;
}
