// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pipeline.c: the one-way path after decoding: correlate, then CSV and live view; the report at the end. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pipeline.h"

int pipeline__open(struct pipeline *p, const struct env *env, const struct tb_owner *owner,
		   bool live_view, uint64_t ts_base_ns)
{
	memset(p, 0, sizeof(*p));
	p->corr = correlator__new();
	if (!p->corr)
		return -ENOMEM;
	if (env->csv_path) {
		p->csv = csv_writer__open(env->csv_path, owner);
		if (!p->csv)
			return -errno;
	}
	if (live_view) {
		p->live = live_writer__open(env->live_path, owner, ts_base_ns);
		if (!p->live)
			return -errno;
	}
	return 0;
}

void pipeline__event(struct pipeline *p, struct tb_event *e)
{
	/* a rename names a thread for the model and the live view; it is no CSV row */
	if (e->type != TB_EV_COMM)
		e->seq = ++p->seq;
	p->last_ts = e->ts_ns;
	correlator__process(p->corr, e);
	if (e->type == TB_EV_EXEC) {
		if (p->nexecs < sizeof(p->execs) / sizeof(p->execs[0])) {
			p->execs[p->nexecs].pid = e->pid;
			p->execs[p->nexecs++].ts_ns = e->ts_ns;
		} else {
			p->execs_unchecked++;
		}
	} else if (e->type == TB_EV_LOST) {
		p->lost += e->size;
	}
	if (p->csv)
		csv_writer__write(p->csv, e);
	if (p->live)
		live_writer__write(p->live, e);
}

void pipeline__lost(struct pipeline *p, uint64_t n)
{
	struct tb_event e;

	tb_event_lost(&e, p->last_ts, n);
	pipeline__event(p, &e);
}

void pipeline__flush(struct pipeline *p)
{
	if (p->live)
		live_writer__flush(p->live);
}

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_MD };

static int report_to(const char *path, const struct tb_owner *owner, const struct correlator *c,
		     const struct tb_run_info *run, enum report_format fmt)
{
	FILE *f = stderr;
	int fd, err;

	if (path) {
		fd = outfile__open(path, owner);
		if (fd < 0)
			return fd;
		f = fdopen(fd, "w");
		if (!f) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	err = fmt == REPORT_JSON ? report__json(c, run, f)
	      : fmt == REPORT_MD ? report__markdown(c, run, f)
				 : report__text(c, run, f);
	if (fflush(f) && !err)
		err = -errno;
	if (f != stderr && fclose(f) && !err)
		err = -errno;
	if (err)
		fprintf(stderr, "tlsbpf: cannot write the report to '%s': %s\n",
			path ? path : "stderr", strerror(-err));
	return err;
}

int pipeline__report(struct pipeline *p, const struct env *env, const struct tb_owner *owner,
		     const struct tb_run_info *info)
{
	struct tb_run_info r = *info, *run = &r;
	int err = 0, e;

	r.top = env->top;

	if (env->summary_path || !env->summary_json_path)
		err = report_to(env->summary_path, owner, p->corr, run, REPORT_TEXT);
	if (env->summary_json_path) {
		e = report_to(env->summary_json_path, owner, p->corr, run, REPORT_JSON);
		err = err ? err : e;
	}
	if (env->report_md_path) {
		e = report_to(env->report_md_path, owner, p->corr, run, REPORT_MD);
		err = err ? err : e;
	}
	return err;
}

int pipeline__close_outputs(struct pipeline *p)
{
	int err = 0, e;

	if (p->csv) {
		e = csv_writer__close(p->csv);
		if (e)
			fprintf(stderr, "tlsbpf: writing the CSV failed: %s\n", strerror(-e));
		err = e;
		p->csv = NULL;
	}
	if (p->live) {
		e = live_writer__close(p->live);
		err = err ? err : e;
		p->live = NULL;
	}
	return err;
}

int pipeline__close(struct pipeline *p)
{
	int err = pipeline__close_outputs(p);

	correlator__free(p->corr);
	memset(p, 0, sizeof(*p));
	return err;
}
