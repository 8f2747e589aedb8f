// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* analyze.c: replay a CSV through the correlator and print the same report a live run prints. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "analyze.h"
#include "correlate.h"
#include "model.h"
#include "csv.h"
#include "outfile.h"
#include "report_files.h"

static int replay(struct csv_reader *r, struct correlator *c, struct tb_run_info *run)
{
	struct tb_event e;
	uint64_t first = 0, last = 0;
	int n;

	while ((n = csv_reader__next(r, &e)) == 1) {
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

int analyze__main(const struct env *env)
{
	struct tb_run_info run = {};
	struct correlator *c;
	struct tb_owner owner = outfile__caller();	/* under sudo, the files are the caller's */
	struct report_files reports;
	struct csv_reader *r;
	int n, err;
	char what[1024];

	report_files__init(&reports);
	err = report_files__open(&reports, env, &owner);
	r = err ? NULL : csv_reader__open(env->argv[0]);
	if (!r) {
		if (!err)
			fprintf(stderr, "tlsbpf: cannot read '%s': %s\n", env->argv[0], strerror(errno));
		report_files__close(&reports);
		return 1;
	}
	c = correlator__new();
	if (!c) {
		fprintf(stderr, "tlsbpf: cannot make the model: %s\n", strerror(ENOMEM));
		csv_reader__close(r);
		report_files__close(&reports);
		return 1;
	}
	snprintf(what, sizeof(what), "analyze %s", env->argv[0]);
	run.command = what;
	run.top = env->top;
	n = replay(r, c, &run);
	run_facts(c, &run);
	if (n < 0)
		fprintf(stderr, "tlsbpf: %s: %s\n", env->argv[0], csv_reader__error(r));
	else
		err = report_files__write(&reports, env, c, &run, stdout);
	report_files__close(&reports);
	correlator__free(c);
	csv_reader__close(r);
	return n < 0 || err ? 1 : 0;
}
