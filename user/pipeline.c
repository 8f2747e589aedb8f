// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pipeline.c: the one-way path after decoding: correlate, then CSV and live view; the report at the end. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pipeline.h"
#include "stacks.h"
#include "stacks_write.h"
#include "stacktab.h"
#include "unwind.h"

/*
 * --stacks=dwarf: samples whose call's row has not come yet, by seq. A call's
 * row comes after its sample, mostly at once: only a call that lasts while
 * this many other samples come loses its stack (counted).
 */
#define SAMPLES_PENDING (1 << 16)

static int csv_write(void *w, const struct tb_event *e)
{
	return csv_writer__write(w, e);
}

static int csv_close(void *w)
{
	return csv_writer__close(w);
}

static int live_write(void *w, const struct tb_event *e)
{
	return live_writer__write(w, e);
}

static int live_flush(void *w)
{
	return live_writer__flush(w);
}

static int live_close(void *w)
{
	return live_writer__close(w);
}

static void live_open(struct pipeline *p, const struct env *env)
{
	live_writer__set_filter(p->live, &env->filter);
	live_writer__set_stacks(p->live, p->stab);
	if (env->live)
		live_writer__set_limit(p->live, 0);
}

/* The stacks file beside a CSV written to a file, when stacks are kept. */
static int stacks_open(struct pipeline *p, const struct env *env, const struct tb_owner *owner)
{
	char path[4096];
	int err;

	if (!p->stab || !strcmp(env->csv_path, "-"))
		return 0;
	stacks_file__path(env->csv_path, path, sizeof(path));
	err = stacks_output__open(&p->out[p->nout], path, owner);
	if (err)
		return err;
	p->stacks_out = &p->out[p->nout++];
	stacks_output__set_source(p->stacks_out, p->stab);
	return 0;
}

/* The run's canonical stacks, named by the symbolizer, when stacks are kept. */
static int stacktab_open(struct pipeline *p, const struct env *env)
{
	struct symbols_opts opts = { .debuginfod = env->debuginfod };

	if (!env->stack_depth)
		return 0;
	p->stab = stacktab__new(&opts);
	p->sites = p->stab ? sites__new() : NULL;
	if (!p->sites) {
		fprintf(stderr, "tlsbpf: cannot make the stack table: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* --stacks=dwarf: the unwinder, and where its stacks wait for their rows. */
static int unwind_open(struct pipeline *p, const struct env *env)
{
	if (!p->stab || env->stacks_mode != TB_STACKS_DWARF)
		return 0;
	p->unwind = unwind__new(env->stack_depth);
	p->sampled = p->unwind ? calloc(SAMPLES_PENDING, sizeof(*p->sampled)) : NULL;
	if (!p->sampled) {
		fprintf(stderr, "tlsbpf: cannot make the unwinder: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

void pipeline__sample(struct pipeline *p, const void *rec, size_t len)
{
	const struct tb_rec_sample *r = rec;
	struct stacktab_frame f[TB_MAX_STACK];
	uint16_t flags;
	uint32_t id = 0;
	int n;

	if (!p->unwind || len < sizeof(*r) || r->len > TB_SAMPLE_WINDOW)
		return;
	n = unwind__sample(p->unwind, r, f, &flags);
	if (n > 0)
		id = stacktab__add(p->stab, r->h.pid, flags, f, n);
	p->sampled[r->seq % SAMPLES_PENDING].seq = r->seq;
	p->sampled[r->seq % SAMPLES_PENDING].id = id;
}

void pipeline__peek(struct pipeline *p, const void *rec, size_t len)
{
	if (p->unwind)
		unwind__peek(p->unwind, rec, len);
}

/* The stack id of the sample a call's row names; 0 if it was never seen (counted). */
static uint32_t sample_take(struct pipeline *p, uint32_t stack_id)
{
	uint32_t seq = stack_id & TB_SAMPLE_SEQ_MASK, slot = seq % SAMPLES_PENDING, id;

	if (!p->sampled || p->sampled[slot].seq != seq) {
		p->sample_unmatched++;
		return 0;
	}
	if (!p->sampled[slot].id) {
		p->sample_failed++;
		return 0;
	}
	id = p->sampled[slot].id;
	p->sampled[slot].id = 0;
	return id;
}

void pipeline__set_stacks(struct pipeline *p, struct stacks *s)
{
	p->stacks = s;
	if (p->stab)
		stacktab__set_source(p->stab, s);
}

int pipeline__open(struct pipeline *p, const struct env *env, const struct tb_owner *owner,
		   bool live_view, uint64_t ts_base_ns)
{
	int err;

	memset(p, 0, sizeof(*p));
	report_files__init(&p->reports);
	p->corr = correlator__new();
	if (!p->corr) {
		fprintf(stderr, "tlsbpf: cannot make the model: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	err = report_files__open(&p->reports, env, owner) ?: stacktab_open(p, env) ?:
	      unwind_open(p, env);
	if (err)
		return err;
	if (env->html_path || env->perfetto_path || env->report_md_path) {
		p->history = history__new();
		if (!p->history) {
			fprintf(stderr, "tlsbpf: cannot keep the history: %s\n", strerror(ENOMEM));
			return -ENOMEM;
		}
	}
	if (env->csv_path) {
		struct csv_writer *csv = csv_writer__open(env->csv_path, owner);

		if (!csv)
			return -errno;
		p->out[p->nout++] = (struct tb_output){ "the CSV", csv, csv_write, NULL, csv_close };
		err = stacks_open(p, env, owner);
		if (err)
			return err;
	}
	if (env->json_lines_path) {
		err = jsonl_output__open(&p->out[p->nout], env->json_lines_path, owner);
		if (err)
			return err;
		p->nout++;
	}
	if (live_view) {
		p->live = live_writer__open(env->live_path, owner, ts_base_ns);
		if (!p->live)
			return -errno;
		p->out[p->nout++] = (struct tb_output){ "the live view", p->live, live_write,
							live_flush, live_close };
		live_open(p, env);
	}
	return 0;
}

void pipeline__event(struct pipeline *p, struct tb_event *e)
{
	/* a rename names a thread for the model and the live view; it is no CSV row */
	if (tb_ev_is_row(e->type))
		e->seq = ++p->seq;
	p->last_ts = e->ts_ns;
	/* the probes' id names a stack of one process image; the rows carry the run's own */
	if (e->stack_id & TB_STACK_SAMPLE)
		e->stack_id = sample_take(p, e->stack_id);
	else if (e->stack_id)
		e->stack_id = p->stab ? stacktab__canon(p->stab, e->stack_id) : 0;
	correlator__process(p->corr, e);
	sites__event(p->sites, e);
	if (p->history)
		history__add(p->history, e);
	if (e->type == TB_EV_EXEC) {
		/* while the image lives: its stacks keep its file if the path loses it */
		if (p->stacks) {
			char exe[32];

			snprintf(exe, sizeof(exe), "/proc/%u/exe", e->pid);
			stacks__hold_path(p->stacks, exe);
		}
		if (p->nexecs < sizeof(p->execs) / sizeof(p->execs[0])) {
			p->execs[p->nexecs].pid = e->pid;
			p->execs[p->nexecs].file = strndup(e->detail, sizeof(e->detail));
			p->execs[p->nexecs++].ts_ns = e->ts_ns;
		} else {
			p->execs_unchecked++;
		}
	} else if (e->type == TB_EV_EXIT) {
		if (p->nexits < sizeof(p->exits) / sizeof(p->exits[0]))
			p->exits[p->nexits++] = e->pid;
		else
			p->exits_unlisted = true;
	} else if (e->type == TB_EV_LOST) {
		p->lost += e->size;
	}
	for (unsigned i = 0; i < p->nout; i++)
		p->out[i].write(p->out[i].w, e);
}

void pipeline__lost(struct pipeline *p, uint64_t n)
{
	struct tb_event e;

	tb_event_lost(&e, p->last_ts, n);
	pipeline__event(p, &e);
}

void pipeline__flush(struct pipeline *p)
{
	for (unsigned i = 0; i < p->nout; i++)
		if (p->out[i].flush)
			p->out[i].flush(p->out[i].w);
}

void pipeline__stop_view_on(struct pipeline *p, const volatile sig_atomic_t *flag)
{
	if (p->live)
		live_writer__stop_on(p->live, flag);
}

int pipeline__report(struct pipeline *p, const struct env *env, const struct tb_run_info *info)
{
	struct tb_run_info run = *info;

	run.top = env->top;
	run.history = p->history;
	sites__take_live(p->sites, p->corr);
	run.sites = p->sites;
	run.stack_tab = p->stab;
	return report_files__write(&p->reports, env, p->corr, &run, stderr);
}

int pipeline__close_outputs(struct pipeline *p)
{
	int err = 0, e;

	for (unsigned i = 0; i < p->nout; i++) {
		e = p->out[i].close(p->out[i].w);
		if (e)
			fprintf(stderr, "tlsbpf: writing %s failed: %s\n", p->out[i].what, strerror(-e));
		err = err ? err : e;
	}
	p->nout = 0;
	p->live = NULL;
	p->stacks_out = NULL;
	return err;
}

int pipeline__close(struct pipeline *p)
{
	int err = pipeline__close_outputs(p);

	for (uint32_t i = 0; i < p->nexecs; i++)
		free(p->execs[i].file);

	/* no model: pipeline__open never ran (or failed before any file), and the fds are not ours */
	if (p->corr)
		report_files__close(&p->reports);

	correlator__free(p->corr);
	history__free(p->history);
	unwind__free(p->unwind);
	free(p->sampled);
	stacktab__free(p->stab);
	sites__free(p->sites);
	memset(p, 0, sizeof(*p));
	return err;
}
