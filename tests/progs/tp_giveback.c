// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_giveback: which blocks' pages a trim and a madvise give back, read from the
 * program's own page table (/proc/self/pagemap's present bit). Main and a thread
 * each get six written blocks of 20,000 bytes and a live one after them (so no
 * free trims the top), free the six, and malloc_trim(0) gives back the whole
 * pages inside the free chunk they made (madvise). Then main frees its last
 * block and trims again: the top comes down (brk). Last, main writes a 64 KiB
 * block and gives back one page in its middle with madvise(MADV_DONTNEED): the
 * program's bug that tlsbpf must flag. It prints
 *   start PID
 *   freed PID BLOCK SIZE      each block it freed, before the trim that follows
 *   gone PID PAGE BLOCK       a page of a freed block present before a trim, not after
 *   live PID PAGE BLOCK       the page of the live block present before its madvise, not after
 * Every write goes through memset on heap memory the compiler cannot drop.
 */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define PM_PRESENT (1ULL << 63)
#define NBLOCKS 6
#define BLOCK 20000
#define KEEP 2000	/* past the tcache: its free merges with the top */

struct set {
	char *b[NBLOCKS];
	char *keep;		/* live after them: no free trims the top */
	uint8_t present[NBLOCKS][BLOCK / PAGE + 2];
};

static struct set sets[2];	/* main's in the heap, the thread's in its arena */

static int present(const void *addr)
{
	uint64_t v = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0 || pread(fd, &v, sizeof(v), (uintptr_t)addr / PAGE * sizeof(v)) != sizeof(v)) {
		dprintf(2, "tp_giveback: cannot read /proc/self/pagemap\n");
		_exit(2);
	}
	close(fd);
	return !!(v & PM_PRESENT);
}

static uintptr_t first_page(const char *b)
{
	return (uintptr_t)b & ~(PAGE - 1);
}

static void fill(struct set *s)
{
	for (int i = 0; i < NBLOCKS; i++) {
		s->b[i] = malloc(BLOCK);
		memset(s->b[i], 1, BLOCK);
	}
	s->keep = malloc(KEEP);
	memset(s->keep, 1, KEEP);
}

static void *thread_main(void *arg)
{
	(void)arg;
	fill(&sets[1]);
	return NULL;
}

static void note_present(const char *b, size_t size, uint8_t *was)
{
	uintptr_t pg = first_page(b);

	for (int k = 0; pg < (uintptr_t)b + size; k++, pg += PAGE)
		was[k] = present((void *)pg);
}

/* Frees a set's blocks, noting which of their pages are present. */
static void free_set(struct set *s)
{
	for (int i = 0; i < NBLOCKS; i++) {
		note_present(s->b[i], BLOCK, s->present[i]);
		printf("freed %d %p %d\n", getpid(), (void *)s->b[i], BLOCK);
		free(s->b[i]);
	}
}

/* After a trim: each page of a block present before and gone now. */
static void gone_block(const char *b, size_t size, const uint8_t *was)
{
	uintptr_t pg = first_page(b);

	for (int k = 0; pg < (uintptr_t)b + size; k++, pg += PAGE)
		if (was[k] && !present((void *)pg))
			printf("gone %d 0x%lx %p\n", getpid(), (unsigned long)pg, (void *)b);
}

static void gone(const struct set *s)
{
	for (int i = 0; i < NBLOCKS; i++)
		gone_block(s->b[i], BLOCK, s->present[i]);
}

/* The bug: a page in the middle of a live block given back. */
static void live_madvise(void)
{
	char *b = malloc(64 * 1024);
	uintptr_t pg;

	memset(b, 1, 64 * 1024);
	pg = (first_page(b) + 4 * PAGE);
	if (!present((void *)pg) || madvise((void *)pg, PAGE, MADV_DONTNEED) ||
	    present((void *)pg)) {
		dprintf(2, "tp_giveback: madvise did not give back %#lx\n", (unsigned long)pg);
		_exit(2);
	}
	printf("live %d 0x%lx %p\n", getpid(), (unsigned long)pg, (void *)b);
	free(b);
}

int main(void)
{
	pthread_t th;
	uint8_t keep_was[2];

	setvbuf(stdout, NULL, _IOLBF, 0);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);	/* only malloc_trim gives back */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);	/* the blocks stay in the heap and the arena */
	/* stdout's buffer and the thread's own blocks first: main's set is the heap's top part */
	printf("start %d\n", getpid());
	if (pthread_create(&th, NULL, thread_main, NULL) || pthread_join(th, NULL))
		return 2;
	fill(&sets[0]);
	free_set(&sets[0]);
	free_set(&sets[1]);
	malloc_trim(0);
	gone(&sets[0]);
	gone(&sets[1]);
	/* the top now: the heap's blocks and its keeper are free, the break comes down */

	for (int i = 0; i < NBLOCKS; i++)
		note_present(sets[0].b[i], BLOCK, sets[0].present[i]);
	note_present(sets[0].keep, KEEP, keep_was);
	printf("freed %d %p %d\n", getpid(), (void *)sets[0].keep, KEEP);
	free(sets[0].keep);
	malloc_trim(0);
	gone(&sets[0]);
	gone_block(sets[0].keep, KEEP, keep_was);
	live_madvise();
	free(sets[1].keep);
	return 0;
}
