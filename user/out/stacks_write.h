/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* stacks_write.h: the stacks file beside the CSV: each stack_id a row names, with its frames. */
#ifndef TB_STACKS_WRITE_H
#define TB_STACKS_WRITE_H

#include <stddef.h>
#include "outfile.h"
#include "output.h"

struct stacktab;

#define TB_STACKS_HEADER "stack_id,frame,pid,addr,module,build_id,offset,function,file,line,inline,flags"

/* The stacks file of the CSV at csv_path, into buf: FILE.csv gives FILE.stacks.csv. */
void stacks_file__path(const char *csv_path, char *buf, size_t cap);

/*
 * Opens PATH and fills *out with the writer, which writes each stack the
 * first time a row names it; 0, or -errno after one line about it.
 */
int stacks_output__open(struct tb_output *out, const char *path, const struct tb_owner *owner);
/* Where its stacks are read from, once the probes are loaded; before that rows' stacks wait unnamed. */
void stacks_output__set_source(struct tb_output *out, struct stacktab *src);

#endif
