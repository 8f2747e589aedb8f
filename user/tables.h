/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tables.h: the model's containers: growable arrays, block tables, mapping lists (id maps: idmap.h). */
#ifndef TB_TABLES_H
#define TB_TABLES_H

#include "idmap.h"
#include "model.h"

#define TB_FREED_KEEP (1u << 20) /* tombstones kept per process before they may be dropped */

/* Leaves *v alone on failure, so the caller's array stays valid. */
int grow(void **v, uint32_t *cap, uint32_t need, size_t elem);

/*
 * The lookups are inline, as the id map's are: they run for nearly every
 * event, and a call into another file costs the correlator's hot path.
 */
static inline struct tb_block *btab_find(const struct tb_btab *t, uint64_t addr)
{
	uint32_t i = (uint32_t)((addr * GOLDEN) >> t->shift);

	while (t->slot[i].addr && t->slot[i].addr != addr)
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

/* Makes room for one more record; tombstones may be dropped (p->forgot_freed). */
int btab_reserve(struct tb_process *p);
void btab_clear(struct tb_btab *t);

/* Index of the first mapping ending above addr (ends are sorted too: no overlaps). */
static inline uint32_t maps_lower(const struct tb_maps *ms, uint64_t addr)
{
	uint32_t lo = 0, hi = ms->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (ms->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline struct tb_map *maps_find(struct tb_maps *ms, uint64_t addr)
{
	uint32_t i = ms->hit;

	if (i < ms->n && ms->v[i].start <= addr && addr < ms->v[i].end)
		return &ms->v[i];
	i = maps_lower(ms, addr);
	if (i == ms->n || ms->v[i].start > addr)
		return NULL;
	ms->hit = i;
	return &ms->v[i];
}

/* Cuts the mapping that straddles addr in two; both pieces keep kind and owner. */
int maps_split(struct tb_maps *ms, uint64_t addr);
void maps_remove(struct tb_maps *ms, uint64_t start, uint64_t end);
/* Places m, which must not overlap any mapping (the caller removed the range first). */
int maps_insert(struct tb_maps *ms, const struct tb_map *m);
void maps_protect(struct tb_maps *ms, uint64_t start, uint64_t end, uint32_t prot);

#endif
