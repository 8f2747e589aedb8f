// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* 08d_tls_alloc_inspector: how far apart one thread's consecutive blocks land, and why. */
#include "common.h"

struct worker {
	pthread_t thread;
	int index;
	pid_t pid, tid;
	char **addrs;
	size_t *words;	/* glibc size words, 0 when unknown */
};

static struct {
	int threads, allocs;
	long size, loop_secs;
} cfg = { .threads = 4, .allocs = 4, .size = 64, .loop_secs = -1 };

static pthread_barrier_t all_live;

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-n ALLOCS] [-s SIZE] [-L SECONDS]\n"
	       "  each thread allocates ALLOCS blocks of SIZE bytes back to back and reports the\n"
	       "  distance between consecutive ones; glibc places them a chunk size apart.\n"
	       "  exit status 1 when the most common distance is not the chunk size.\n"
	       "  -L repeats the experiment for SECONDS (0: until SIGINT/SIGTERM), quietly,\n"
	       "  and reports the last run without judging it: reused arenas hand out freed\n"
	       "  chunks in any order\n",
	       lab_prog);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:n:s:L:")) != -1) {
		switch (c) {
		case 't':
			cfg.threads = lab_num(optarg, c, 1, LAB_MAX_THREADS);
			break;
		case 'n':
			cfg.allocs = lab_num(optarg, c, 1, 100000);
			break;
		case 's':
			cfg.size = lab_num(optarg, c, 1, 1L << 30);
			break;
		case 'L':
			cfg.loop_secs = lab_num(optarg, c, 0, LONG_MAX);
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

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	w->pid = getpid();
	w->tid = lab_tid();
	/* nothing is freed in between, so nothing recycled can land between two blocks */
	for (int j = 0; j < cfg.allocs; j++) {
		w->addrs[j] = malloc(cfg.size);
		if (!w->addrs[j])
			lab_die("thread %d: malloc(%ld) failed", w->index, cfg.size);
		w->words[j] = lab_size_word(w->addrs[j]);
	}
	/* every thread alive at once: no tid can be reused by a later thread of this run */
	lab_barrier_wait(&all_live);
	for (int j = 0; j < cfg.allocs; j++)
		free(w->addrs[j]);
	return NULL;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* The most common value, the smallest on ties; sorts v. */
static long mode_of(long *v, int n)
{
	long best = v[0];
	int best_run = 0;

	qsort(v, n, sizeof(*v), cmp_long);
	for (int i = 0, j; i < n; i = j) {
		for (j = i; j < n && v[j] == v[i]; j++)
			;
		if (j - i > best_run)
			best = v[i], best_run = j - i;
	}
	return best;
}

/* Prints one run; returns the most common delta, and the first block's size word in *word. */
static long report(const struct worker *w, size_t *word)
{
	long *deltas = lab_zalloc(cfg.threads * cfg.allocs, sizeof(*deltas)), typical;
	int n = 0;
	char buf[24];

	for (int i = 0; i < cfg.threads; i++) {
		lab_say("thread index=%d pid=%d tid=%d\n", i, (int)w[i].pid, (int)w[i].tid);
		for (int j = 0; j < cfg.allocs; j++) {
			long delta = j ? (long)(w[i].addrs[j] - w[i].addrs[j - 1]) : 0;

			lab_say("alloc thread=%d tid=%d addr=0x%lx delta=%ld chunk=%s\n", i,
				(int)w[i].tid, LAB_ADDR(w[i].addrs[j]), delta,
				lab_fmt_size(w[i].words[j] & ~(size_t)7, buf));
			if (j)
				deltas[n++] = delta;
		}
	}
	typical = n ? mode_of(deltas, n) : 0;
	*word = w[0].words[0];
	free(deltas);
	return typical;
}

/* One run: threads allocate back to back, all live at once, then free. */
static long experiment(size_t *word)
{
	struct worker *w = lab_zalloc(cfg.threads, sizeof(*w));
	long typical;

	lab_barrier_init(&all_live, cfg.threads);
	for (int i = 0; i < cfg.threads; i++) {
		w[i].index = i;
		w[i].addrs = lab_zalloc(cfg.allocs, sizeof(*w[i].addrs));
		w[i].words = lab_zalloc(cfg.allocs, sizeof(*w[i].words));
		lab_thread_start(&w[i].thread, worker_run, &w[i]);
	}
	for (int i = 0; i < cfg.threads; i++)
		lab_thread_join(w[i].thread);
	pthread_barrier_destroy(&all_live);
	typical = report(w, word);
	for (int i = 0; i < cfg.threads; i++) {
		free(w[i].addrs);
		free(w[i].words);
	}
	free(w);
	return typical;
}

int main(int argc, char **argv)
{
	unsigned long iterations = 0;
	const char *adjacent = "na";
	size_t word, chunk;
	long typical;
	char buf[24];

	lab_init(argv[0]);
	parse(argc, argv);
	if (cfg.loop_secs >= 0)
		lab_loop_start(cfg.loop_secs);
	do {
		typical = experiment(&word);
		iterations++;
	} while (cfg.loop_secs >= 0 && lab_loop_again());

	/* adjacency is glibc's promise for fresh heap chunks; the kernel places mmapped ones */
	chunk = word & ~(size_t)7;
	if (cfg.allocs > 1 && chunk && !(word & LAB_IS_MMAPPED))
		adjacent = (size_t)typical == chunk ? "1" : "0";
	if (cfg.allocs > 1)
		printf("summary size=%ld typical_delta=%ld", cfg.size, typical);
	else
		printf("summary size=%ld typical_delta=na", cfg.size);
	printf(" chunk=%s adjacent=%s", lab_fmt_size(chunk, buf), adjacent);
	lab_summary_end(iterations);
	return lab_exit_code(!lab_quiet && !strcmp(adjacent, "0"));
}
