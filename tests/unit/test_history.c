// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_history.c: the pictures' record of block lives, fed rows by hand: a
 * cross-thread free, a fork that copies the parent's live blocks (and a
 * CLONE_VM child that copies none), a realloc that moves a block, an exec that
 * ends the old image's blocks, and the live-byte changes in time order.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "history.h"
#include "series.h"

static struct tb_event row(enum tb_event_type type, uint64_t ts, uint32_t pid, uint32_t tid,
			   uint64_t addr, uint64_t size)
{
	struct tb_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.ts_ns = ts;
	e.pid = pid;
	e.tid = tid;
	e.addr = addr;
	e.size = size;
	strcpy(e.comm, "t");
	return e;
}

static const struct tb_hblock *find(const struct tb_history *h, uint32_t pid, uint64_t addr,
				    int nth)
{
	for (uint64_t i = 0; i < h->nb; i++)
		if (h->b[i].pid == pid && h->b[i].addr == addr && nth-- == 0)
			return &h->b[i];
	return NULL;
}

int main(void)
{
	struct tb_history *h = history__new();
	struct tb_event e;
	const struct tb_hblock *b;
	struct tb_change *ch;
	uint64_t n;

	e = row(TB_EV_MALLOC, 100, 10, 10, 0x1000, 16);
	e.stack_id = 7;
	history__add(h, &e);
	e = row(TB_EV_MALLOC, 110, 10, 11, 0x2000, 32);
	history__add(h, &e);
	e = row(TB_EV_FREE, 120, 10, 10, 0x2000, 0);
	e.flags = TB_F_CROSS_THREAD;
	history__add(h, &e);
	b = find(h, 10, 0x2000, 0);
	CHECK(b && b->t_free == 120 && b->free_tid == 10 && (b->flags & TB_HB_CROSS) &&
	      (b->flags & TB_HB_FREED), "a free by another thread closes the block, marked cross");

	e = row(TB_EV_FORK, 130, 20, 20, 0, 0);
	e.origin_pid = 10;
	e.origin_tid = 10;
	history__add(h, &e);
	b = find(h, 20, 0x1000, 0);
	CHECK(b && (b->flags & TB_HB_INHERITED) && b->t_alloc == 130 && b->tid == 10 &&
	      b->size == 16, "a fork copies the live block into the child, from the fork on");
	CHECK(b && b->stack_id == 7 && find(h, 10, 0x1000, 0)->stack_id == 7,
	      "the block keeps its allocation's stack, and so does its copy");
	CHECK(!find(h, 20, 0x2000, 0), "and not the freed one");
	e = row(TB_EV_FORK, 131, 30, 30, 0, 0);
	e.origin_pid = 10;
	e.sysflags = 0x100;	/* CLONE_VM */
	history__add(h, &e);
	CHECK(!find(h, 30, 0x1000, 0), "a CLONE_VM child runs in its parent's memory: no copy");

	e = row(TB_EV_REALLOC, 140, 20, 20, 0x3000, 64);
	e.old_addr = 0x1000;
	history__add(h, &e);
	b = find(h, 20, 0x1000, 0);
	CHECK(b && b->t_free == 140 && (b->flags & TB_HB_REALLOC), "a moving realloc ends the copy");
	CHECK(find(h, 10, 0x1000, 0) && !find(h, 10, 0x1000, 0)->t_free,
	      "and the parent's block lives on");
	b = find(h, 20, 0x3000, 0);
	CHECK(b && b->size == 64 && !b->t_free && !(b->flags & TB_HB_INHERITED),
	      "the new block is the child's own");

	e = row(TB_EV_EXEC, 150, 10, 10, 0, 0);
	history__add(h, &e);
	b = find(h, 10, 0x1000, 0);
	CHECK(b && b->t_free == 150 && (b->flags & TB_HB_EXEC), "an exec ends the old image's blocks");
	e = row(TB_EV_MALLOC, 160, 10, 10, 0x1000, 8);
	history__add(h, &e);
	b = find(h, 10, 0x1000, 1);
	CHECK(b && b->size == 8 && !b->t_free, "the new image's block at the same address is new");
	e = row(TB_EV_FREE, 170, 10, 10, 0x9000, 0);
	e.flags = TB_F_INVALID_FREE;
	history__add(h, &e);
	CHECK(h->nm && h->m[h->nm - 1].type == TB_EV_FREE && h->m[h->nm - 1].addr == 0x9000,
	      "an invalid free is a mark");
	CHECK_EQ_U64(h->nb, 5, "blocks: three mallocs, a realloc's new block, one copy");
	CHECK(h->first_ts == 100 && h->last_ts == 170, "the run's first and last moments");

	ch = series__changes(h, &n);
	CHECK_EQ_U64(n, 5 + 3, "a change for each block's coming and each end (two are live)");
	for (uint64_t i = 1; ch && i < n; i++)
		if (ch[i].ts < ch[i - 1].ts)
			CHECK(0, "changes in time order");
	CHECK(ch && ch[0].ts == 100 && ch[0].delta == 16, "the first change is the first block");
	free(ch);
	history__free(h);
	return check_done();
}
