// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* registry.c: the model's processes and threads: made, given images and arenas, ended. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "registry.h"

struct tb_thread *thread_new(struct correlator *c, struct tb_process *p, uint32_t tid,
			     uint64_t ts, const char *comm, int attached)
{
	struct tb_thread *t;

	if (grow((void **)&c->threads, &c->cap_threads, c->nthreads + 1, sizeof(*c->threads)) ||
	    grow((void **)&p->threads, &p->cap_threads, p->nthreads + 1, sizeof(*p->threads)))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t || idmap_put(&c->tid_map, tid_key(p->pid, tid), c->nthreads)) {
		free(t);
		return NULL;
	}
	t->pid = p->pid;
	t->tid = tid;
	t->proc = p->index;
	t->index = c->nthreads;
	t->image = p->nimages ? p->nimages - 1 : 0;
	t->label = p->nimages ? p->nthreads - p->images[t->image].first_thread : p->nthreads;
	t->cur_arena = t->cur_proc = TB_NONE;
	t->attached = attached;
	t->start_ts = ts;
	set_comm(t->comm, comm);
	p->threads[p->nthreads++] = c->nthreads;
	c->threads[c->nthreads++] = t;
	return t;
}

uint32_t arena_new(struct tb_process *p, uint64_t base, uint32_t owner, uint64_t ts)
{
	struct tb_arena *a;

	if (grow((void **)&p->arenas, &p->cap_arenas, p->narenas + 1, sizeof(*p->arenas)))
		return TB_NONE;
	a = &p->arenas[p->narenas];
	memset(a, 0, sizeof(*a));
	a->base = base;
	a->owner = owner;
	a->extends = TB_NONE;
	a->created_ts = ts;
	return p->narenas++;
}

int image_begin(struct tb_process *p, const char *exe, const char *args, uint64_t ts,
		uint8_t exec)
{
	struct tb_image *im = p->nimages ? &p->images[p->nimages - 1] : NULL;

	if (!im || im->first_thread < p->nthreads) {
		if (grow((void **)&p->images, &p->cap_images, p->nimages + 1, sizeof(*p->images)))
			return -ENOMEM;
		if (im)
			im->end_ts = ts;
		im = &p->images[p->nimages++];
		memset(im, 0, sizeof(*im));
		im->first_thread = p->nthreads;
		im->first_arena = p->narenas;
		im->start_ts = ts;
	}
	free(im->exe);
	free(im->args);
	im->exe = exe ? strdup(exe) : NULL;
	im->args = args ? strdup(args) : NULL;
	memcpy(im->comm, p->comm, TB_COMM_LEN);
	im->exec = exec;
	return 0;
}

struct tb_image *image_now(struct tb_process *p)
{
	return &p->images[p->nimages - 1];
}

struct tb_process *proc_alloc(struct correlator *c, uint32_t pid, uint64_t ts,
			      const char *comm)
{
	struct tb_process *p;

	if (grow((void **)&c->procs, &c->cap_procs, c->nprocs + 1, sizeof(*c->procs)))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p)
		set_comm(p->comm, comm);
	if (!p || image_begin(p, NULL, NULL, ts, 0) || idmap_put(&c->pid_map, pid, c->nprocs)) {
		if (p)
			free(p->images);
		free(p);
		return NULL;
	}
	p->pid = pid;
	p->index = c->nprocs;
	p->parent = p->first_child = p->last_child = p->next_sibling = TB_NONE;
	p->heap_arena = p->mem_of = p->ran_in = TB_NONE;
	p->loss_gen = c->loss_gen;
	p->start_ts = ts;
	c->procs[c->nprocs++] = p;
	c->live++;
	return p;
}

int proc_new_image(struct tb_process *p, uint64_t ts)
{
	p->heap_arena = arena_new(p, 0, TB_NONE, ts);
	if (p->heap_arena == TB_NONE)
		return -ENOMEM;
	p->arenas[p->heap_arena].is_heap = 1;
	p->have_heap = 0;
	p->heap_start = p->heap_end = 0;
	return 0;
}

struct tb_process *proc_new_attached(struct correlator *c, uint32_t pid, uint64_t ts,
				     const char *comm)
{
	struct tb_process *p = proc_alloc(c, pid, ts, comm);

	if (!p)
		return NULL;
	p->attached = p->partial = 1;
	p->unnamed = 1;
	if (proc_new_image(p, ts) || !thread_new(c, p, pid, ts, comm, 1))
		return NULL;
	return p;
}

static int size_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Most bytes first, as a reader looks for the largest leak; equal bytes, larger blocks first. */
static int leak_cmp(const void *a, const void *b)
{
	const struct tb_leak *x = a, *y = b;
	unsigned __int128 bx = (unsigned __int128)x->size * x->count;
	unsigned __int128 by = (unsigned __int128)y->size * y->count;

	if (bx != by)
		return bx < by ? 1 : -1;
	return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

/* n sizes grouped into *out by size, most bytes first; the sizes are sorted in place. */
static uint32_t leak_groups(uint64_t *sizes, uint32_t n, struct tb_leak **out, uint64_t *blocks,
			    uint64_t *bytes)
{
	struct tb_leak *v = malloc((n + 1) * sizeof(*v));
	uint32_t k = 0;

	*out = v;
	if (!v)
		return 0;
	qsort(sizes, n, sizeof(*sizes), size_cmp);
	for (uint32_t i = 0; i < n; i++) {
		if (!k || v[k - 1].size != sizes[i])
			v[k++] = (struct tb_leak){ sizes[i], 0 };
		v[k - 1].count++;
		*blocks += 1;
		*bytes += sizes[i];
	}
	qsort(v, k, sizeof(*v), leak_cmp);
	return k;
}

/*
 * Groups the blocks still live by size: they are the process's leaks, apart
 * from those the C library made for itself (a thread's DTV, stdio's buffer),
 * which it keeps on purpose and the program cannot free.
 */
static void proc_note_leaks(struct tb_process *p)
{
	uint64_t *sizes = malloc((p->blocks.live + 1) * sizeof(*sizes));
	uint32_t n = 0, nlibc = 0, top = p->blocks.live;

	for (uint32_t i = 0; i < p->blocks.cap && sizes; i++) {
		const struct tb_block *b = &p->blocks.slot[i];

		if (b->state != TB_B_LIVE)
			continue;
		if (b->unseen) {
			p->unseen_blocks++;
		} else if (b->inherited) {
			p->inherited_leak_blocks++;
			p->inherited_leak_bytes += b->size;
		} else if (b->libc) {
			sizes[top - ++nlibc] = b->size;	/* from the end: both fit in live */
		} else {
			sizes[n++] = b->size;
		}
	}
	if (!sizes)
		return;
	p->nleaks = leak_groups(sizes, n, &p->leaks, &p->leak_blocks, &p->leak_bytes);
	p->nlibc_leaks = leak_groups(sizes + top - nlibc, nlibc, &p->libc_leaks,
				     &p->libc_leak_blocks, &p->libc_leak_bytes);
	free(sizes);
}

static int site_leak_cmp(const void *a, const void *b)
{
	const struct tb_site_leak *x = a, *y = b;

	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

/*
 * The same blocks by the stack and thread that allocated them (the C
 * library's with the rest: a site names them), what the sites' leaks read
 * once the block table is gone. Copies made at fork are the parent's.
 */
static void proc_note_site_leaks(struct tb_process *p)
{
	struct tb_site_leak *v = malloc((p->blocks.live + 1) * sizeof(*v));
	uint32_t n = 0, k = 0;

	for (uint32_t i = 0; i < p->blocks.cap && v; i++) {
		const struct tb_block *b = &p->blocks.slot[i];

		if (b->state == TB_B_LIVE && !b->inherited && b->thread != TB_NONE)
			v[n++] = (struct tb_site_leak){ b->stack_id, b->thread, 1, b->size };
	}
	if (!v || !n) {
		free(v);
		return;
	}
	qsort(v, n, sizeof(*v), site_leak_cmp);
	for (uint32_t i = 1; i < n; i++) {
		if (!site_leak_cmp(&v[k], &v[i])) {
			v[k].blocks++;
			v[k].bytes += v[i].bytes;
		} else {
			v[++k] = v[i];
		}
	}
	p->site_leaks = v;
	p->nsite_leaks = k + 1;
}

/*
 * What outlives a process's exit: its stacks and direct mmap chunks still
 * mapped, which the report draws. The rest is small in number but not in a
 * run of -a over many short processes.
 */
static void maps_keep_drawn(struct tb_maps *ms)
{
	struct tb_map *v;
	uint32_t n = 0;

	for (uint32_t i = 0; i < ms->n; i++)
		if (ms->v[i].kind == TB_REG_STACK || ms->v[i].kind == TB_REG_MMAP_CHUNK)
			ms->v[n++] = ms->v[i];
	if (!n) {
		free(ms->v);
		memset(ms, 0, sizeof(*ms));
		return;
	}
	v = realloc(ms->v, n * sizeof(*v));
	if (v) {
		ms->v = v;
		ms->cap = n;
	}
	ms->n = n;
	ms->hit = 0;
}

void proc_end(struct correlator *c, struct tb_process *p, uint64_t ts)
{
	if (p->exited)
		return;
	proc_note_leaks(p);
	proc_note_site_leaks(p);
	for (uint32_t i = 0; i < p->nthreads; i++) {
		struct tb_thread *t = c->threads[p->threads[i]];

		if (!t->exited) {
			t->exited = 1;
			t->end_ts = ts;
		}
	}
	btab_clear(&p->blocks);
	maps_keep_drawn(&p->maps);
	image_now(p)->end_ts = ts;
	p->exited = 1;
	p->end_ts = ts;
	c->live--;
	c->last_proc = NULL;
	recent_forget(c);
}
