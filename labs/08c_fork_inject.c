// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* 08c_fork_inject: what a child forked while threads hold blocks inherits, and may free. */
#include "common.h"

#define CHILD_BYTE 0xcc	/* the child's writes; no thread fills with it */

struct worker {
	pthread_t thread;
	int index;
	pid_t tid;
	unsigned char **blocks;
	int intact;
};

static struct {
	int threads, blocks, child_frees, child_allocs;
	long size, loop_secs;
} cfg = { .threads = 3, .blocks = 4, .child_frees = 2, .child_allocs = 3, .size = 64,
	  .loop_secs = -1 };

static struct worker *workers;
static pthread_barrier_t held, released;

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-n BLOCKS] [-s SIZE] [-c CHILD_FREES] [-k CHILD_ALLOCS]"
	       " [-L SECONDS]\n"
	       "  threads hold BLOCKS blocks each while the main thread forks; the child checks\n"
	       "  and writes the inherited blocks, frees CHILD_FREES of each thread's, allocates\n"
	       "  and frees CHILD_ALLOCS of its own; then the parent's threads check and free\n"
	       "  all of theirs.\n"
	       "  -L repeats the experiment for SECONDS (0: until SIGINT/SIGTERM), quietly\n",
	       lab_prog);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:n:s:c:k:L:")) != -1) {
		switch (c) {
		case 't':
			cfg.threads = lab_num(optarg, c, 1, LAB_MAX_THREADS);
			break;
		case 'n':
			cfg.blocks = lab_num(optarg, c, 1, 100000);
			break;
		case 's':
			cfg.size = lab_num(optarg, c, 1, 1L << 30);
			break;
		case 'c':
			cfg.child_frees = lab_num(optarg, c, 0, 100000);
			break;
		case 'k':
			cfg.child_allocs = lab_num(optarg, c, 0, 100000);
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
	if (cfg.child_frees > cfg.blocks)
		lab_bad_usage("the child cannot free %d of %d blocks", cfg.child_frees, cfg.blocks);
}

static int fill_byte(int index)
{
	return 'A' + index % 26;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	w->tid = lab_tid();
	for (int j = 0; j < cfg.blocks; j++) {
		w->blocks[j] = malloc(cfg.size);
		if (!w->blocks[j])
			lab_die("thread %d: malloc(%ld) failed", w->index, cfg.size);
		memset(w->blocks[j], fill_byte(w->index), cfg.size);
	}
	lab_barrier_wait(&held);
	/* the main thread forks and reaps the child in between */
	lab_barrier_wait(&released);
	w->intact = 1;
	for (int j = 0; j < cfg.blocks; j++)
		w->intact &= lab_all_bytes(w->blocks[j], fill_byte(w->index), cfg.size);
	for (int j = 0; j < cfg.blocks; j++)
		free(w->blocks[j]);
	return NULL;
}

/* The child's copy of each thread's blocks: read all, free the first few, scribble on the rest. */
static int child_inherited(pid_t pid, pid_t tid)
{
	int intact = 1;

	for (int i = 0; i < cfg.threads; i++) {
		for (int j = 0; j < cfg.blocks; j++) {
			unsigned char *b = workers[i].blocks[j];

			intact &= lab_all_bytes(b, fill_byte(i), cfg.size);
			if (j >= cfg.child_frees) {
				memset(b, CHILD_BYTE, cfg.size);
				continue;
			}
			lab_say("child_free pid=%d tid=%d addr=0x%lx inherited=1\n", (int)pid,
				(int)tid, LAB_ADDR(b));
			free(b);
		}
	}
	return intact;
}

__attribute__((noreturn)) static void child_run(void)
{
	pid_t pid = getpid(), tid = lab_tid();
	void **own = lab_zalloc(cfg.child_allocs, sizeof(*own));
	int intact = child_inherited(pid, tid);

	for (int k = 0; k < cfg.child_allocs; k++) {
		own[k] = malloc(cfg.size);
		if (!own[k])
			lab_die("child: malloc(%ld) failed", cfg.size);
		lab_say("child_alloc pid=%d tid=%d addr=0x%lx\n", (int)pid, (int)tid,
			LAB_ADDR(own[k]));
	}
	for (int k = 0; k < cfg.child_allocs; k++) {
		lab_say("child_free pid=%d tid=%d addr=0x%lx inherited=0\n", (int)pid, (int)tid,
			LAB_ADDR(own[k]));
		free(own[k]);
	}
	if (!intact)
		fprintf(stderr, "%s: child found an inherited block changed\n", lab_prog);
	lab_child_exit(intact ? 0 : 1);
}

/* Fork while every thread holds its blocks; the child's status the shell way. */
static int fork_child(void)
{
	pid_t pid;

	for (int i = 0; i < cfg.threads; i++)
		for (int j = 0; j < cfg.blocks; j++)
			lab_say("hold thread=%d tid=%d addr=0x%lx\n", i, (int)workers[i].tid,
				LAB_ADDR(workers[i].blocks[j]));
	pid = lab_fork();
	if (pid == 0)
		child_run();
	lab_say("fork parent=%d child=%d\n", (int)getpid(), (int)pid);
	return lab_wait(pid);
}

/* One run; returns the child's status and clears *intact if the parent saw the child's writes. */
static int experiment(int *intact)
{
	int status;

	lab_barrier_init(&held, cfg.threads + 1);
	lab_barrier_init(&released, cfg.threads + 1);
	for (int i = 0; i < cfg.threads; i++) {
		workers[i].index = i;
		workers[i].blocks = lab_zalloc(cfg.blocks, sizeof(*workers[i].blocks));
		lab_thread_start(&workers[i].thread, worker_run, &workers[i]);
	}
	lab_barrier_wait(&held);
	status = fork_child();
	lab_barrier_wait(&released);
	for (int i = 0; i < cfg.threads; i++)
		lab_thread_join(workers[i].thread);
	for (int i = 0; i < cfg.threads; i++) {
		for (int j = 0; j < cfg.blocks; j++)
			lab_say("parent_free pid=%d tid=%d addr=0x%lx\n", (int)getpid(),
				(int)workers[i].tid, LAB_ADDR(workers[i].blocks[j]));
		*intact &= workers[i].intact;
		free(workers[i].blocks);
	}
	pthread_barrier_destroy(&held);
	pthread_barrier_destroy(&released);
	return status;
}

int main(int argc, char **argv)
{
	unsigned long iterations = 0;
	int status = 0, intact = 1;

	lab_init(argv[0]);
	parse(argc, argv);
	/* whole lines per write: parent and child records then interleave only between lines */
	if (setvbuf(stdout, NULL, _IOLBF, 0))
		lab_die("cannot make stdout line buffered");
	workers = lab_zalloc(cfg.threads, sizeof(*workers));
	if (cfg.loop_secs >= 0)
		lab_loop_start(cfg.loop_secs);
	do {
		int s = experiment(&intact);

		status = status ? status : s;
		iterations++;
	} while (cfg.loop_secs >= 0 && lab_loop_again());

	printf("summary threads=%d blocks=%d child_status=%d parent_intact=%d", cfg.threads,
	       cfg.blocks, status, intact);
	lab_summary_end(iterations);
	free(workers);
	return lab_exit_code(status || !intact);
}
