// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* correlate.c: the live model of the watched processes, and each event's correlation fields. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "correlate.h"
#include "arena.h"
#include "faults.h"
#include "forkexec.h"

/* Linux mmap flags as the events carry them (the generic values: x86-64 and arm64 alike). */
#define MMAP_FIXED 0x10
#define MMAP_ANONYMOUS 0x20
#define MMAP_NORESERVE 0x4000
#define MMAP_STACK 0x20000

#define PAGE_SZ 4096ULL		/* the kernel rounds every length up to it */

static uint64_t page_end(uint64_t addr, uint64_t len)
{
	uint64_t end = addr + ((len + PAGE_SZ - 1) & ~(PAGE_SZ - 1));

	return end < addr ? UINT64_MAX : end;
}

/* ---- allocation and free ----------------------------------------------------------------- */

/* Space-saving top-k: a delta seen in more than 1/k of the steps is sure to hold a slot. */
static void spacing_note(struct tb_thread *t, uint64_t addr)
{
	uint64_t d = addr - t->last_addr;
	struct tb_spacing *min;

	t->last_addr = addr;
	/* a jump of an arena's size or more is from one region to another, not a spacing */
	if (t->allocs < 2 || (int64_t)d <= 0 || d >= TB_ARENA_SIZE)
		return;
	min = &t->spacing[0];
	for (int i = 0; i < TB_SPACING_SLOTS; i++) {
		if (t->spacing[i].delta == d) {
			t->spacing[i].count++;
			return;
		}
		if (t->spacing[i].count < min->count)
			min = &t->spacing[i];
	}
	min->delta = d;
	min->count++;
}

/* The block is gone from the model: take its bytes off whoever holds them. */
static void block_drop(struct correlator *c, struct tb_process *p, struct tb_block *b)
{
	if (b->inherited) {
		p->inherited_live_blocks--;
		p->inherited_live_bytes -= b->size;
	} else if (b->thread != TB_NONE) {
		c->threads[b->thread]->live_bytes -= b->size;
	}
	faults__block_del(p, b->addr);
	b->state = TB_B_FREED;
	b->gen = c->loss_gen;
	b->unseen = c->sample_off;	/* freed as the probes went off: a gap follows */
	p->blocks.live--;
	p->blocks.freed++;
}

static uint64_t block_base(struct tb_process *p, const struct tb_block *b)
{
	struct tb_map *m;
	uint64_t base;

	if (b->base_off != TB_OFF_NONE)
		return b->addr - b->base_off;
	if (b->region == TB_REG_HEAP)
		return p->heap_start;
	return classify(p, b->addr, &base, &m) == b->region ? base : 0;
}

static void set_origin(const struct correlator *c, struct tb_event *e, uint32_t thread)
{
	const struct tb_thread *o = thread == TB_NONE ? NULL : c->threads[thread];

	e->origin_pid = o ? o->pid : 0;
	e->origin_tid = o ? o->tid : 0;
}

/* ---- --sample: the marks that decide which frees are recorded ---------------------------- */

/*
 * Taken marks keep their keys, mapped to TB_NONE, so that taking one costs no
 * re-placing of its cluster: drop them all at once when they dominate. The
 * arrays are freed here by hand, not by idmap_free(): this is inlined into
 * block_alloc(), where that call cost a register spill on every allocation.
 */
static void marks_compact(struct correlator *c)
{
	struct tb_idmap n = { 0 };
	struct tb_idmap *m = &c->marks;

	if (c->marks_taken < TB_FREED_KEEP || c->marks_taken < m->n / 2)
		return;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->keys[i] != UINT64_MAX && m->vals[i] != TB_NONE &&
		    idmap_put(&n, m->keys[i], m->vals[i])) {
			free(n.keys);
			free(n.vals);
			return;
		}
	free(m->keys);
	free(m->vals);
	*m = n;
	c->marks_taken = 0;
}

/* A recorded allocation marks its block: its free will be recorded. */
static void mark_set(struct correlator *c, struct tb_process *p, const struct tb_event *e)
{
	if (!(e->flags & TB_F_SAMPLED))
		return;
	if (idmap_get(&c->marks, e->addr) == TB_NONE && c->marks.cap &&
	    c->marks.keys[idmap_slot(&c->marks, e->addr)] == e->addr)
		c->marks_taken--;
	idmap_put(&c->marks, e->addr, p->index);
	marks_compact(c);
}

/*
 * A recorded free or realloc took addr's mark, whoever set it. If another
 * process set it (the same address in another address space, a fork's copy),
 * that process's block at addr will have its free go unrecorded: it is
 * unseen, never a leak. Returns the process that set the mark, or TB_NONE.
 */
static uint32_t mark_take(struct correlator *c, struct tb_process *p, uint64_t addr)
{
	uint32_t owner = idmap_get(&c->marks, addr);
	struct tb_process *o;
	struct tb_block *b;

	if (owner == TB_NONE)
		return TB_NONE;
	idmap_put(&c->marks, addr, TB_NONE);
	c->marks_taken++;
	o = c->procs[owner];
	if (owner != p->index && !o->exited && o->blocks.cap) {
		b = btab_find(&o->blocks, addr);
		if (b->state == TB_B_LIVE)
			b->unseen = 1;
	}
	return owner;
}

/*
 * Under --sample a release of a block the model does not hold live says
 * little: its allocation may be one sampling skipped (a realloc is recorded
 * one call in N whatever its input), and the mark that got a free recorded may
 * be another process's. Only a free that no mark explains, of a block freed
 * before, is a double free: the probes recorded it as a second free.
 */
static bool sampled_unknown(const struct tb_event *e, const struct tb_block *b, uint32_t owner)
{
	if (!(e->flags & TB_F_SAMPLED))
		return false;
	return e->type != TB_EV_FREE || owner != TB_NONE || !b || b->state != TB_B_FREED;
}

/* A free of an address the model holds no live block for. */
static void release_unknown(struct correlator *c, struct tb_process *p, struct tb_thread *t,
			    struct tb_event *e, uint64_t addr, struct tb_block *b, uint32_t owner)
{
	struct tb_map *m;

	if (e->flags & TB_F_INTERNAL) {
		/*
		 * The library's housekeeping: at thread exit glibc frees again every
		 * block sitting in the thread's cache, then the cache itself, which
		 * never came from malloc. Neither is the program's double or invalid free.
		 */
		t->frees--;
		t->internal_frees++;
		set_origin(c, e, b && b->state == TB_B_FREED ? b->thread : TB_NONE);
		if (b && b->state == TB_B_FREED) {
			e->region = b->region;
			e->region_base = block_base(p, b);
		} else {
			e->region = classify(p, addr, &e->region_base, &m);
		}
		return;
	}
	if (b && b->state == TB_B_FREED) {
		set_origin(c, e, b->thread);
		e->region = b->region;
		e->region_base = block_base(p, b);
		e->alloc_stack = b->stack_id;
		e->block_size = b->size;
		/* A loss since that free may have hidden the allocation that came between. */
		if ((uint8_t)c->loss_gen == b->gen && !b->unseen && !sampled_unknown(e, b, owner)) {
			e->flags |= TB_F_DOUBLE_FREE;
			t->double_frees++;
			return;
		}
		e->flags |= TB_F_UNKNOWN_ORIGIN;
		t->unknown_frees++;
		return;
	}
	set_origin(c, e, TB_NONE);
	e->region = classify(p, addr, &e->region_base, &m);
	if (!p->partial && !p->forgot_freed && p->loss_gen == c->loss_gen &&
	    !sampled_unknown(e, b, owner)) {
		e->flags |= TB_F_INVALID_FREE;
		t->invalid_frees++;
		return;
	}
	e->flags |= TB_F_UNKNOWN_ORIGIN;
	t->unknown_frees++;
	/* Remember it was freed so that a second free of it is a double free. */
	if (btab_reserve(p))
		return;
	b = btab_find(&p->blocks, addr);
	if (b->state != TB_B_EMPTY)
		return;
	*b = (struct tb_block){ .addr = addr, .region = e->region, .state = TB_B_FREED,
				.gen = c->loss_gen, .thread = TB_NONE, .base_off = TB_OFF_NONE,
				.unseen = c->sample_off };
	p->blocks.freed++;
}

/* free(addr), realloc's release of its input, or realloc(addr, 0). */
static void block_release(struct correlator *c, struct tb_process *p, struct tb_thread *t,
			  struct tb_event *e, uint64_t addr)
{
	uint32_t owner = e->flags & TB_F_SAMPLED ? mark_take(c, p, addr) : TB_NONE;
	struct tb_block *b = p->blocks.cap ? btab_find(&p->blocks, addr) : NULL;

	if (!b || b->state != TB_B_LIVE) {
		release_unknown(c, p, t, e, addr, b, owner);
		return;
	}
	set_origin(c, e, b->thread);
	e->region = b->region;
	e->region_base = block_base(p, b);
	e->alloc_stack = b->stack_id;
	e->block_size = b->size;
	/* new[] freed by delete, malloc's block by delete, new's by free or realloc: as valgrind */
	if (b->op != tb_entry_cxx(e->detail)) {
		e->flags |= TB_F_MISMATCHED_FREE;
		t->mismatched_frees++;
	}
	if (b->inherited) {
		/* A copy made at fork: its allocator is in the parent, so it crosses no thread. */
		e->flags |= TB_F_INHERITED;
		t->inherited_frees++;
	} else if (b->thread != t->index) {
		e->flags |= TB_F_CROSS_THREAD;
		t->cross_frees++;
	}
	block_drop(c, p, b);
}

static void thread_gain(struct tb_thread *t, uint64_t size)
{
	t->allocs++;
	t->bytes += size;
	t->live_bytes += size;
	if (t->live_bytes > t->peak_bytes)
		t->peak_bytes = t->live_bytes;
}

/*
 * A new block at e->addr. An address handed out again after a free is reused
 * whichever thread gets it, the same one included: what matters to a reader of
 * the trace is that the memory had a previous life. A realloc that kept its
 * block in place (in_place) is the same block, not a reuse.
 */
static void block_alloc(struct correlator *c, struct tb_process *p, struct tb_thread *t,
			struct tb_event *e, int in_place)
{
	uint64_t base, off;
	uint32_t arena;
	struct tb_block *b;
	enum tb_region kind = classify_alloc(p, t, e, &base, &arena);

	e->region = kind;
	e->region_base = base;
	thread_gain(t, e->size);
	spacing_note(t, e->addr);
	if (arena != TB_NONE)
		arena_serve(p, t, arena, e->size, e->ts_ns);
	if (btab_reserve(p)) {
		p->partial = 1; /* the block goes unrecorded: its free must not look invalid */
		return;
	}
	b = btab_find(&p->blocks, e->addr);
	if (b->state == TB_B_LIVE)
		block_drop(c, p, b); /* its free was lost */
	if (b->state == TB_B_FREED) {
		p->blocks.freed--;
		if (!in_place) {
			e->flags |= TB_F_REUSED;
			t->reused++;
		}
	}
	mark_set(c, p, e);
	off = base ? e->addr - base : TB_OFF_NONE;
	*b = (struct tb_block){ .addr = e->addr, .size = e->size, .region = kind,
				.state = TB_B_LIVE, .thread = t->index,
				/* recorded as the probes went off: its free goes unseen */
				.unseen = c->sample_off,
				.libc = !!(e->flags & (TB_F_LIBC | TB_F_INTERNAL)),
				.op = tb_entry_cxx(e->detail),
				.stack_id = e->stack_id,
				.base_off = off < TB_OFF_NONE ? (uint32_t)off : TB_OFF_NONE };
	p->blocks.live++;
	faults__block_add(p, e->addr, e->size);
}

static void on_alloc(struct correlator *c, struct tb_process *p, struct tb_thread *t,
		     struct tb_event *e)
{
	/* posix_memalign reports failure by its return value: its addr means nothing then. */
	if (!e->addr || (e->flags & TB_F_FAILED)) {
		t->failed++;
		return;
	}
	block_alloc(c, p, t, e, 0);
}

/*
 * realloc(NULL, n) is malloc; a NULL result frees the input when n is 0 and
 * leaves it live otherwise (the call failed); a result equal to the input is
 * the same block resized; anything else releases the input and hands out a
 * new block.
 */
static void on_realloc(struct correlator *c, struct tb_process *p, struct tb_thread *t,
		       struct tb_event *e)
{
	struct tb_block *b;

	if (!e->old_addr) {
		on_alloc(c, p, t, e);
		return;
	}
	if (!e->addr && !e->size) {
		t->frees++;
		block_release(c, p, t, e, e->old_addr);
		return;
	}
	if (!e->addr) {
		t->failed++;
		/* the probes took the input's mark: its free will not be recorded */
		if (e->flags & TB_F_SAMPLED)
			mark_take(c, p, e->old_addr);
		b = p->blocks.cap ? btab_find(&p->blocks, e->old_addr) : NULL;
		if (b && b->state == TB_B_LIVE && (e->flags & TB_F_SAMPLED))
			b->unseen = 1;
		set_origin(c, e, b && b->state != TB_B_EMPTY ? b->thread : TB_NONE);
		return;
	}
	block_release(c, p, t, e, e->old_addr);
	block_alloc(c, p, t, e, e->addr == e->old_addr);
}

static void on_free(struct correlator *c, struct tb_process *p, struct tb_thread *t,
		    struct tb_event *e)
{
	t->frees++;
	block_release(c, p, t, e, e->addr);
}

/* ---- memory-map events ------------------------------------------------------------------- */

static void set_region_at(struct tb_process *p, struct tb_event *e, uint64_t addr)
{
	struct tb_map *m;

	e->region = classify(p, addr, &e->region_base, &m);
}

static uint8_t mmap_kind(const struct tb_event *e, int anon)
{
	if (!anon)
		return TB_REG_FILE;
	/* pthread stacks are MAP_STACK; the thread event later names their owner. */
	return e->sysflags & MMAP_STACK ? TB_REG_STACK : TB_REG_ANON;
}

/*
 * glibc reserves a thread arena's heap as HEAP_MAX_SIZE of PROT_NONE,
 * MAP_NORESERVE memory, or twice that to trim down to an aligned one. Other
 * allocators reserve the same way in other sizes (mimalloc's 32 MiB
 * segments, which may land 64 MiB-aligned): those are no glibc arena.
 */
static bool heap_reservation(const struct tb_event *e, int anon)
{
	return anon && e->prot == 0 && (e->sysflags & MMAP_NORESERVE) &&
	       (e->size == TB_ARENA_SIZE || e->size == 2 * TB_ARENA_SIZE);
}

static void on_mmap(struct correlator *c, struct tb_process *p, struct tb_thread *t,
		    struct tb_event *e)
{
	int anon = e->fd < 0 || (e->sysflags & MMAP_ANONYMOUS);
	struct tb_map m = {
		.start = e->addr, .end = page_end(e->addr, e->size), .ts = e->ts_ns,
		.prot = e->prot, .mflags = (uint32_t)e->sysflags, .creator = t->index,
		.owner = TB_NONE, .serial = ++c->serial,
		.kind = mmap_kind(e, anon),
		.reserve = heap_reservation(e, anon),
	};
	struct tb_map *old;

	if (e->err)
		return;
	/* glibc shrinks a heap by mapping PROT_NONE over its tail: it stays the arena's. */
	old = anon && (e->sysflags & MMAP_FIXED) ? maps_find(&p->maps, e->addr) : NULL;
	if (old && old->kind == TB_REG_ARENA && m.end <= old->end) {
		m.kind = TB_REG_ARENA;
		m.owner = old->owner;
		m.serial = old->serial;
	}
	maps_remove(&p->maps, m.start, m.end);
	maps_insert(&p->maps, &m);
	set_region_at(p, e, e->addr);
}

/* The row shows what the range was before the call changed it. */
static void on_vm_change(struct tb_process *p, struct tb_event *e)
{
	uint64_t end = page_end(e->addr, e->size);

	set_region_at(p, e, e->addr);
	if (e->err)
		return;
	if (e->type == TB_EV_MUNMAP)
		maps_remove(&p->maps, e->addr, end);
	else if (e->type == TB_EV_MPROTECT)
		maps_protect(&p->maps, e->addr, end, e->prot);
}

/* The moved mapping keeps what it was; this thread made it now, for classify_alloc. */
static void on_mremap(struct correlator *c, struct tb_process *p, struct tb_thread *t,
		      struct tb_event *e)
{
	struct tb_map *old = maps_find(&p->maps, e->old_addr);
	struct tb_map m = { .kind = TB_REG_ANON, .owner = TB_NONE };

	if (e->err) {
		set_region_at(p, e, e->old_addr);
		return;
	}
	if (old)
		m = *old;
	m.start = e->addr;
	m.end = page_end(e->addr, e->size);
	m.ts = e->ts_ns;
	m.creator = t->index;
	if (m.kind != TB_REG_ARENA)
		m.serial = ++c->serial;
	maps_remove(&p->maps, e->old_addr, page_end(e->old_addr, e->old_size));
	maps_remove(&p->maps, m.start, m.end);
	maps_insert(&p->maps, &m);
	set_region_at(p, e, e->addr);
}

static void on_brk(struct tb_process *p, struct tb_event *e)
{
	if (!p->have_heap) {
		p->have_heap = 1;
		p->heap_start = e->old_addr ? e->old_addr : e->addr;
		if (p->heap_arena != TB_NONE)
			p->arenas[p->heap_arena].base = p->heap_start;
	}
	p->heap_end = e->addr;
	e->region = TB_REG_HEAP;
	e->region_base = p->heap_start;
}

/* ---- process and thread events ----------------------------------------------------------- */

static void on_thread(struct correlator *c, struct tb_event *e)
{
	struct tb_process *p = proc_get(c, e->pid, e->ts_ns, e->comm);
	uint32_t i;
	struct tb_thread *t;
	struct tb_map *m;

	if (!p)
		return;
	i = idmap_get(&c->tid_map, tid_key(e->pid, e->tid));
	if (i != TB_NONE && c->threads[i]->proc == p->index && !c->threads[i]->exited) {
		c->threads[i]->exited = 1; /* a reused tid whose exit went unseen */
		c->threads[i]->end_ts = e->ts_ns;
	}
	t = thread_new(c, p, e->tid, e->ts_ns, e->comm, 0);
	if (!t)
		return;
	p->threads_created++;
	*recent_slot(c, t->tid) = t;
	m = e->addr ? maps_find(&p->maps, e->addr) : NULL;
	if (m) {
		m->kind = TB_REG_STACK;
		m->owner = t->index;
	}
	if (e->addr)
		set_region_at(p, e, e->addr);
}

static struct tb_process *proc_find_live(struct correlator *c, uint32_t pid)
{
	uint32_t i = idmap_get(&c->pid_map, pid);

	return i == TB_NONE || c->procs[i]->exited ? NULL : c->procs[i];
}

static void on_exit_thread(struct correlator *c, struct tb_event *e)
{
	struct tb_process *p = proc_find_live(c, e->pid);
	uint32_t i = idmap_get(&c->tid_map, tid_key(e->pid, e->tid));
	struct tb_thread *t = i == TB_NONE ? NULL : c->threads[i];

	if (!p || !t || t->proc != p->index || t->exited)
		return;
	t->exited = 1;
	t->end_ts = e->ts_ns;
	set_comm(t->comm, e->comm);
}

/* A thread's name as it is now: it may have renamed itself after its last call. */
static void thread_rename(struct correlator *c, struct tb_process *p, uint32_t tid,
			  const char *comm)
{
	uint32_t i = idmap_get(&c->tid_map, tid_key(p->pid, tid));

	if (i == TB_NONE || c->threads[i]->proc != p->index || c->threads[i]->exited)
		return;
	memcpy(c->threads[i]->old_comm, c->threads[i]->comm, TB_COMM_LEN);
	set_comm(c->threads[i]->comm, comm);
}

static void on_proc_exit(struct correlator *c, struct tb_event *e)
{
	struct tb_process *p = proc_get(c, e->pid, e->ts_ns, e->comm);

	if (!p)
		return;
	p->exit_status = (int)e->size;
	if (e->detail[0])
		p->exit_detail = strndup(e->detail, sizeof(e->detail));
	proc_end(c, p, e->ts_ns);
}

/* ---- --sample-by time: the windows the allocator probes were on -------------------------- */

/*
 * The probes went off: every block live now may be freed unseen, so none is
 * called a leak, and a free after the gap of a block freed before it, or of
 * one never seen, is of unknown origin (as after lost events).
 */
/*
 * A freed block keeps only the low 8 bits of the loss generation: when they come round to
 * where they started, every tombstone is marked as having a gap since its free, or one freed
 * 256 losses ago would match again and a free that a loss hid the malloc of would be called
 * a double free.
 */
static void loss_bump(struct correlator *c)
{
	if ((uint8_t)++c->loss_gen)
		return;
	for (uint32_t i = 0; i < c->nprocs; i++) {
		struct tb_process *p = c->procs[i];

		for (uint32_t k = 0; !p->exited && k < p->blocks.cap; k++)
			if (p->blocks.slot[k].state == TB_B_FREED)
				p->blocks.slot[k].unseen = 1;
	}
}

static void on_sample_off(struct correlator *c, struct tb_event *e)
{
	for (uint32_t i = 0; i < c->nprocs; i++) {
		struct tb_process *p = c->procs[i];

		/* a freed one's gen could come round again: unseen marks a gap since its free */
		for (uint32_t k = 0; !p->exited && k < p->blocks.cap; k++)
			if (p->blocks.slot[k].state != TB_B_EMPTY)
				p->blocks.slot[k].unseen = 1;
	}
	c->loss_gen++;
	c->sample_windows++;
	c->sample_on_ns += e->size;
	c->sample_on_since = 0;
	c->sample_off = true;
}

static void on_sample_on(struct correlator *c, struct tb_event *e)
{
	c->sample_on_since = e->ts_ns;
	if (!c->sample_first_on)
		c->sample_first_on = e->ts_ns;
	c->sample_off = false;
}

/* ---- entry points ------------------------------------------------------------------------ */

static int on_task_event(struct correlator *c, struct tb_event *e)
{
	switch (e->type) {
	case TB_EV_LOST:
		c->lost += e->size;
		loss_bump(c);
		break;
	case TB_EV_FORK:
		on_fork(c, e);
		break;
	case TB_EV_THREAD:
		on_thread(c, e);
		break;
	case TB_EV_EXEC:
		on_exec(c, e);
		break;
	case TB_EV_EXIT_THREAD:
		on_exit_thread(c, e);
		break;
	case TB_EV_EXIT:
		on_proc_exit(c, e);
		break;
	case TB_EV_SAMPLE_OFF:
		on_sample_off(c, e);
		break;
	case TB_EV_SAMPLE_ON:
		on_sample_on(c, e);
		break;
	default:
		return 0;
	}
	return 1;
}

/*
 * Whose address space a call lands in: a vfork child's is its parent's. A
 * CLONE_VM child can outlive that memory's record (its parent exits, or execs
 * and leaves the old memory to the child); the blocks went with the record, so
 * what the child frees then is unknown, not invalid.
 */
static struct tb_process *memory_of(struct correlator *c, struct tb_process *p)
{
	struct tb_process *m = p->mem_of == TB_NONE ? NULL : c->procs[p->mem_of];

	if (m && (m->exited || m->execs != p->mem_execs)) {
		p->mem_of = TB_NONE;
		p->partial = 1;
		return p;
	}
	return m ? m : p;
}

static void on_memory_event(struct correlator *c, struct tb_process *p, struct tb_thread *t,
			    struct tb_event *e)
{
	switch (e->type) {
	case TB_EV_REALLOC:
	case TB_EV_REALLOCARRAY:
		on_realloc(c, p, t, e);
		break;
	case TB_EV_FREE:
		on_free(c, p, t, e);
		break;
	case TB_EV_MMAP:
		on_mmap(c, p, t, e);
		faults__on_vm(p, t, e);	/* MAP_FIXED over pages: they are given back */
		break;
	case TB_EV_MUNMAP:
	case TB_EV_MPROTECT:
	case TB_EV_MADVISE:
		on_vm_change(p, e);
		faults__on_vm(p, t, e);
		break;
	case TB_EV_MREMAP:
		on_mremap(c, p, t, e);
		break;
	case TB_EV_BRK:
		on_brk(p, e);
		faults__on_vm(p, t, e);
		break;
	case TB_EV_TOUCH:
	case TB_EV_WP:
	case TB_EV_COW:
	case TB_EV_ZERO_COPY:
	case TB_EV_PAGE_FAULT:
	case TB_EV_RSS:
		faults__on_page(c, p, t, e);
		break;
	default:
		on_alloc(c, p, t, e);
		break;
	}
}

/* A glibc heap reservation the row places addr in, at base: one line of /proc/PID/maps. */
static void hint_arena(struct correlator *c, struct tb_process *p, uint64_t addr, uint64_t base,
		       uint64_t ts)
{
	uint32_t i = maps_lower(&p->maps, base), a;
	struct tb_map m = { .start = base, .end = base + TB_ARENA_SIZE, .ts = ts, .prot = 3,
			    .mflags = 0x22, .creator = TB_NONE, .kind = TB_REG_ARENA };

	if (base % TB_ARENA_SIZE || addr < base || addr >= m.end)
		return;
	if (i < p->maps.n && p->maps.v[i].start <= addr)
		return;	/* a mapping the model knows lies between: the row is not about it */
	if (i < p->maps.n && p->maps.v[i].start < m.end)
		m.end = p->maps.v[i].start;
	a = arena_new(p, base, TB_NONE, ts);
	if (a == TB_NONE)
		return;
	p->arenas[a].seeded = 1;
	m.owner = a;
	m.serial = ++c->serial;
	maps_insert(&p->maps, &m);
}

/*
 * analyze of a process first seen in the middle of its life (-p, -a), or
 * forked from one: the live run read its heap and thread arenas from
 * /proc/PID/maps, which no row carries but in its own region columns. Where
 * the model knows no mapping at the address, the row's heap or arena is taken
 * as that reading was; everything else is recomputed. Live events carry no
 * region: no effect.
 */
static void take_hint(struct correlator *c, struct tb_process *p, const struct tb_event *e,
		      enum tb_region hint, uint64_t hint_base)
{
	uint64_t base = hint_base, addr = e->addr;
	struct tb_map *m;

	if (!addr || !base || !tb_ev_is_alloc(e->type) ||
	    classify(p, addr, &base, &m) != TB_REG_UNKNOWN)
		return;
	base = hint_base;
	if (hint == TB_REG_ARENA) {
		hint_arena(c, p, addr, base, e->ts_ns);
		return;
	}
	if (hint != TB_REG_HEAP || addr < base || (p->have_heap && base != p->heap_start))
		return;
	if (!p->have_heap && p->heap_arena != TB_NONE) {
		p->arenas[p->heap_arena].base = base;
		p->arenas[p->heap_arena].seeded = 1;
	}
	p->have_heap = 1;
	p->heap_start = base;
	p->heap_end = page_end(addr, e->size ? e->size : 1);
}

void correlator__process(struct correlator *c, struct tb_event *e)
{
	struct tb_process *p, *mem;
	struct tb_thread *t;
	enum tb_region hint = TB_REG_NONE;
	uint64_t hint_base = 0;

	if (!c || !e)
		return;
	if (e->type == TB_EV_COMM) {
		/* no row, so no event counted: it only renames a thread */
		p = proc_find_live(c, e->pid);
		if (p)
			thread_rename(c, p, e->tid, e->comm);
		return;
	}
	/* a CSV row's place, which take_hint() may need; a live event has none */
	hint = e->region;
	hint_base = e->region_base;
	c->events++;
	if (!c->first_ts)
		c->first_ts = e->ts_ns;
	if (e->ts_ns > c->last_ts)
		c->last_ts = e->ts_ns;
	/* Rows re-read from a CSV carry old results: start again from the decoder's flags. */
	e->flags &= TB_F_FAILED | TB_F_SAMPLED | TB_F_INTERNAL | TB_F_LIBC | TB_F_OVERFLOW;
	e->region = TB_REG_NONE;
	e->region_base = 0;
	e->alloc_stack = 0;
	e->block_size = 0;
	if (on_task_event(c, e))
		return;
	if ((!tb_ev_is_alloc(e->type) && !tb_ev_is_vm(e->type) && !tb_ev_is_page(e->type)) ||
	    !e->pid)
		return;
	p = proc_get(c, e->pid, e->ts_ns, e->comm);
	t = p ? thread_get(c, p, e->tid ? e->tid : e->pid, e->ts_ns, e->comm) : NULL;
	if (!t)
		return;
	if (p->unnamed && t->tid == p->pid) {
		set_comm(p->comm, e->comm);
		p->unnamed = 0;
	}
	mem = memory_of(c, p);
	if (p->partial && hint != TB_REG_NONE)
		take_hint(c, mem, e, hint, hint_base);
	on_memory_event(c, mem, t, e);
}

/* ---- attach mode ------------------------------------------------------------------------- */

static uint8_t seed_kind(struct tb_process *p, struct tb_map *m, const char *path, uint64_t ts)
{
	const struct tb_map *prev = p->maps.n ? &p->maps.v[p->maps.n - 1] : NULL;
	uint32_t a;

	if (strcmp(path, "[stack]") == 0)
		return TB_REG_STACK;
	if (path[0] == '/')
		return TB_REG_FILE;
	/* glibc's heap is an aligned RW front and a PROT_NONE rest: two lines, one arena. */
	if (prev && prev->kind == TB_REG_ARENA && prev->end == m->start &&
	    m->end <= p->arenas[prev->owner].base + TB_ARENA_SIZE) {
		m->owner = prev->owner;
		m->serial = prev->serial;
		return TB_REG_ARENA;
	}
	if (m->start % TB_ARENA_SIZE || m->end - m->start > TB_ARENA_SIZE)
		return TB_REG_ANON;
	a = arena_new(p, m->start, TB_NONE, ts);
	if (a == TB_NONE)
		return TB_REG_ANON;
	p->arenas[a].seeded = 1;
	m->owner = a;
	return TB_REG_ARENA;
}

/* One line of /proc/PID/maps: "start-end perms offset dev inode [path]". */
static int seed_line(struct correlator *c, struct tb_process *p, char *line, uint32_t main_thread,
		     uint64_t ts)
{
	unsigned long long start, end, off;
	char perms[5] = "";
	int n = 0;
	char *path;
	struct tb_map m = { .creator = TB_NONE, .owner = TB_NONE };

	if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &start, &end, perms, &off, &n) < 4 ||
	    !n || end <= start)
		return -EINVAL;
	path = line + n;
	path[strcspn(path, "\n")] = '\0';
	if (strcmp(path, "[heap]") == 0) {
		p->have_heap = 1;
		p->heap_start = start;
		p->heap_end = end;
		if (p->heap_arena != TB_NONE) {
			p->arenas[p->heap_arena].base = start;
			p->arenas[p->heap_arena].seeded = 1;
		}
		return 0;
	}
	m.start = start;
	m.end = end;
	m.ts = ts;
	m.prot = (perms[0] == 'r') | (perms[1] == 'w') << 1 | (perms[2] == 'x') << 2;
	m.mflags = perms[3] == 's' ? 0x1 : 0x2;
	m.serial = ++c->serial;
	m.kind = seed_kind(p, &m, path, ts);
	if (m.kind == TB_REG_STACK)
		m.owner = main_thread;
	maps_remove(&p->maps, m.start, m.end);
	return maps_insert(&p->maps, &m);
}

static int seed_threads(struct correlator *c, struct tb_process *p, const uint32_t *tids,
			size_t ntids, uint64_t ts, const char *comm)
{
	for (size_t i = 0; i < ntids; i++) {
		uint32_t j = idmap_get(&c->tid_map, tid_key(p->pid, tids[i]));

		if (j != TB_NONE && c->threads[j]->proc == p->index && !c->threads[j]->exited)
			continue;
		if (!thread_new(c, p, tids[i], ts, comm, 1))
			return -ENOMEM;
	}
	return 0;
}

int correlator__seed_process(struct correlator *c, uint32_t pid, const char *comm, FILE *maps,
			     const uint32_t *tids, size_t ntids, uint64_t ts_ns)
{
	char name[TB_COMM_LEN] = "";
	struct tb_process *p;
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	if (!c || !pid)
		return -EINVAL;
	if (comm)
		strncpy(name, comm, sizeof(name) - 1);
	p = proc_find_live(c, pid);
	if (!p)
		p = proc_new_attached(c, pid, ts_ns, name);
	if (!p)
		return -ENOMEM;
	p->attached = p->partial = 1;
	p->unnamed = 0;
	set_comm(p->comm, name);
	err = seed_threads(c, p, tids, ntids, ts_ns, name);
	while (!err && maps && getline(&line, &cap, maps) > 0)
		if (seed_line(c, p, line, c->threads[p->threads[0]]->index, ts_ns) == -ENOMEM)
			err = -ENOMEM;
	free(line);
	return err;
}

void correlator__thread_comm(struct correlator *c, uint32_t pid, uint32_t tid, const char *comm)
{
	char name[TB_COMM_LEN] = "";
	struct tb_process *p = c && comm ? proc_find_live(c, pid) : NULL;

	if (!p)
		return;
	strncpy(name, comm, sizeof(name) - 1);
	thread_rename(c, p, tid, name);
}

size_t correlator__live_processes(const struct correlator *c)
{
	return c ? c->live : 0;
}

struct correlator *correlator__new(void)
{
	struct correlator *c = calloc(1, sizeof(*c));

	if (!c)
		errno = ENOMEM;
	return c;
}

static void proc_free(struct tb_process *p)
{
	for (uint32_t i = 0; i < p->narenas; i++)
		free(p->arenas[i].users);
	free(p->arenas);
	free(p->threads);
	free(p->blocks.slot);
	free(p->maps.v);
	free(p->leaks);
	free(p->libc_leaks);
	free(p->site_leaks);
	for (uint32_t i = 0; i < p->nimages; i++) {
		free(p->images[i].exe);
		free(p->images[i].args);
	}
	free(p->images);
	free(p->exe);
	free(p->exit_detail);
	pages__free(p->pg);
	free(p);
}

void correlator__free(struct correlator *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nprocs; i++)
		proc_free(c->procs[i]);
	for (uint32_t i = 0; i < c->nthreads; i++) {
		free(c->threads[i]->arenas);
		free(c->threads[i]);
	}
	free(c->procs);
	free(c->threads);
	idmap_free(&c->pid_map);
	idmap_free(&c->tid_map);
	idmap_free(&c->marks);
	free(c);
}

void correlator__never_probed(struct correlator *c, uint32_t pid, uint64_t exec_ts_ns)
{
	uint32_t i = c ? idmap_get(&c->pid_map, pid) : TB_NONE;
	struct tb_process *p = i == TB_NONE ? NULL : c->procs[i];

	/* the newest process with the pid, exited or not, if that exec began its image */
	if (!p || !p->execs || p->exec_ts != exec_ts_ns)
		return;
	p->never_probed = 1;
	p->partial = 1;
	p->probed_late_ns = 0;
}

void correlator__probed_late(struct correlator *c, uint32_t pid, uint64_t delay_ns)
{
	struct tb_process *p = proc_find_live(c, pid);

	if (!p)
		return;
	p->partial = 1;	/* a block from before the probes went unseen: its free is not invalid */
	p->probed_late_ns = delay_ns ? delay_ns : 1;
}
