// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report_files.c: one dispatcher of the end-of-run reports for the live run and `tlsbpf analyze`. */
#include <string.h>
#include <unistd.h>
#include "report_files.h"

void report_files__init(struct report_files *rf)
{
	for (int i = 0; i < TB_MAX_REPORTS; i++)
		rf->fd[i] = -1;
}

int report_files__open(struct report_files *rf, const struct env *env,
		       const struct tb_owner *owner)
{
	for (int i = 0; env_outputs[i].option && i < TB_MAX_REPORTS; i++) {
		const char *path = env__output_path(env, &env_outputs[i]);

		if (!env_outputs[i].report || !path)
			continue;
		rf->fd[i] = outfile__open(path, owner);
		if (rf->fd[i] < 0)
			return rf->fd[i];
	}
	return 0;
}

/* stdout is data, so a failed write there fails the run; stderr's report is a courtesy. */
static int write_text(const struct correlator *c, const struct tb_run_info *run, FILE *text)
{
	if (text == stderr)
		return report__text(c, run, stderr);
	fflush(text);
	return report__to_fd(dup(fileno(text)), report__text, c, run);
}

int report_files__write(struct report_files *rf, const struct env *env,
			const struct correlator *c, const struct tb_run_info *run, FILE *text)
{
	bool default_text = !env->summary_path && !env->summary_json_path;
	bool on_stderr = default_text && text == stderr;
	int err = 0, e;

	if (default_text)
		err = write_text(c, run, text);
	for (int i = 0; env_outputs[i].option && i < TB_MAX_REPORTS; i++) {
		if (rf->fd[i] < 0)
			continue;
		e = report__to_fd(rf->fd[i], env_outputs[i].report, c, run);
		rf->fd[i] = -1;
		if (!e)
			continue;
		fprintf(stderr, "tlsbpf: cannot write the report to '%s': %s%s\n",
			env__output_path(env, &env_outputs[i]), strerror(-e),
			on_stderr ? "" : "; the report follows on stderr");
		if (!on_stderr)
			report__text(c, run, stderr);
		/* analyze has always repeated it after each failed file: kept so, for now */
		on_stderr = text == stderr;
		err = err ? err : e;
	}
	return err;
}

void report_files__close(struct report_files *rf)
{
	for (int i = 0; i < TB_MAX_REPORTS; i++) {
		if (rf->fd[i] >= 0)
			close(rf->fd[i]);
		rf->fd[i] = -1;
	}
}
