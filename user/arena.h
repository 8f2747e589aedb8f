/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* arena.h: arena inference: which region an address lies in, and which arena served a block. */
#ifndef TB_ARENA_H
#define TB_ARENA_H

#include "registry.h"

#define MAIN_STACK_SPAN (64ULL << 30)	/* the main stack lies this close to user space's top */
#define MAIN_STACK_GAP (64ULL << 20)	/* and this far above every mapping the model knows */

/* Inline: every allocation, free and mapping event classifies an address. */

/*
 * The main thread's stack is mapped by the kernel at exec: no mmap event names
 * it (attach mode reads it from /proc). The kernel puts it near the top of user
 * space (randomised by at most 16 GiB on x86-64, 1 GiB on arm64) and the mmap
 * area below it, at least 128 MiB lower (mmap_base()'s MIN_GAP); every mmap
 * without a hint, libraries included, goes below that base. So an address in no
 * known mapping, within 64 GiB of the top of user space (the power of two above
 * it: 47 or 48 bits), and 64 MiB or more above every mapping the model knows is
 * on the main stack, in a process watched since its exec. Its start is not
 * known: the base stays 0.
 */
static inline bool on_main_stack(const struct tb_process *p, uint64_t addr)
{
	uint64_t top, known = p->maps.n ? p->maps.v[p->maps.n - 1].end : 0;

	/* a process seen from the middle of its life has mappings the model never saw */
	if (p->attached || addr < MAIN_STACK_SPAN || addr >> 62)
		return false;
	top = 1ULL << (64 - __builtin_clzll(addr));
	if (known < p->heap_end)
		known = p->heap_end;
	return addr >= top - MAIN_STACK_SPAN && addr > known && addr - known >= MAIN_STACK_GAP;
}

/* Where addr lies now; *mp is the mapping, NULL for the brk heap or nowhere. */
static inline enum tb_region classify(struct tb_process *p, uint64_t addr, uint64_t *base,
				      struct tb_map **mp)
{
	struct tb_map *m;

	*mp = NULL;
	*base = 0;
	if (addr >= p->heap_start && addr < p->heap_end) {
		*base = p->heap_start;
		return TB_REG_HEAP;
	}
	m = maps_find(&p->maps, addr);
	if (!m)
		return on_main_stack(p, addr) ? TB_REG_STACK : TB_REG_UNKNOWN;
	*mp = m;
	*base = m->kind == TB_REG_ARENA && m->owner < p->narenas ? p->arenas[m->owner].base :
								     m->start;
	return m->kind;
}

/*
 * A block in anonymous memory no block came from yet. A heap reservation whose
 * pieces keep a 64 MiB-aligned base is an arena heap, whichever call mapped it.
 * Otherwise the mmap events of a call precede its return, so a mapping that
 * this thread made during this very call and that holds the block is a block
 * served by its own mapping.
 */
enum tb_region classify_alloc(struct tb_process *p, struct tb_thread *t,
			      struct tb_event *e, uint64_t *base, uint32_t *arena);
/* Counts one block to arena ai and to t among its users, t now on it. */
void arena_serve(struct tb_process *p, struct tb_thread *t, uint32_t ai, uint64_t size,
		 uint64_t ts);

#endif
