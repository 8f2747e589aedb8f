/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* folded.h: the folded stacks file (`root;...;leaf value`) flamegraph.pl and speedscope read. */
#ifndef TB_FOLDED_H
#define TB_FOLDED_H

#include <stdint.h>
#include <stdio.h>
#include "outfile.h"
#include "prof_frame.h"

struct folded;

enum {
	FOLDED_LINES = 1 << 0, /* each frame "function (file:line)", not only "function" */
};

/* An empty set of stacks; NULL with errno set on failure. flags: FOLDED_*. */
struct folded *folded__new(unsigned int flags);

void folded__free(struct folded *f);

/*
 * Add value to the stack of n frames (leaf first, see prof_frame.h). Equal stacks add up into
 * one line. A frame with no function is named "FILE+0xOFFSET" by its module's base name, an
 * anonymous one "[anon] 0xADDRESS". Returns 0 or -ENOMEM.
 */
int folded__add(struct folded *f, const struct prof_frame *frames, int n, uint64_t value);

/* The same from frame names already made, leaf first. */
int folded__add_names(struct folded *f, const char *const *names, int n, uint64_t value);

/*
 * Write every stack, one line each, root first, sorted, to PATH ("-" for stdout) opened as
 * outfile__open does. Returns 0 or a negative errno after one line on stderr.
 */
int folded__write(struct folded *f, const char *path, const struct tb_owner *owner);

/* The same lines to out, already open; 0 or a negative errno (nothing said). */
int folded__write_to(struct folded *f, FILE *out);

#endif
