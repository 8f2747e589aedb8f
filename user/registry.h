/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* registry.h: the model's processes and threads: found by pid and tid, made, ended. */
#ifndef TB_REGISTRY_H
#define TB_REGISTRY_H

#include <string.h>
#include "tables.h"

static inline uint64_t tid_key(uint32_t pid, uint32_t tid)
{
	return (uint64_t)pid << 32 | tid;
}

struct tb_thread *thread_new(struct correlator *c, struct tb_process *p, uint32_t tid,
			     uint64_t ts, const char *comm, int attached);

uint32_t arena_new(struct tb_process *p, uint64_t base, uint32_t owner, uint64_t ts);

/*
 * A new program image from ts on; an image that has no thread yet (a process
 * first seen at its exec) is taken over rather than kept empty.
 */
int image_begin(struct tb_process *p, const char *exe, const char *args, uint64_t ts,
		uint8_t exec);

struct tb_image *image_now(struct tb_process *p);

/* A record with no thread yet; NULL when out of memory. */
struct tb_process *proc_alloc(struct correlator *c, uint32_t pid, uint64_t ts,
			      const char *comm);

int proc_new_image(struct tb_process *p, uint64_t ts);

/* A process first seen in the middle of its life: what it did before is unknown. */
struct tb_process *proc_new_attached(struct correlator *c, uint32_t pid, uint64_t ts,
				     const char *comm);

void proc_end(struct correlator *c, struct tb_process *p, uint64_t ts);

/* Inline: every event looks up its process and thread. */
static inline void set_comm(char *dst, const char *src)
{
	if (memcmp(dst, src, TB_COMM_LEN) != 0) {
		memcpy(dst, src, TB_COMM_LEN);
		dst[TB_COMM_LEN - 1] = '\0';
	}
}

static inline struct tb_thread **recent_slot(struct correlator *c, uint32_t tid)
{
	return &c->recent_threads[tid & (TB_RECENT_THREADS - 1)];
}

/* Forgotten where a process's threads change wholesale (fork, exec, exit). */
static inline void recent_forget(struct correlator *c)
{
	memset(c->recent_threads, 0, sizeof(c->recent_threads));
}

static inline struct tb_process *proc_get(struct correlator *c, uint32_t pid, uint64_t ts,
					  const char *comm)
{
	struct tb_process *p = c->last_proc;
	uint32_t i;

	if (p && p->pid == pid && !p->exited)
		return p;
	i = idmap_get(&c->pid_map, pid);
	p = i == TB_NONE || c->procs[i]->exited ? proc_new_attached(c, pid, ts, comm) : c->procs[i];
	c->last_proc = p;
	return p;
}

/*
 * A process has one live thread with a given tid: a remembered one that is
 * still live and of this process is the one the tid map would give.
 */
static inline struct tb_thread *thread_get(struct correlator *c, struct tb_process *p,
					   uint32_t tid, uint64_t ts, const char *comm)
{
	struct tb_thread **slot = recent_slot(c, tid), *t = *slot;
	uint32_t i;

	if (!t || t->tid != tid || t->proc != p->index || t->exited) {
		i = idmap_get(&c->tid_map, tid_key(p->pid, tid));
		t = i == TB_NONE ? NULL : c->threads[i];
		if (!t || t->proc != p->index || t->exited)
			t = thread_new(c, p, tid, ts, comm, 1);
		if (!t)
			return NULL;
		*slot = t;
	}
	set_comm(t->comm, comm);
	return t;
}

#endif
