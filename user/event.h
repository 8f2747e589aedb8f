/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* event.h: one event after decoding, the form every stage after the ring buffer sees. */
#ifndef TB_EVENT_H
#define TB_EVENT_H

#include <stdint.h>
#include <linux/types.h>
#include "../bpf/tlsbpf.h"

/* Region kinds, as written in the CSV region column. */
enum tb_region {
	TB_REG_NONE = 0,	/* column left empty: the row has no address to place */
	TB_REG_HEAP,		/* the brk heap (main arena) */
	TB_REG_ARENA,		/* a thread arena's heap */
	TB_REG_MMAP_CHUNK,	/* a block served by its own mmap */
	TB_REG_STACK,		/* a thread's stack */
	TB_REG_FILE,		/* a file mapping */
	TB_REG_ANON,		/* other anonymous memory */
	TB_REG_UNKNOWN,		/* an address in no mapping the model knows */
	TB_REG_MAX,
};

/* Correlation flags, written `|`-separated in the CSV flags column. */
#define TB_F_CROSS_THREAD	0x01
#define TB_F_INHERITED		0x02
#define TB_F_DOUBLE_FREE	0x04
#define TB_F_INVALID_FREE	0x08
#define TB_F_UNKNOWN_ORIGIN	0x10
#define TB_F_REUSED		0x20
#define TB_F_NEW_ARENA		0x40
#define TB_F_FAILED		0x80	/* the allocation failed (NULL or an error) */
#define TB_F_SAMPLED		0x100	/* --sample: one allocation call in N recorded, with its free */
#define TB_F_INTERNAL		0x200	/* free called from inside the allocator library (cache flush, stdio) */
#define TB_F_LIBC		0x400	/* allocation made by the C library or the dynamic loader itself */
#define TB_F_OVERFLOW		0x800	/* calloc/reallocarray: nmemb * size does not fit; size is the element size */
#define TB_F_MISMATCHED_FREE	0x1000	/* freed by another family than allocated it: new[] by delete */
#define TB_F_NBITS		13

struct tb_event {
	uint64_t seq;		/* row number from 1, set by whoever writes rows */
	uint64_t ts_ns;
	uint64_t size;		/* bytes asked for, mapping length, exit status, lost count */
	uint64_t addr;
	uint64_t old_addr;	/* realloc input, mremap old address, brk old break */
	uint64_t latency_ns;
	uint64_t align;		/* memalign family */
	uint64_t sysflags;	/* mmap/mremap flags, madvise advice, clone flags */
	uint64_t old_size;	/* mremap old length, mmap file offset */
	uint64_t region_base;	/* correlator */
	uint32_t pid;
	uint32_t tid;
	uint32_t origin_pid;	/* fork/thread: creator (decoder); free/realloc: allocator (correlator) */
	uint32_t origin_tid;
	uint32_t prot;
	int32_t fd;		/* mmap: -1 for anonymous memory */
	int32_t err;		/* syscalls: 0 or -errno */
	uint32_t flags;		/* TB_F_* (correlator; TB_F_FAILED from the decoder) */
	enum tb_event_type type;
	enum tb_region region;	/* correlator */
	uint32_t stack_id;	/* malloc family, free: the call's stack (user/stacks.h); 0: none */
	char comm[TB_COMM_LEN];	/* NUL-terminated thread name */
	const char *args;	/* exec: the new image's arguments, space-separated; NULL if unknown.
				   Valid while the event is processed: copy it to keep it */
	/* set by the correlator for every event (past what the decoder clears) */
	uint32_t alloc_stack;	/* free, realloc: the stack that allocated the block released;
				   0 if none or unknown */
	uint64_t block_size;	/* free, realloc: that block's size; 0 if unknown */
	char detail[TB_PATH_LEN]; /* exec filename, exit cause, mapping path; "" if none */
};

/*
 * An allocator's own entry point, reported as the standard event whose
 * arguments it takes (the first ones: mallocx(size, flags) is a malloc) with
 * its name in the detail column. Index 0 is the standard function itself.
 */
/* How a block was allocated or freed, by what C++ says: what a free must match. */
enum tb_cxx {
	TB_CXX_NONE = 0,	/* the malloc family, free */
	TB_CXX_ONE,		/* operator new, delete */
	TB_CXX_ARRAY,		/* operator new[], delete[] */
};

struct tb_entry {
	const char *name;
	enum tb_event_type type;
	enum tb_cxx cxx;	/* a C++ operator (libstdc++'s): probed at entry only */
	const char *sym;	/* its symbol when not the name (a mangled C++ name) */
};

extern const struct tb_entry tb_entries[];
extern const unsigned tb_nentries;

/* Entry k's symbol in the library. */
const char *tb_entry_sym(unsigned k);
/* The C++ operator a row's detail names, TB_CXX_NONE for any other. */
enum tb_cxx tb_entry_cxx(const char *detail);

const char *tb_event_name(enum tb_event_type type);
/* A lost event: n events that never reached the pipeline, reported at ts_ns. */
void tb_event_lost(struct tb_event *e, uint64_t ts_ns, uint64_t n);
/* --sample-by time: the probes went off (on_ns: how long they had been on) or on. */
void tb_event_sample(struct tb_event *e, enum tb_event_type type, uint64_t ts_ns, uint64_t on_ns);
/* Returns TB_EV_NONE for a name that is no CSV event. */
enum tb_event_type tb_event_from_name(const char *name, size_t len);
const char *tb_region_name(enum tb_region region);
enum tb_region tb_region_from_name(const char *name, size_t len);
const char *tb_flag_name(unsigned bit_index);

#endif /* TB_EVENT_H */
