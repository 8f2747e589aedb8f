// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* 08c_fork_inject: what a child forked while threads hold blocks inherits, and may free. */
#include "common.h"

#include <fcntl.h>
#include <malloc.h>

#define CHILD_BYTE 0xcc	/* the child's writes; no thread fills with it */
#define PAGE 4096UL
#define HEAP_ALIGN (64UL << 20)	/* a thread arena's heap starts with heap_info, then the arena */

struct worker {
	pthread_t thread;
	int index;
	pid_t tid;
	unsigned char **blocks;
	unsigned char *probe;	/* -p: a block holding one whole page of its own */
	int intact;
};

static struct {
	int threads, blocks, child_frees, child_allocs, pagemap, child_thread, use_calloc;
	long size, loop_secs;
} cfg = { .threads = 3, .blocks = 4, .child_frees = 2, .child_allocs = 3, .size = 64,
	  .loop_secs = -1 };

static struct worker *workers;
static uintptr_t *child_freed;	/* the child's frees of inherited blocks, in order */
static int n_child_freed;
static pthread_barrier_t held, released;

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-n BLOCKS] [-s SIZE] [-c CHILD_FREES] [-k CHILD_ALLOCS]"
	       " [-p] [-T] [-C] [-L SECONDS]\n"
	       "  threads hold BLOCKS blocks each while the main thread forks; the child checks\n"
	       "  and writes the inherited blocks, frees CHILD_FREES of each thread's, allocates\n"
	       "  and frees CHILD_ALLOCS of its own; then the parent's threads check and free\n"
	       "  all of theirs.\n"
	       "  -p: thread 0 also holds a block with a whole page in it; parent and child read\n"
	       "  /proc/self/pagemap for the frames of that page and of its arena's first page\n"
	       "  (frames need root; na otherwise)\n"
	       "  -T: the child also starts a thread that allocates one block\n"
	       "  -C: the child allocates its own blocks with calloc instead of malloc\n"
	       "  -L repeats the experiment for SECONDS (0: until SIGINT/SIGTERM), quietly\n",
	       lab_prog);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:n:s:c:k:pTCL:")) != -1) {
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
		case 'p':
			cfg.pagemap = 1;
			break;
		case 'T':
			cfg.child_thread = 1;
			break;
		case 'C':
			cfg.use_calloc = 1;
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
	if (cfg.pagemap && w->index == 0) {
		w->probe = malloc(2 * PAGE);
		if (!w->probe)
			lab_die("thread 0: malloc(%lu) failed", 2 * PAGE);
		memset(w->probe, fill_byte(0), 2 * PAGE);
	}
	lab_barrier_wait(&held);
	/* the main thread forks and reaps the child in between */
	lab_barrier_wait(&released);
	w->intact = 1;
	for (int j = 0; j < cfg.blocks; j++)
		w->intact &= lab_all_bytes(w->blocks[j], fill_byte(w->index), cfg.size);
	for (int j = 0; j < cfg.blocks; j++)
		free(w->blocks[j]);
	free(w->probe);
	return NULL;
}

/* The page frame behind a virtual page, from /proc/self/pagemap; 0 if absent or hidden. */
static unsigned long frame_of(const void *page)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);	/* no malloc: the child reads it too */

	if (fd < 0)
		lab_die("cannot open /proc/self/pagemap: %s", strerror(errno));
	if (pread(fd, &e, sizeof(e), (off_t)(LAB_ADDR(page) / PAGE * sizeof(e))) != sizeof(e))
		e = 0;
	close(fd);
	return e >> 63 ? (unsigned long)(e & ((1ULL << 55) - 1)) : 0;	/* bit 63: present */
}

static const char *fmt_frame(unsigned long pfn, char buf[24])
{
	if (!pfn)
		return "na";
	snprintf(buf, 24, "0x%lx", pfn);
	return buf;
}

/* The page wholly inside thread 0's probe block, and its arena's first page (malloc_state). */
static unsigned char *probe_page(void)
{
	return (unsigned char *)((LAB_ADDR(workers[0].probe) + PAGE - 1) & ~(PAGE - 1));
}

static void *arena_page(void)
{
	return (void *)(LAB_ADDR(workers[0].probe) & ~(HEAP_ALIGN - 1));
}

/* who: parent or child; when: after_fork, after_child_write or after_child_exit */
static void say_frames(const char *who, const char *when, unsigned long block, unsigned long arena)
{
	char b1[24], b2[24];

	lab_say("pagemap who=%s when=%s block_page=%s arena_page=%s probe=0x%lx page=0x%lx"
		" arena=0x%lx\n", who, when, fmt_frame(block, b1), fmt_frame(arena, b2),
		LAB_ADDR(workers[0].probe), LAB_ADDR(probe_page()), LAB_ADDR(arena_page()));
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
			child_freed[n_child_freed++] = LAB_ADDR(b);
			free(b);
		}
	}
	return intact;
}

/* A thread born in the child: which arena serves it, and was it a parent thread's? */
static void *child_thread_run(void *arg)
{
	void *p = malloc(cfg.size);
	int owner = -1;

	(void)arg;
	if (!p)
		lab_die("child thread: malloc(%ld) failed", cfg.size);
	for (int i = 0; i < cfg.threads; i++)
		if ((LAB_ADDR(p) & ~(HEAP_ALIGN - 1)) ==
		    (LAB_ADDR(workers[i].blocks[0]) & ~(HEAP_ALIGN - 1)) &&
		    !strcmp(lab_region(p), "arena"))
			owner = i;
	lab_say("child_thread pid=%d tid=%d addr=0x%lx region=%s parent_thread_arena=%d\n",
		(int)getpid(), (int)lab_tid(), LAB_ADDR(p), lab_region(p), owner);
	free(p);
	return NULL;
}

__attribute__((noreturn)) static void child_run(void)
{
	pid_t pid = getpid(), tid = lab_tid();
	void **own;
	int intact;

	if (cfg.pagemap) {	/* before this process writes anything of the probe's */
		unsigned long arena = frame_of(arena_page());

		say_frames("child", "after_fork", frame_of(probe_page()), arena);
		memset(probe_page(), CHILD_BYTE, PAGE);
		say_frames("child", "after_child_write", frame_of(probe_page()),
			   frame_of(arena_page()));
	}
	own = lab_zalloc(cfg.child_allocs, sizeof(*own));
	child_freed = lab_zalloc(cfg.threads * cfg.child_frees, sizeof(*child_freed));
#ifdef __GLIBC__
	/* mallinfo2 sums every arena: the fastbins include the parent's arenas' copies */
	size_t fast0 = lab_hdr_ok ? mallinfo2().smblks : 0;
#endif
	intact = child_inherited(pid, tid);
#ifdef __GLIBC__
	if (lab_hdr_ok)
		lab_say("child_bins pid=%d inherited_frees=%d fastbin_blocks_added=%zu\n",
			(int)pid, cfg.threads * cfg.child_frees, mallinfo2().smblks - fast0);
#endif

	for (int k = 0; k < cfg.child_allocs; k++) {
		int rank = 0;	/* 1: the inherited block freed last, 2: the one before, ... */

		own[k] = cfg.use_calloc ? calloc(1, cfg.size) : malloc(cfg.size);
		if (!own[k])
			lab_die("child: %s(%ld) failed", cfg.use_calloc ? "calloc" : "malloc",
				cfg.size);
		for (int i = 0; i < n_child_freed; i++)
			if (child_freed[i] == LAB_ADDR(own[k]))
				rank = n_child_freed - i;
		lab_say("child_alloc pid=%d tid=%d addr=0x%lx by=%s freed_rank=%d\n", (int)pid,
			(int)tid, LAB_ADDR(own[k]), cfg.use_calloc ? "calloc" : "malloc", rank);
	}
	for (int k = 0; k < cfg.child_allocs; k++) {
		lab_say("child_free pid=%d tid=%d addr=0x%lx inherited=0\n", (int)pid, (int)tid,
			LAB_ADDR(own[k]));
		free(own[k]);
	}
	if (cfg.child_thread) {
		pthread_t t;

		lab_thread_start(&t, child_thread_run, NULL);
		lab_thread_join(t);
	}
	if (!intact)
		fprintf(stderr, "%s: child found an inherited block changed\n", lab_prog);
	lab_child_exit(intact ? 0 : 1);
}

/* Fork while every thread holds its blocks; the child's status the shell way. */
static int fork_child(void)
{
	pid_t pid;
	int status;

	for (int i = 0; i < cfg.threads; i++)
		for (int j = 0; j < cfg.blocks; j++)
			lab_say("hold thread=%d tid=%d addr=0x%lx\n", i, (int)workers[i].tid,
				LAB_ADDR(workers[i].blocks[j]));
	if (cfg.pagemap)
		say_frames("parent", "before_fork", frame_of(probe_page()), frame_of(arena_page()));
	pid = lab_fork();
	if (pid == 0)
		child_run();
	if (cfg.pagemap)
		say_frames("parent", "after_fork", frame_of(probe_page()), frame_of(arena_page()));
	lab_say("fork parent=%d child=%d\n", (int)getpid(), (int)pid);
	status = lab_wait(pid);
	if (cfg.pagemap)
		say_frames("parent", "after_child_exit", frame_of(probe_page()),
			   frame_of(arena_page()));
	return status;
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
