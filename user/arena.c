// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* arena.c: arena inference: which arena or mapping served a block, and who uses each arena. */
#include <string.h>
#include "arena.h"

static void mark_serial(struct tb_maps *ms, uint32_t i, uint8_t kind, uint32_t owner)
{
	uint32_t serial = ms->v[i].serial, j;

	for (j = i; j < ms->n && ms->v[j].serial == serial; j++) {
		ms->v[j].kind = kind;
		ms->v[j].owner = owner;
	}
	for (j = i; j-- > 0 && ms->v[j].serial == serial;) {
		ms->v[j].kind = kind;
		ms->v[j].owner = owner;
	}
}

/*
 * A reservation became a heap: its first block is served. glibc keeps a thread
 * on its arena until an allocation fails there, so a new heap made in this
 * very call while the thread is on a thread arena grows that arena. Otherwise
 * it is a new arena, owned by the thread that mapped it: glibc makes a
 * thread's arena in its first allocator call, which may be a free or a
 * realloc serving nothing from it, and a later thread may be the first one
 * served from it.
 */
static uint32_t arena_from_reservation(struct tb_process *p, struct tb_thread *t, uint32_t mi,
				       uint64_t base, int made_now, uint64_t ts, uint32_t *flags)
{
	uint32_t owner = made_now ? t->index : p->maps.v[mi].creator;
	uint32_t a = arena_new(p, base, owner, ts);
	uint32_t cur = t->cur_proc == p->index ? t->cur_arena : TB_NONE;

	if (a == TB_NONE)
		return TB_NONE;
	if (made_now && cur != TB_NONE && !p->arenas[cur].is_heap) {
		uint32_t root = p->arenas[cur].extends != TB_NONE ? p->arenas[cur].extends : cur;

		p->arenas[a].extends = root;
		p->arenas[a].owner = p->arenas[root].owner;
	} else {
		*flags |= TB_F_NEW_ARENA;
	}
	mark_serial(&p->maps, mi, TB_REG_ARENA, a);
	return a;
}

static void note_chunk(struct tb_process *p, struct tb_map *m, uint64_t size)
{
	uint64_t len = m->end - m->start;

	m->kind = TB_REG_MMAP_CHUNK;
	p->chunks++;
	p->chunk_bytes += size;
	p->chunk_mapped += len;
	if (len > p->chunk_largest)
		p->chunk_largest = len;
}

/*
 * A mapping that is one block's own: the block starts in its first page and
 * the mapping is no larger than the block, rounded up to pages. Allocators
 * that map a large region during a call and carve many blocks from it
 * (jemalloc's extents, musl's groups) map more than that.
 */
static bool serves_one_block(const struct tb_map *m, const struct tb_event *e)
{
	uint64_t slack = 4096 + e->align;

	return e->addr - m->start < slack && m->end - m->start <= e->size + 2 * slack;
}

enum tb_region classify_alloc(struct tb_process *p, struct tb_thread *t,
			      struct tb_event *e, uint64_t *base, uint32_t *arena)
{
	uint64_t call = e->ts_ns > e->latency_ns ? e->ts_ns - e->latency_ns : 0;
	enum tb_region kind;
	struct tb_map *m;

	*arena = TB_NONE;
	kind = classify(p, e->addr, base, &m);
	if (kind == TB_REG_HEAP)
		*arena = p->heap_arena;
	if (!m)
		return kind;
	if (kind == TB_REG_ANON) {
		uint64_t aligned = e->addr & ~(TB_ARENA_SIZE - 1);
		uint32_t mi = p->maps.hit, serial = m->serial; /* the next lookup moves the cache */
		int made_now = m->creator == t->index && m->ts >= call && m->ts <= e->ts_ns;
		struct tb_map *head = m->reserve ? maps_find(&p->maps, aligned) : NULL;

		if (head && head->serial == serial) {
			*arena = arena_from_reservation(p, t, mi, aligned, made_now, e->ts_ns,
							&e->flags);
			if (*arena == TB_NONE)
				return TB_REG_ANON;
			*base = aligned;
			return TB_REG_ARENA;
		}
		if (!made_now || !serves_one_block(&p->maps.v[mi], e))
			return kind;
		note_chunk(p, &p->maps.v[mi], e->size);
		*base = p->maps.v[mi].start;
		return TB_REG_MMAP_CHUNK;
	}
	if (kind == TB_REG_ARENA)
		*arena = m->owner < p->narenas ? m->owner : TB_NONE;
	return kind;
}

static void arena_attach(struct tb_process *p, struct tb_thread *t, uint32_t ai, uint64_t ts)
{
	struct tb_arena *a = &p->arenas[ai];
	uint32_t idx = TB_NONE, me = t->index, i;

	t->cur_arena = TB_NONE;
	for (i = 0; i < a->nusers && idx == TB_NONE; i++)
		if (a->users[i].thread == me)
			idx = i;
	if (idx == TB_NONE) {
		if (grow((void **)&a->users, &a->cap_users, a->nusers + 1, sizeof(*a->users)) ||
		    grow((void **)&t->arenas, &t->cap_arenas, t->narenas + 1, sizeof(*t->arenas)))
			return;
		idx = a->nusers++;
		memset(&a->users[idx], 0, sizeof(a->users[idx]));
		a->users[idx].thread = me;
		a->users[idx].first_ts = ts;
		t->arenas[t->narenas++] = (struct tb_thread_arena){ p->index, ai };
	}
	t->cur_arena = ai;
	t->cur_proc = p->index;
	t->cur_user = idx;
}

void arena_serve(struct tb_process *p, struct tb_thread *t, uint32_t ai, uint64_t size,
		 uint64_t ts)
{
	struct tb_arena *a = &p->arenas[ai];
	struct tb_arena_user *u;

	a->blocks++;
	a->bytes += size;
	/* The main arena exists before any thread allocates: its first user owns it. */
	if (a->owner == TB_NONE && a->is_heap && !a->seeded)
		a->owner = t->index;
	/* a vfork child's thread moves from its parent's arenas to its own at exec */
	if (t->cur_arena != ai || t->cur_proc != p->index)
		arena_attach(p, t, ai, ts);
	if (t->cur_arena != ai || t->cur_proc != p->index)
		return;
	u = &a->users[t->cur_user];
	u->blocks++;
	u->bytes += size;
	u->last_ts = ts;
}
