// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * newdelete.cc: N operator new(64) + operator delete pairs in T threads, timed inside the
 * program: what a C++ program's new and delete cost under tlsbpf (docs/performance.md).
 * usage: newdelete [-n PAIRS] [-t THREADS]
 */
#include <cstdio>
#include <cstdlib>
#include <new>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static long pairs = 1000000;
static unsigned long long spent[64];

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *loop(void *arg)
{
	unsigned long long t0 = now_ns();

	for (long i = 0; i < pairs; i++) {
		void *p = ::operator new(64);

		__asm__ volatile("" : : "r"(p) : "memory");
		::operator delete(p);
	}
	spent[(long)arg] = now_ns() - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[64];
	int threads = 2, c;
	unsigned long long sum = 0;

	while ((c = getopt(argc, argv, "n:t:")) != -1) {
		if (c == 'n')
			pairs = atol(optarg);
		else if (c == 't')
			threads = atoi(optarg);
		else
			return 2;
	}
	if (threads < 1 || threads > 64 || pairs < 1)
		return 2;
	for (long i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, loop, (void *)i);
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		sum += spent[i];
	}
	printf("%d threads x %ld new+delete pairs: %.1f ns a pair\n", threads, pairs,
	       (double)sum / threads / pairs);
	return 0;
}
