/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* placement.h: where in each allocator function a probe costs least without changing what it sees. */
#ifndef TB_PLACEMENT_H
#define TB_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "libc_resolve.h"
#include "tlsbpf.h"

/* Where one function's probe goes, and where its arguments are found there. */
struct placement {
	size_t skip;		/* bytes between the entry and the probe; 0: the entry */
	uint64_t argregs;	/* cookie bits (TB_ARG_AT): each moved argument's register */
	char note[TB_PLACE_NOTE];	/* what was skipped and where arguments are, or why not */
};

/*
 * Where in the function in code[0..len) a probe reading its first nargs
 * arguments costs least: the first instruction the kernel emulates, when every
 * instruction before it is a register move, an ALU instruction or a load,
 * none stores to memory, calls, branches or writes the stack pointer, nothing
 * in the function branches into them, and each argument is still in some
 * register there. Else the entry, with the reason in p->note. func_vaddr is
 * where code[0] lives, for branch targets. Returns p->skip.
 */
size_t placement__choose(const uint8_t *code, size_t len, uint64_t func_vaddr, int nargs,
			 struct placement *p);

/* How many of the arguments a probe on a function of this type reads. */
int placement__nargs(uint16_t type);

/* Move every probe of lib to its chosen place (file offsets change, skipped[] says by how much). */
int placement__apply(struct alloc_lib *lib);

/* probe_page.type of a probe reading a moved argument: told apart by its cookie only */
#define TB_PROBE_MOVED_ARGS 0xfffe

/* A probe as the entry program sees it: where in its page it sits, and what it probes. */
struct probe_page {
	uint16_t page_off;	/* the file offset's low 12 bits, which its address keeps */
	uint16_t type;		/* the cookie's type: enum tb_event_type or TB_PROBE_EXITING */
};

/*
 * The page offset that tells the probes of type apart from all others: every
 * probe of that type sits there and no other probe does. TB_NO_PAGE_OFF when
 * there is none, and the probe's attach cookie must say what it is.
 */
uint32_t placement__sole_page_off(const struct probe_page *p, size_t n, uint16_t type);

#endif
