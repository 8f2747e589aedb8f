// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pipeline.c: the one-way path after decoding: correlate, then CSV and live view; the report at the end. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pipeline.h"

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
	if (env->live)
		live_writer__set_limit(p->live, 0);
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
	err = report_files__open(&p->reports, env, owner);
	if (err)
		return err;
	if (env->csv_path) {
		struct csv_writer *csv = csv_writer__open(env->csv_path, owner);

		if (!csv)
			return -errno;
		p->out[p->nout++] = (struct tb_output){ "the CSV", csv, csv_write, NULL, csv_close };
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
	correlator__process(p->corr, e);
	if (e->type == TB_EV_EXEC) {
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
	memset(p, 0, sizeof(*p));
	return err;
}
