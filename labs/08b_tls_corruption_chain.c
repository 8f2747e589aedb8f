// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* 08b_tls_corruption_chain: when one thread writes over another thread's block, does it spread? */
#include "common.h"
#include <malloc.h>

#define MAX_THREADS 16		/* fill bytes 'A' + i stay distinct from OVERRUN_BYTE */
#define OVERRUN_EXTRA 16	/* past the block: its 8 bytes of slack, then the next size word */
#define OVERRUN_BYTE 'X'	/* as a glibc size word: misaligned, so free() must object */

struct worker {
	pthread_t thread;
	int index;
	pid_t tid;
	unsigned char **blocks;
	int *intact;
};

static struct {
	int threads, blocks, victim, overrun, extra;
	long size, loop_secs;
} cfg = { .threads = 3, .blocks = 3, .size = 64, .victim = 1, .extra = OVERRUN_EXTRA,
	  .loop_secs = -1 };

static struct worker *workers;
static pthread_barrier_t filled, attacked;

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-n BLOCKS] [-s SIZE] [-v VICTIM] [--overrun [-x EXTRA]]\n"
	       "          [-L SECONDS]\n"
	       "  each thread fills its blocks with its own byte; thread 0 then overwrites\n"
	       "  block 0 of thread VICTIM and every thread checks its blocks for damage.\n"
	       "  --overrun: thread 0 writes SIZE+EXTRA bytes (EXTRA %d by default) into its own\n"
	       "  block instead and frees, so glibc's checks should abort the program\n"
	       "  -L repeats the experiment for SECONDS (0: until SIGINT/SIGTERM), quietly\n",
	       lab_prog, OVERRUN_EXTRA);
}

static void parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "overrun", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ht:n:s:v:x:L:", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			cfg.threads = lab_num(optarg, c, 2, MAX_THREADS);
			break;
		case 'n':
			cfg.blocks = lab_num(optarg, c, 1, 100000);
			break;
		case 's':
			cfg.size = lab_num(optarg, c, 1, 1L << 30);
			break;
		case 'v':
			cfg.victim = lab_num(optarg, c, 1, MAX_THREADS - 1);
			break;
		case 'o':
			cfg.overrun = 1;
			break;
		case 'x':
			cfg.extra = lab_num(optarg, c, 1, 4096);
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
	if (cfg.victim >= cfg.threads)
		lab_bad_usage("victim %d is not one of threads 1..%d", cfg.victim, cfg.threads - 1);
	if (cfg.overrun && cfg.loop_secs >= 0)
		lab_bad_usage("--overrun ends the program, it cannot loop");
}

static int fill_byte(int index)
{
	return 'A' + index;
}

/* The deliberate damage: a legal in-bounds write through a pointer another thread owns. */
static void attack(const struct worker *self)
{
	memset(workers[cfg.victim].blocks[0], fill_byte(self->index), cfg.size);
}

/*
 * An out-of-bounds write. Under glibc it lands on the next chunk's header; allocators without
 * in-band headers let it reach the neighbouring block's data, which the checks then see.
 */
static void overrun(const struct worker *self)
{
	long bytes = cfg.size + cfg.extra;
	char buf[24];

	/* glibc's usable size: the chunk minus its own size word, the next prev_size included */
	printf("overrun addr=0x%lx bytes=%ld usable=%s\n", LAB_ADDR(self->blocks[0]), bytes,
	       lab_fmt_size(lab_hdr_ok ? malloc_usable_size(self->blocks[0]) : 0, buf));
	fflush(stdout);
	memset(self->blocks[0], OVERRUN_BYTE, bytes);
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
	lab_barrier_wait(&filled);
	if (w->index == 0)
		cfg.overrun ? overrun(w) : attack(w);
	lab_barrier_wait(&attacked);
	/* each thread checks and frees only its own blocks: nobody writes after the barrier */
	for (int j = 0; j < cfg.blocks; j++)
		w->intact[j] = lab_all_bytes(w->blocks[j], fill_byte(w->index), cfg.size);
	for (int j = 0; j < cfg.blocks; j++)
		free(w->blocks[j]);
	return NULL;
}

static void run_workers(void)
{
	lab_barrier_init(&filled, cfg.threads);
	lab_barrier_init(&attacked, cfg.threads);
	for (int i = 0; i < cfg.threads; i++) {
		workers[i].index = i;
		lab_thread_start(&workers[i].thread, worker_run, &workers[i]);
	}
	for (int i = 0; i < cfg.threads; i++)
		lab_thread_join(workers[i].thread);
	pthread_barrier_destroy(&filled);
	pthread_barrier_destroy(&attacked);
}

/* One run; adds the damaged blocks to *corrupted and returns 1 if damage went anywhere else. */
static int experiment(unsigned long *corrupted)
{
	int bleed = 0;

	for (int i = 0; i < cfg.threads; i++) {
		workers[i].blocks = lab_zalloc(cfg.blocks, sizeof(*workers[i].blocks));
		workers[i].intact = lab_zalloc(cfg.blocks, sizeof(*workers[i].intact));
	}
	run_workers();
	for (int i = 0; i < cfg.threads; i++) {
		for (int j = 0; j < cfg.blocks; j++) {
			int expected = i == (cfg.overrun ? 0 : cfg.victim) && j == 0;
			int intact = workers[i].intact[j];

			lab_say("verify thread=%d block=%d addr=0x%lx intact=%d"
				" expected_corrupt=%d\n",
				i, j, LAB_ADDR(workers[i].blocks[j]), intact, expected);
			*corrupted += !intact;
			bleed |= !intact && !expected;
		}
		free(workers[i].blocks);
		free(workers[i].intact);
	}
	return bleed;
}

int main(int argc, char **argv)
{
	unsigned long iterations = 0;
	unsigned long corrupted = 0;
	int bleed = 0;

	lab_init(argv[0]);
	parse(argc, argv);
	workers = lab_zalloc(cfg.threads, sizeof(*workers));
	if (cfg.loop_secs >= 0)
		lab_loop_start(cfg.loop_secs);
	do {
		bleed |= experiment(&corrupted);
		iterations++;
	} while (cfg.loop_secs >= 0 && lab_loop_again());

	/* still here after --overrun: the allocator never noticed, which is the failure */
	if (cfg.overrun)
		lab_say("# the overrun went unnoticed by the allocator\n");
	printf("summary corrupted=%lu expected=%lu bleed=%d", corrupted, iterations, bleed);
	lab_summary_end(iterations);
	free(workers);
	return lab_exit_code(cfg.overrun || bleed || corrupted != iterations);
}
