/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* report_files.h: the report files the options name, opened before the work and written after it. */
#ifndef TB_REPORT_FILES_H
#define TB_REPORT_FILES_H

#include <stdio.h>
#include "env.h"
#include "outfile.h"
#include "report.h"

#define TB_MAX_REPORTS 16

/* By env_outputs row; -1 where no file is open. */
struct report_files {
	int fd[TB_MAX_REPORTS];
	/* --report FILE.md's pictures beside it: FILE.map.svg, FILE.live.svg */
	int svg_fd[2];
	char *svg_path[2];
};

void report_files__init(struct report_files *rf);
/* Every report file the options name, so that a bad path fails before the run; -errno, said. */
int report_files__open(struct report_files *rf, const struct env *env,
		       const struct tb_owner *owner);
/*
 * Writes every report asked for; text gets the text report when no option
 * names a file for it (stderr for a live run, stdout for `tlsbpf analyze`).
 * A file that cannot be written is said in one line, and the text report then
 * goes to stderr, so what was collected is never lost.
 */
int report_files__write(struct report_files *rf, const struct env *env,
			const struct correlator *c, const struct tb_run_info *run, FILE *text);
void report_files__close(struct report_files *rf);

#endif
