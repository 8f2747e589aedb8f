// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* history.c: block lifetimes and task moments from the correlated rows, for --html and --perfetto. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "history.h"

#define TB_CLONE_VM 0x100	/* clone flag: the child shares its parent's memory, inherits nothing */

struct tb_history *history__new(void)
{
	return calloc(1, sizeof(struct tb_history));
}

/* Grows *v to hold one more of `size` bytes each; 0 or -ENOMEM (kept in h->err). */
static int grow(struct tb_history *h, void **v, uint64_t n, uint64_t *cap, size_t size)
{
	uint64_t c = *cap ? *cap * 2 : 256;
	void *nv;

	if (n < *cap)
		return 0;
	nv = realloc(*v, c * size);
	if (!nv)
		return h->err = -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

static struct tb_idmap *open_of(struct tb_history *h, uint32_t pid, bool make)
{
	uint32_t i = idmap_get(&h->procs, pid);
	uint64_t cap = h->capopen;

	if (i != IDMAP_NONE || !make)
		return i == IDMAP_NONE ? NULL : &h->open[i];
	if (grow(h, (void **)&h->open, h->nopen, &cap, sizeof(*h->open)))
		return NULL;
	h->capopen = cap;
	if (idmap_put(&h->procs, pid, h->nopen)) {
		h->err = -ENOMEM;
		return NULL;
	}
	memset(&h->open[h->nopen], 0, sizeof(*h->open));
	return &h->open[h->nopen++];
}

uint32_t history__task(const struct tb_history *h, uint32_t pid, uint32_t tid)
{
	return idmap_get(&h->tasks, (uint64_t)pid << 32 | tid);
}

/* A thread, from the first row that names it, with the name of its last. */
static void note_task(struct tb_history *h, const struct tb_event *e)
{
	uint32_t i = history__task(h, e->pid, e->tid);
	uint64_t cap = h->capt;
	struct tb_htask *t;

	if (!e->tid)
		return;
	if (i != IDMAP_NONE) {	/* the name it had last: a thread often names itself late */
		memcpy(h->t[i].comm, e->comm, sizeof(h->t[i].comm));
		return;
	}
	if (grow(h, (void **)&h->t, h->nt, &cap, sizeof(*h->t)))
		return;
	h->capt = (uint32_t)cap;
	if (idmap_put(&h->tasks, (uint64_t)e->pid << 32 | e->tid, h->nt)) {
		h->err = -ENOMEM;
		return;
	}
	t = &h->t[h->nt++];
	t->pid = e->pid;
	t->tid = e->tid;
	t->first_ts = e->ts_ns;
	memcpy(t->comm, e->comm, sizeof(t->comm));
}

static void mark(struct tb_history *h, const struct tb_event *e, uint64_t addr)
{
	struct tb_hmark *m;

	if (grow(h, (void **)&h->m, h->nm, &h->capm, sizeof(*h->m)))
		return;
	m = &h->m[h->nm++];
	m->ts = e->ts_ns;
	m->addr = addr;
	m->size = e->size;
	m->pid = e->pid;
	m->tid = e->tid;
	m->origin_pid = e->origin_pid;
	m->origin_tid = e->origin_tid;
	m->type = e->type;
	m->flags = e->flags;
	memcpy(m->comm, e->comm, sizeof(m->comm));
}

static void open_block(struct tb_history *h, const struct tb_event *e)
{
	struct tb_idmap *o = open_of(h, e->pid, true);
	struct tb_hblock *b;

	if (!o || grow(h, (void **)&h->b, h->nb, &h->capb, sizeof(*h->b)))
		return;
	if (idmap_put(o, e->addr, (uint32_t)h->nb)) {
		h->err = -ENOMEM;
		return;
	}
	b = &h->b[h->nb++];
	memset(b, 0, sizeof(*b));
	b->addr = e->addr;
	b->size = e->size;
	b->t_alloc = e->ts_ns;
	b->region_base = e->region_base;
	b->region = (uint8_t)e->region;
	b->pid = e->pid;
	b->tid = e->tid;
	b->stack_id = e->stack_id;
	b->flags = (e->flags & TB_F_REUSED ? TB_HB_REUSED : 0) | (e->flags & TB_F_LIBC ? TB_HB_LIBC : 0);
	if (e->flags & TB_F_NEW_ARENA)
		mark(h, e, e->region_base);
}

static void close_block(struct tb_history *h, const struct tb_event *e, uint64_t addr,
			uint16_t how)
{
	struct tb_idmap *o = open_of(h, e->pid, false);
	uint32_t i = o ? idmap_get(o, addr) : IDMAP_NONE;
	struct tb_hblock *b;

	if (i == IDMAP_NONE) {
		if (e->flags & (TB_F_DOUBLE_FREE | TB_F_INVALID_FREE))
			mark(h, e, addr);
		return;
	}
	idmap_del(o, addr);
	b = &h->b[i];
	b->t_free = e->ts_ns;
	b->free_tid = e->tid;
	b->flags |= how | (e->flags & TB_F_INTERNAL ? TB_HB_INTERNAL : 0);
	if (e->flags & TB_F_CROSS_THREAD)	/* the correlator's word: a child's free of its copy is not */
		b->flags |= TB_HB_CROSS;
}

/* The child gets a copy of every block its parent holds, where the parent had it. */
static void fork_copy(struct tb_history *h, const struct tb_event *e)
{
	struct tb_idmap *parent = open_of(h, e->origin_pid, false), *child;

	if (!parent || (e->sysflags & TB_CLONE_VM) || e->pid == e->origin_pid)
		return;
	child = open_of(h, e->pid, true);
	parent = open_of(h, e->origin_pid, false);	/* open_of may have moved the array */
	for (uint32_t k = 0; child && k < parent->cap; k++) {
		struct tb_hblock *b;
		uint32_t i = parent->vals[k];

		if (parent->keys[k] == UINT64_MAX ||
		    grow(h, (void **)&h->b, h->nb, &h->capb, sizeof(*h->b)))
			continue;
		if (idmap_put(child, parent->keys[k], (uint32_t)h->nb)) {
			h->err = -ENOMEM;
			return;
		}
		b = &h->b[h->nb++];
		*b = h->b[i];
		b->pid = e->pid;
		b->t_alloc = e->ts_ns;
		b->flags = (uint16_t)((b->flags & TB_HB_LIBC) | TB_HB_INHERITED);
	}
}

/* An exec ends the old image: its blocks go with it. */
static void exec_drop(struct tb_history *h, const struct tb_event *e)
{
	struct tb_idmap *o = open_of(h, e->pid, false);

	for (uint32_t k = 0; o && k < o->cap; k++) {
		if (o->keys[k] == UINT64_MAX)
			continue;
		h->b[o->vals[k]].t_free = e->ts_ns;
		h->b[o->vals[k]].flags |= TB_HB_EXEC;
	}
	if (o)
		idmap_free(o);
}

static void add_alloc(struct tb_history *h, const struct tb_event *e)
{
	bool failed = e->flags & TB_F_FAILED;

	if (e->type == TB_EV_FREE) {
		if (e->addr)
			close_block(h, e, e->addr, TB_HB_FREED);
		return;
	}
	if (failed)
		return;
	if ((e->type == TB_EV_REALLOC || e->type == TB_EV_REALLOCARRAY) && e->old_addr)
		close_block(h, e, e->old_addr, TB_HB_FREED | TB_HB_REALLOC);
	if (e->addr)
		open_block(h, e);
}

/* A cow row: the page and the live block the write hit, its size from the blocks kept. */
static void copied_page(struct tb_history *h, const struct tb_event *e)
{
	struct tb_idmap *o = open_of(h, e->pid, false);
	uint32_t i = o && e->old_addr ? idmap_get(o, e->old_addr) : IDMAP_NONE;
	struct tb_hpage *p;

	if (grow(h, (void **)&h->p, h->np, &h->capp, sizeof(*h->p)))
		return;
	p = &h->p[h->np++];
	*p = (struct tb_hpage){ .ts = e->ts_ns, .addr = e->addr, .block = e->old_addr,
				.block_size = i == IDMAP_NONE ? 0 : h->b[i].size, .pid = e->pid,
				.tid = e->tid };
}

void history__add(struct tb_history *h, const struct tb_event *e)
{
	if (!tb_ev_is_row(e->type) || e->type == TB_EV_LOST)
		return;
	if (!h->first_ts || e->ts_ns < h->first_ts)
		h->first_ts = e->ts_ns;
	if (e->ts_ns > h->last_ts)
		h->last_ts = e->ts_ns;
	if (e->pid)
		note_task(h, e);
	if (tb_ev_is_alloc(e->type)) {
		add_alloc(h, e);
		return;
	}
	switch (e->type) {
	case TB_EV_FORK:
		fork_copy(h, e);
		mark(h, e, 0);
		break;
	case TB_EV_EXEC:
		exec_drop(h, e);
		mark(h, e, 0);
		break;
	case TB_EV_THREAD:
	case TB_EV_EXIT:
	case TB_EV_EXIT_THREAD:
		mark(h, e, 0);
		break;
	case TB_EV_COW:
		copied_page(h, e);
		break;
	default:
		break;
	}
}

void history__free(struct tb_history *h)
{
	if (!h)
		return;
	for (uint32_t i = 0; i < h->nopen; i++)
		idmap_free(&h->open[i]);
	idmap_free(&h->procs);
	idmap_free(&h->tasks);
	free(h->open);
	free(h->b);
	free(h->m);
	free(h->p);
	free(h->t);
	free(h);
}
