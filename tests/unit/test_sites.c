// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_sites.c: allocation sites from rows run through the correlator, as a run feeds them:
 * bytes and blocks per stack and thread, what stays live (in a running process, at a
 * process's exit, none after an exec), a moving realloc, a fork's copies, and each bad free
 * (cross-thread, inherited, double, invalid) with the stack that allocated its block and the
 * one that freed it.
 */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "correlate.h"
#include "model.h"
#include "sites.h"

#define HEAP 0x555555559000ULL

static uint64_t now = 1000000, seq;
static struct correlator *c;
static struct sites *s;

static struct tb_event row(enum tb_event_type type, uint32_t pid, uint32_t tid, uint64_t addr,
			   uint64_t size, uint32_t stack)
{
	struct tb_event e;

	memset(&e, 0, sizeof(e));
	e = (struct tb_event){ .type = type, .pid = pid, .tid = tid, .addr = addr, .size = size,
			       .stack_id = stack, .seq = ++seq, .ts_ns = now += 1000, .fd = -1 };
	snprintf(e.comm, sizeof(e.comm), "t%u", tid);
	return e;
}

static struct tb_event feed(struct tb_event e)
{
	correlator__process(c, &e);
	sites__event(s, &e);
	return e;
}

static void task(enum tb_event_type type, uint32_t pid, uint32_t tid, uint32_t opid, uint32_t otid)
{
	struct tb_event e = row(type, pid, tid, 0, 0, 0);

	e.origin_pid = opid;
	e.origin_tid = otid;
	if (type == TB_EV_EXEC)
		snprintf(e.detail, sizeof(e.detail), "/usr/bin/prog");
	feed(e);
}

static void brk_to(uint32_t pid, uint64_t old, uint64_t brk)
{
	struct tb_event e = row(TB_EV_BRK, pid, pid, brk, brk - old, 0);

	e.old_addr = old;
	feed(e);
}

/*
 * Process 10 from its exec, a second thread 11, its allocations and bad frees, a moving
 * realloc, and a child 20 forked from it that frees its copy of a block: the world both
 * cases below start from.
 */
static void scene(void)
{
	struct tb_event e;

	c = correlator__new();
	s = sites__new();
	task(TB_EV_EXEC, 10, 10, 0, 0);
	brk_to(10, HEAP, HEAP);
	brk_to(10, HEAP, HEAP + 0x21000);
	task(TB_EV_THREAD, 10, 11, 10, 10);
	feed(row(TB_EV_MALLOC, 10, 10, HEAP + 0x100, 16, 1));
	feed(row(TB_EV_MALLOC, 10, 11, HEAP + 0x200, 32, 1));
	feed(row(TB_EV_MALLOC, 10, 10, HEAP + 0x300, 100, 2));
	e = row(TB_EV_MALLOC, 10, 10, 0, 1 << 30, 2);
	e.flags = TB_F_FAILED;
	feed(e);
	feed(row(TB_EV_FREE, 10, 10, HEAP + 0x200, 0, 3));	/* thread 11's block */
	feed(row(TB_EV_FREE, 10, 10, HEAP + 0x200, 0, 4));	/* again */
	feed(row(TB_EV_FREE, 10, 10, HEAP + 0x9000, 0, 5));	/* never allocated */
	e = row(TB_EV_REALLOC, 10, 10, HEAP + 0x400, 200, 6);
	e.old_addr = HEAP + 0x300;
	feed(e);
	task(TB_EV_FORK, 20, 20, 10, 10);
	feed(row(TB_EV_FREE, 20, 20, HEAP + 0x100, 0, 7));	/* the child's copy */
}

static void done(void)
{
	sites__free(s);
	correlator__free(c);
}

struct sum { uint64_t n, blocks; };

static void add_owner(void *arg, uint32_t stack, uint32_t pid, uint32_t tid,
		      const struct site_stats *st)
{
	struct sum *x = arg;

	x->n++;
	x->blocks += st->blocks;
	(void)stack, (void)pid, (void)tid;
}

static void counts_and_bad_frees(void)
{
	const struct site_bad_free *b;
	struct sum sum = { 0 };
	uint64_t more;
	uint32_t n;

	scene();
	CHECK(sites__stack(s, 1)->bytes == 48 && sites__stack(s, 1)->blocks == 2,
	      "one stack in two threads: its bytes and blocks added up");
	CHECK(sites__stack(s, 2)->blocks == 1, "a failed call allocated nothing");
	b = sites__bad_frees(s, &n, &more);
	CHECK(n == 4 && !more, "four bad frees listed: %u", n);
	CHECK(n == 4 && b[0].alloc_stack == 1 && b[0].free_stack == 3 && b[0].size == 32 &&
	      (b[0].flags & TB_F_CROSS_THREAD), "cross-thread: allocated at 1, freed at 3");
	CHECK(n == 4 && b[1].alloc_stack == 1 && b[1].free_stack == 4 && (b[1].flags & TB_F_DOUBLE_FREE),
	      "double free: the block's stack though it was freed before");
	CHECK(n == 4 && b[2].alloc_stack == 0 && b[2].free_stack == 5 &&
	      (b[2].flags & TB_F_INVALID_FREE), "invalid free: no allocating stack");
	CHECK(n == 4 && b[3].alloc_stack == 1 && b[3].free_stack == 7 && b[3].pid == 20 &&
	      (b[3].flags & TB_F_INHERITED), "inherited: the parent's allocating stack, the child's free");

	sites__take_live(s, c);
	CHECK(sites__stack(s, 1)->live_bytes == 16 && sites__stack(s, 1)->live_blocks == 1,
	      "a free leaves the block's stack less live; a child's free of its copy leaves the parent's");
	CHECK(sites__stack(s, 2)->live_bytes == 0 && sites__stack(s, 2)->bytes == 100 &&
	      sites__stack(s, 6)->live_bytes == 200,
	      "a moving realloc: the old block freed, the new one its own stack's");
	sites__take_live(s, c);
	CHECK(sites__stack(s, 1)->live_bytes == 16, "what is live is taken once");
	sites__each(s, add_owner, &sum);
	CHECK(sum.n == 4 && sum.blocks == 4, "each (stack, pid, thread) once: %llu, %llu blocks",
	      (unsigned long long)sum.n, (unsigned long long)sum.blocks);
	CHECK(!sites__stack(s, 0) && !sites__stack(s, 99) && !sites__nomem(s), "no stack, no site");
	done();
}

static void exit_and_exec(void)
{
	struct tb_event e;

	scene();
	e = row(TB_EV_EXIT, 10, 10, 0, 0, 0);
	feed(e);
	sites__take_live(s, c);
	CHECK(sites__stack(s, 1)->live_bytes == 16 && sites__stack(s, 6)->live_bytes == 200,
	      "a process's blocks live at its exit stay live at the end");
	done();

	scene();
	task(TB_EV_EXEC, 10, 10, 0, 0);
	sites__take_live(s, c);
	CHECK(sites__stack(s, 1)->live_bytes == 0 && sites__stack(s, 6)->live_bytes == 0 &&
	      sites__stack(s, 1)->bytes == 48, "an exec ends the image's blocks; what they allocated stays");
	done();
}

int main(void)
{
	counts_and_bad_frees();
	exit_and_exec();
	return check_done();
}
