// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* 08a_tls_malloc_layout_map: do threads that allocate at the same time get separate arenas? */
#include "common.h"

/*
 * glibc aligns every thread heap to HEAP_MAX_SIZE (64 MiB on 64-bit), so the aligned base names
 * the heap; an arena that outgrows one heap would count twice, which these sizes never reach.
 */
#define HEAP_ALIGN (64UL << 20)
#define MAIN_HEAP_KEY 1UL
#define MAX_ARENAS 4096

struct block {
	void *addr;
	const char *region;
	size_t chunk;
};

struct worker {
	pthread_t thread;
	int index;
	pid_t tid;
	struct block *blocks;
};

static struct {
	int threads, blocks, serial;
	long size, hold_ms, loop_secs;
} cfg = { .threads = 4, .blocks = 3, .size = 64, .hold_ms = 200, .loop_secs = -1 };

static pthread_barrier_t all_live;
static uintptr_t arenas[MAX_ARENAS];	/* arena keys seen over all iterations */
static int narenas;
static int on_heap;	/* workers whose blocks came from the main arena, over all iterations */

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-n BLOCKS] [-s SIZE] [-l HOLD_MS] [-S] [-L SECONDS]\n"
	       "  each thread allocates BLOCKS blocks of SIZE bytes; all hold them for HOLD_MS,\n"
	       "  then free; prints where each block landed and how many arenas served them.\n"
	       "  -S runs the threads one after another instead, each started once the last ended\n"
	       "  -L repeats the experiment for SECONDS (0: until SIGINT/SIGTERM), quietly\n",
	       lab_prog);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:n:s:l:SL:")) != -1) {
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
		case 'l':
			cfg.hold_ms = lab_num(optarg, c, 0, 3600000);
			break;
		case 'S':
			cfg.serial = 1;
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

	w->tid = lab_tid();
	for (int j = 0; j < cfg.blocks; j++) {
		struct block *b = &w->blocks[j];

		b->addr = malloc(cfg.size);
		if (!b->addr)
			lab_die("thread %d: malloc(%ld) failed", w->index, cfg.size);
		/* the header changes meaning once freed: read it while the block is ours */
		b->region = lab_region(b->addr);
		b->chunk = lab_chunk(b->addr);
	}
	if (!cfg.serial)
		lab_barrier_wait(&all_live);
	lab_sleep_ms(cfg.hold_ms);
	for (int j = 0; j < cfg.blocks; j++)
		free(w->blocks[j].addr);
	return NULL;
}

static void note_arena(const struct block *b)
{
	uintptr_t key = (uintptr_t)b->addr & ~(HEAP_ALIGN - 1);

	if (!strcmp(b->region, "mmap_chunk"))
		return;	/* served by its own mapping, outside every arena */
	if (!strcmp(b->region, "heap"))
		key = MAIN_HEAP_KEY;
	for (int i = 0; i < narenas; i++)
		if (arenas[i] == key)
			return;
	if (narenas == MAX_ARENAS)
		lab_die("more than %d arenas", MAX_ARENAS);
	arenas[narenas++] = key;
}

static int cmp_addr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* Blocks live at the same time must not overlap: anything else is an allocator bug. */
static int count_overlaps(const struct worker *w)
{
	int n = cfg.threads * cfg.blocks, bad = 0;
	uintptr_t *addrs = lab_zalloc(n, sizeof(*addrs));

	for (int i = 0; i < n; i++)
		addrs[i] = (uintptr_t)w[i / cfg.blocks].blocks[i % cfg.blocks].addr;
	qsort(addrs, n, sizeof(*addrs), cmp_addr);
	for (int i = 1; i < n; i++)
		if (addrs[i - 1] + cfg.size > addrs[i]) {
			fprintf(stderr, "%s: blocks 0x%lx and 0x%lx overlap\n", lab_prog,
				(unsigned long)addrs[i - 1], (unsigned long)addrs[i]);
			bad++;
		}
	free(addrs);
	return bad;
}

static void report(const struct worker *w)
{
	char buf[24];

	for (int i = 0; i < cfg.threads; i++) {
		on_heap += !strcmp(w[i].blocks[0].region, "heap");
		for (int j = 0; j < cfg.blocks; j++) {
			const struct block *b = &w[i].blocks[j];

			lab_say("block thread=%d tid=%d addr=0x%lx size=%ld region=%s chunk=%s\n",
				i, (int)w[i].tid, LAB_ADDR(b->addr), cfg.size, b->region,
				lab_fmt_size(b->chunk, buf));
			note_arena(b);
		}
	}
}

/*
 * After the threads exited: the chunk just before each worker's first block, when glibc marks
 * it free (its size in the block's prev_size word, PREV_INUSE clear in the block's size word).
 * In a fresh arena that is the thread's tcache, freed at thread exit; a free chunk's size word
 * keeps PREV_INUSE and its size only, not NON_MAIN_ARENA.
 */
static void say_freed_before(const struct worker *w)
{
	if (lab_quiet || !lab_hdr_ok || cfg.serial)
		return;
	for (int i = 0; i < cfg.threads; i++) {
		const char *b = w[i].blocks[0].addr;
		const size_t *hdr, *prev;

		if (strcmp(w[i].blocks[0].region, "arena"))
			continue;
		/* glibc's words around a block: prev_size, then size, then the block */
		__asm__("" : "+r"(b));
		hdr = (const size_t *)(b - 2 * sizeof(size_t));
		if (hdr[1] & 1)
			continue;	/* the chunk before is in use: prev_size holds no size */
		prev = (const size_t *)((const char *)hdr - hdr[0]);
		printf("freed_before thread=%d chunk=0x%lx size_word=0x%zx\n", i, LAB_ADDR(prev),
		       prev[1]);
	}
}

/*
 * How much of each thread arena's read-write part is resident, from /proc/self/smaps: the
 * mapping that starts at the arena's 64 MiB-aligned base.
 */
static void say_resident(void)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lo, hi, kb;
	int cur = -1;

	if (lab_quiet || !lab_hdr_ok)
		return;
	f = fopen("/proc/self/smaps", "r");
	if (!f)
		lab_die("cannot open /proc/self/smaps: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			cur = -1;
			for (int i = 0; i < narenas; i++)
				if (arenas[i] != MAIN_HEAP_KEY && arenas[i] == lo)
					cur = i;
			continue;
		}
		if (cur >= 0 && sscanf(line, "Rss: %lu kB", &kb) == 1) {
			printf("resident arena=0x%lx rw_kb=%lu rss_kb=%lu\n", (unsigned long)lo,
			       (hi - lo) / 1024, kb);
			cur = -1;
		}
	}
	free(line);
	fclose(f);
}

/* One run: all threads allocate, hold together, free. Returns the overlaps found. */
static int experiment(void)
{
	struct worker *w = lab_zalloc(cfg.threads, sizeof(*w));
	int bad;

	if (!cfg.serial)
		lab_barrier_init(&all_live, cfg.threads);
	for (int i = 0; i < cfg.threads; i++) {
		w[i].index = i;
		w[i].blocks = lab_zalloc(cfg.blocks, sizeof(*w[i].blocks));
		lab_thread_start(&w[i].thread, worker_run, &w[i]);
		if (cfg.serial)
			lab_thread_join(w[i].thread);
	}
	for (int i = 0; i < cfg.threads && !cfg.serial; i++)
		lab_thread_join(w[i].thread);
	if (!cfg.serial)
		pthread_barrier_destroy(&all_live);
	/* the records were taken while every block was live, so they still tell the layout */
	report(w);
	say_freed_before(w);
	say_resident();
	/* one after another, a thread may get back what the last one freed: no overlap to find */
	bad = cfg.serial ? 0 : count_overlaps(w);
	for (int i = 0; i < cfg.threads; i++)
		free(w[i].blocks);
	free(w);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned long iterations = 0;
	int bad = 0;

	lab_init(argv[0]);
	parse(argc, argv);
	if (cfg.loop_secs >= 0)
		lab_loop_start(cfg.loop_secs);
	do {
		bad += experiment();
		iterations++;
	} while (cfg.loop_secs >= 0 && lab_loop_again());

	if (lab_hdr_ok) {
		/* glibc's limit, 8 arenas per CPU on 64-bit, counts the main arena too */
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		int main_seen = 0;

		for (int i = 0; i < narenas; i++)
			main_seen += arenas[i] == MAIN_HEAP_KEY;
		lab_say("# %d threads allocating %s were served by %d arenas: %d thread arenas, "
			"and the main arena for %d of them; glibc's limit 8 x %ld CPUs = %ld counts "
			"the main arena\n", cfg.threads, cfg.serial ? "one after another" : "at once",
			narenas, narenas - main_seen, on_heap, cpus, 8 * cpus);
		printf("summary threads=%d distinct_arenas=%d thread_arenas=%d workers_on_heap=%d "
		       "cpus=%ld", cfg.threads, narenas, narenas - main_seen, on_heap, cpus);
	} else {
		printf("summary threads=%d distinct_arenas=na", cfg.threads);
	}
	lab_summary_end(iterations);
	return lab_exit_code(bad);
}
