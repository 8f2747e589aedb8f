// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_report.c: libFuzzer entry for what `tlsbpf analyze` does with a CSV it
 * accepts: every row through the correlator, then the text, JSON and markdown
 * reports. Nothing may crash, and the model's cross-process references (a
 * vfork or CLONE_VM child's arenas are its parent's) must resolve.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iuser -Iuser/out -Ibpf \
 *	-o fuzz_report tests/fuzz/fuzz_report.c user/event.c user/idmap.c user/tables.c \
 *	user/registry.c user/arena.c user/forkexec.c user/correlate.c user/out/csv_write.c \
 *	user/out/csv_read.c user/out/outfile.c user/out/report.c user/out/report_md.c
 *   ./fuzz_report -max_total_time=60 CORPUS_DIR
 *
 * A corpus to start from: the CSVs tests/unit/test_replay writes, or any
 * `tlsbpf --csv` file of a program that vforks.
 */
#include <stdio.h>
#include <stdlib.h>
#include "correlate.h"
#include "csv.h"
#include "model.h"
#include "report.h"

static FILE *sink;

static void check_model(const struct correlator *c)
{
	for (uint32_t i = 0; i < c->nthreads; i++) {
		const struct tb_thread *t = c->threads[i];

		for (uint32_t k = 0; k < t->narenas; k++)
			if (!model_thread_arena(c, t, k, NULL))
				abort();	/* a thread's arena in no process */
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct csv_reader *r = csv_reader__open_mem((const char *)data, size);
	struct tb_run_info run = { .command = "fuzz" };
	struct correlator *c = correlator__new();
	struct tb_event e;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (!r || !c || !sink)
		abort();
	while (csv_reader__next(r, &e) == 1) {
		/* as analyze replays a row: origins are recomputed */
		if (e.type != TB_EV_FORK && e.type != TB_EV_THREAD)
			e.origin_pid = e.origin_tid = 0;
		correlator__process(c, &e);
	}
	check_model(c);
	if (report__text(c, &run, sink) || report__json(c, &run, sink) ||
	    report__markdown(c, &run, sink))
		abort();
	correlator__free(c);
	csv_reader__close(r);
	return 0;
}
