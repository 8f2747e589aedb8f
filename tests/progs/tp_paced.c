// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_paced: allocator calls at a steady pace that tracing cannot slow down
 * (absolute deadlines), so the share of its calls a time-sampled run sees is
 * the share of time the probes were on. Each period it allocates a block and
 * frees the one allocated RING periods before, so blocks outlive windows; at
 * the end it frees the rest, then leaks LEAKS blocks of 777 bytes. Prints what
 * it did.
 */
#include "../../labs/common.h"

#define RING 64

int main(int argc, char **argv)
{
	long run_ms, period_us, leaks;
	unsigned long mallocs = 0, frees = 0;
	struct timespec next, end;
	void *ring[RING] = { 0 };
	unsigned seed = 1;

	lab_init(argv[0]);
	if (argc != 4) {
		printf("usage: %s MS PERIOD_US LEAKS\n", lab_prog);
		return 2;
	}
	run_ms = lab_num_for(argv[1], "MS", 1, 600000);
	period_us = lab_num_for(argv[2], "PERIOD_US", 10, 1000000);
	leaks = lab_num_for(argv[3], "LEAKS", 0, 1000);
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &next);
	end = next;
	end.tv_sec += run_ms / 1000;
	end.tv_nsec += run_ms % 1000 * 1000000;
	if (end.tv_nsec >= 1000000000)
		end.tv_sec++, end.tv_nsec -= 1000000000;
	for (unsigned long i = 0;; i++) {
		void **slot = &ring[i % RING];

		if (next.tv_sec > end.tv_sec || (next.tv_sec == end.tv_sec && next.tv_nsec >= end.tv_nsec))
			break;
		if (*slot) {
			free(*slot);
			frees++;
		}
		seed = seed * 1103515245 + 12345;
		*slot = malloc(16 + (seed >> 16) % 4000);
		if (!*slot)
			lab_die("malloc failed");
		mallocs++;
		next.tv_nsec += period_us * 1000;
		while (next.tv_nsec >= 1000000000)
			next.tv_sec++, next.tv_nsec -= 1000000000;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	for (int k = 0; k < RING; k++)
		if (ring[k]) {
			free(ring[k]);
			frees++;
		}
	for (long k = 0; k < leaks; k++) {
		if (!malloc(777))
			lab_die("malloc failed");
		mallocs++;
	}
	printf("mallocs=%lu frees=%lu leaked=%ld\n", mallocs, frees, leaks);
	return 0;
}
