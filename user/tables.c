// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tables.c: the model's containers: growable arrays, block tables, mapping lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tables.h"

#define BTAB_MIN_SHIFT 8	/* a block table starts at 256 slots */

int grow(void **v, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t n = *cap ? *cap : 8;
	void *nv;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	nv = realloc(*v, (size_t)n * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = n;
	return 0;
}

/* ---- blocks ------------------------------------------------------------------------------ */

static int btab_rehash(struct tb_btab *t, uint32_t shift, int keep_freed)
{
	struct tb_btab n = { .shift = shift, .cap = 1u << (64 - shift), .live = t->live };

	n.slot = calloc(n.cap, sizeof(*n.slot));
	if (!n.slot)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->cap; i++) {
		struct tb_block *b = &t->slot[i];

		if (b->state == TB_B_LIVE || (b->state == TB_B_FREED && keep_freed)) {
			*btab_find(&n, b->addr) = *b;
			n.freed += b->state == TB_B_FREED;
		}
	}
	free(t->slot);
	*t = n;
	return 0;
}

/*
 * Makes room for one more record. Tombstones only serve double-free and reuse
 * detection, so once they dominate a large table they are dropped rather than
 * let the table grow without bound; the process then forgets which unknown
 * pointers were invalid (forgot_freed), and such frees become unknown_origin.
 */
int btab_reserve(struct tb_process *p)
{
	struct tb_btab *t = &p->blocks;
	uint32_t shift;

	if (t->cap && (uint64_t)(t->live + t->freed + 1) * 4 <= (uint64_t)t->cap * 3)
		return 0;
	if (!t->cap)
		return btab_rehash(t, 64 - BTAB_MIN_SHIFT, 1);
	if (t->freed > t->live && t->freed > TB_FREED_KEEP) {
		shift = 64 - BTAB_MIN_SHIFT;
		while ((1ull << (64 - shift)) < (uint64_t)t->live * 4)
			shift--;
		p->forgot_freed = 1;
		return btab_rehash(t, shift, 0);
	}
	return btab_rehash(t, t->shift - 1, 1);
}

void btab_clear(struct tb_btab *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* ---- mappings ---------------------------------------------------------------------------- */

/* Opens a hole of one entry at index i. */
static int maps_open(struct tb_maps *ms, uint32_t i)
{
	if (grow((void **)&ms->v, &ms->cap, ms->n + 1, sizeof(*ms->v)))
		return -ENOMEM;
	memmove(&ms->v[i + 1], &ms->v[i], (ms->n - i) * sizeof(*ms->v));
	ms->n++;
	ms->hit = TB_NONE;
	return 0;
}

int maps_split(struct tb_maps *ms, uint64_t addr)
{
	uint32_t i = maps_lower(ms, addr);

	if (i == ms->n || ms->v[i].start >= addr)
		return 0;
	if (maps_open(ms, i + 1))
		return -ENOMEM;
	ms->v[i + 1] = ms->v[i];
	ms->v[i].end = addr;
	ms->v[i + 1].start = addr;
	return 0;
}

void maps_remove(struct tb_maps *ms, uint64_t start, uint64_t end)
{
	uint32_t i, j;

	if (!ms->n)
		return;
	/* Without room to split, dropping the straddling mapping is the lesser error. */
	maps_split(ms, start);
	maps_split(ms, end);
	i = maps_lower(ms, start);
	for (j = i; j < ms->n && ms->v[j].start < end; j++)
		;
	memmove(&ms->v[i], &ms->v[j], (ms->n - j) * sizeof(*ms->v));
	ms->n -= j - i;
	ms->hit = TB_NONE;
}

int maps_insert(struct tb_maps *ms, const struct tb_map *m)
{
	uint32_t i = maps_lower(ms, m->start);

	if (maps_open(ms, i))
		return -ENOMEM;
	ms->v[i] = *m;
	ms->hit = i;
	return 0;
}

void maps_protect(struct tb_maps *ms, uint64_t start, uint64_t end, uint32_t prot)
{
	maps_split(ms, start);
	maps_split(ms, end);
	for (uint32_t i = maps_lower(ms, start); i < ms->n && ms->v[i].start < end; i++)
		ms->v[i].prot = prot;
}
