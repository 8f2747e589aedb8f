// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_chunks: own, cross-thread and inherited frees of known blocks, the correlator's truth. */
#include "../../labs/common.h"

#define SMALL_SIZE 48
#define LARGE_SIZE (256 * 1024)	/* above glibc's 128 KiB mmap threshold */
#define NSMALL 4
#define NBLOCKS (NSMALL + 1)	/* the last one is the large block */

struct block {
	void *addr;
	size_t size;
	const char *region;	/* read from the header while live */
	pid_t alloc_tid;
};

/* Participant 0 is the main thread, 1..threads are the others. */
struct part {
	pthread_t thread;
	int index;
	pid_t tid;
	struct block blocks[NBLOCKS];
	const struct block *freed[NBLOCKS];	/* in the order this participant freed them */
	int nfreed, nsaid;
};

static int nparts = 3;
static struct part *parts;
static pthread_barrier_t allocated, said_allocs, cross_freed, forked, own_freed;
static int child_status;

static void usage(void)
{
	printf("usage: %s [-t THREADS]\n"
	       "  main and THREADS threads each allocate %d blocks of %d bytes and one of %d;\n"
	       "  each frees block 0 of the next; a child forked meanwhile frees two inherited\n"
	       "  blocks; then each frees the rest of its own. prints every alloc and free\n",
	       lab_prog, NSMALL, SMALL_SIZE, LARGE_SIZE);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:")) != -1) {
		switch (c) {
		case 't':
			nparts = 1 + lab_num(optarg, c, 0, LAB_MAX_THREADS);
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

static void alloc_all(struct part *p)
{
	p->tid = lab_tid();
	for (int j = 0; j < NBLOCKS; j++) {
		struct block *b = &p->blocks[j];

		b->size = j < NSMALL ? SMALL_SIZE : LARGE_SIZE;
		b->addr = malloc(b->size);
		if (!b->addr)
			lab_die("malloc(%zu) failed", b->size);
		b->region = lab_region(b->addr);
		b->alloc_tid = p->tid;
	}
}

static void free_block(struct part *p, const struct block *b)
{
	free(b->addr);
	p->freed[p->nfreed++] = b;
}

static void say_free(pid_t pid, pid_t tid, const struct block *b, int inherited)
{
	printf("free pid=%d tid=%d addr=0x%lx region=%s alloc_tid=%d cross=%d inherited=%d\n",
	       (int)pid, (int)tid, LAB_ADDR(b->addr), b->region, (int)b->alloc_tid,
	       !inherited && tid != b->alloc_tid, inherited);
}

/* The frees logged since the last call; every other thread waits at a barrier meanwhile. */
static void say_new_frees(void)
{
	for (int i = 0; i < nparts; i++)
		for (; parts[i].nsaid < parts[i].nfreed; parts[i].nsaid++)
			say_free(getpid(), parts[i].tid, parts[i].freed[parts[i].nsaid], 0);
}

static void say_allocs(void)
{
	for (int i = 0; i < nparts; i++)
		for (int j = 0; j < NBLOCKS; j++) {
			const struct block *b = &parts[i].blocks[j];

			printf("alloc pid=%d tid=%d addr=0x%lx size=%zu region=%s\n", (int)getpid(),
			       (int)b->alloc_tid, LAB_ADDR(b->addr), b->size, b->region);
		}
}

/* Two blocks the parent still holds, from two different participants when there are two. */
__attribute__((noreturn)) static void child_run(void)
{
	const struct block *picks[] = { &parts[nparts - 1].blocks[1],
					&parts[1 % nparts].blocks[NBLOCKS - 1] };
	pid_t pid = getpid();

	for (int k = 0; k < 2; k++) {
		say_free(pid, lab_tid(), picks[k], 1);
		free(picks[k]->addr);
	}
	lab_child_exit(0);
}

static int fork_and_wait(void)
{
	pid_t pid;
	int status;

	say_new_frees();
	pid = lab_fork();
	if (pid == 0)
		child_run();
	printf("fork parent=%d child=%d\n", (int)getpid(), (int)pid);
	status = lab_wait(pid);
	if (status)
		fprintf(stderr, "%s: child ended with status %d\n", lab_prog, status);
	return status;
}

/* Every participant's script; the main thread also reports and forks between the barriers. */
static void play(struct part *p)
{
	int is_main = p->index == 0;

	alloc_all(p);
	lab_barrier_wait(&allocated);
	if (is_main)
		say_allocs();
	lab_barrier_wait(&said_allocs);
	/* the next participant's block 0: a cross-thread free whenever there are two or more */
	free_block(p, &parts[(p->index + 1) % nparts].blocks[0]);
	lab_barrier_wait(&cross_freed);
	if (is_main)
		child_status = fork_and_wait();
	lab_barrier_wait(&forked);
	for (int j = 1; j < NBLOCKS; j++)
		free_block(p, &p->blocks[j]);
	/*
	 * no thread exits before all of these frees are done: exiting, glibc flushes the
	 * thread's cache with frees of its own
	 */
	lab_barrier_wait(&own_freed);
}

static void *part_run(void *arg)
{
	play(arg);
	return NULL;
}

static void init_barriers(void)
{
	pthread_barrier_t *all[] = { &allocated, &said_allocs, &cross_freed, &forked, &own_freed };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		lab_barrier_init(all[i], nparts);
}

int main(int argc, char **argv)
{
	lab_init(argv[0]);
	parse(argc, argv);
	parts = lab_zalloc(nparts, sizeof(*parts));
	init_barriers();
	for (int i = 1; i < nparts; i++) {
		parts[i].index = i;
		lab_thread_start(&parts[i].thread, part_run, &parts[i]);
	}
	play(&parts[0]);
	for (int i = 1; i < nparts; i++)
		lab_thread_join(parts[i].thread);
	say_new_frees();
	free(parts);
	return lab_exit_code(child_status != 0);
}
