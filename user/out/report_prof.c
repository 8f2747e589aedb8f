// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * report_prof.c: the end-of-run profiles, --pprof (allocated and live-at-the-end counts and
 * bytes per stack, by process and thread) and --folded (bytes allocated per stack), made from
 * the allocation sites and the stacks' names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "folded.h"
#include "model.h"
#include "pprof.h"
#include "report.h"
#include "sites.h"
#include "stacktab.h"

#define MAX_PROF_FRAMES (TB_MAX_STACK * 16)	/* frames with their inline levels */

/* Stack id's frames as the profile writers take them: each address, then its inline levels. */
static int prof_frames(struct stacktab *t, uint32_t id, struct prof_frame *out)
{
	const struct stacktab_stack *st = stacktab__get(t, id);
	int n = 0;

	for (int i = 0; st && i < st->nr; i++) {
		const struct stacktab_frame *f = &st->frames[i];
		struct sym_result r;
		struct prof_frame base = { f->module ? f->module : "[unknown]", f->build_id,
					   f->offset, NULL, NULL, 0, 0 };

		if (stacktab__names(t, id, i, &r))
			r.n = 0;
		if (!r.n && n < MAX_PROF_FRAMES)
			out[n++] = base;
		for (int k = 0; k < r.n && n < MAX_PROF_FRAMES; k++) {
			out[n] = base;
			out[n].function = r.lines[k].function;
			out[n].file = r.lines[k].file;
			out[n].line = r.lines[k].line;
			out[n++].inline_depth = k;
		}
	}
	if (!n) {	/* a row without a stack still counts, under one frame that says so */
		out[0] = (struct prof_frame){ "[no stack]", NULL, 0, "[no stack]", NULL, 0, 0 };
		n = 1;
	}
	return n;
}

static const struct tb_thread *thread_of(const struct correlator *c, uint32_t pid, uint32_t tid)
{
	const struct tb_thread *found = NULL;

	for (uint32_t i = 0; i < c->nthreads; i++)
		if (c->threads[i]->pid == pid && c->threads[i]->tid == tid)
			found = c->threads[i];	/* the last image's, after an exec */
	return found;
}

struct prof_ctx {
	const struct correlator *c;
	const struct tb_run_info *run;
	struct pprof_writer *pprof;
	struct folded *folded;
	struct prof_frame *frames;
	int err;
};

static void add_site(void *arg, uint32_t stack, uint32_t pid, uint32_t tid,
		     const struct site_stats *st)
{
	struct prof_ctx *x = arg;
	int n = prof_frames(x->run->stack_tab, stack, x->frames), err = 0;

	if (x->pprof) {
		const struct tb_thread *t = thread_of(x->c, pid, tid);
		const struct tb_process *p = t ? x->c->procs[t->proc] : NULL;
		struct pprof_labels l = { pid, tid, p ? p->comm : NULL, t ? t->comm : NULL };
		int64_t v[PPROF_NVALUES] = { st->blocks, st->bytes, st->live_blocks, st->live_bytes };

		err = pprof__add_sample(x->pprof, x->frames, n, v, &l);
	} else if (st->bytes) {
		err = folded__add(x->folded, x->frames, n, st->bytes);
	}
	x->err = x->err ?: err;
}

static int each_site(struct prof_ctx *x)
{
	x->frames = calloc(MAX_PROF_FRAMES, sizeof(*x->frames));
	if (!x->frames)
		return -ENOMEM;
	sites__each(x->run->sites, add_site, x);
	free(x->frames);
	return x->err;
}

int report__pprof(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	struct pprof_opts o = { .period = run->sample_every, .duration_nanos = run->duration_ns };
	struct prof_ctx x = { c, run };
	int err, fd;

	fflush(out);
	fd = dup(fileno(out));
	if (fd < 0)
		return -errno;
	x.pprof = pprof__begin_fd(fd, "the pprof profile", &o);
	if (!x.pprof)
		return -errno;
	err = each_site(&x);
	if (err) {
		pprof__discard(x.pprof);
		return err;
	}
	return pprof__end(x.pprof);
}

int report__folded(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	struct prof_ctx x = { c, run, NULL, folded__new(0) };
	int err;

	if (!x.folded)
		return -ENOMEM;
	err = each_site(&x) ?: folded__write_to(x.folded, out);
	folded__free(x.folded);
	return err;
}
