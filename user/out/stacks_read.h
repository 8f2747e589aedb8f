/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* stacks_read.h: a stacks file (stacks_write.h) read back into a stack table, for analyze. */
#ifndef TB_STACKS_READ_H
#define TB_STACKS_READ_H

#include <stddef.h>
#include "stacktab.h"

/*
 * Reads the stacks file at path into t, which must be empty: each stack gets the id the file
 * gives it (ids 1, 2, ... in order, as tlsbpf writes them), with the names its rows carry.
 * 0; or -1 with one line in err ("FILE: line N: what is wrong") for a file that cannot be
 * read, is cut short, or holds a row tlsbpf does not write.
 */
int stacks_file__read(const char *path, struct stacktab *t, char *err, size_t cap);

#endif
