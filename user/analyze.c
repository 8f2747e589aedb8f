// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* analyze.c: replay a CSV through the correlator and print the same report a live run prints. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "analyze.h"
#include "correlate.h"
#include "model.h"
#include "csv.h"
#include "outfile.h"
#include "report_files.h"
#include "history.h"
#include "html_sites.h"
#include "stacks_read.h"
#include "sites.h"
#include "stacks_write.h"

/* The stacks file beside the CSV, when there is one; the rows' stack_ids are checked against it. */
struct stack_check {
	struct stacktab *tab;	/* NULL: no stacks file */
	struct sites *sites;	/* what each stack allocated, with tab */
	char path[4096];
	const char *csv;
	bool failed;
};

static int stacks_load(struct stack_check *sc, const char *csv)
{
	char err[4096 + 256];

	sc->csv = csv;
	if (!strcmp(csv, "-"))
		return 0;
	stacks_file__path(csv, sc->path, sizeof(sc->path));
	if (access(sc->path, F_OK))
		return 0;
	sc->tab = stacktab__new(NULL);
	if (!sc->tab) {
		fprintf(stderr, "tlsbpf: cannot make the stack table: %s\n", strerror(errno));
		return -1;
	}
	if (stacks_file__read(sc->path, sc->tab, err, sizeof(err))) {
		fprintf(stderr, "tlsbpf: %s\n", err);
		return -1;
	}
	sc->sites = sites__new();
	if (!sc->sites) {
		fprintf(stderr, "tlsbpf: cannot count the sites: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* A row naming a stack the stacks file does not hold: the files do not belong together. */
static bool stack_known(struct stack_check *sc, const struct csv_reader *r, uint32_t id)
{
	/* a CSV read from stdin has no file beside it: its ids are left unnamed */
	if (!id || !sc->path[0] || (sc->tab && id <= stacktab__count(sc->tab)))
		return true;
	if (sc->tab)
		fprintf(stderr, "tlsbpf: %s: line %" PRIu64 ": stack_id %u is not in %s\n", sc->csv,
			csv_reader__line(r), id, sc->path);
	else
		fprintf(stderr, "tlsbpf: %s: line %" PRIu64 ": stack_id %u, but there is no stacks "
			"file %s\n", sc->csv, csv_reader__line(r), id, sc->path);
	sc->failed = true;
	return false;
}

static int replay(struct csv_reader *r, struct correlator *c, struct tb_history *h,
		  struct tb_run_info *run, struct stack_check *sc)
{
	struct tb_event e;
	uint64_t first = 0, last = 0;
	int n;

	while ((n = csv_reader__next(r, &e)) == 1) {
		if (!stack_known(sc, r, e.stack_id))
			return -1;
		run->stacks.missing += sc->tab && tb_ev_is_alloc(e.type) && !e.stack_id;
		/*
		 * The correlation columns are recomputed, never trusted: the correlator
		 * keeps of the flags only the probes' facts (a failed call, the
		 * library's own re-free, ...). The region columns stay: it takes from
		 * them only the heap and arenas of a process seen from the middle of its
		 * life, which the live run read from /proc and no other row carries.
		 */
		if (e.type != TB_EV_FORK && e.type != TB_EV_THREAD)
			e.origin_pid = e.origin_tid = 0;
		if (e.type == TB_EV_LOST)
			run->lost += e.size;
		if ((e.flags & TB_F_SAMPLED) && !run->sample_every)
			run->sample_every = 1;
		if (!first)
			first = e.ts_ns;
		last = e.ts_ns > last ? e.ts_ns : last;
		run->events++;
		correlator__process(c, &e);
		sites__event(run->sites ? sc->sites : NULL, &e);
		if (h)
			history__add(h, &e);
	}
	run->duration_ns = last - first;
	return n;
}

/*
 * What the live run knew of itself, as far as the rows tell: a launched
 * command's first row is its exec, and every other process descends from it,
 * so its exit row is the command's status. A first process seen in the middle
 * of its life, or several roots, is -p or -a: attach mode.
 */
static void run_facts(const struct correlator *c, struct tb_run_info *run)
{
	const struct tb_process *first = c->nprocs ? c->procs[0] : NULL;
	uint32_t roots = 0;

	for (uint32_t i = 0; i < c->nprocs; i++)
		roots += c->procs[i]->parent == TB_NONE;
	if (!first)
		return;
	if (first->attached || roots > 1) {
		run->attached = 1;
		return;
	}
	if (first->exited && first->exit_status >= 0) {
		run->have_status = 1;
		run->exit_status = first->exit_status;
	}
}

/* The pictures' frame labels, from the stacks file's table; NULL when no picture or no stacks. */
static struct tb_sites *picture_labels(const struct env *env, struct stacktab *tab)
{
	struct tb_sites *labels;

	if ((!env->html_path && !env->perfetto_path && !env->report_md_path) || !tab)
		return NULL;
	labels = html_sites__new();
	if (labels && html_sites__from_tab(labels, tab)) {
		html_sites__free(labels);
		labels = NULL;
	}
	if (!labels)
		fprintf(stderr, "tlsbpf: the pictures' sites are left unnamed: %s\n", strerror(ENOMEM));
	return labels;
}

int analyze__main(const struct env *env)
{
	struct tb_run_info run = {};
	struct correlator *c;
	struct tb_history *h = NULL;
	struct tb_sites *labels = NULL;
	struct tb_owner owner = outfile__caller();	/* under sudo, the files are the caller's */
	struct report_files reports;
	struct csv_reader *r;
	struct stack_check sc = { 0 };
	int n, err;
	char what[1024];

	report_files__init(&reports);
	err = report_files__open(&reports, env, &owner);
	r = err ? NULL : csv_reader__open(env->argv[0]);
	if (r && stacks_load(&sc, env->argv[0])) {
		csv_reader__close(r);
		r = NULL;
		err = 1;
	}
	if (!r) {
		stacktab__free(sc.tab);
		sites__free(sc.sites);
		if (!err)
			fprintf(stderr, "tlsbpf: cannot read '%s': %s\n", env->argv[0], strerror(errno));
		report_files__close(&reports);
		return 1;
	}
	c = correlator__new();
	if (c && (env->html_path || env->perfetto_path || env->report_md_path) &&
	    !(h = history__new())) {
		correlator__free(c);
		c = NULL;
	}
	if (!c) {
		fprintf(stderr, "tlsbpf: cannot make the model: %s\n", strerror(ENOMEM));
		csv_reader__close(r);
		stacktab__free(sc.tab);
		sites__free(sc.sites);
		report_files__close(&reports);
		return 1;
	}
	snprintf(what, sizeof(what), "analyze %s", env->argv[0]);
	run.command = what;
	run.top = env->top;
	run.history = h;
	run.stacks.on = sc.tab != NULL;
	run.sites = sc.sites;
	run.labels = labels = picture_labels(env, sc.tab);
	run.stack_tab = sc.tab;
	stacktab__counts(sc.tab, &run.stacks.kept, &run.stacks.truncated);
	n = replay(r, c, h, &run, &sc);
	run_facts(c, &run);
	if (n < 0 && sc.failed)
		;	/* said */
	else if (n < 0)
		fprintf(stderr, "tlsbpf: %s: %s\n", env->argv[0], csv_reader__error(r));
	else {
		sites__take_live(sc.sites, c);
		err = report_files__write(&reports, env, c, &run, stdout);
	}
	if (sites__nomem(sc.sites))
		fprintf(stderr, "tlsbpf: %" PRIu64 " allocator rows are missing from the sites: "
			"out of memory\n", sites__nomem(sc.sites));
	report_files__close(&reports);
	correlator__free(c);
	history__free(h);
	html_sites__free(labels);
	csv_reader__close(r);
	stacktab__free(sc.tab);
	sites__free(sc.sites);
	return n < 0 || err ? 1 : 0;
}
