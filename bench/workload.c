// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * workload.c: N malloc+free pairs in T threads (or as many as fit in -d MS), timed inside the
 * program; -s D makes the calls D frames deep (built as workload_fp with frame pointers, so
 * that a stack walk has D frames to go through).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long pairs = 1000000;
static int threads = 2, mix, wait_ms, run_ms, depth = 1;
static long done[64];	/* -d: pairs each thread made in its time */
static pthread_barrier_t start;
static unsigned long long spent[64];	/* each thread's own time in its loop */

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The mix: sizes from 16 B to 4 KiB, one call in eight a calloc, one in eight a realloc. */
__attribute__((noinline)) static void loop(void *arg)
{
	unsigned seed = (unsigned)(long)arg * 2654435761u + 1;
	unsigned long long t0;

	t0 = now_ns();
	for (long i = 0; run_ms || i < pairs; i++) {
		void *p;

		if (!mix) {
			p = malloc(64);
		} else {
			size_t size = 16u << ((seed = seed * 1103515245 + 12345) >> 16) % 9;

			switch ((seed >> 8) & 7) {
			case 0: p = calloc(1, size); break;
			case 1: p = realloc(malloc(size), size * 2); break;
			default: p = malloc(size);
			}
		}
		if (!p)
			abort();
		*(volatile char *)p = 1;
		free(p);
		/* -d: the clock is read once in 1024 pairs, a few ns each */
		if (run_ms && !(i & 1023) && now_ns() - t0 >= run_ms * 1000000ULL) {
			done[(long)arg] = i + 1;
			break;
		}
	}
	spent[(long)arg] = now_ns() - t0;
}

/* d - 1 frames above the loop; not a tail call, so each stays */
__attribute__((noinline)) static void descend(int d, void *arg)
{
	if (d > 1)
		descend(d - 1, arg);
	else
		loop(arg);
	__asm__ volatile("" ::: "memory");
}

static void *churn(void *arg)
{
	pthread_barrier_wait(&start);
	descend(depth, arg);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tids[64];
	unsigned long long t0, t1;
	double per = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:t:mw:d:s:")) != -1) {
		switch (opt) {
		case 'n': pairs = atol(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'm': mix = 1; break;
		case 'w': wait_ms = atoi(optarg); break;
		case 'd': run_ms = atoi(optarg); break;
		case 's': depth = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: workload [-n PAIRS_PER_THREAD] [-t THREADS<=64] [-m] "
					"[-w MS_BEFORE_START] [-d MS_OF_PAIRS] [-s STACK_DEPTH]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || pairs < 1) {
		fprintf(stderr, "workload: -t wants 1 to 64, -n at least 1\n");
		return 2;
	}
	/* time for a tracer to attach to a process that is already running */
	if (wait_ms)
		usleep(wait_ms * 1000);
	pthread_barrier_init(&start, NULL, threads + 1);
	for (int i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, churn, (void *)(long)i);
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	t1 = now_ns();
	for (int i = 0; i < threads; i++)
		per += (double)spent[i] / (run_ms ? done[i] : pairs);
	/* per pair as each thread sees it: its own loop time over its pairs, averaged */
	printf("workload pairs=%ld threads=%d mix=%d elapsed_ns=%llu ns_per_pair=%.1f\n",
	       run_ms ? done[0] : pairs, threads, mix, t1 - t0, per / threads);
	return 0;
}
