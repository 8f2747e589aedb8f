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

/*
 * How many bytes after the entry of the function in code[0..len) the probe
 * can sit: the first instruction the kernel emulates, when the instructions
 * before it write no argument register, no stack pointer and no memory, do
 * not branch, and nothing in the function branches back into them. 0 means
 * the entry. func_vaddr is where code[0] lives, for branch targets.
 */
size_t placement__choose(const uint8_t *code, size_t len, uint64_t func_vaddr);

/* Move every probe of lib to its chosen place (file offsets change, skipped[] says by how much). */
int placement__apply(struct alloc_lib *lib);

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
