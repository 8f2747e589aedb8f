/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pages.h: the model's pages: what each page held, and which live block an address is in. */
#ifndef TB_PAGES_H
#define TB_PAGES_H

#include <stdbool.h>
#include <stdint.h>

#define TB_PAGE_SHIFT 12

/* What a page held at its last fault, as far as the rows tell (docs/csv.md, "Pages"). */
enum tb_page_state {
	TB_PG_UNKNOWN = 0,	/* no row has touched it, or it was given back since */
	TB_PG_ZERO,		/* first touched by a read: the kernel's shared zero page */
	TB_PG_OWN,		/* a page of this process's own: written, or copied for it */
	TB_PG_SHARED,		/* its own page when a fork made it shared with the child */
	TB_PG_FILE,		/* a file's page */
};

struct tb_pages;

/* A fork that copied a process's memory: its row, and the child. */
struct tb_fork_ref {
	uint64_t seq, ts;	/* the fork row's */
	uint32_t pid;		/* the child */
	uint32_t proc;		/* the child's process index in the model */
};

/*
 * Which forks a copied page could have been shared by: those since the last
 * row that made the page this process's own (touch by a write, wp, cow), the
 * first of which made it shared; if no row tells that write, every fork the
 * process made and the one that made it (docs/csv.md, "Copies and forks").
 */
struct tb_copy_forks {
	const struct tb_fork_ref *first;	/* the fork that made it shared; NULL: none known */
	const struct tb_fork_ref *own;		/* this process's own forks among them */
	uint32_t nown;
	uint32_t n;		/* all candidates: own ones, and the fork that made this process */
	bool exact;		/* the last write is known: first is the fork that made it shared */
};

#define TB_COPIES_KEPT 64	/* copies in blocks each process keeps for the reports */

/* A page the kernel copied for a write inside a live block. */
struct tb_copy {
	uint64_t ts, addr, block;
	uint32_t tid;		/* the thread that wrote */
	uint32_t owner_pid, owner_tid;	/* who allocated the block */
	uint8_t inherited;	/* the block came with the fork */
	uint8_t zero;		/* the zero page's copy */
	uint8_t fork_exact;	/* fork_pid is the fork that made the page shared, not a guess */
	uint32_t fork_pid;	/* the child of that fork (0: none known), */
	uint64_t fork_seq, fork_ts;	/* its fork row */
	uint32_t forks;		/* candidate forks (1 when exact and no later fork shares it) */
	uint32_t sharers;	/* children that still held the page unwritten, per their rows */
};

#define TB_GIVEBACKS_KEPT 32	/* page runs given back each process keeps for the reports */
#define TB_GB_BLOCKS 8		/* blocks of each kind named per run */

/*
 * A run of pages given back (munmap, madvise, a brk trim) that the rows had
 * made resident, and the blocks whose bytes lay on it: freed blocks (the
 * normal case: an allocator returning free memory) and live ones (a bug:
 * their contents are lost, or zero at the next read).
 */
struct tb_giveback {
	uint64_t ts, seq, start, end;	/* the run, page-aligned */
	uint64_t pages;			/* of them made resident by rows */
	uint64_t freed[TB_GB_BLOCKS], live[TB_GB_BLOCKS];	/* the first of each */
	uint32_t nfreed, nlive;		/* all of each */
	uint32_t tid;
	uint32_t how;			/* enum tb_event_type: munmap, madvise, brk */
};

struct tb_pages *pages__new(void);	/* NULL on ENOMEM */
void pages__free(struct tb_pages *pg);
/*
 * A fork: the child's pages are the parent's, and each page of the parent's
 * own is now shared by both (the kernel write-protects them in both). NULL on
 * ENOMEM. The child's blocks are added by the caller.
 */
struct tb_pages *pages__fork(struct tb_pages *parent, const struct tb_fork_ref *f);
/* The forks a page the kernel copies for addr's write could have been shared by. */
void pages__copy_forks(const struct tb_pages *pg, uint64_t addr, struct tb_copy_forks *cf);
/* The page is one the process got at its fork and has not written or given back since. */
bool pages__inherited_unwritten(const struct tb_pages *pg, uint64_t addr);

enum tb_page_state pages__state(const struct tb_pages *pg, uint64_t addr);
void pages__set(struct tb_pages *pg, uint64_t addr, enum tb_page_state st);
/* A wp row: the page is the process's own from now on, whether the kernel copies or not. */
void pages__wp(struct tb_pages *pg, uint64_t addr);
/* What a page held before the write whose copy a cow row reports. */
enum tb_page_state pages__before_copy(const struct tb_pages *pg, uint64_t addr);
/*
 * munmap, madvise(DONTNEED), a brk that shrank: the pages in [start, end) are gone.
 * Returns how many of them the rows had made resident (written, copied, or a file's).
 */
uint64_t pages__forget(struct tb_pages *pg, uint64_t start, uint64_t end);
/* Whether a row made any page of [start, end) resident (and it was not given back since). */
bool pages__resident_in(const struct tb_pages *pg, uint64_t start, uint64_t end);

/* Keeps the first TB_GIVEBACKS_KEPT runs, and every run with a live block after them. */
void pages__giveback_note(struct tb_pages *pg, const struct tb_giveback *gb);
const struct tb_giveback *pages__givebacks(const struct tb_pages *pg, uint32_t *n,
					   uint64_t *total);

/* Live blocks by address, so that a fault finds the block it fell in. */
int pages__block_add(struct tb_pages *pg, uint64_t addr, uint64_t size);
void pages__block_del(struct tb_pages *pg, uint64_t addr);
/* The start of the live block addr lies in, or 0. */
uint64_t pages__block_at(const struct tb_pages *pg, uint64_t addr);
/* Counts a page a block's fault made resident or copied; how many so far for that block. */
uint32_t pages__block_caused(struct tb_pages *pg, uint64_t block);
/* Keeps the first TB_COPIES_KEPT copies, and counts them all. */
void pages__copy_note(struct tb_pages *pg, const struct tb_copy *cp);
/* The copies kept; *total: all of them. */
const struct tb_copy *pages__copies(const struct tb_pages *pg, uint32_t *n, uint64_t *total);
/* Calls fn for each block that caused pages, with its count. */
void pages__each_caused(const struct tb_pages *pg, void (*fn)(void *arg, uint64_t block,
							      uint32_t pages), void *arg);

#endif
