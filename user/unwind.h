/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * unwind.h: --stacks=dwarf's unwinder. A sample (bpf/tlsbpf.h's struct
 * tb_rec_sample: a window of a thread's stack and its registers at an
 * allocator's entry) unwound with the CFI (.eh_frame, .debug_frame) of the
 * files its process maps, by libdwfl, into return addresses placed in their
 * files as the frame-pointer stacks' frames are.
 */
#ifndef TB_UNWIND_H
#define TB_UNWIND_H

#include <stdint.h>
#include <linux/types.h>
#include "../bpf/tlsbpf.h"
#include "stacktab.h"

struct unwind;

/* An unwinder keeping frames up to depth (1 to TB_MAX_STACK); NULL with errno set. */
struct unwind *unwind__new(unsigned depth);
void unwind__free(struct unwind *u);

/*
 * A record as it arrives, before its turn (from another thread than the
 * other calls: they take a lock): a sample of a process not met yet, or code
 * newly mapped, has the process's mappings read now, while it still runs (a
 * sample's turn comes a millisecond or more later); an exec leaves the old
 * image's mappings to its samples; a fork gives the child its parent's, for a
 * child gone before its own could be read (until it execs, its memory is laid
 * out as its parent's).
 */
void unwind__peek(struct unwind *u, const void *rec, size_t len);

/*
 * The frames of sample r into out (depth of them at most): the call site (the
 * return address at the sample's stack pointer) first, then each caller's
 * return address. *flags gets TB_STK_TRUNCATED when the unwinding stopped
 * before the outermost frame (the depth, the window's end, code in no file the
 * process still maps), TB_STK_GAP when it stopped at uprobes' return
 * trampoline. Returns the frames, 0 when none (counted); frames' strings live
 * as long as u.
 */
int unwind__sample(struct unwind *u, const struct tb_rec_sample *r, struct stacktab_frame *out,
		   uint16_t *flags);

/* Samples unwound, and of them those without any frame (their process's mappings unknown). */
void unwind__counts(const struct unwind *u, uint64_t *samples, uint64_t *failed);

#endif
