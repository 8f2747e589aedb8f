// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_churn: steady malloc/free churn in a fixed set of threads for a while, a soak's load. */
#include "../../labs/common.h"

#include <sys/mman.h>

#define MAX_LIVE 65536
#define BURST 1000	/* replacements between two looks at the clock */

/*
 * A set of addresses, open addressing: how many distinct addresses the allocator handed out.
 * Its memory comes from mmap, so that the set's own growth is not counted as the thread's
 * allocations.
 */
struct addr_set {
	uintptr_t *v;
	size_t cap, n;
};

static int set_add(struct addr_set *s, uintptr_t a)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		struct addr_set g = { .cap = s->cap ? s->cap * 2 : 1024 };

		g.v = mmap(NULL, g.cap * sizeof(*g.v), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (g.v == MAP_FAILED)
			lab_die("mmap of %zu addresses failed", g.cap);
		for (size_t j = 0; j < s->cap; j++)
			if (s->v[j])
				set_add(&g, s->v[j]);
		if (s->v)
			munmap(s->v, s->cap * sizeof(*s->v));
		*s = g;
	}
	for (i = (a >> 4) * 0x9E3779B97F4A7C15ull >> 20 & (s->cap - 1); s->v[i];
	     i = (i + 1) & (s->cap - 1))
		if (s->v[i] == a)
			return 0;
	s->v[i] = a;
	s->n++;
	return 1;
}

struct worker {
	pthread_t thread;
	pid_t tid;
	long allocs, frees, live;
	unsigned long live_bytes;
	void **ring;
	size_t *sizes;
	struct addr_set seen;	/* every address this thread got */
};

static struct {
	int threads;
	long live, seconds, pause_us;
} cfg = { .threads = 2, .live = 256, .seconds = 10, .pause_us = 100 };

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-k LIVE] [-L SECONDS] [-p PAUSE_US]\n"
	       "  THREADS threads (started once, joined at the end) each keep LIVE blocks of\n"
	       "  16 to 4096 bytes and replace the oldest, free then malloc, for SECONDS seconds,\n"
	       "  pausing PAUSE_US microseconds every %d replacements; the blocks still held at\n"
	       "  the end are left live. Prints per thread\n"
	       "  'thread tid=T allocs=A frees=F live=L live_bytes=B addresses=N' (N: distinct\n"
	       "  addresses malloc returned), then a summary, its addresses those of all threads\n",
	       lab_prog, BURST);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:k:L:p:")) != -1) {
		switch (c) {
		case 't':
			cfg.threads = lab_num(optarg, c, 1, LAB_MAX_THREADS);
			break;
		case 'k':
			cfg.live = lab_num(optarg, c, 1, MAX_LIVE);
			break;
		case 'L':
			cfg.seconds = lab_num(optarg, c, 0, 86400);
			break;
		case 'p':
			cfg.pause_us = lab_num(optarg, c, 0, 1000000);
			break;
		case 'h':
			usage();
			exit(0);
		default:
			lab_opt_error(c, argv[optind - 1]);
		}
	}
	if (optind < argc)
		lab_bad_usage("unexpected argument '%s'", argv[optind]);
}

/* The counted calls; the sizes come from a cheap generator seeded with the thread's tid. */
static void churn(struct worker *w, unsigned *seed, long i)
{
	long slot = i % cfg.live;
	size_t size;

	if (w->ring[slot]) {
		free(w->ring[slot]);
		w->frees++;
		w->live--;
		w->live_bytes -= w->sizes[slot];
	}
	*seed = *seed * 1103515245u + 12345u;
	size = 16 + (*seed >> 8) % 4081;
	w->ring[slot] = malloc(size);
	if (!w->ring[slot])
		lab_die("malloc(%zu) failed", size);
	w->sizes[slot] = size;
	set_add(&w->seen, (uintptr_t)w->ring[slot]);
	w->allocs++;
	w->live++;
	w->live_bytes += size;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct timespec pause = { 0, cfg.pause_us * 1000 };
	unsigned seed = (unsigned)lab_tid();
	long i = 0;

	w->tid = lab_tid();
	do {
		for (long end = i + BURST; i < end; i++)
			churn(w, &seed, i);
		if (cfg.pause_us)
			nanosleep(&pause, NULL);
	} while (lab_loop_again());
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker *w;
	long allocs = 0, frees = 0, live = 0;
	struct addr_set all = { 0 };

	lab_init(argv[0]);
	parse(argc, argv);
	w = lab_zalloc(cfg.threads, sizeof(*w));
	for (int i = 0; i < cfg.threads; i++) {
		w[i].ring = lab_zalloc(cfg.live, sizeof(*w[i].ring));
		w[i].sizes = lab_zalloc(cfg.live, sizeof(*w[i].sizes));
	}
	lab_loop_start(cfg.seconds);
	lab_quiet = 0;	/* loop mode, but the per-thread records are the point */
	for (int i = 0; i < cfg.threads; i++)
		lab_thread_start(&w[i].thread, worker_run, &w[i]);
	for (int i = 0; i < cfg.threads; i++)
		lab_thread_join(w[i].thread);
	for (int i = 0; i < cfg.threads; i++) {
		printf("thread tid=%d allocs=%ld frees=%ld live=%ld live_bytes=%lu addresses=%zu\n",
		       (int)w[i].tid, w[i].allocs, w[i].frees, w[i].live, w[i].live_bytes,
		       w[i].seen.n);
		allocs += w[i].allocs, frees += w[i].frees, live += w[i].live;
		for (size_t j = 0; j < w[i].seen.cap; j++)
			if (w[i].seen.v[j])
				set_add(&all, w[i].seen.v[j]);
	}
	printf("summary threads=%d allocs=%ld frees=%ld live=%ld addresses=%zu\n", cfg.threads,
	       allocs, frees, live, all.n);
	return lab_exit_code(allocs != frees + live);
}
