// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* 08e_heapmap: where blocks of three sizes and plain mappings land, across threads and a fork. */
#include "common.h"
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>

#define MAP_LEN (64 * 1024)
#define MMAP_THRESHOLD (128 * 1024)	/* glibc's default M_MMAP_THRESHOLD */
#define HEAP_MAX (64UL * 1024 * 1024)	/* a thread arena's heap: its size and alignment */

enum { SMALL, MEDIUM, LARGE, NSIZES };

struct holder {
	pthread_t thread;
	char who[16];
	pid_t pid, tid;
	void *blocks[NSIZES];
	const char *regions[NSIZES];
	int from_top[NSIZES];	/* not mapped: the chunk after the block is its arena's top */
};

static struct {
	int threads, fork, threshold, pin, pagemap;
	long sizes[NSIZES], loop_secs;
} cfg = { .threads = 2, .fork = 1, .sizes = { 32, 4096, 1024 * 1024 }, .loop_secs = -1 };

static pthread_barrier_t all_held, release;
static int bad_total;	/* threads add to it before the barrier, main reads it after */

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-s SMALL] [-m MEDIUM] [-l LARGE] [--no-fork] [-p]"
	       " [-L SECONDS]\n"
	       "       %s --threshold [--pin] [-l LARGE]\n"
	       "  main, each thread and a forked child allocate one block of each size; main\n"
	       "  also maps %d KiB of private and of shared anonymous memory. prints each\n"
	       "  block's region and the /proc/self/maps lines holding them. exit status 1 when\n"
	       "  glibc mapped a block whose chunk is below its mmap threshold (128 KiB), or\n"
	       "  served one at or above it from anywhere but its own mapping or the top chunk.\n"
	       "  -p: the child reads /proc/self/pagemap around its write to each page the\n"
	       "  parent marked (private map, shared map, malloc block): the frame before and\n"
	       "  after (frames need root; na otherwise)\n"
	       "  -L repeats the experiment for SECONDS (0: until SIGINT/SIGTERM), quietly\n"
	       "  --threshold: only allocate LARGE, free it and allocate it again in the main\n"
	       "  thread, and print where both landed; --pin first sets the threshold by mallopt\n",
	       lab_prog, lab_prog, MAP_LEN / 1024);
}

static void parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-fork", no_argument, NULL, 'F' },
		{ "threshold", no_argument, NULL, 'T' },
		{ "pin", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ht:s:m:l:pL:", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			cfg.threads = lab_num(optarg, c, 0, LAB_MAX_THREADS);
			break;
		case 's':
			cfg.sizes[SMALL] = lab_num(optarg, c, 1, 1L << 30);
			break;
		case 'm':
			cfg.sizes[MEDIUM] = lab_num(optarg, c, 1, 1L << 30);
			break;
		case 'l':
			cfg.sizes[LARGE] = lab_num(optarg, c, 1, 1L << 30);
			break;
		case 'F':
			cfg.fork = 0;
			break;
		case 'T':
			cfg.threshold = 1;
			break;
		case 'p':
			cfg.pagemap = 1;
			break;
		case 'P':
			cfg.pin = 1;
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

/* glibc's chunk for a request: request + 8 bytes of size word, rounded up to 16, at least 32. */
static size_t chunk_for(size_t req)
{
	size_t c = (req + sizeof(size_t) + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
}

/*
 * Whether the chunk right after a block (not mapped) is its arena's top chunk: the one that
 * ends where the arena's memory ends, sbrk(0) for the main arena, heap_info's size (the third
 * word at the 64 MiB-aligned start of a thread arena's heap) for the others. glibc only gets
 * here for a chunk at or above the threshold when the top chunk could serve it.
 */
static int next_is_top(const void *p, const char *region)
{
	uintptr_t next = LAB_ADDR(p) - 2 * sizeof(size_t) + lab_chunk(p);
	uintptr_t end = next + (*(const size_t *)(next + sizeof(size_t)) & ~(size_t)7);

	if (!strcmp(region, "heap"))
		return end == LAB_ADDR(sbrk(0));
	uintptr_t base = LAB_ADDR(p) & ~(HEAP_MAX - 1);

	return end == base + ((const size_t *)base)[2];
}

/*
 * One block of each size; returns how many landed against glibc's rule (0 when unknowable):
 * sysmalloc maps a chunk of its own only for a chunk of at least the threshold, and only when
 * the arena's top chunk cannot serve it, so a mapped chunk below the threshold, or one at or
 * above it served from neither a mapping nor the top, is a mismatch.
 */
static int hold_blocks(struct holder *h)
{
	int bad = 0;

	h->pid = getpid();
	h->tid = lab_tid();
	for (int k = 0; k < NSIZES; k++) {
		h->blocks[k] = malloc(cfg.sizes[k]);
		if (!h->blocks[k])
			lab_die("%s: malloc(%ld) failed", h->who, cfg.sizes[k]);
		h->regions[k] = lab_region(h->blocks[k]);
		if (!lab_hdr_ok)
			continue;
		/* at once: a later malloc in this arena would move the top */
		if (strcmp(h->regions[k], "mmap_chunk"))
			h->from_top[k] = next_is_top(h->blocks[k], h->regions[k]);
		if (chunk_for(cfg.sizes[k]) < MMAP_THRESHOLD)
			bad += !strcmp(h->regions[k], "mmap_chunk");
		else
			bad += strcmp(h->regions[k], "mmap_chunk") && !h->from_top[k];
	}
	return bad;
}

static void free_blocks(struct holder *h)
{
	for (int k = 0; k < NSIZES; k++)
		free(h->blocks[k]);
}

static void say_blocks(const struct holder *h)
{
	for (int k = 0; k < NSIZES; k++)
		lab_say("block who=%s pid=%d tid=%d size=%ld chunk=%zu addr=0x%lx region=%s"
			" from_top=%s\n", h->who, (int)h->pid, (int)h->tid, cfg.sizes[k],
			chunk_for(cfg.sizes[k]), LAB_ADDR(h->blocks[k]), h->regions[k],
			!lab_hdr_ok ? "na" : !strcmp(h->regions[k], "mmap_chunk") ? "-" :
			h->from_top[k] ? "1" : "0");
}

static void *holder_run(void *arg)
{
	struct holder *h = arg;

	__atomic_add_fetch(&bad_total, hold_blocks(h), __ATOMIC_RELAXED);
	lab_barrier_wait(&all_held);
	lab_barrier_wait(&release);
	free_blocks(h);
	return NULL;
}

/* The /proc/self/maps lines that hold any of the n addresses, as comments. */
static void say_maps(void *const *addrs, int n)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lo, hi;

	if (lab_quiet)
		return;
	f = fopen("/proc/self/maps", "r");
	if (!f)
		lab_die("cannot open /proc/self/maps: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		for (int i = 0; i < n; i++) {
			if (LAB_ADDR(addrs[i]) >= lo && LAB_ADDR(addrs[i]) < hi) {
				printf("# maps %s", line);
				break;
			}
		}
	}
	free(line);
	fclose(f);
}

/*
 * How far above the program the brk heap starts: the kernel randomizes the start of brk. The
 * program's mappings are the file-backed ones below [heap].
 */
static void say_heap_gap(void)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lo, hi, prog_end = 0, heap = 0;

	if (lab_quiet)
		return;
	f = fopen("/proc/self/maps", "r");
	if (!f)
		lab_die("cannot open /proc/self/maps: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (strstr(line, "[heap]"))
			heap = lo;
		else if (!heap && strchr(line, '/'))
			prog_end = hi;
	}
	free(line);
	fclose(f);
	if (heap && prog_end)
		printf("heap_gap program_end=0x%lx heap_start=0x%lx bytes=%lu\n", prog_end, heap,
		       heap - prog_end);
}

static void *map_anon(int shared)
{
	void *p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		lab_die("cannot map %d bytes: %s", MAP_LEN, strerror(errno));
	memset(p, 0x5a, MAP_LEN);	/* touched, so the pages are real */
	lab_say("map kind=%s addr=0x%lx len=%d\n", shared ? "shared" : "anon", LAB_ADDR(p),
		MAP_LEN);
	return p;
}

/*
 * The child allocates in its only thread and reads its own maps: the parent's are not its own.
 * It first writes 'C' over the parent's 'P' in the private map, the shared map and main's small
 * block; the parent reads the three bytes back once the child is gone.
 */
/* The page frame behind an address, from /proc/self/pagemap; 0 if absent or hidden (not root). */
static unsigned long frame_of(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);	/* no malloc: the child reads it */

	if (fd < 0)
		lab_die("cannot open /proc/self/pagemap: %s", strerror(errno));
	if (pread(fd, &e, sizeof(e), (off_t)(LAB_ADDR(addr) / 4096 * sizeof(e))) != sizeof(e))
		e = 0;
	close(fd);
	return e >> 63 ? (unsigned long)(e & ((1ULL << 55) - 1)) : 0;	/* bit 63: present */
}

/* The child's write to a page the parent marked: with -p, whether its frame changed. */
static void child_mark(char *mark, const char *what)
{
	unsigned long before = cfg.pagemap ? frame_of(mark) : 0, after;

	*(volatile char *)mark = 'C';
	if (!cfg.pagemap)
		return;
	after = frame_of(mark);
	/* before 0: not in the child's page table (fork copies none of a shared mapping's) */
	if (!after)
		lab_say("pagemap who=child mark=%s addr=0x%lx copied=na\n", what, LAB_ADDR(mark));
	else
		lab_say("pagemap who=child mark=%s addr=0x%lx before=0x%lx after=0x%lx copied=%d\n",
			what, LAB_ADDR(mark), before, after, before && before != after);
}

__attribute__((noreturn)) static void child_run(char *const marks[3])
{
	static const char *const what[3] = { "private", "shared", "malloc" };
	struct holder h = { .who = "child" };
	int bad;

	for (int i = 0; i < 3; i++)
		child_mark(marks[i], what[i]);
	bad = hold_blocks(&h);

	say_blocks(&h);
	say_maps(h.blocks, NSIZES);
	free_blocks(&h);
	lab_child_exit(bad ? 1 : 0);
}

/* Everything the parent holds, reported while all of it is live. */
static void say_parent(const struct holder *h, void *const maps[2])
{
	int n = (cfg.threads + 1) * NSIZES + 2;
	void **addrs = lab_zalloc(n, sizeof(*addrs));

	for (int i = 0; i <= cfg.threads; i++) {
		say_blocks(&h[i]);
		memcpy(&addrs[i * NSIZES], h[i].blocks, sizeof(h[i].blocks));
	}
	addrs[n - 2] = maps[0];
	addrs[n - 1] = maps[1];
	say_maps(addrs, n);
	free(addrs);
}

static void start_holders(struct holder *h)
{
	lab_barrier_init(&all_held, cfg.threads + 1);
	lab_barrier_init(&release, cfg.threads + 1);
	for (int i = 1; i <= cfg.threads; i++) {
		snprintf(h[i].who, sizeof(h[i].who), "t%d", i - 1);
		lab_thread_start(&h[i].thread, holder_run, &h[i]);
	}
}

static void stop_holders(struct holder *h)
{
	lab_barrier_wait(&release);
	for (int i = 1; i <= cfg.threads; i++)
		lab_thread_join(h[i].thread);
	pthread_barrier_destroy(&all_held);
	pthread_barrier_destroy(&release);
}

/* One run; returns the parent's misplaced blocks, and sets *child_status if the child failed. */
static int experiment(int *child_status)
{
	struct holder *h = lab_zalloc(cfg.threads + 1, sizeof(*h));
	void *maps[2];
	int bad;

	bad_total = 0;
	strcpy(h[0].who, "main");
	bad = hold_blocks(&h[0]);
	say_heap_gap();
	start_holders(h);
	lab_barrier_wait(&all_held);
	maps[0] = map_anon(0);
	maps[1] = map_anon(1);
	say_parent(h, maps);
	if (cfg.fork) {
		char *marks[3] = { maps[0], maps[1], h[0].blocks[SMALL] };
		pid_t pid;
		int status;

		for (int i = 0; i < 3; i++) {
			*(volatile char *)marks[i] = 'P';
			if (cfg.pagemap)
				lab_say("pagemap who=parent mark=%d addr=0x%lx frame=0x%lx\n", i,
					LAB_ADDR(marks[i]), frame_of(marks[i]));
		}
		pid = lab_fork();
		if (pid == 0)
			child_run(marks);
		status = lab_wait(pid);
		*child_status = *child_status ? *child_status : status;
		/* MAP_SHARED pages are the same pages in both; the others were copied on write */
		lab_say("after_child private=%c shared=%c malloc=%c\n",
			*(volatile char *)marks[0], *(volatile char *)marks[1],
			*(volatile char *)marks[2]);
	}
	stop_holders(h);
	free_blocks(&h[0]);
	if (munmap(maps[0], MAP_LEN) || munmap(maps[1], MAP_LEN))
		lab_die("cannot unmap: %s", strerror(errno));
	free(h);
	return bad + bad_total;
}

/*
 * Freeing an mmapped chunk makes glibc raise its mmap threshold to that chunk's size, so from
 * the second run on LARGE would come from the heap. Pinning the threshold disables that
 * adjustment and keeps every run the same experiment.
 */
static void pin_mmap_threshold(void)
{
#ifdef __GLIBC__
	if (lab_hdr_ok && mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1)
		lab_die("cannot pin the mmap threshold");
#endif
}

/* glibc's dynamic threshold: does freeing a mapped LARGE make the next one come from the heap? */
static int threshold_probe(void)
{
	const char *first, *second;
	void *p;

	if (cfg.pin)
		pin_mmap_threshold();
	p = malloc(cfg.sizes[LARGE]);
	if (!p)
		lab_die("malloc(%ld) failed", cfg.sizes[LARGE]);
	first = lab_region(p);
	free(p);
	p = malloc(cfg.sizes[LARGE]);
	if (!p)
		lab_die("malloc(%ld) failed", cfg.sizes[LARGE]);
	second = lab_region(p);
	free(p);
	printf("threshold size=%ld chunk=%zu pinned=%d first=%s second=%s\n", cfg.sizes[LARGE],
	       chunk_for(cfg.sizes[LARGE]), cfg.pin, first, second);
	return lab_exit_code(0);
}

int main(int argc, char **argv)
{
	unsigned long iterations = 0;
	int bad = 0, child_status = 0;

	lab_init(argv[0]);
	parse(argc, argv);
	if (cfg.threshold)
		return threshold_probe();
	if (cfg.loop_secs >= 0) {
		lab_loop_start(cfg.loop_secs);
		pin_mmap_threshold();
	}
	do {
		bad += experiment(&child_status);
		iterations++;
	} while (cfg.loop_secs >= 0 && lab_loop_again());

	printf("summary blocks=%d", (cfg.threads + 1 + cfg.fork) * NSIZES);
	printf(lab_hdr_ok ? " mismatches=%d" : " mismatches=na", bad);
	printf(cfg.fork ? " child_status=%d" : " child_status=na", child_status);
	lab_summary_end(iterations);
	return lab_exit_code(bad || child_status);
}
