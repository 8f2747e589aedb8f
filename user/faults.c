// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* faults.c: page rows in the model: the block a fault hit, what its page held, the counts. */
#include <stdio.h>
#include <string.h>
#include "arena.h"
#include "faults.h"
#include "tables.h"

#define MADV_DONTNEED 4
#define MADV_FREE 8
#define MADV_REMOVE 9
#define MAP_SHARED_BIT 0x01	/* MAP_SHARED, and MAP_SHARED_VALIDATE's low bit */
#define MAP_FIXED_BIT 0x10	/* a new mapping replaces what was there */
#define TB_SHARERS_NAMED 8	/* children a copy row names as still sharing the page */

/* p's pages, made at its first page row with every live block it has then. */
static struct tb_pages *pages_of(struct tb_process *p)
{
	if (p->pg)
		return p->pg;
	p->pg = pages__new();
	for (uint32_t i = 0; p->pg && i < p->blocks.cap; i++)
		if (p->blocks.slot[i].state == TB_B_LIVE)
			pages__block_add(p->pg, p->blocks.slot[i].addr, p->blocks.slot[i].size);
	return p->pg;
}

void faults__fork(struct tb_process *parent, struct tb_process *child, const struct tb_event *e)
{
	if (!parent->pg)
		return;
	child->pg = pages__fork(parent->pg, &(struct tb_fork_ref){
		.seq = e->seq, .ts = e->ts_ns, .pid = child->pid, .proc = child->index });
	for (uint32_t i = 0; child->pg && i < child->blocks.cap; i++) {
		const struct tb_block *b = &child->blocks.slot[i];

		if (b->state == TB_B_LIVE)
			pages__block_add(child->pg, b->addr, b->size);
	}
}

/*
 * The blocks (live, or freed and not handed out again) with bytes on a page of
 * [gb->start, gb->end) that the rows made resident: the pages the run really
 * gave back, not those an earlier madvise had already taken. Before the forget.
 */
static void giveback_blocks(const struct tb_process *p, struct tb_giveback *gb)
{
	for (uint32_t i = 0; i < p->blocks.cap; i++) {
		const struct tb_block *b = &p->blocks.slot[i];
		uint64_t end = b->addr + (b->size ? b->size : 1);

		if (b->state == TB_B_EMPTY || b->addr >= gb->end || end <= gb->start ||
		    !pages__resident_in(p->pg, b->addr > gb->start ? b->addr : gb->start,
					end < gb->end ? end : gb->end))
			continue;
		if (b->state == TB_B_LIVE) {
			if (gb->nlive < TB_GB_BLOCKS)
				gb->live[gb->nlive] = b->addr;
			gb->nlive++;
		} else {
			if (gb->nfreed < TB_GB_BLOCKS)
				gb->freed[gb->nfreed] = b->addr;
			gb->nfreed++;
		}
	}
}

/* "freed blocks 0x1 0x2 +3 more" into the row's detail from at; returns the new end. */
static size_t detail_blocks(char *d, size_t at, size_t cap, const char *what,
			    const uint64_t *v, uint32_t n)
{
	if (!n || at >= cap)
		return at;
	at += snprintf(d + at, cap - at, "%s%s", at ? "; " : "", what);
	for (uint32_t i = 0; i < n && i < TB_GB_BLOCKS && at < cap; i++)
		at += snprintf(d + at, cap - at, " 0x%llx", (unsigned long long)v[i]);
	if (n > TB_GB_BLOCKS && at < cap)
		at += snprintf(d + at, cap - at, " +%u more", n - TB_GB_BLOCKS);
	return at;
}

/*
 * Pages went back: forget them, and tie the run to the blocks on the pages the
 * rows had made resident; count them for the process and the thread, and name
 * them on the row. The block table is walked once per run with such pages.
 * Returns how many pages were resident.
 */
static uint64_t giveback(struct tb_process *p, struct tb_thread *t, struct tb_event *e,
			 uint64_t start, uint64_t end)
{
	struct tb_giveback gb = {
		.ts = e->ts_ns, .seq = e->seq, .start = start & ~4095ULL,
		.end = (end + 4095) & ~4095ULL, .tid = e->tid, .how = e->type,
	};
	size_t at;

	if (pages__resident_in(p->pg, gb.start, gb.end))
		giveback_blocks(p, &gb);
	gb.pages = pages__forget(p->pg, start, end);
	if (!gb.pages)
		return 0;
	pages__giveback_note(p->pg, &gb);
	p->pages.freed_blocks_back += gb.nfreed;
	p->pages.live_blocks_back += gb.nlive;
	t->pages.freed_blocks_back += gb.nfreed;
	t->pages.live_blocks_back += gb.nlive;
	if (e->detail[0] || (!gb.nfreed && !gb.nlive))
		return gb.pages;	/* a row read back keeps its own words */
	at = snprintf(e->detail, sizeof(e->detail), "%llu page%s given back",
		      (unsigned long long)gb.pages, gb.pages == 1 ? "" : "s");
	at = detail_blocks(e->detail, at, sizeof(e->detail), "LIVE blocks", gb.live, gb.nlive);
	detail_blocks(e->detail, at, sizeof(e->detail), "freed blocks", gb.freed, gb.nfreed);
	return gb.pages;
}

void faults__on_vm(struct tb_process *p, struct tb_thread *t, struct tb_event *e)
{
	if (!p->pg || e->err)
		return;
	switch (e->type) {
	case TB_EV_MMAP:	/* glibc shrinks an arena's heap so under overcommit 2 */
		if (e->sysflags & MAP_FIXED_BIT)
			p->pages.unmapped_back += giveback(p, t, e, e->addr, e->addr + e->size);
		break;
	case TB_EV_MUNMAP:
		p->pages.unmapped_back += giveback(p, t, e, e->addr, e->addr + e->size);
		break;
	case TB_EV_MADVISE:
		if (e->sysflags == MADV_DONTNEED || e->sysflags == MADV_FREE ||
		    e->sysflags == MADV_REMOVE)
			p->pages.advised_back += giveback(p, t, e, e->addr, e->addr + e->size);
		break;
	case TB_EV_BRK:	/* a trim: the break came down */
		if (e->addr < e->old_addr)
			p->pages.trimmed_back += giveback(p, t, e, e->addr, e->old_addr);
		break;
	default:
		break;
	}
}

static bool no_access(const struct tb_map *m)
{
	return m && !(m->prot & 7);
}

/* A first touch: what the kernel mapped, by the mapping and the access. */
static const char *on_touch(struct tb_page_stats *s, struct tb_pages *pg, const struct tb_event *e,
			    enum tb_region kind, const struct tb_map *m)
{
	if (no_access(m)) {
		s->guard++;
		return "guard page";
	}
	/* a shared mapping's page may be another process's already: a fork copies none */
	if (m && (m->mflags & MAP_SHARED_BIT)) {
		s->file++;
		pages__set(pg, e->addr, TB_PG_FILE);
		return "shared page";
	}
	if (kind == TB_REG_FILE || (e->sysflags & TB_PF_INSTR)) {
		s->file++;
		pages__set(pg, e->addr, TB_PG_FILE);
		return e->sysflags & TB_PF_INSTR ? "code page" : "file page";
	}
	/* what the kernel mapped at exec (the program, the loader) is in no row */
	if (kind == TB_REG_UNKNOWN) {
		s->unmapped++;
		return e->sysflags & TB_PF_WRITE ? "page of a mapping not seen, written" :
						   "page of a mapping not seen, read";
	}
	if (e->sysflags & TB_PF_WRITE) {
		s->fresh++;
		pages__set(pg, e->addr, TB_PG_OWN);
		return "new page";
	}
	s->zero++;
	pages__set(pg, e->addr, TB_PG_ZERO);
	return "zero page";
}

/* A write to a present page: what it held; a cow row follows if the kernel copied it. */
static const char *on_wp(struct tb_page_stats *s, enum tb_page_state st, const struct tb_map *m)
{
	s->wp++;
	if (no_access(m) || (m && !(m->prot & 2)))
		return "write to a read-only page";
	switch (st) {
	case TB_PG_ZERO: return "write to the zero page";
	case TB_PG_SHARED: return "write to a page shared at fork";
	case TB_PG_FILE: return "write to a file page";
	default: return "write to a write-protected page";
	}
}

static bool anon_kind(enum tb_region kind)
{
	return kind == TB_REG_HEAP || kind == TB_REG_ARENA || kind == TB_REG_MMAP_CHUNK ||
	       kind == TB_REG_STACK || kind == TB_REG_ANON;
}

/*
 * The kernel copied: from what. The zero page's copy is a zeroed page (the
 * probe tells it). Otherwise a private anonymous page is copied only when
 * another process maps it too, which a fork does (or KSM's merging, which a
 * program asks for with madvise): so in anonymous memory a copy is a fork's,
 * whatever rows came before; in a file mapping it is the file page's.
 */
static const char *on_cow(struct tb_page_stats *s, struct tb_pages *pg, const struct tb_event *e,
			  enum tb_page_state st, enum tb_region kind)
{
	pages__set(pg, e->addr, TB_PG_OWN);
	if (e->type == TB_EV_ZERO_COPY) {
		s->cow_zero++;
		return "copy of the zero page";
	}
	if (st == TB_PG_FILE || kind == TB_REG_FILE) {
		s->cow_file++;
		return "copy of a file page";
	}
	if (st == TB_PG_SHARED || anon_kind(kind)) {
		s->cow_fork++;
		return "copy after fork";
	}
	s->cow_other++;
	return "copy";
}

static const char *what_happened(struct tb_page_stats *s, struct tb_pages *pg,
				 const struct tb_event *e, enum tb_region kind,
				 const struct tb_map *m)
{
	enum tb_page_state st = pages__state(pg, e->addr);

	switch (e->type) {
	case TB_EV_TOUCH: return on_touch(s, pg, e, kind, m);
	case TB_EV_WP:
		pages__wp(pg, e->addr);
		return on_wp(s, st, m);
	case TB_EV_COW: return on_cow(s, pg, e, pages__before_copy(pg, e->addr), kind);
	case TB_EV_ZERO_COPY: return on_cow(s, pg, e, st, kind);
	default:
		s->other++;
		return no_access(m) ? "guard page" : "protection fault";
	}
}

/*
 * A copy after fork: the fork that made the page shared, and which of the
 * children forked since still held it unwritten (their rows' word: alive, not
 * exec'd, no fault of theirs made it their own or gave it back).
 */
static void copy_fork(const struct correlator *c, const struct tb_copy_forks *cf, uint64_t addr,
		      struct tb_copy *cp, uint32_t *sharer, uint32_t max)
{
	cp->fork_pid = cf->first ? cf->first->pid : 0;
	cp->fork_seq = cf->first ? cf->first->seq : 0;
	cp->fork_ts = cf->first ? cf->first->ts : 0;
	cp->fork_exact = cf->exact;
	cp->forks = cf->n;
	for (uint32_t i = 0; i < cf->nown; i++) {
		const struct tb_process *ch = cf->own[i].proc < c->nprocs ?
					      c->procs[cf->own[i].proc] : NULL;

		if (!ch || ch->exited || !ch->pg || !pages__inherited_unwritten(ch->pg, addr))
			continue;
		if (cp->sharers < max)
			sharer[cp->sharers] = ch->pid;
		cp->sharers++;
	}
}

/* "copy after fork 1234 (row 56), shared with 1234 1240" into buf. */
static const char *copy_words(char *buf, size_t cap, const struct tb_copy *cp,
			      const uint32_t *sharer, uint32_t max)
{
	size_t at;

	if (!cp->fork_pid)
		return "copy after fork";
	if (cp->fork_exact)
		at = snprintf(buf, cap, "copy after fork %u (row %llu)", cp->fork_pid,
			      (unsigned long long)cp->fork_seq);
	else
		at = snprintf(buf, cap, "copy after one of %u forks, the first %u (row %llu)",
			      cp->forks, cp->fork_pid, (unsigned long long)cp->fork_seq);
	for (uint32_t i = 0; i < cp->sharers && i < max && at < cap; i++)
		at += snprintf(buf + at, cap - at, "%s %u", i ? "" : ", shared with", sharer[i]);
	if (cp->sharers > max && at < cap)
		snprintf(buf + at, cap - at, " +%u more", cp->sharers - max);
	return buf;
}

/*
 * The block the fault fell in: its start, who allocated it and where (its
 * allocation's stack_id, which a fork's copy keeps), whether the fork copied it.
 */
static void fault_block(struct correlator *c, struct tb_process *p, struct tb_event *e,
			const struct tb_copy *fork)
{
	uint64_t start = pages__block_at(p->pg, e->addr);
	struct tb_block *b = start && p->blocks.cap ? btab_find(&p->blocks, start) : NULL;

	e->old_addr = start;
	e->stack_id = 0;
	if (!b || b->state != TB_B_LIVE)
		return;
	e->stack_id = b->stack_id;
	if (b->thread != TB_NONE && b->thread < c->nthreads) {
		e->origin_pid = c->threads[b->thread]->pid;
		e->origin_tid = c->threads[b->thread]->tid;
	}
	if (b->inherited)
		e->flags |= TB_F_INHERITED;
	p->pages.in_blocks++;
	if (e->type == TB_EV_COW || e->type == TB_EV_ZERO_COPY)
		pages__copy_note(p->pg, &(struct tb_copy){
			.ts = e->ts_ns, .addr = e->addr, .block = start, .tid = e->tid,
			.owner_pid = e->origin_pid, .owner_tid = e->origin_tid,
			.inherited = b->inherited, .zero = e->type == TB_EV_ZERO_COPY,
			.fork_exact = fork->fork_exact, .fork_pid = fork->fork_pid,
			.fork_seq = fork->fork_seq, .fork_ts = fork->fork_ts, .forks = fork->forks,
			.sharers = fork->sharers });
	if (e->type != TB_EV_WP)	/* a wp row's page is counted by its copy, if any */
		pages__block_caused(p->pg, start);
}

/* An rss row: the process's resident bytes of one kind now, and its peak. */
static void on_rss(struct tb_process *p, const struct tb_event *e)
{
	struct tb_rss *r = &p->rss;
	uint64_t total;

	if (e->sysflags >= TB_RSS_KINDS)
		return;
	r->now[e->sysflags] = e->size;
	r->rows++;
	total = r->now[0] + r->now[1] + r->now[3];
	if (total > r->peak)
		r->peak = total;
	if (r->now[1] > r->peak_anon)
		r->peak_anon = r->now[1];
}

/* The arena a page of the brk heap or of a thread arena's heap belongs to: its pages' counts. */
static void arena_pages(struct tb_process *p, const struct tb_event *e, enum tb_region kind,
			const struct tb_map *m)
{
	uint32_t a = kind == TB_REG_HEAP ? p->heap_arena :
		     kind == TB_REG_ARENA && m ? m->owner : TB_NONE;

	if (a == TB_NONE || a >= p->narenas)
		return;
	if (e->type == TB_EV_TOUCH)
		p->arenas[a].pages_touched++;
	else if (e->type == TB_EV_COW || e->type == TB_EV_ZERO_COPY)
		p->arenas[a].pages_copied++;
}

/* A fault the kernel refused: the context of the SIGSEGV that usually follows. */
static void note_refused(struct tb_process *p, const struct tb_event *e)
{
	struct tb_refused *r = &p->refused;

	*r = (struct tb_refused){ .seq = e->seq, .ts = e->ts_ns, .addr = e->addr,
				  .block = e->old_addr, .tid = e->tid, .region = e->region };
	snprintf(r->what, sizeof(r->what), "%s", e->detail);
}

void faults__on_page(struct correlator *c, struct tb_process *p, struct tb_thread *t,
		     struct tb_event *e)
{
	struct tb_pages *pg = pages_of(p);
	struct tb_page_stats before = p->pages;
	struct tb_copy_forks cf = {};
	struct tb_copy fork = {};
	uint32_t sharer[TB_SHARERS_NAMED];
	char words[160];
	bool refused;
	struct tb_map *m;
	enum tb_region kind;
	const char *what;
	uint64_t *a = (uint64_t *)&p->pages, *b = (uint64_t *)&before, *tt = (uint64_t *)&t->pages;

	if (e->type == TB_EV_RSS) {
		on_rss(p, e);
		return;
	}
	if (!pg)
		return;
	kind = classify(p, e->addr, &e->region_base, &m);
	e->region = kind;
	if (e->type == TB_EV_COW)	/* before the copy makes the page this process's own */
		pages__copy_forks(pg, e->addr, &cf);
	what = what_happened(&p->pages, pg, e, kind, m);
	if (p->pages.cow_fork != before.cow_fork) {
		copy_fork(c, &cf, e->addr, &fork, sharer, TB_SHARERS_NAMED);
		what = copy_words(words, sizeof(words), &fork, sharer, TB_SHARERS_NAMED);
	}
	arena_pages(p, e, kind, m);
	/* the thread gets what its process just got */
	for (size_t i = 0; i < sizeof(before) / sizeof(*a); i++)
		tt[i] += a[i] - b[i];
	refused = !strcmp(what, "guard page") || !strcmp(what, "protection fault") ||
		  !strcmp(what, "write to a read-only page");
	fault_block(c, p, e, &fork);
	/* live: the decoder left the ip in old_size; a row read back keeps its own words */
	if (e->old_size) {
		snprintf(e->detail, sizeof(e->detail), "%s, ip 0x%llx", what,
			 (unsigned long long)e->old_size);
		e->old_size = 0;
	}
	if (refused)
		note_refused(p, e);
}
