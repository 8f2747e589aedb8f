/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pipeline.h: one event's way after decoding: number it, correlate it, write it to every output. */
#ifndef TB_PIPELINE_H
#define TB_PIPELINE_H

#include "correlate.h"
#include "csv.h"
#include "env.h"
#include "jsonl.h"
#include "live.h"
#include "output.h"
#include "report_files.h"

struct pipeline {
	struct correlator *corr;
	struct report_files reports;	/* opened first, written at the end */
	struct tb_output out[TB_MAX_SINKS];	/* written in order, every event */
	unsigned nout;
	struct live_writer *live;	/* also out's: for what only the live view takes */
	uint64_t seq;	/* rows so far */
	uint64_t lost;	/* events lost so far */
	uint64_t last_ts;
	/* execs since the session last looked: their new image may bring an allocator */
	struct { uint32_t pid; uint64_t ts_ns; char *file; } execs[1024];	/* file: strdup'd */
	uint32_t nexecs;
	uint64_t execs_unchecked;	/* execs that did not fit before the session looked */
	/* processes whose exit row came since the session last looked: to be closed */
	uint32_t exits[1024];
	uint32_t nexits;
	bool exits_unlisted;	/* more came than fit */
};

/* Opens every output the options name, before anything runs: a bad path fails early. */
int pipeline__open(struct pipeline *p, const struct env *env, const struct tb_owner *owner,
		   bool live_view, uint64_t ts_base_ns);
void pipeline__event(struct pipeline *p, struct tb_event *e);
/* N more events were lost; they become one `lost` row. */
void pipeline__lost(struct pipeline *p, uint64_t n);
void pipeline__flush(struct pipeline *p);
/* Writes the reports the options ask for into the files opened at the start (report_files.h). */
int pipeline__report(struct pipeline *p, const struct env *env, const struct tb_run_info *run);
/* Flushes and closes the CSV and live view; 0 or the first write error as -errno. */
int pipeline__close_outputs(struct pipeline *p);
/* A signal: the live view on a terminal stops as soon as *flag is set; files stay complete. */
void pipeline__stop_view_on(struct pipeline *p, const volatile sig_atomic_t *flag);
/* Closes what is still open and frees the model. */
int pipeline__close(struct pipeline *p);

#endif
