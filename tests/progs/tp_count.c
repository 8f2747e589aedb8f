// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_count: a known number of allocations per thread, printed afterwards as the trace's truth. */
#include "../../labs/common.h"

enum alloc_fn { FN_MALLOC, FN_CALLOC, FN_REALLOC };

struct worker {
	pthread_t thread;
	pid_t tid;
	void **ptrs;
};

static struct {
	int threads, fork;
	long count, size;
	enum alloc_fn fn;
} cfg = { .threads = 3, .count = 1000, .size = 123, .fn = FN_MALLOC };

static pthread_barrier_t done;

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-n COUNT] [-s SIZE] [-f] [-C | -R]\n"
	       "  each thread (the main thread alone with -t 0) makes COUNT allocations of SIZE\n"
	       "  bytes, keeps them all, then frees them; then prints one record per call.\n"
	       "  -f: a child forked afterwards does the same in its main thread\n"
	       "  -C: calloc(1, SIZE) instead of malloc; -R: realloc(NULL, SIZE)\n",
	       lab_prog);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:n:s:fCR")) != -1) {
		switch (c) {
		case 't':
			cfg.threads = lab_num(optarg, c, 0, LAB_MAX_THREADS);
			break;
		case 'n':
			cfg.count = lab_num(optarg, c, 0, 100000000);
			break;
		case 's':
			cfg.size = lab_num(optarg, c, 1, 1L << 30);
			break;
		case 'f':
			cfg.fork = 1;
			break;
		case 'C':
		case 'R':
			if (cfg.fn != FN_MALLOC)
				lab_bad_usage("-C and -R exclude each other");
			cfg.fn = c == 'C' ? FN_CALLOC : FN_REALLOC;
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

static void *alloc_one(void)
{
	switch (cfg.fn) {
	case FN_CALLOC:
		return calloc(1, cfg.size);
	case FN_REALLOC:
		return realloc(NULL, cfg.size);
	default:
		return malloc(cfg.size);
	}
}

/* The counted calls. No stdio in here: it would allocate in the middle of them. */
static void work(struct worker *w)
{
	w->tid = lab_tid();
	for (long i = 0; i < cfg.count; i++) {
		w->ptrs[i] = alloc_one();
		if (!w->ptrs[i])
			lab_die("allocation %ld of %ld bytes failed", i, cfg.size);
	}
	for (long i = 0; i < cfg.count; i++)
		free(w->ptrs[i]);
}

static void *worker_run(void *arg)
{
	work(arg);
	/* nobody exits before all are done: every tid is distinct in the records */
	lab_barrier_wait(&done);
	return NULL;
}

static void say(const struct worker *w)
{
	int pid = getpid();

	for (long i = 0; i < cfg.count; i++)
		printf("alloc pid=%d tid=%d addr=0x%lx\n", pid, (int)w->tid, LAB_ADDR(w->ptrs[i]));
	for (long i = 0; i < cfg.count; i++)
		printf("free pid=%d tid=%d addr=0x%lx\n", pid, (int)w->tid, LAB_ADDR(w->ptrs[i]));
}

static void run_threads(void)
{
	struct worker *w = lab_zalloc(cfg.threads, sizeof(*w));

	lab_barrier_init(&done, cfg.threads);
	for (int i = 0; i < cfg.threads; i++) {
		w[i].ptrs = lab_zalloc(cfg.count, sizeof(*w[i].ptrs));
		lab_thread_start(&w[i].thread, worker_run, &w[i]);
	}
	for (int i = 0; i < cfg.threads; i++)
		lab_thread_join(w[i].thread);
	for (int i = 0; i < cfg.threads; i++) {
		say(&w[i]);
		free(w[i].ptrs);
	}
	pthread_barrier_destroy(&done);
	free(w);
}

/* The main thread's share (with -t 0) and the child's: the same calls, in a lone thread. */
static void run_alone(void)
{
	struct worker w = { .ptrs = lab_zalloc(cfg.count, sizeof(void *)) };

	work(&w);
	say(&w);
	free(w.ptrs);
}

int main(int argc, char **argv)
{
	int status = 0;

	lab_init(argv[0]);
	parse(argc, argv);
	if (cfg.threads)
		run_threads();
	else
		run_alone();
	if (cfg.fork) {
		pid_t pid = lab_fork();

		if (pid == 0) {
			run_alone();
			lab_child_exit(0);
		}
		status = lab_wait(pid);
		if (status)
			fprintf(stderr, "%s: child %d ended with status %d\n", lab_prog, (int)pid,
				status);
	}
	return lab_exit_code(status != 0);
}
