// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pagetouch: the cost of a page fault, timed inside the program. Maps -n PAGES
 * fresh anonymous pages and writes one byte to each (first touches); with -f it
 * writes them all first, forks, and the child writes each again (copies after
 * fork), timing only those writes. Prints ns_per_fault=X.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double touch(char *p, long pages)
{
	double t0 = now_ns();

	for (long i = 0; i < pages; i++)
		p[i * 4096] = 1;
	return (now_ns() - t0) / pages;
}

int main(int argc, char **argv)
{
	long pages = 65536;
	int forked = 0, o;
	char *p;

	while ((o = getopt(argc, argv, "n:f")) != -1) {
		if (o == 'n')
			pages = atol(optarg);
		else if (o == 'f')
			forked = 1;
		else
			return 2;
	}
	p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	if (!forked) {
		printf("ns_per_fault=%.1f\n", touch(p, pages));
		return 0;
	}
	touch(p, pages);
	if (fork() == 0) {
		printf("ns_per_fault=%.1f\n", touch(p, pages));
		fflush(stdout);
		_exit(0);
	}
	wait(NULL);
	return 0;
}
