/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* jsonl.h: the CSV's rows as JSON lines, one object per row, as a per-event output. */
#ifndef TB_JSONL_H
#define TB_JSONL_H

#include <stddef.h>
#include "outfile.h"
#include "output.h"

/*
 * Opens PATH ("-" is stdout) and fills *out with the writer; 0, or -errno
 * after one line about it, as the CSV's open.
 */
int jsonl_output__open(struct tb_output *out, const char *path, const struct tb_owner *owner);

/*
 * S (len bytes, any bytes) as a JSON string with its quotes, at dst (cap >=
 * 6 * len + 2): control characters, DEL, '"' and '\' escaped, valid UTF-8 as
 * it is, each maximal invalid sequence one U+FFFD. Returns the bytes written.
 */
size_t json_quote(char *dst, const char *s, size_t len);

#endif
