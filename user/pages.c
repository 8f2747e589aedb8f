// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pages.c: the model's pages: what each page held, and which live block an address is in. */
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include "idmap.h"
#include "pages.h"

/* A live block in the address tree; a lookup key of size 0 is a point inside one. */
struct span {
	uint64_t addr, size;
};

/*
 * A page's value in the state map: enum tb_page_state in the low bits, and
 * above them its write epoch: 1 + the forks this process had made when a row
 * last made it its own; 0 for a page it got at its fork and has not written
 * since (or whose last write no row told).
 */
#define ST_BITS 4
#define ST_MASK ((1u << ST_BITS) - 1)

struct tb_pages {
	struct tb_idmap state;	/* page number -> state | epoch << ST_BITS */
	struct tb_fork_ref *forks;	/* the forks this process made, in order */
	uint32_t nforks, cap_forks;
	struct tb_fork_ref born;	/* the fork that made it; pid 0: none seen */
	struct tb_idmap caused;	/* block address -> pages its faults made resident or copied */
	void *blocks;		/* tsearch tree of struct span, ordered by address */
	struct tb_copy copies[TB_COPIES_KEPT];	/* the first copies in blocks */
	uint32_t ncopies;
	uint64_t copies_total;
	struct tb_giveback *gb;	/* runs given back, see pages__giveback_note */
	uint32_t ngb, cap_gb;
	uint64_t gb_total;
	uint64_t wp_page;	/* the last wp row's page, and what it held before that row */
	enum tb_page_state wp_state;
	uint32_t wp_val;	/* its state map value then */
};

/* Blocks never overlap, so ordering them by start also places a point in the one holding it. */
static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (!x->size) {	/* a point */
		if (x->addr < y->addr)
			return -1;
		return x->addr >= y->addr + y->size ? 1 : 0;
	}
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct tb_pages *pages__new(void)
{
	return calloc(1, sizeof(struct tb_pages));
}

void pages__free(struct tb_pages *pg)
{
	if (!pg)
		return;
	tdestroy(pg->blocks, free);
	idmap_free(&pg->state);
	idmap_free(&pg->caused);
	free(pg->gb);
	free(pg->forks);
	free(pg);
}

static int fork_note(struct tb_pages *pg, const struct tb_fork_ref *f)
{
	if (pg->nforks == pg->cap_forks) {
		uint32_t cap = pg->cap_forks ? pg->cap_forks * 2 : 4;
		struct tb_fork_ref *v = realloc(pg->forks, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		pg->forks = v;
		pg->cap_forks = cap;
	}
	pg->forks[pg->nforks++] = *f;
	return 0;
}

struct tb_pages *pages__fork(struct tb_pages *parent, const struct tb_fork_ref *f)
{
	struct tb_pages *child = pages__new();
	struct tb_idmap *m = &parent->state;

	if (!child || fork_note(parent, f)) {
		pages__free(child);
		return NULL;
	}
	child->born = *f;
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == UINT64_MAX)
			continue;
		if ((m->vals[i] & ST_MASK) == TB_PG_OWN)
			m->vals[i] = (m->vals[i] & ~ST_MASK) | TB_PG_SHARED;
		/* the child's copy: epoch 0, got at its fork and not written since */
		if (idmap_put(&child->state, m->keys[i], m->vals[i] & ST_MASK)) {
			pages__free(child);
			return NULL;
		}
	}
	return child;
}

enum tb_page_state pages__state(const struct tb_pages *pg, uint64_t addr)
{
	uint32_t v = idmap_get(&pg->state, addr >> TB_PAGE_SHIFT);

	return v == IDMAP_NONE ? TB_PG_UNKNOWN : (enum tb_page_state)(v & ST_MASK);
}

void pages__set(struct tb_pages *pg, uint64_t addr, enum tb_page_state st)
{
	uint32_t v = st;

	if (st == TB_PG_OWN)	/* written now: its epoch */
		v |= (pg->nforks + 1) << ST_BITS;
	/* out of memory: the page stays unknown, which only words its next row vaguer */
	idmap_put(&pg->state, addr >> TB_PAGE_SHIFT, v);
}

bool pages__inherited_unwritten(const struct tb_pages *pg, uint64_t addr)
{
	uint32_t v = idmap_get(&pg->state, addr >> TB_PAGE_SHIFT);

	return v != IDMAP_NONE && v == TB_PG_SHARED;
}

void pages__copy_forks(const struct tb_pages *pg, uint64_t addr, struct tb_copy_forks *cf)
{
	/* its wp row, just before, has made it own: what it was before that row */
	uint64_t page = addr >> TB_PAGE_SHIFT;
	uint32_t v = pg->wp_page == page ? pg->wp_val : idmap_get(&pg->state, page);
	uint32_t epoch = v == IDMAP_NONE ? 0 : v >> ST_BITS;
	bool got = v != IDMAP_NONE && (v & ST_MASK) == TB_PG_SHARED && !epoch;

	*cf = (struct tb_copy_forks){};
	if (epoch && epoch - 1 < pg->nforks) {	/* written since its fork, then shared again */
		cf->own = &pg->forks[epoch - 1];
		cf->nown = pg->nforks - (epoch - 1);
		cf->first = cf->own;
		cf->n = cf->nown;
		cf->exact = true;
		return;
	}
	if (epoch)
		return;	/* written after the last fork: no fork shares it (KSM's, if any) */
	/* got at its fork and not written since (exact), or history unknown: any fork */
	cf->own = pg->forks;
	cf->nown = pg->nforks;
	cf->n = pg->nforks + (pg->born.pid != 0);
	cf->first = pg->born.pid ? &pg->born : pg->nforks ? pg->forks : NULL;
	cf->exact = got || cf->n == 1;
}

static bool resident(uint32_t v)
{
	uint32_t st = v & ST_MASK;	/* IDMAP_NONE's low bits are no state */

	return st == TB_PG_OWN || st == TB_PG_SHARED || st == TB_PG_FILE;
}

uint64_t pages__forget(struct tb_pages *pg, uint64_t start, uint64_t end)
{
	uint64_t first = start >> TB_PAGE_SHIFT, last = (end + 4095) >> TB_PAGE_SHIFT, n = 0;
	struct tb_idmap *m = &pg->state;

	if (last <= first || !m->n)
		return 0;
	if (last - first <= m->n) {
		for (uint64_t k = first; k < last; k++) {
			n += resident(idmap_get(m, k));
			idmap_del(m, k);
		}
		return n;
	}
	/* a range wider than the table: walk the table, again after each delete moves keys */
	for (uint32_t i = 0; i < m->cap;) {
		if (m->keys[i] != UINT64_MAX && m->keys[i] >= first && m->keys[i] < last) {
			n += resident(m->vals[i]);
			idmap_del(m, m->keys[i]);
			continue;
		}
		i++;
	}
	return n;
}

bool pages__resident_in(const struct tb_pages *pg, uint64_t start, uint64_t end)
{
	uint64_t first = start >> TB_PAGE_SHIFT, last = (end + 4095) >> TB_PAGE_SHIFT;
	const struct tb_idmap *m = &pg->state;

	if (last - first <= m->n) {
		for (uint64_t k = first; k < last; k++)
			if (resident(idmap_get(m, k)))
				return true;
		return false;
	}
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->keys[i] != UINT64_MAX && m->keys[i] >= first && m->keys[i] < last &&
		    resident(m->vals[i]))
			return true;
	return false;
}

int pages__block_add(struct tb_pages *pg, uint64_t addr, uint64_t size)
{
	struct span *s = malloc(sizeof(*s)), **at;

	if (!s)
		return -ENOMEM;
	*s = (struct span){ .addr = addr, .size = size ? size : 1 };
	at = tsearch(s, &pg->blocks, span_cmp);
	if (!at) {
		free(s);
		return -ENOMEM;
	}
	if (*at != s) {	/* a block at that address whose free was lost: the new one replaces it */
		**at = *s;
		free(s);
	}
	return 0;
}

void pages__block_del(struct tb_pages *pg, uint64_t addr)
{
	struct span key = { .addr = addr, .size = 1 }, **at = tfind(&key, &pg->blocks, span_cmp);
	struct span *s;

	if (!at)
		return;
	s = *at;
	tdelete(s, &pg->blocks, span_cmp);
	free(s);
}

uint64_t pages__block_at(const struct tb_pages *pg, uint64_t addr)
{
	struct span key = { .addr = addr, .size = 0 }, **at = tfind(&key, &pg->blocks, span_cmp);

	return at ? (*at)->addr : 0;
}

uint32_t pages__block_caused(struct tb_pages *pg, uint64_t block)
{
	uint32_t n = idmap_get(&pg->caused, block);

	n = n == IDMAP_NONE ? 1 : n + 1;
	idmap_put(&pg->caused, block, n);
	return n;
}

void pages__each_caused(const struct tb_pages *pg, void (*fn)(void *arg, uint64_t block,
							      uint32_t pages), void *arg)
{
	for (uint32_t i = 0; i < pg->caused.cap; i++)
		if (pg->caused.keys[i] != UINT64_MAX)
			fn(arg, pg->caused.keys[i], pg->caused.vals[i]);
}

/*
 * A write to a present page leaves it the process's own, copied or not; its
 * cow row, if the kernel copied, comes next and asks what it held before.
 */
void pages__wp(struct tb_pages *pg, uint64_t addr)
{
	pg->wp_page = addr >> TB_PAGE_SHIFT;
	pg->wp_state = pages__state(pg, addr);
	pg->wp_val = idmap_get(&pg->state, addr >> TB_PAGE_SHIFT);
	pages__set(pg, addr, TB_PG_OWN);
}

enum tb_page_state pages__before_copy(const struct tb_pages *pg, uint64_t addr)
{
	return pg->wp_page == addr >> TB_PAGE_SHIFT && pg->wp_state != TB_PG_UNKNOWN
		       ? pg->wp_state : pages__state(pg, addr);
}

void pages__copy_note(struct tb_pages *pg, const struct tb_copy *cp)
{
	if (pg->ncopies < TB_COPIES_KEPT)
		pg->copies[pg->ncopies++] = *cp;
	pg->copies_total++;
}

const struct tb_copy *pages__copies(const struct tb_pages *pg, uint32_t *n, uint64_t *total)
{
	*n = pg->ncopies;
	*total = pg->copies_total;
	return pg->copies;
}

/*
 * The first runs tell what the allocator gives back in the normal course; a
 * run that held a live block is a bug of the program's, and is kept however
 * late it comes (each one costs a row's worth of memory, and they are rare).
 */
void pages__giveback_note(struct tb_pages *pg, const struct tb_giveback *gb)
{
	pg->gb_total++;
	if (pg->ngb >= TB_GIVEBACKS_KEPT && !gb->nlive)
		return;
	if (pg->ngb == pg->cap_gb) {
		uint32_t cap = pg->cap_gb ? pg->cap_gb * 2 : 8;
		struct tb_giveback *v = realloc(pg->gb, cap * sizeof(*v));

		if (!v)
			return;	/* still counted in gb_total */
		pg->gb = v;
		pg->cap_gb = cap;
	}
	pg->gb[pg->ngb++] = *gb;
}

const struct tb_giveback *pages__givebacks(const struct tb_pages *pg, uint32_t *n,
					   uint64_t *total)
{
	*n = pg->ngb;
	*total = pg->gb_total;
	return pg->gb;
}
