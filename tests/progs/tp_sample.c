// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_sample: programs whose errors are known, for --sample against a full run.
 *   realloc: malloc N blocks, realloc each, free all but LEAKS of them
 *   fork:    malloc N blocks, fork; the child frees every inherited block and
 *            reallocs and frees blocks of its own; the parent then frees all
 *   double:  a new thread's first call (so a sampled one) mallocs a block that
 *            it frees twice, another free between (run with tcache off:
 *            GLIBC_TUNABLES=glibc.malloc.tcache_count=0, or glibc aborts)
 * Prints what the program got wrong, and nothing else is wrong:
 *   leak pid=P addr=0x... size=N
 *   double pid=P tid=T addr=0x...
 */
#include "../../labs/common.h"
#include <sys/wait.h>

#define LEAKS 5
#define SIZE 40
#define MAX_BLOCKS 100000

static void *blocks[MAX_BLOCKS];
static long n = 1000;
static void *dbl;
static pid_t dbl_tid;

static void alloc_all(void)
{
	for (long i = 0; i < n; i++) {
		blocks[i] = malloc(SIZE);
		if (!blocks[i])
			lab_die("malloc failed");
	}
}

static void run_realloc(void)
{
	alloc_all();
	for (long i = 0; i < n; i++) {
		void *p = realloc(blocks[i], 3 * SIZE);

		if (!p)
			lab_die("realloc failed");
		blocks[i] = p;
	}
	for (long i = LEAKS; i < n; i++)
		free(blocks[i]);
	for (long i = 0; i < LEAKS; i++)
		printf("leak pid=%d addr=%#lx size=%d\n", getpid(), LAB_ADDR(blocks[i]), 3 * SIZE);
}

static void run_fork(void)
{
	pid_t pid;

	alloc_all();
	fflush(stdout);
	pid = lab_fork();
	if (pid == 0) {
		for (long i = 0; i < n; i++)
			free(blocks[i]);
		run_realloc();
		fflush(stdout);
		_exit(0);
	}
	if (lab_wait(pid) != 0)
		lab_die("child failed");
	for (long i = 0; i < n; i++)
		free(blocks[i]);
}

static void *double_free(void *arg)
{
	void *other;

	(void)arg;
	dbl_tid = lab_tid();
	dbl = malloc(SIZE);
	other = malloc(SIZE);
	free(dbl);
	free(other);
	free(dbl);
	return NULL;
}

static void run_double(void)
{
	pthread_t t;

	lab_thread_start(&t, double_free, NULL);
	lab_thread_join(t);
	printf("double pid=%d tid=%d addr=%#lx\n", getpid(), dbl_tid, LAB_ADDR(dbl));
}

int main(int argc, char **argv)
{
	lab_init(argv[0]);
	if (argc == 4 && strcmp(argv[2], "-n") == 0)
		n = lab_num(argv[3], 'n', LEAKS, MAX_BLOCKS);
	else if (argc != 2)
		lab_bad_usage("usage: %s realloc|fork|double [-n N]", lab_prog);
	if (strcmp(argv[1], "realloc") == 0)
		run_realloc();
	else if (strcmp(argv[1], "fork") == 0)
		run_fork();
	else if (strcmp(argv[1], "double") == 0)
		run_double();
	else
		lab_bad_usage("unknown mode '%s'", argv[1]);
	return 0;
}
