// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_firstcall: threads whose first allocator call is free, realloc, calloc or
 * memalign (glibc makes the thread's arena inside that call), each then making
 * eight malloc(100); all alive at once, so each gets an arena of its own. Once
 * they have exited, a later thread mallocs and glibc hands it one of their
 * arenas again: the first-free thread's, which exits last (glibc reuses the
 * arena freed last). Prints, for every block, glibc's own view of where it lies:
 *   alloc pid=P tid=T first=CALL addr=0x... size=N region=heap|arena|mmap_chunk base=0x...|-
 * region is the chunk header's NON_MAIN_ARENA/IS_MMAPPED bits, base glibc's
 * heap_for_ptr (the block's address rounded down to 64 MiB) for arena blocks.
 */
#include "../../labs/common.h"
#include <malloc.h>
#include <semaphore.h>

#define NMALLOC 8
#define SIZE 100
#define HEAP_MAX (64UL << 20)	/* glibc's HEAP_MAX_SIZE on 64-bit */

enum first { F_FREE, F_REALLOC, F_CALLOC, F_MEMALIGN, NFIRST, F_MALLOC = NFIRST };

static const char *const first_name[] = { "free", "realloc", "calloc", "memalign", "malloc" };

struct rec {
	void *addr;
	size_t size;
	const char *region;
};

struct worker {
	pthread_t thread;
	enum first first;
	pid_t tid;
	void *given;	/* from main, for a first free or realloc */
	struct rec recs[NMALLOC + 1];
	int n;
};

static struct worker workers[NFIRST + 1];
static pthread_barrier_t all_alive;
static sem_t others_gone;	/* the first-free thread exits after the rest */

static void note(struct worker *w, void *p, size_t size)
{
	if (!p)
		lab_die("allocation of %zu bytes failed", size);
	w->recs[w->n++] = (struct rec){ p, size, lab_region(p) };
}

/* The thread's very first allocator call: nothing before it may allocate. */
static void first_call(struct worker *w)
{
	switch (w->first) {
	case F_FREE:
		free(w->given);
		break;
	case F_REALLOC:
		note(w, realloc(w->given, 2 * SIZE), 2 * SIZE);
		break;
	case F_CALLOC:
		note(w, calloc(1, SIZE), SIZE);
		break;
	case F_MEMALIGN:
		note(w, memalign(64, SIZE), SIZE);
		break;
	default:
		break;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;

	w->tid = lab_tid();
	first_call(w);
	for (int i = 0; i < NMALLOC; i++)
		note(w, malloc(SIZE), SIZE);
	if (w->first != F_MALLOC)
		lab_barrier_wait(&all_alive);
	if (w->first == F_FREE)
		while (sem_wait(&others_gone) && errno == EINTR)
			;
	return NULL;
}

static void print(const struct worker *w)
{
	for (int i = 0; i < w->n; i++) {
		const struct rec *r = &w->recs[i];
		char base[24] = "-";

		if (strcmp(r->region, "arena") == 0)
			snprintf(base, sizeof(base), "%#lx", LAB_ADDR(r->addr) & ~(HEAP_MAX - 1));
		printf("alloc pid=%d tid=%d first=%s addr=%#lx size=%zu region=%s base=%s\n",
		       getpid(), w->tid, first_name[w->first], LAB_ADDR(r->addr), r->size, r->region,
		       base);
	}
}

int main(int argc, char **argv)
{
	lab_init(argv[0]);
	if (argc > 1) {
		printf("usage: %s\n", lab_prog);
		return 2;
	}
	lab_barrier_init(&all_alive, NFIRST);
	if (sem_init(&others_gone, 0, 0))
		lab_die("sem_init failed: %s", strerror(errno));
	for (int i = 0; i <= NFIRST; i++) {
		workers[i].first = i;
		if (i == F_FREE || i == F_REALLOC)
			workers[i].given = lab_zalloc(1, SIZE);
	}
	for (int i = 0; i < NFIRST; i++)
		lab_thread_start(&workers[i].thread, work, &workers[i]);
	for (int i = F_FREE + 1; i < NFIRST; i++)
		lab_thread_join(workers[i].thread);
	sem_post(&others_gone);
	lab_thread_join(workers[F_FREE].thread);
	/* every arena is free now: glibc gives the next thread one of them */
	lab_thread_start(&workers[F_MALLOC].thread, work, &workers[F_MALLOC]);
	lab_thread_join(workers[F_MALLOC].thread);
	for (int i = 0; i <= NFIRST; i++)
		print(&workers[i]);
	return 0;
}
