// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* forkexec.c: fork and exec in the model: a child's copy of its parent, a new image's reset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "faults.h"
#include "forkexec.h"

#define TB_CLONE_VM 0x100	/* clone flag: the child shares its parent's memory */

static int copy_arenas(struct tb_process *child, const struct tb_process *parent)
{
	if (grow((void **)&child->arenas, &child->cap_arenas, parent->narenas,
		 sizeof(*child->arenas)))
		return -ENOMEM;
	for (uint32_t i = 0; i < parent->narenas; i++) {
		struct tb_arena *a = &child->arenas[i];

		*a = parent->arenas[i];
		a->blocks = a->bytes = 0;
		a->users = NULL;
		a->nusers = a->cap_users = 0;
		a->inherited = 1;
	}
	child->narenas = parent->narenas;
	child->heap_arena = parent->heap_arena;
	return 0;
}

/* The child sees the parent's memory as it was: every live block becomes an inherited copy. */
static int copy_memory(struct tb_process *child, const struct tb_process *parent)
{
	struct tb_btab *t = &child->blocks;

	if (parent->maps.n) {
		child->maps.v = malloc(parent->maps.n * sizeof(*child->maps.v));
		if (!child->maps.v)
			return -ENOMEM;
		memcpy(child->maps.v, parent->maps.v, parent->maps.n * sizeof(*child->maps.v));
		child->maps.n = child->maps.cap = parent->maps.n;
	}
	if (!parent->blocks.cap)
		return 0;
	*t = parent->blocks;
	t->slot = malloc((size_t)t->cap * sizeof(*t->slot));
	if (!t->slot) {
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	memcpy(t->slot, parent->blocks.slot, (size_t)t->cap * sizeof(*t->slot));
	for (uint32_t i = 0; i < t->cap; i++) {
		if (t->slot[i].state != TB_B_LIVE)
			continue;
		t->slot[i].inherited = 1;
		child->inherited_live_blocks++;
		child->inherited_live_bytes += t->slot[i].size;
	}
	return 0;
}

static void link_child(struct correlator *c, struct tb_process *parent, struct tb_process *child)
{
	child->parent = parent->index;
	if (parent->last_child == TB_NONE)
		parent->first_child = child->index;
	else
		c->procs[parent->last_child]->next_sibling = child->index;
	parent->last_child = child->index;
	parent->children++;
}

static struct tb_process *proc_fork(struct correlator *c, struct tb_process *parent,
				    struct tb_event *e)
{
	struct tb_process *p = proc_alloc(c, e->pid, e->ts_ns, e->comm);

	if (!p)
		return NULL;
	link_child(c, parent, p);
	p->partial = parent->partial;
	p->forgot_freed = parent->forgot_freed;
	p->loss_gen = parent->loss_gen;
	p->have_heap = parent->have_heap;
	p->heap_start = parent->heap_start;
	p->heap_end = parent->heap_end;
	p->exe = parent->exe ? strdup(parent->exe) : NULL;
	if (image_begin(p, image_now(parent)->exe, image_now(parent)->args, e->ts_ns, 0))
		return NULL;
	if (e->sysflags & TB_CLONE_VM) {
		/* vfork, posix_spawn: no copy, the child runs in its parent's memory until exec */
		p->mem_of = parent->mem_of != TB_NONE ? parent->mem_of : parent->index;
		p->mem_execs = c->procs[p->mem_of]->execs;
		p->ran_in = p->mem_of;
	} else if (copy_arenas(p, parent) || copy_memory(p, parent)) {
		p->partial = 1; /* what could not be copied is unknown, not invalid */
		if (p->heap_arena == TB_NONE && proc_new_image(p, e->ts_ns))
			return NULL;
	} else {
		faults__fork(parent, p, e);
	}
	if (!thread_new(c, p, e->pid, e->ts_ns, e->comm, 0))
		return NULL;
	return p;
}

/* A process still live under a pid that a new one now takes: its exit went unseen. */
static void proc_retire(struct correlator *c, uint32_t pid, uint64_t ts)
{
	uint32_t i = idmap_get(&c->pid_map, pid);

	if (i == TB_NONE || c->procs[i]->exited)
		return;
	c->procs[i]->exit_detail = strdup("exit not seen");
	c->procs[i]->exit_status = -1;
	proc_end(c, c->procs[i], ts);
}

void on_fork(struct correlator *c, struct tb_event *e)
{
	struct tb_process *parent = NULL, *p;

	/* The row's comm is the child's: it names the parent only if the parent is new. */
	if (e->origin_pid && e->origin_pid != e->pid)
		parent = proc_get(c, e->origin_pid, e->ts_ns, e->comm);
	proc_retire(c, e->pid, e->ts_ns);
	p = parent ? proc_fork(c, parent, e) : proc_new_attached(c, e->pid, e->ts_ns, e->comm);
	c->last_proc = p;
	recent_forget(c);
}

/*
 * The image's blocks go with it: each takes its bytes off the thread that got
 * it, which may be a vfork child's, while a thread of this process may hold
 * blocks that live on in its parent's memory.
 */
static void blocks_forget(struct correlator *c, struct tb_process *p)
{
	for (uint32_t i = 0; i < p->blocks.cap; i++) {
		const struct tb_block *b = &p->blocks.slot[i];

		if (b->state == TB_B_LIVE && !b->inherited && b->thread != TB_NONE)
			c->threads[b->thread]->live_bytes -= b->size;
	}
	btab_clear(&p->blocks);
}

/* The image is gone: its memory, its blocks and every thread but the one that exec'd. */
static void exec_reset(struct correlator *c, struct tb_process *p, struct tb_event *e)
{
	for (uint32_t i = 0; i < p->nthreads; i++) {
		struct tb_thread *t = c->threads[p->threads[i]];

		t->cur_arena = TB_NONE;
		/* the exec renamed the thread that made it a moment ago: that was its new image */
		if (!t->exited && t->tid == p->pid && t->old_comm[0] &&
		    strncmp(t->comm, e->comm, TB_COMM_LEN) == 0)
			memcpy(t->comm, t->old_comm, TB_COMM_LEN);
		/* the thread that exec'd goes on in the new image as a thread of its own */
		if (!t->exited) {
			t->exited = 1;
			t->end_ts = e->ts_ns;
		}
	}
	blocks_forget(c, p);
	pages__free(p->pg);	/* the new image's pages are all first touched again */
	p->pg = NULL;
	p->maps.n = 0;
	p->maps.hit = TB_NONE;
	p->inherited_live_blocks = p->inherited_live_bytes = 0;
	p->partial = p->forgot_freed = 0;
	p->probed_late_ns = 0;
	p->never_probed = 0;
	p->exec_ts = e->ts_ns;
	p->mem_of = TB_NONE;
	p->unnamed = 0;
	p->loss_gen = c->loss_gen;
	p->execs++;
	free(p->exe);
	p->exe = strndup(e->detail, sizeof(e->detail));
	set_comm(p->comm, e->comm);
	image_begin(p, p->exe, e->args, e->ts_ns, 1);
	proc_new_image(p, e->ts_ns);
}

void on_exec(struct correlator *c, struct tb_event *e)
{
	uint32_t i = idmap_get(&c->pid_map, e->pid);
	struct tb_process *p = i == TB_NONE || c->procs[i]->exited ? NULL : c->procs[i];

	struct tb_thread *t;

	/* First seen at its exec, a process is watched from a clean slate. */
	if (!p) {
		p = proc_alloc(c, e->pid, e->ts_ns, e->comm);
		if (!p)
			return;
	}
	exec_reset(c, p, e);
	c->last_proc = p;
	recent_forget(c);
	i = idmap_get(&c->tid_map, tid_key(p->pid, p->pid));
	t = i == TB_NONE ? NULL : c->threads[i];
	if (!t || t->proc != p->index || t->exited)
		t = thread_new(c, p, p->pid, e->ts_ns, e->comm, 0);
	if (t)
		set_comm(t->comm, e->comm);
}
