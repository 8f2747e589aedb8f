// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_pages: which writes copy which pages after a fork, read from the program's
 * own page table (/proc/self/pagemap: frame number, exclusively-mapped and
 * present bits; frame numbers need root). Two threads and main hold blocks in
 * their arenas and the heap; after the fork the child, then the parent, then
 * the child again write chosen blocks. For each write it prints
 *   copy|nocopy PID ADDR PAGE BLOCK EXCL   (did ADDR's frame change; EXCL: bit 56 before)
 * and for first touches of a fresh mmap'd block
 *   touch PID PAGE BLOCK read|write   (present bit 0 before, 1 after)
 *   zero_copy PID PAGE BLOCK          (a read-touched page written: frame changed)
 * Then the parent forks twice more to tell which fork made a page shared: before
 * each of its writes it names the children whose frame for that page is its own
 * (read from /proc/CHILD/pagemap) and the fork after which the page was shared
 * (the first since the program last wrote it), and the second child does the same
 * for its own write:
 *   sharers PID ADDR [CHILD...]   made PID ADDR CHILD
 * and Rss/Anonymous from /proc/self/smaps_rollup at the end of each process, with
 * 16 MiB of written blocks among them, and when it read them (CLOCK_MONOTONIC):
 *   rss PID NS RSS_KB ANON_KB
 * Every write goes through a volatile pointer, so the compiler keeps each.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define PM_PRESENT (1ULL << 63)
#define PM_EXCL (1ULL << 56)
#define PM_PFN ((1ULL << 55) - 1)

static char *tblock[2][3];	/* each thread's blocks: two small on one page, one of 3 pages */

static uint64_t pagemap(const void *addr)
{
	uint64_t v = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0 || pread(fd, &v, sizeof(v), (uintptr_t)addr / PAGE * sizeof(v)) != sizeof(v)) {
		dprintf(2, "tp_pages: cannot read /proc/self/pagemap\n");
		_exit(2);
	}
	close(fd);
	return v;
}

static uintptr_t page_of(const void *p)
{
	return (uintptr_t)p & ~(PAGE - 1);
}

/* A write to at (inside block), reported by whether its page's frame changed. */
static void write_at(char *block, char *at)
{
	uint64_t before = pagemap(at), after;

	*(volatile char *)at = 7;
	after = pagemap(at);
	if (!(before & PM_PRESENT) || !(after & PM_PRESENT)) {
		dprintf(2, "tp_pages: page %p not present around a write\n", (void *)page_of(at));
		_exit(2);
	}
	dprintf(1, "%s %d %p 0x%lx %p %d\n",
		(before & PM_PFN) != (after & PM_PFN) ? "copy" : "nocopy", (int)getpid(),
		(void *)at, (unsigned long)page_of(at), (void *)block, !!(before & PM_EXCL));
}

/* The children whose frame for at's page is this process's: they share it now. */
static void sharers(const char *at, const pid_t *kid, int n)
{
	uint64_t mine = pagemap(at) & PM_PFN;
	char path[64];

	dprintf(1, "sharers %d %p", (int)getpid(), (void *)at);
	for (int i = 0; i < n; i++) {
		uint64_t v = 0;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)kid[i]);
		fd = open(path, O_RDONLY);
		if (fd < 0 ||
		    pread(fd, &v, sizeof(v), (uintptr_t)at / PAGE * sizeof(v)) != sizeof(v))
			_exit(2);
		close(fd);
		if ((v & PM_PRESENT) && (v & PM_PFN) == mine)
			dprintf(1, " %d", (int)kid[i]);
	}
	dprintf(1, "\n");
}

/*
 * Two more forks: page a is written between them, page b before both. The
 * first child writes nothing; the second writes a, which it got from the
 * parent's copy. Then the parent writes b while both children still hold it.
 */
static void several_forks(void)
{
	char *q = malloc(4 * PAGE), *a = (char *)page_of(q) + PAGE + 16, *b = a + PAGE, c;
	int go[2], done[2];
	pid_t kid[2];

	memset(q, 1, 4 * PAGE);
	if (pipe(go) || pipe(done))
		_exit(2);
	kid[0] = fork();
	if (kid[0] == 0) {
		close(go[1]);
		read(go[0], &c, 1);	/* until the parent closes it */
		_exit(0);
	}
	sharers(a, kid, 1);
	dprintf(1, "made %d %p %d\n", (int)getpid(), (void *)a, (int)kid[0]);
	write_at(q, a);		/* copy: the first child holds it */
	kid[1] = fork();
	if (kid[1] == 0) {
		close(go[1]);
		dprintf(1, "made %d %p %d\n", (int)getpid(), (void *)a, (int)getpid());
		write_at(q, a);	/* copy: the parent's page since the parent's write */
		write(done[1], "d", 1);
		read(go[0], &c, 1);
		_exit(0);
	}
	read(done[0], &c, 1);
	sharers(b, kid, 2);
	dprintf(1, "made %d %p %d\n", (int)getpid(), (void *)b, (int)kid[0]);
	write_at(q, b);		/* copy: shared since the first of the two forks, held by both */
	close(go[1]);
	waitpid(kid[0], NULL, 0);
	waitpid(kid[1], NULL, 0);
}

static pthread_barrier_t both;	/* neither thread ends before the other has its arena */

static void *thread_blocks(void *arg)
{
	char **b = arg;

	b[0] = malloc(64);
	b[1] = malloc(64);
	b[2] = malloc(3 * PAGE);
	memset(b[0], 1, 64);
	memset(b[1], 1, 64);
	memset(b[2], 1, 3 * PAGE);
	/* a thread that ended would leave its arena free for the other: one arena, not two */
	pthread_barrier_wait(&both);
	return NULL;
}

/* A fresh mmap'd block: a read touch maps the zero page, a write touch a new page. */
static void first_touches(void)
{
	char *big = malloc(64 * PAGE);
	char *r = (char *)page_of(big) + 2 * PAGE, *w = r + PAGE;
	uint64_t before_r = pagemap(r), before_w = pagemap(w), zero_pfn;
	volatile char sink;

	sink = *(volatile char *)r;
	(void)sink;
	*(volatile char *)w = 1;
	if (!(before_r & PM_PRESENT) && (pagemap(r) & PM_PRESENT))
		dprintf(1, "touch %d 0x%lx %p read\n", (int)getpid(), (unsigned long)r, (void *)big);
	if (!(before_w & PM_PRESENT) && (pagemap(w) & PM_PRESENT))
		dprintf(1, "touch %d 0x%lx %p write\n", (int)getpid(), (unsigned long)w, (void *)big);
	zero_pfn = pagemap(r) & PM_PFN;
	*(volatile char *)r = 1;
	if ((pagemap(r) & PM_PFN) != zero_pfn)
		dprintf(1, "zero_copy %d 0x%lx %p\n", (int)getpid(), (unsigned long)r, (void *)big);
}

static void rss(void)
{
	char buf[4096], *s;
	long rss_kb = -1, anon_kb = -1;
	struct timespec ts;
	int fd = open("/proc/self/smaps_rollup", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (n <= 0)
		return;
	buf[n] = 0;
	close(fd);
	if ((s = strstr(buf, "\nRss:")))
		rss_kb = strtol(s + 5, NULL, 10);
	if ((s = strstr(buf, "\nAnonymous:")))
		anon_kb = strtol(s + 11, NULL, 10);
	dprintf(1, "rss %d %lld %ld %ld\n", (int)getpid(),
		(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, rss_kb, anon_kb);
}

int main(void)
{
	int to_parent[2], to_child[2];
	pthread_t t[2];
	char *h1, *h2, c;
	pid_t pid;

	pthread_barrier_init(&both, NULL, 2);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, thread_blocks, tblock[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* two heap blocks on one page: the child's second write finds its copy already made */
	h1 = malloc(64);
	h2 = malloc(64);
	memset(h1, 1, 64);
	memset(h2, 1, 64);
	if (page_of(h1) != page_of(h2) || pipe(to_parent) || pipe(to_child))
		return 2;
	first_touches();
	/* resident memory worth measuring: 16 MiB of blocks, each page written */
	for (int i = 0; i < 16; i++)
		memset(malloc(1 << 20), 1, 1 << 20);
	pid = fork();
	if (pid == 0) {
		write_at(h1, h1);			/* copy */
		write_at(h2, h2);			/* nocopy: the same page, copied a moment ago */
		write_at(tblock[0][0], tblock[0][0]);	/* copy, thread 1's arena */
		write_at(tblock[1][2], tblock[1][2] + PAGE);	/* copy, thread 2's block's 2nd page */
		write(to_parent[1], "c", 1);
		read(to_child[0], &c, 1);
		/* the parent copied this page: the child's is its own again, no copy */
		write_at(tblock[0][2], tblock[0][2] + 2 * PAGE);
		rss();
		_exit(0);
	}
	read(to_parent[0], &c, 1);
	write_at(tblock[0][2], tblock[0][2] + 2 * PAGE);	/* copy: the child still shares it */
	write(to_child[1], "p", 1);
	waitpid(pid, NULL, 0);
	/* nocopy: the child copied its own and exited; no call of the parent wrote the page since */
	write_at(tblock[1][2], tblock[1][2] + PAGE);
	several_forks();
	rss();
	return 0;
}
