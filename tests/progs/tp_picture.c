// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_picture: the pictures' scenario. Two threads, one freeing blocks the
 * other got; an mmap-threshold block; a fork whose child frees some of what it
 * inherited and allocates its own. Each process prints, as it ends, every
 * block it still holds: "held PID TID ADDR SIZE", TID the allocating thread.
 * The worker's name has markup in it, to be shown as text.
 */
#include "../../labs/common.h"
#include <sys/prctl.h>
#include <sys/wait.h>

#define MAXB 32

struct held {
	void *p;
	size_t size;
	pid_t tid;
};

static struct held held[MAXB];
static int nheld;

static void *take(size_t size, pid_t tid)
{
	void *p = malloc(size);

	if (!p)
		lab_die("malloc(%zu) failed", size);
	held[nheld++] = (struct held){ p, size, tid };
	return p;
}

/* Frees held[i] and forgets it. */
static void drop(int i)
{
	free(held[i].p);
	held[i] = held[--nheld];
}

static int find(void *p)
{
	for (int i = 0; i < nheld; i++)
		if (held[i].p == p)
			return i;
	lab_die("block %p not held", p);
	return -1;
}

static void *worker(void *arg)
{
	void **got = arg;

	prctl(PR_SET_NAME, "<i>&\"'w</i>", 0, 0, 0);
	for (int i = 0; i < 8; i++)
		got[i] = take(48 + 16 * i, lab_tid());
	return NULL;
}

static void print_held(void)
{
	for (int i = 0; i < nheld; i++)
		printf("held %d %d 0x%lx %zu\n", getpid(), held[i].tid, LAB_ADDR(held[i].p),
		       held[i].size);
	fflush(stdout);
}

int main(int argc __attribute__((unused)), char **argv)
{
	pid_t me = lab_tid(), child;
	void *w[8], *small[4];
	size_t sizes[4] = { 24, 100, 1000, 5000 };
	pthread_t t;

	lab_init(argv[0]);
	setvbuf(stdout, NULL, _IONBF, 0);	/* no stdio buffer among the blocks */
	for (int i = 0; i < 4; i++)
		small[i] = take(sizes[i], me);
	take(300000, me);	/* above the mmap threshold: a chunk of its own */
	lab_thread_start(&t, worker, w);
	lab_thread_join(t);
	for (int i = 0; i < 3; i++)	/* the worker's blocks, freed by main: cross-thread */
		drop(find(w[i]));
	child = fork();
	if (child < 0)
		lab_die("fork: %s", strerror(errno));
	if (child == 0) {
		drop(find(small[1]));	/* inherited, freed in the child */
		drop(find(w[3]));
		take(777, lab_tid());
		take(64, lab_tid());
		print_held();
		_exit(0);
	}
	waitpid(child, NULL, 0);
	drop(find(small[0]));
	print_held();
	return 0;
}
