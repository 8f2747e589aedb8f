/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* history.h: every block's life and every task event, kept for the pictures drawn at the end. */
#ifndef TB_HISTORY_H
#define TB_HISTORY_H

#include <stdint.h>
#include "event.h"
#include "idmap.h"

/* What happened to a block, beyond its allocation: TB_HB_* bits. */
#define TB_HB_INHERITED	0x01	/* a child's copy, made at fork */
#define TB_HB_CROSS	0x02	/* freed by another thread than the one that got it */
#define TB_HB_REUSED	0x04	/* its address had been freed before */
#define TB_HB_EXEC	0x08	/* its process exec'd: the block went with the old image */
#define TB_HB_LIBC	0x10	/* the C library's own */
#define TB_HB_FREED	0x20	/* t_free is a free (else: live at the end, or TB_HB_EXEC) */
#define TB_HB_REALLOC	0x40	/* freed by a realloc that moved it */
#define TB_HB_INTERNAL	0x80	/* freed by the allocator library itself (a cache flush) */

/*
 * One block in one process. A fork copies the parent's live blocks into the
 * child (TB_HB_INHERITED), as the allocator's memory is copied.
 */
struct tb_hblock {
	uint64_t addr, size;
	uint64_t t_alloc, t_free;	/* t_free: 0 while live */
	uint64_t region_base;
	uint32_t pid, tid;		/* the process it lives in; the thread that got it */
	uint32_t free_tid;		/* 0 unless freed */
	uint32_t stack_id;		/* the allocating call's stack (a fork's copy keeps it); 0: none */
	uint16_t flags;			/* TB_HB_* */
	uint8_t region;			/* enum tb_region */
};

/* A moment worth marking: a fork, a thread, an exec, an exit, a new arena, a bad free. */
struct tb_hmark {
	uint64_t ts;
	uint64_t addr, size;		/* new arena: its base; bad free: the address */
	uint32_t pid, tid;
	uint32_t origin_pid, origin_tid;	/* fork/thread: the creator */
	enum tb_event_type type;	/* TB_EV_FORK, _THREAD, _EXEC, _EXIT, _EXIT_THREAD, _FREE */
	uint32_t flags;			/* the row's TB_F_* */
	char comm[TB_COMM_LEN];
};

/* A page a write copied after a fork (a cow row). */
struct tb_hpage {
	uint64_t ts;
	uint64_t addr;			/* the write's address */
	uint64_t block, block_size;	/* the live block it lies in; 0: none */
	uint32_t pid, tid;
};

/* A thread as the rows named it. */
struct tb_htask {
	uint32_t pid, tid;
	uint64_t first_ts;
	char comm[TB_COMM_LEN];
};

struct tb_history {
	struct tb_hblock *b;
	uint64_t nb, capb;
	struct tb_hmark *m;
	uint64_t nm, capm;
	struct tb_hpage *p;
	uint64_t np, capp;
	struct tb_htask *t;
	uint32_t nt, capt;
	struct tb_idmap tasks;		/* pid << 32 | tid -> index in t */
	struct tb_idmap procs;		/* pid -> index in open[] */
	struct tb_idmap *open;		/* per process: addr -> index in b of its live block */
	uint32_t nopen, capopen;
	uint64_t first_ts, last_ts;
	int err;			/* -ENOMEM once memory ran out: the pictures say they are partial */
};

struct tb_history *history__new(void);
/* One event, after the correlator filled its flags, origin and region. */
void history__add(struct tb_history *h, const struct tb_event *e);
void history__free(struct tb_history *h);
/* The thread's index in h->t, or IDMAP_NONE. */
uint32_t history__task(const struct tb_history *h, uint32_t pid, uint32_t tid);

#endif
