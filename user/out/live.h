/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* live.h: the human-readable live view, one line per event. */
#ifndef TB_LIVE_H
#define TB_LIVE_H

#include <signal.h>
#include "event.h"
#include "outfile.h"

#define TB_FILTER_IDS 16

/* Which events the live view shows; the CSV and the report always get every event. */
struct tb_live_filter {
	uint32_t events;		/* bit (1 << type) per event type shown; 0 = all */
	uint32_t pids[TB_FILTER_IDS];	/* --filter-pid; none = every process */
	uint32_t tids[TB_FILTER_IDS];	/* --filter-tid; none = every thread */
	int npids, ntids;
};

/* On a terminal, lines a second before the rest of that second folds into one summary line. */
#define LIVE_TTY_LINES 40

struct live_writer;
struct stacktab;

/* path NULL or "-" means stdout. ts_base_ns: timestamps print relative to it. */
struct live_writer *live_writer__open(const char *path, const struct tb_owner *owner,
				      uint64_t ts_base_ns);
/* Shows only what the filter lets through; lost events always pass. */
void live_writer__set_filter(struct live_writer *w, const struct tb_live_filter *f);
/* At most lines_per_s lines a second, the rest folded; 0: every line. A terminal starts at LIVE_TTY_LINES. */
/* Each allocator row then ends with its call site, " at function (file:line)" (stacktab.h). */
void live_writer__set_stacks(struct live_writer *w, struct stacktab *stacks);
void live_writer__set_limit(struct live_writer *w, unsigned lines_per_s);
/* Ctrl-C: a view on a terminal writes nothing more, not even what it holds; a file stays complete. */
void live_writer__stop(struct live_writer *w);
/* The same as soon as *flag is non-zero (a signal handler's), looked at before every write. */
void live_writer__stop_on(struct live_writer *w, const volatile sig_atomic_t *flag);
int live_writer__write(struct live_writer *w, const struct tb_event *e);
int live_writer__flush(struct live_writer *w);
int live_writer__close(struct live_writer *w);

/* Copies src into dst with every byte that is not printable ASCII shown as \xNN; returns length. */
size_t live_escape(char *dst, size_t cap, const char *src);

#endif
