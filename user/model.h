/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* model.h: the correlator's model of processes, threads, mappings, arenas and blocks. */
#ifndef TB_MODEL_H
#define TB_MODEL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "event.h"
#include "idmap.h"
#include "pages.h"

#define TB_NONE IDMAP_NONE		/* no thread, arena or process index; an id map's "no such key" */
#define TB_OFF_NONE UINT32_MAX		/* block's region base did not fit the offset field */
#define TB_ARENA_SIZE (64ULL << 20)	/* glibc HEAP_MAX_SIZE on 64-bit: heaps are aligned to it */
#define TB_SPACING_SLOTS 8

enum tb_block_state {
	TB_B_EMPTY = 0,	/* slot never used (addr 0) */
	TB_B_LIVE,	/* handed out and not freed */
	TB_B_FREED,	/* freed and not handed out again: what double-free and reuse need */
};

/*
 * One address the allocator handed out, stored inline in an open-addressing
 * table keyed by addr. A freed block keeps its slot as a tombstone (state
 * FREED) so that a second free is a double free and a new block at the same
 * address is a reuse; the slot goes back to LIVE when the address comes back.
 *
 * Memory: 32 bytes a slot. The table doubles when 3/4 full, so it runs between
 * 3/8 and 3/4 full: 43 to 85 bytes per record, about 61 on average. Tombstones
 * are records too; they are dropped at a rehash once they outnumber the live
 * blocks and pass TB_FREED_KEEP (see tables.c), which bounds them.
 */
struct tb_block {
	uint64_t addr;
	uint64_t size : 47;	/* user space is 47 bits (128 TiB): no block is larger */
	uint64_t region : 4;	/* enum tb_region when allocated */
	uint64_t state : 2;	/* enum tb_block_state */
	uint64_t inherited : 1;	/* copied into a child at fork and not freed or moved since */
	uint64_t gen : 8;	/* correlator loss generation when freed, low bits */
	uint64_t libc : 1;	/* allocated by the C library or ld.so itself (TB_F_LIBC) */
	uint64_t unseen : 1;	/* --sample: another call took its sample mark, or (by
				   time) the probes went off after it: its free may go
				   unseen, so it is not called a leak. FREED: the probes
				   went off since its free */
	uint32_t thread;	/* global thread index of the allocating thread, or TB_NONE */
	uint32_t base_off;	/* addr - region_base, or TB_OFF_NONE */
	uint32_t op : 2;	/* enum tb_cxx: malloc family, new or new[]; its free must match */
	uint32_t stack_id;	/* the allocation's stack (the run's id), 0: none; a freed
				   block keeps it, so a double free names its allocation */
};

/* 24 bytes until C++'s operators and the allocation's stack needed a word each */
_Static_assert(sizeof(struct tb_block) == 32, "a block table slot stays 32 bytes");

struct tb_btab {
	struct tb_block *slot;
	uint32_t shift;		/* 64 - log2(capacity): Fibonacci hashing takes the top bits */
	uint32_t cap;		/* 0 until the first block */
	uint32_t live;
	uint32_t freed;		/* live + freed slots are in use; there are no deleted slots */
};

/* One mapping, or a piece of one after munmap/mprotect split it. */
struct tb_map {
	uint64_t start, end;
	uint64_t ts;		/* when the mmap/mremap that made it returned */
	uint32_t prot;
	uint32_t mflags;	/* mmap flags */
	uint32_t creator;	/* global thread index of the thread that mapped it, or TB_NONE */
	uint32_t owner;		/* stack: global thread index; arena: arena index; else TB_NONE */
	uint32_t serial;	/* pieces of one mmap share it */
	uint8_t kind;		/* enum tb_region */
	uint8_t reserve;	/* made like a glibc heap reservation: anon, PROT_NONE, NORESERVE */
};

/* Mappings sorted by start, never overlapping; `hit` caches the last lookup. */
struct tb_maps {
	struct tb_map *v;
	uint32_t n, cap, hit;
};

/* A thread that allocated from an arena, and how much. */
struct tb_arena_user {
	uint32_t thread;	/* global thread index */
	uint64_t blocks, bytes;
	uint64_t first_ts, last_ts;
};

/* The main arena (the brk heap) or one glibc heap of a thread arena. */
struct tb_arena {
	uint64_t base;
	uint64_t created_ts;
	uint64_t blocks, bytes;	/* served from it */
	uint32_t owner;		/* thread whose allocation created it, or TB_NONE */
	uint32_t extends;	/* arena index of the arena this heap grows, or TB_NONE */
	uint8_t is_heap;	/* the main arena */
	uint8_t inherited;	/* copied from the parent at fork */
	uint8_t seeded;		/* found in /proc/PID/maps */
	uint64_t pages_touched, pages_copied;	/* --pages: first touches and copies in it */
	struct tb_arena_user *users;
	uint32_t nusers, cap_users;
};

/* A small "space-saving" counter set: the most common address delta within a bound. */
struct tb_spacing {
	uint64_t delta, count;
};

/*
 * An arena a thread was served from. A vfork or CLONE_VM child runs in its
 * parent's memory, so its threads' arenas may be another process's: `proc`
 * says whose arena table `arena` indexes.
 */
struct tb_thread_arena {
	uint32_t proc;		/* process index */
	uint32_t arena;		/* arena index in that process */
};

/* --pages: the faults a thread or a process took, by what the page held (docs/csv.md, "Pages"). */
struct tb_page_stats {
	uint64_t zero;		/* first touch by a read: the zero page mapped */
	uint64_t fresh;		/* first touch by a write: a new page */
	uint64_t file;		/* first touch of a file's page */
	uint64_t guard;		/* a fault on a page with no access */
	uint64_t unmapped;	/* first touch in a mapping no row made (the program, the loader) */
	uint64_t wp;		/* writes to a present, write-protected page */
	uint64_t cow_fork;	/* pages copied that a fork had shared */
	uint64_t cow_zero;	/* the zero page copied at the first write after a read */
	uint64_t cow_file;	/* a file's page copied into private memory */
	uint64_t cow_other;	/* pages copied whose history the rows do not tell */
	uint64_t other;		/* other faults on present pages */
	uint64_t in_blocks;	/* faults that fell inside a live block */
	/* pages the rows had made resident, given back: by munmap, madvise, a brk trim */
	uint64_t unmapped_back, advised_back, trimmed_back;
	/* blocks whose bytes lay on pages given back: freed (normal), live (a bug) */
	uint64_t freed_blocks_back, live_blocks_back;
};

/* --pages: a process's resident memory by its rss rows (bytes; file, anon, swap, shmem). */
struct tb_rss {
	uint64_t now[TB_RSS_KINDS];
	uint64_t peak;		/* the most file + anon + shmem at one row */
	uint64_t peak_anon;
	uint64_t rows;
};

static inline uint64_t tb_page_copies(const struct tb_page_stats *s)
{
	return s->cow_fork + s->cow_zero + s->cow_file + s->cow_other;
}

static inline uint64_t tb_page_faults(const struct tb_page_stats *s)
{
	return s->zero + s->fresh + s->file + s->guard + s->unmapped + s->wp + s->other;
}

static inline uint64_t tb_page_given_back(const struct tb_page_stats *s)
{
	return s->unmapped_back + s->advised_back + s->trimmed_back;
}

struct tb_thread {
	uint32_t pid, tid;
	uint32_t index;		/* in correlator.threads */
	uint32_t proc;		/* process index */
	uint32_t label;		/* printed T<label>: 0 is the main thread */
	uint32_t cur_arena;	/* arena index it last allocated from, or TB_NONE */
	uint32_t cur_proc;	/* process index whose arenas cur_arena indexes */
	uint32_t cur_user;	/* its slot in that arena's users */
	uint8_t exited;
	uint8_t attached;	/* running before the model saw it */
	uint32_t image;		/* index in its process's images */
	char comm[TB_COMM_LEN];
	char old_comm[TB_COMM_LEN];	/* before its last rename: an exec renames just before */
	uint64_t start_ts, end_ts;
	uint64_t allocs, failed, frees, bytes, live_bytes, peak_bytes;
	uint64_t cross_frees, inherited_frees, reused;
	uint64_t double_frees, invalid_frees, unknown_frees;
	uint64_t mismatched_frees;	/* freed by another family than allocated it (TB_F_MISMATCHED_FREE) */
	uint64_t internal_frees;	/* the library re-freeing its own cache: not the program's */
	uint64_t last_addr;
	struct tb_spacing spacing[TB_SPACING_SLOTS];
	struct tb_thread_arena *arenas;	/* arenas it was served from, first use first */
	uint32_t narenas, cap_arenas;
	struct tb_page_stats pages;
};

struct tb_leak {
	uint64_t size, count;
};

/* Own blocks live at exit by the stack and thread that allocated them: leaks by site. */
struct tb_site_leak {
	uint32_t stack_id, thread;	/* thread: its global index */
	uint64_t blocks, bytes;
};

/* One program a process ran: the one it was forked or attached with, then one per exec. */
struct tb_image {
	char *exe;		/* exec filename; the parent's for a forked image; NULL if unknown */
	char *args;		/* the argv strings joined by spaces; NULL when unknown */
	char comm[TB_COMM_LEN];	/* the process name in that image */
	uint64_t start_ts, end_ts;	/* end_ts: its successor's exec or the exit; 0 while it runs */
	uint32_t first_thread;	/* its threads are p->threads[first_thread ..] up to the next's */
	uint32_t first_arena;	/* likewise p->arenas */
	uint8_t exec;		/* began at an exec, not at a fork or an attach */
};

struct tb_process {
	uint32_t pid;
	uint32_t index;
	uint32_t parent;	/* process index, or TB_NONE */
	uint32_t first_child, last_child, next_sibling;
	uint32_t *threads;	/* global thread indices in creation order */
	uint32_t nthreads, cap_threads;
	uint32_t heap_arena;	/* arena index of the current image's main arena */
	uint32_t loss_gen;	/* correlator loss generation when its history began */
	uint32_t mem_of;	/* vfork/CLONE_VM child until its exec: the process whose memory
				   it runs in, or TB_NONE */
	uint32_t mem_execs;	/* that process's execs when this one began sharing its memory */
	uint32_t ran_in;	/* the last process whose memory it ran in, kept after exec and
				   exit for the report; TB_NONE if it always had its own */
	uint8_t exited;
	uint8_t attached;	/* seeded, or first seen in the middle of its life */
	uint8_t partial;	/* history incomplete: unknown frees are not invalid */
	uint8_t forgot_freed;	/* tombstones were dropped: unknown frees are not invalid */
	uint8_t have_heap;
	uint8_t unnamed;	/* first seen in a row of another thread: name it after its main one */
	int exit_status;
	uint32_t execs;
	char comm[TB_COMM_LEN];
	char *exe;		/* last exec filename */
	char *exit_detail;	/* "killed by SIGSEGV", or NULL */
	uint64_t start_ts, end_ts;
	uint64_t probed_late_ns;	/* its image's allocator was probed this long after its exec */
	uint64_t exec_ts;		/* when its image began: its last exec */
	uint8_t never_probed;	/* its image's allocator was never probed: it ended first */
	uint64_t heap_start, heap_end;
	struct tb_btab blocks;
	struct tb_maps maps;
	struct tb_arena *arenas;
	uint32_t narenas, cap_arenas;
	uint64_t chunks, chunk_bytes, chunk_mapped, chunk_largest;
	uint64_t inherited_live_blocks, inherited_live_bytes;
	uint64_t threads_created, children;
	struct tb_leak *leaks;	/* own live blocks at exit by size, most bytes first */
	uint32_t nleaks;
	uint64_t leak_blocks, leak_bytes;
	struct tb_leak *libc_leaks;	/* the same for blocks the C library made and kept */
	uint32_t nlibc_leaks;
	uint64_t libc_leak_blocks, libc_leak_bytes;
	struct tb_site_leak *site_leaks;	/* own live blocks at exit, C library's too, by
						   stack and thread; by stack_id, thread */
	uint32_t nsite_leaks;
	struct tb_image *images;	/* in order; the last is the current one */
	uint32_t nimages, cap_images;
	uint64_t inherited_leak_blocks, inherited_leak_bytes;
	uint64_t unseen_blocks;	/* --sample: live at exit, but their free may have gone unseen */
	struct tb_pages *pg;	/* --pages: its pages and an address tree of its blocks; NULL
				   until its first page row */
	struct tb_page_stats pages;
	struct tb_rss rss;
	/* --pages: the last fault the kernel refused (a guard page, a write to a read-only
	   page, a protection fault): what a crash by SIGSEGV was */
	struct tb_refused {
		uint64_t seq, ts, addr, block;	/* seq 0: none */
		uint32_t tid;
		uint32_t region;	/* enum tb_region */
		char what[TB_PATH_LEN];	/* its row's detail */
	} refused;
};

#define TB_RECENT_THREADS	8	/* a power of two */

struct correlator {
	struct tb_process **procs;	/* creation order; records never move */
	uint32_t nprocs, cap_procs;
	struct tb_thread **threads;	/* every thread ever seen; records never move */
	uint32_t nthreads, cap_threads;
	struct tb_idmap pid_map;	/* pid -> newest process with it */
	struct tb_idmap tid_map;	/* pid << 32 | tid -> newest thread with it */
	/*
	 * --sample: the probes' mark on each recorded block, keyed by address
	 * alone as the BPF side keys it -> the memory process whose recorded
	 * allocation set it, or TB_NONE once a call took it. Only a marked
	 * address's free is recorded.
	 */
	struct tb_idmap marks;
	uint32_t marks_taken;		/* keys in marks mapped to TB_NONE */
	struct tb_process *last_proc;
	/* recent threads by tid: two threads' events interleave row by row */
	struct tb_thread *recent_threads[TB_RECENT_THREADS];
	uint32_t live;			/* processes not exited */
	uint32_t serial;		/* last mapping serial */
	uint32_t loss_gen;		/* bumped by every lost event and sampling gap */
	/* --sample-by time: windows the allocator probes were on, and their time */
	uint32_t sample_windows;
	uint64_t sample_on_ns;		/* closed windows' time */
	uint64_t sample_on_since;	/* the open window's start, 0 when the probes are off */
	uint64_t sample_first_on;	/* the first window's start */
	bool sample_off;		/* in a gap: a block allocated now may be freed unseen */
	uint64_t events, lost;
	uint64_t first_ts, last_ts;
};

/*
 * --sample-by time: how long the allocator probes were on, in how many
 * windows, over what span from the first window to the last event. 0 when
 * the run was not sampled by time.
 */
static inline uint64_t model_sample_on_ns(const struct correlator *c, uint64_t *span,
					  uint32_t *windows)
{
	uint64_t open = c->sample_on_since && c->last_ts > c->sample_on_since
				? c->last_ts - c->sample_on_since : 0;

	*span = c->sample_first_on && c->last_ts > c->sample_first_on
			? c->last_ts - c->sample_first_on : 0;
	*windows = c->sample_windows + (c->sample_on_since != 0);
	return c->sample_on_ns + open;
}

static inline const struct tb_thread *model_thread(const struct correlator *c, uint32_t i)
{
	return i == TB_NONE || i >= c->nthreads ? NULL : c->threads[i];
}

/* The k-th arena thread i was served from, and its process in *owner; NULL if none. */
static inline const struct tb_arena *model_thread_arena(const struct correlator *c,
						       const struct tb_thread *t, uint32_t k,
						       const struct tb_process **owner)
{
	const struct tb_process *p;

	if (k >= t->narenas || t->arenas[k].proc >= c->nprocs)
		return NULL;
	p = c->procs[t->arenas[k].proc];
	if (t->arenas[k].arena >= p->narenas)
		return NULL;
	if (owner)
		*owner = p;
	return &p->arenas[t->arenas[k].arena];
}

/*
 * The k-th arena thread t was served from, as the report names it: "heap" or
 * the base "0x...", prefixed "PID:" when it is another process's (a vfork or
 * CLONE_VM child's blocks live in its parent's arenas). Returns 0 if none.
 */
static inline int model_thread_arena_label(const struct correlator *c, const struct tb_thread *t,
					   uint32_t k, char *buf, size_t cap)
{
	const struct tb_process *o = NULL;
	const struct tb_arena *a = model_thread_arena(c, t, k, &o);
	char pid[16] = "";

	if (!a)
		return 0;
	if (o->index != t->proc)
		snprintf(pid, sizeof(pid), "%" PRIu32 ":", o->pid);
	if (a->is_heap)
		snprintf(buf, cap, "%sheap", pid);
	else
		snprintf(buf, cap, "%s0x%" PRIx64, pid, a->base);
	return 1;
}

/* "T2" for a thread of p, "pid/tid" for one of another process (a parent's, via fork). */
static inline void model_thread_label(const struct correlator *c, uint32_t i,
				      const struct tb_process *p, const char *none, char *buf,
				      size_t cap)
{
	const struct tb_thread *t = model_thread(c, i);

	if (!t)
		snprintf(buf, cap, "%s", none);
	else if (t->proc == p->index)
		snprintf(buf, cap, "T%" PRIu32, t->label);
	else
		snprintf(buf, cap, "%" PRIu32 "/%" PRIu32, t->pid, t->tid);
}

#endif /* TB_MODEL_H */
