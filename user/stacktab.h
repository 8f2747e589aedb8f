/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * stacktab.h: the run's canonical call stacks. The probes key a stack by its
 * process image; this table keys it by its frames' (file, file offset), the
 * file told by its build-id (else its path), so the same code path in a
 * forked or exec'd process, or under another ASLR layout, has one id. Keys
 * are compared whole, never by hash alone, so an id always names its stack.
 *
 * Ids are 1..stacktab__count(), in the order stacks were first seen; 0 is
 * "no stack". Everything a stacktab hands out lives as long as it does.
 */
#ifndef TB_STACKTAB_H
#define TB_STACKTAB_H

#include <stddef.h>
#include <stdint.h>
#include "stacks.h"
#include "symbols.h"

/* A frame of a canonical stack: where its code is (identity: module/build-id and offset). */
struct stacktab_frame {
	uint64_t addr;		/* the return address in the first process seen with the stack */
	uint64_t offset;	/* in the file; for "[anon]" and unplaced frames, the address */
	const char *module;	/* the file's path; "[anon]": code in no file; NULL: not placed */
	const char *build_id;	/* lowercase hex; "" when unknown */
	const struct sym_line *lines;	/* names read back (a stacks file), innermost first; */
	int nlines;			/* 0: names come from the symbolizer */
};

struct stacktab_stack {
	uint32_t pid;		/* the process it was first seen in */
	uint16_t nr;		/* frames, innermost (the call site) first */
	uint16_t flags;		/* TB_STK_TRUNCATED, TB_STK_GAP (bpf/tlsbpf.h) */
	const struct stacktab_frame *frames;
};

struct stacktab;

/*
 * An empty table; NULL with errno set. sym_opts: names are resolved with these
 * (symbols.h); NULL: no names (stacktab__names answers nothing).
 */
struct stacktab *stacktab__new(const struct symbols_opts *sym_opts);
void stacktab__free(struct stacktab *t);

/* The probes' stacks the ids of stacktab__canon are read from (stacks.h). */
void stacktab__set_source(struct stacktab *t, struct stacks *src);

/*
 * The canonical id of the probes' stack bpf_id, added the first time it is
 * asked for; 0 when bpf_id is 0 or its stack cannot be read (counted).
 */
uint32_t stacktab__canon(struct stacktab *t, uint32_t bpf_id);

/*
 * A stack given by its frames (as a stacks file lists them): its id, added if
 * new; 0 with errno set (ENOMEM, or EINVAL for nr 0 or over TB_MAX_STACK).
 * Frames' strings and lines are copied.
 */
uint32_t stacktab__add(struct stacktab *t, uint32_t pid, uint16_t flags,
		       const struct stacktab_frame *frames, int nr);

/* Stacks held: ids 1..count. */
uint32_t stacktab__count(const struct stacktab *t);

/* Stack id; NULL if there is none. */
const struct stacktab_stack *stacktab__get(const struct stacktab *t, uint32_t id);

/*
 * The names of frame i of stack id (inline chain innermost first, symbols.h);
 * the names the frame came with, else the symbolizer's (every frame is a
 * return address, looked up at offset - 1). 0, with out->n 0 when nothing is
 * known (no symbolizer, no module, no debug info).
 */
int stacktab__names(struct stacktab *t, uint32_t id, int i, struct sym_result *out);

/*
 * Stack id's call site (frame 0) as people read it: "function (file:line)" with the file's
 * base name; "function (module)" without debug info; "module+0xoffset" without a symbol;
 * "0xaddress" outside any file; "(no stack)" for id 0.
 */
void stacktab__site_name(struct stacktab *t, uint32_t id, char *buf, size_t cap);
/* Frame i of stack id named the same way (frame 0 is the call site). */
void stacktab__frame_name(struct stacktab *t, uint32_t id, int i, char *buf, size_t cap);

/* How many stacks are held, and of them how many are marked TB_STK_TRUNCATED. */
void stacktab__counts(const struct stacktab *t, uint64_t *stacks, uint64_t *truncated);

/* Probes' ids that could not be read (their rows were left without a stack_id). */
uint64_t stacktab__missing(const struct stacktab *t);

#endif
