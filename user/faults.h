/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* faults.h: page rows in the model: the block a fault hit, what its page held, the counts. */
#ifndef TB_FAULTS_H
#define TB_FAULTS_H

#include "model.h"

/* A touch, wp, cow or page_fault row of thread t in p's memory: fills region, old_addr, detail. */
void faults__on_page(struct correlator *c, struct tb_process *p, struct tb_thread *t,
		     struct tb_event *e);
/*
 * munmap, madvise, brk, mmap MAP_FIXED: the pages given back are first touched again; counts
 * them, and ties them to the blocks they held (the row's detail names them).
 */
void faults__on_vm(struct tb_process *p, struct tb_thread *t, struct tb_event *e);
/* A fork (row e) copied parent's memory into child: the pages both hold are shared. */
void faults__fork(struct tb_process *parent, struct tb_process *child, const struct tb_event *e);

/* The block tree follows the block table, once a page row made one. */
static inline void faults__block_add(struct tb_process *p, uint64_t addr, uint64_t size)
{
	if (p->pg)
		pages__block_add(p->pg, addr, size);
}

static inline void faults__block_del(struct tb_process *p, uint64_t addr)
{
	if (p->pg)
		pages__block_del(p->pg, addr);
}

#endif
