/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* prof_frame.h: a frame of a symbolized stack, as the profile writers (folded, pprof) take it. */
#ifndef TB_PROF_FRAME_H
#define TB_PROF_FRAME_H

#include <stdint.h>
#include "symbols.h"

/*
 * A stack is an array of these, leaf first, laid out as the stacks file's rows of one stack_id
 * in (frame, inline) order: each code address gives one entry per function of its inline chain,
 * inline_depth 0 the innermost (the function the address is in), 1, 2... the functions it was
 * inlined into, all with the same module and offset. An entry with inline_depth 0 starts the
 * next address. frames[0] is the allocation's call site, the last entry the stack's root.
 */
struct prof_frame {
	const char *module;   /* the mapped file's path; "[anon]" (no file), "[truncated]" (cut) */
	const char *build_id; /* lowercase hex; NULL or "" when unknown */
	uint64_t offset;      /* file offset of the return address; for [anon], the address */
	const char *function; /* NULL when unknown */
	const char *file;     /* source file; NULL when unknown */
	int line;             /* 0 when unknown */
	int inline_depth;
};

/*
 * The frames of a captured stack, leaf first, made into profile frames: each address (an entry
 * with inline_depth 0, and any entries with inline_depth > 0 after it) symbolized as a return
 * address and given one entry per function of its inline chain. An address the symbolizer
 * knows nothing of keeps the entries it came with, as they came (a stacks file's names, from
 * where the binary was; or one entry with no function). Returns the number of entries written
 * to out, -ENOSPC if more than max would be, or symbols__resolve's error.
 */
int prof_frame__symbolize(struct symbols *s, const struct prof_frame *raw, int n,
			  struct prof_frame *out, int max);

#endif
