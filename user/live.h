/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* live.h: the human-readable live view, one line per event. */
#ifndef TB_LIVE_H
#define TB_LIVE_H

#include "event.h"
#include "outfile.h"

struct live_writer;

/* path NULL or "-" means stdout. ts_base_ns: timestamps print relative to it. */
struct live_writer *live_writer__open(const char *path, const struct tb_owner *owner,
				      uint64_t ts_base_ns);
int live_writer__write(struct live_writer *w, const struct tb_event *e);
int live_writer__flush(struct live_writer *w);
int live_writer__close(struct live_writer *w);

/* Copies src into dst with every byte that is not printable ASCII shown as \xNN; returns length. */
size_t live_escape(char *dst, size_t cap, const char *src);

#endif
