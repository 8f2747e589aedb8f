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
#include "history.h"
#include "stacks.h"
#include "stacktab.h"
#include "sites.h"

struct pipeline {
	struct correlator *corr;
	struct report_files reports;	/* opened first, written at the end */
	struct tb_output out[TB_MAX_SINKS];	/* written in order, every event */
	unsigned nout;
	struct tb_history *history;	/* every block's life, when a picture is asked for */
	struct live_writer *live;	/* also out's: for what only the live view takes */
	struct stacktab *stab;	/* the run's canonical stacks (stacktab.h), or NULL: --no-stacks */
	struct stacks *stacks;	/* the probes' stack table (stacks.h): live runs with stacks */
	struct sites *sites;	/* what each stack allocated, with stab */
	struct tb_output *stacks_out;	/* also out's: the stacks file beside the CSV, or NULL */
	struct unwind *unwind;	/* --stacks=dwarf: the samples' unwinder (unwind.h), else NULL */
	struct { uint32_t seq, id; } *sampled;	/* by seq: each recent sample's stack id */
	uint64_t sample_unmatched;	/* calls whose sample never came, or came too long before */
	uint64_t sample_failed;	/* calls whose sample gave no frame (its process's mappings unknown) */
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
/* --stacks=dwarf: a ring-buffer record as it arrives, long before its turn (unwind__peek). */
void pipeline__peek(struct pipeline *p, const void *rec, size_t len);
/* --stacks=dwarf: a sample record (struct tb_rec_sample), unwound now, its call's row to come. */
void pipeline__sample(struct pipeline *p, const void *rec, size_t len);
/* Where the rows' stacks are read from once the probes are loaded (the stacks file's source). */
void pipeline__set_stacks(struct pipeline *p, struct stacks *s);
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
