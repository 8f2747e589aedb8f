// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sites.c: allocation sites from correlated events: what each (stack, pid, tid) allocated,
 * counted from the allocations; what of it is live at the end, from the model's blocks once
 * the run is over (a process's at its exit, the others' at the end); and the bad frees, with
 * the stack of the block each released, which the correlator gives the free.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "sites.h"

struct owner {
	uint32_t stack, pid, tid;
	struct site_stats st;
};

struct sites {
	struct owner *own;		/* (stack, pid, tid), found through oslot */
	uint32_t nown, capown;
	uint32_t *oslot, noslot;
	struct site_stats *stack;	/* per stack id, summed */
	uint32_t nstack;
	struct site_bad_free *bad;
	uint32_t nbad;
	uint64_t more_bad, nomem;
	bool live_taken;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
	return (a * 0x9e3779b97f4a7c15ULL ^ b) * 0xff51afd7ed558ccdULL;
}

struct sites *sites__new(void)
{
	return calloc(1, sizeof(struct sites));
}

void sites__free(struct sites *s)
{
	if (!s)
		return;
	free(s->own);
	free(s->oslot);
	free(s->stack);
	free(s->bad);
	free(s);
}

static int own_grow(struct sites *s)
{
	uint32_t cap = s->noslot ? 2 * s->noslot : 1024;
	uint32_t *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nown; i++) {
		const struct owner *o = &s->own[i];
		uint32_t j = mix(mix(o->stack, o->pid), o->tid) >> 32 & (cap - 1);

		while (n[j])
			j = (j + 1) & (cap - 1);
		n[j] = i + 1;
	}
	free(s->oslot);
	s->oslot = n;
	s->noslot = cap;
	return 0;
}

/* The (stack, pid, tid) entry's index + 1, made if new; 0 on ENOMEM. */
static uint32_t owner_of(struct sites *s, uint32_t stack, uint32_t pid, uint32_t tid)
{
	uint32_t j;

	if (2 * (s->nown + 1) > s->noslot && own_grow(s))
		return 0;
	for (j = mix(mix(stack, pid), tid) >> 32 & (s->noslot - 1); s->oslot[j];
	     j = (j + 1) & (s->noslot - 1)) {
		const struct owner *o = &s->own[s->oslot[j] - 1];

		if (o->stack == stack && o->pid == pid && o->tid == tid)
			return s->oslot[j];
	}
	if (s->nown == s->capown) {
		uint32_t cap = s->capown ? 2 * s->capown : 1024;
		struct owner *n = realloc(s->own, cap * sizeof(*n));

		if (!n)
			return 0;
		s->own = n;
		s->capown = cap;
	}
	s->own[s->nown] = (struct owner){ stack, pid, tid, { 0 } };
	s->oslot[j] = ++s->nown;
	return s->nown;
}

static struct site_stats *stack_stats(struct sites *s, uint32_t id)
{
	if (id >= s->nstack) {
		uint32_t n = id + 1 > 2 * s->nstack ? id + 1 : 2 * s->nstack;
		struct site_stats *v = realloc(s->stack, n * sizeof(*v));

		if (!v)
			return NULL;
		memset(v + s->nstack, 0, (n - s->nstack) * sizeof(*v));
		s->stack = v;
		s->nstack = n;
	}
	return &s->stack[id];
}

/* One more block allocated of size by the owner's stack. */
static void count_alloc(struct sites *s, uint32_t owner, uint64_t size)
{
	struct owner *o = &s->own[owner - 1];
	struct site_stats *st = stack_stats(s, o->stack);

	o->st.blocks++;
	o->st.bytes += size;
	if (!st) {
		s->nomem++;
		return;
	}
	st->blocks++;
	st->bytes += size;
}

static void allocated(struct sites *s, const struct tb_event *e)
{
	uint32_t owner = owner_of(s, e->stack_id, e->pid, e->tid);

	if (!owner) {
		s->nomem++;
		return;
	}
	count_alloc(s, owner, e->size);
}

static void bad_free(struct sites *s, const struct tb_event *e)
{
	if (s->nbad == SITES_MAX_BAD) {
		s->more_bad++;
		return;
	}
	if (!s->bad && !(s->bad = calloc(SITES_MAX_BAD, sizeof(*s->bad)))) {
		s->nomem++;
		return;
	}
	s->bad[s->nbad++] = (struct site_bad_free){
		e->seq, e->addr, e->block_size, e->pid, e->tid, e->flags, e->alloc_stack,
		e->stack_id };
}

void sites__event(struct sites *s, const struct tb_event *e)
{
	if (!s || !tb_ev_is_alloc(e->type))
		return;
	if (e->type == TB_EV_FREE) {
		if (e->flags & (TB_F_CROSS_THREAD | TB_F_INHERITED | TB_F_DOUBLE_FREE |
				TB_F_INVALID_FREE | TB_F_MISMATCHED_FREE))
			bad_free(s, e);
		return;
	}
	if (!(e->flags & TB_F_FAILED) && e->addr)
		allocated(s, e);
}

/* Live at the end: blocks of bytes in all, to the stack's sum and its (pid, tid) entry. */
static void count_live(struct sites *s, uint32_t stack, uint32_t pid, uint32_t tid,
		       uint64_t blocks, uint64_t bytes)
{
	uint32_t owner = owner_of(s, stack, pid, tid);
	struct site_stats *st = owner ? stack_stats(s, stack) : NULL;
	struct site_stats *v[2] = { owner ? &s->own[owner - 1].st : NULL, st };

	if (!st) {
		s->nomem++;
		return;
	}
	for (int i = 0; i < 2; i++) {
		v[i]->live_blocks += blocks;
		v[i]->live_bytes += bytes;
	}
}

void sites__take_live(struct sites *s, const struct correlator *c)
{
	if (!s || !c || s->live_taken)
		return;
	s->live_taken = true;
	for (uint32_t i = 0; i < c->nprocs; i++) {
		const struct tb_process *p = c->procs[i];

		for (uint32_t j = 0; p->exited && j < p->nsite_leaks; j++) {
			const struct tb_site_leak *l = &p->site_leaks[j];
			const struct tb_thread *t = c->threads[l->thread];

			count_live(s, l->stack_id, t->pid, t->tid, l->blocks, l->bytes);
		}
		for (uint32_t j = 0; !p->exited && j < p->blocks.cap; j++) {
			const struct tb_block *b = &p->blocks.slot[j];
			const struct tb_thread *t;

			if (b->state != TB_B_LIVE || b->inherited || b->thread == TB_NONE)
				continue;
			t = c->threads[b->thread];
			count_live(s, b->stack_id, t->pid, t->tid, 1, b->size);
		}
	}
}

const struct site_stats *sites__stack(const struct sites *s, uint32_t id)
{
	return s && id && id < s->nstack && s->stack[id].blocks ? &s->stack[id] : NULL;
}

uint32_t sites__nstacks(const struct sites *s)
{
	return s && s->nstack ? s->nstack - 1 : 0;
}

void sites__each(const struct sites *s, sites_fn fn, void *arg)
{
	for (uint32_t i = 0; s && i < s->nown; i++)
		fn(arg, s->own[i].stack, s->own[i].pid, s->own[i].tid, &s->own[i].st);
}

const struct site_bad_free *sites__bad_frees(const struct sites *s, uint32_t *n, uint64_t *more)
{
	*n = s ? s->nbad : 0;
	*more = s ? s->more_bad : 0;
	return s ? s->bad : NULL;
}

uint64_t sites__nomem(const struct sites *s)
{
	return s ? s->nomem : 0;
}
