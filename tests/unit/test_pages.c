// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_pages.c: --pages' rows in the model: the block a fault hit, what its page held, counts. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "correlate.h"
#include "model.h"

#define HEAP 0x555555559000ULL
#define PF_W 0x2
#define PF_P 0x1
#define PF_U 0x4

static uint64_t now = 1000000, seq;

static struct tb_event ev(enum tb_event_type type, uint32_t pid, uint32_t tid)
{
	struct tb_event e = { .type = type, .pid = pid, .tid = tid, .fd = -1 };

	now += 1000;
	e.ts_ns = now;
	e.seq = ++seq;
	snprintf(e.comm, sizeof(e.comm), "t%u", tid);
	return e;
}

static struct tb_event run(struct correlator *c, struct tb_event e)
{
	correlator__process(c, &e);
	return e;
}

static void mal(struct correlator *c, uint32_t pid, uint64_t size, uint64_t addr)
{
	struct tb_event e = ev(TB_EV_MALLOC, pid, pid);

	e.size = size;
	e.addr = addr;
	run(c, e);
}

static void fre(struct correlator *c, uint32_t pid, uint64_t addr)
{
	struct tb_event e = ev(TB_EV_FREE, pid, pid);

	e.addr = addr;
	run(c, e);
}

/* A fault row as the decoder makes it: the ip in old_size, for detail. */
static struct tb_event fault(struct correlator *c, enum tb_event_type type, uint32_t pid,
			     uint64_t addr, uint32_t err)
{
	struct tb_event e = ev(type, pid, pid);

	e.addr = addr;
	e.size = 4096;
	e.sysflags = err;
	e.old_size = 0x401000;
	return run(c, e);
}

static struct tb_process *proc_of(struct correlator *c, uint32_t pid)
{
	for (uint32_t i = c->nprocs; i-- > 0;)
		if (c->procs[i]->pid == pid)
			return c->procs[i];
	return NULL;
}

static void start(struct correlator *c, uint32_t pid)
{
	struct tb_event e = ev(TB_EV_EXEC, pid, pid);

	snprintf(e.detail, sizeof(e.detail), "/usr/bin/prog");
	run(c, e);
	e = ev(TB_EV_BRK, pid, pid);
	e.old_addr = HEAP;
	e.addr = HEAP + 0x21000;
	run(c, e);
}

static void test_blocks_and_history(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;
	struct tb_process *p, *k;

	start(c, 100);
	mal(c, 100, 64, HEAP + 0x10);
	mal(c, 100, 10000, HEAP + 0x60);
	e = fault(c, TB_EV_TOUCH, 100, HEAP + 0x2010, PF_W | PF_U);
	CHECK_EQ_U64(e.old_addr, HEAP + 0x60, "a fault inside the second block names it");
	CHECK_EQ_U64(e.origin_pid, 100, "and who allocated it");
	CHECK(strncmp(e.detail, "new page, ip 0x401000", 21) == 0, "a write touch: %s", e.detail);
	e = fault(c, TB_EV_TOUCH, 100, HEAP + 0x3f00, PF_U);
	CHECK(strncmp(e.detail, "zero page", 9) == 0, "a read touch maps the zero page: %s",
	      e.detail);
	e = fault(c, TB_EV_TOUCH, 100, HEAP + 0x8000, PF_W | PF_U);
	CHECK_EQ_U64(e.old_addr, 0, "past every block: no block");
	/* the fork: the child's write to the written page copies it, in an inherited block */
	e = ev(TB_EV_FORK, 101, 101);
	e.origin_pid = e.origin_tid = 100;
	e.sysflags = 0x1200000;
	run(c, e);
	e = fault(c, TB_EV_WP, 101, HEAP + 0x2010, PF_P | PF_W | PF_U);
	CHECK(strncmp(e.detail, "write to a page shared at fork", 30) == 0, "%s", e.detail);
	e = fault(c, TB_EV_COW, 101, HEAP + 0x2010, PF_P | PF_W | PF_U);
	CHECK(strncmp(e.detail, "copy after fork", 15) == 0, "%s", e.detail);
	CHECK(e.flags & TB_F_INHERITED, "the child's copy is in an inherited block");
	CHECK_EQ_U64(e.old_addr, HEAP + 0x60, "the inherited block");
	CHECK_EQ_U64(e.origin_pid, 100, "allocated by the parent");
	/* the parent's read page: still the zero page in the child; the copy is a zeroed page */
	e = fault(c, TB_EV_WP, 101, HEAP + 0x3f00, PF_P | PF_W | PF_U);
	CHECK(strncmp(e.detail, "write to the zero page", 22) == 0, "%s", e.detail);
	e = fault(c, TB_EV_ZERO_COPY, 101, HEAP + 0x3f00, PF_P | PF_W | PF_U);
	CHECK(strncmp(e.detail, "copy of the zero page", 21) == 0, "%s", e.detail);
	/* a free takes the block out of the tree */
	fre(c, 100, HEAP + 0x60);
	e = fault(c, TB_EV_TOUCH, 100, HEAP + 0x2100, PF_W | PF_U);
	CHECK_EQ_U64(e.old_addr, 0, "a freed block is no longer hit");
	p = proc_of(c, 100);
	k = proc_of(c, 101);
	CHECK_EQ_U64(p->pages.fresh, 3, "the parent's write touches");
	CHECK_EQ_U64(p->pages.zero, 1, "the parent's read touch");
	CHECK_EQ_U64(k->pages.cow_fork, 1, "the child's copy after fork");
	CHECK_EQ_U64(k->pages.cow_zero, 1, "the child's zero-page copy");
	CHECK_EQ_U64(k->pages.wp, 2, "the child's writes to write-protected pages");
	CHECK_EQ_U64(k->pages.in_blocks, 2, "the child's faults in blocks: the wp and cow of 0x2010");
	correlator__free(c);
}

static void test_given_back(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start(c, 200);
	e = ev(TB_EV_MMAP, 200, 200);
	e.addr = 0x7f0000000000ULL;
	e.size = 16 * 4096;
	e.prot = 3;
	e.sysflags = 0x22;
	run(c, e);
	for (int i = 0; i < 4; i++)
		fault(c, TB_EV_TOUCH, 200, 0x7f0000000000ULL + i * 4096, PF_W | PF_U);
	e = ev(TB_EV_MADVISE, 200, 200);
	e.addr = 0x7f0000000000ULL;
	e.size = 2 * 4096;
	e.sysflags = 4;	/* MADV_DONTNEED */
	run(c, e);
	e = fault(c, TB_EV_TOUCH, 200, 0x7f0000000000ULL, PF_U);
	CHECK(strncmp(e.detail, "zero page", 9) == 0, "after DONTNEED a read maps the zero page");
	e = ev(TB_EV_MUNMAP, 200, 200);
	e.addr = 0x7f0000000000ULL;
	e.size = 16 * 4096;
	run(c, e);
	e = ev(TB_EV_MMAP, 200, 200);	/* a new mapping over one written page gives it back */
	e.addr = 0x7f0000100000ULL;
	e.size = 4 * 4096;
	e.prot = 3;
	e.sysflags = 0x22;
	run(c, e);
	fault(c, TB_EV_TOUCH, 200, 0x7f0000100000ULL, PF_W | PF_U);
	e = ev(TB_EV_MMAP, 200, 200);
	e.addr = 0x7f0000100000ULL;
	e.size = 4 * 4096;
	e.sysflags = 0x32;	/* MAP_FIXED, PROT_NONE: glibc's arena shrink without overcommit */
	run(c, e);
	CHECK_EQ_U64(proc_of(c, 200)->pages.advised_back, 2, "madvise gave back the two written");
	CHECK_EQ_U64(proc_of(c, 200)->pages.unmapped_back, 3,
		     "munmap the other two written (the zero page is no memory of its own), and"
		     " MAP_FIXED one");
	correlator__free(c);
}

/* Pages given back name the blocks on the resident pages they took: freed, and LIVE. */
static void test_given_back_blocks(void)
{
	struct correlator *c = correlator__new();
	struct tb_process *p;
	struct tb_event e;
	uint32_t n;
	uint64_t total;

	start(c, 400);
	mal(c, 400, 0x2000, HEAP + 0x10);	/* pages 0-2 */
	mal(c, 400, 0x2000, HEAP + 0x2020);	/* pages 2-4 */
	mal(c, 400, 64, HEAP + 0x6000);		/* page 6, never touched */
	for (int i = 0; i <= 4; i++)
		fault(c, TB_EV_TOUCH, 400, HEAP + i * 4096, PF_W | PF_U);
	fre(c, 400, HEAP + 0x10);
	e = ev(TB_EV_MADVISE, 400, 400);
	e.addr = HEAP + 0x1000;
	e.size = 4096;
	e.sysflags = 4;
	e = run(c, e);
	CHECK(!strcmp(e.detail, "1 page given back; freed blocks 0x555555559010"), "%s", e.detail);
	e = ev(TB_EV_MADVISE, 400, 400);
	e.addr = HEAP + 0x2000;
	e.size = 4096;
	e.sysflags = 4;
	e = run(c, e);
	CHECK(!strcmp(e.detail, "1 page given back; LIVE blocks 0x55555555b020; freed blocks "
		      "0x555555559010"), "a page shared by a freed and a live block: %s", e.detail);
	e = ev(TB_EV_MADVISE, 400, 400);
	e.addr = HEAP;
	e.size = 3 * 4096;
	e.sysflags = 4;
	e = run(c, e);
	CHECK(!strcmp(e.detail, "1 page given back; freed blocks 0x555555559010"),
	      "only page 0 was still resident: %s", e.detail);
	fre(c, 400, HEAP + 0x2020);
	e = ev(TB_EV_BRK, 400, 400);	/* the top comes down over pages 3.. */
	e.old_addr = HEAP + 0x21000;
	e.addr = HEAP + 0x3000;
	e = run(c, e);
	CHECK(!strcmp(e.detail, "2 pages given back; freed blocks 0x55555555b020"),
	      "the untouched block's page was not resident: %s", e.detail);
	p = proc_of(c, 400);
	CHECK_EQ_U64(p->pages.live_blocks_back, 1, "one live block's page given back");
	CHECK_EQ_U64(p->pages.freed_blocks_back, 4, "freed blocks on the runs");
	pages__givebacks(p->pg, &n, &total);
	CHECK_EQ_U64(total, 4, "four runs gave back resident pages");
	correlator__free(c);
}

static struct tb_event copy(struct correlator *c, uint32_t pid, uint64_t addr)
{
	fault(c, TB_EV_WP, pid, addr, PF_P | PF_W | PF_U);
	return fault(c, TB_EV_COW, pid, addr, PF_P | PF_W | PF_U);
}

static uint64_t fork_row(struct correlator *c, uint32_t parent, uint32_t child)
{
	struct tb_event e = ev(TB_EV_FORK, child, child);

	e.origin_pid = e.origin_tid = parent;
	e.sysflags = 0x1200000;
	run(c, e);
	return e.seq;
}

/* A copy names the fork that made its page shared, and the children still holding it. */
static void test_copy_forks(void)
{
	struct correlator *c = correlator__new();
	uint64_t x = HEAP + 0x1000, y = HEAP + 0x2000, s1, s2;
	char want[128];
	struct tb_event e;

	start(c, 300);
	mal(c, 300, 0x4000, HEAP + 0x10);
	fault(c, TB_EV_TOUCH, 300, x, PF_W | PF_U);
	fault(c, TB_EV_TOUCH, 300, y, PF_W | PF_U);
	s1 = fork_row(c, 300, 301);
	e = copy(c, 300, x);
	snprintf(want, sizeof(want), "copy after fork 301 (row %llu), shared with 301, ip",
		 (unsigned long long)s1);
	CHECK(!strncmp(e.detail, want, strlen(want)), "the parent's copy: %s", e.detail);
	s2 = fork_row(c, 300, 302);
	e = copy(c, 302, x);	/* the parent's copy, shared again by the second fork */
	snprintf(want, sizeof(want), "copy after fork 302 (row %llu), ip", (unsigned long long)s2);
	CHECK(!strncmp(e.detail, want, strlen(want)), "the second child's copy: %s", e.detail);
	e = copy(c, 300, y);	/* last written before both forks: the first made it shared */
	snprintf(want, sizeof(want), "copy after fork 301 (row %llu), shared with 301 302, ip",
		 (unsigned long long)s1);
	CHECK(!strncmp(e.detail, want, strlen(want)), "both children hold it: %s", e.detail);
	e = copy(c, 301, y);
	snprintf(want, sizeof(want), "copy after fork 301 (row %llu), ip", (unsigned long long)s1);
	CHECK(!strncmp(e.detail, want, strlen(want)), "the first child's own fork: %s", e.detail);
	e = copy(c, 300, HEAP + 0x3000);	/* no row told its last write */
	snprintf(want, sizeof(want), "copy after one of 2 forks, the first 301 (row %llu), ip",
		 (unsigned long long)s1);
	CHECK(!strncmp(e.detail, want, strlen(want)), "history unknown: %s", e.detail);
	correlator__free(c);
}

int main(void)
{
	test_blocks_and_history();
	test_given_back();
	test_given_back_blocks();
	test_copy_forks();
	return check_done();
}
