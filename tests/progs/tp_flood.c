// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_flood: as many malloc(64)+free pairs as asked, as fast as possible, to load a tracer. */
#include "../../labs/common.h"

#define BLOCK 64

struct worker {
	pthread_t thread;
	long pairs, mallocs, frees;
};

static struct {
	long pairs;
	int threads;
} cfg = { .pairs = 2000000, .threads = 2 };

static pthread_barrier_t start;

static void usage(void)
{
	printf("usage: %s [-n PAIRS] [-t THREADS]\n"
	       "  makes PAIRS malloc(%d)+free pairs in all, shared among THREADS threads\n"
	       "  (the main thread alone with -t 0), and prints what it did\n",
	       lab_prog, BLOCK);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":hn:t:")) != -1) {
		switch (c) {
		case 'n':
			cfg.pairs = lab_num(optarg, c, 0, LONG_MAX / 2);
			break;
		case 't':
			cfg.threads = lab_num(optarg, c, 0, LAB_MAX_THREADS);
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

static void flood(struct worker *w)
{
	long mallocs = 0, frees = 0;	/* locals: neighbouring workers share cache lines */

	for (long i = 0; i < w->pairs; i++) {
		void *p = malloc(BLOCK);

		if (!p)
			lab_die("malloc(%d) failed", BLOCK);
		mallocs++;
		/* the block escapes, so no compiler may fold the pair away */
		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
		frees++;
	}
	w->mallocs = mallocs;
	w->frees = frees;
}

static void *worker_run(void *arg)
{
	lab_barrier_wait(&start);
	flood(arg);
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		lab_die("cannot read the clock: %s", strerror(errno));
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int n;
	struct worker *w;
	long mallocs = 0, frees = 0;
	double t0, ms;

	lab_init(argv[0]);
	parse(argc, argv);
	n = cfg.threads ? cfg.threads : 1;
	w = lab_zalloc(n, sizeof(*w));
	for (int i = 0; i < n; i++)
		w[i].pairs = cfg.pairs / n + (i < cfg.pairs % n);
	t0 = now_ms();
	if (cfg.threads) {
		/* every thread starts together, so the flood is concurrent from the first pair */
		lab_barrier_init(&start, n);
		for (int i = 0; i < n; i++)
			lab_thread_start(&w[i].thread, worker_run, &w[i]);
		for (int i = 0; i < n; i++)
			lab_thread_join(w[i].thread);
		pthread_barrier_destroy(&start);
	} else {
		flood(&w[0]);
	}
	for (int i = 0; i < n; i++)
		mallocs += w[i].mallocs, frees += w[i].frees;

	ms = now_ms() - t0;
	printf("# %.1f ms, %.1f ns per pair\n", ms, cfg.pairs ? ms * 1e6 / cfg.pairs : 0.0);
	printf("summary pairs=%ld mallocs=%ld frees=%ld\n", cfg.pairs, mallocs, frees);
	free(w);
	return lab_exit_code(mallocs != cfg.pairs || frees != cfg.pairs);
}
