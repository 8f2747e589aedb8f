// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report_files.c: one dispatcher of the end-of-run reports for the live run and `tlsbpf analyze`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report_files.h"

static const char *const svg_suffix[2] = { ".map.svg", ".live.svg" };

void report_files__init(struct report_files *rf)
{
	for (int i = 0; i < TB_MAX_REPORTS; i++)
		rf->fd[i] = -1;
	for (int i = 0; i < 2; i++) {
		rf->svg_fd[i] = -1;
		rf->svg_path[i] = NULL;
	}
}

/* lab.md -> lab.map.svg and lab.live.svg beside it, opened now as every output is. */
static int open_pictures(struct report_files *rf, const char *md, const struct tb_owner *owner)
{
	size_t len = strlen(md);

	if (len > 3 && !strcmp(md + len - 3, ".md"))
		len -= 3;
	for (int i = 0; i < 2; i++) {
		if (asprintf(&rf->svg_path[i], "%.*s%s", (int)len, md, svg_suffix[i]) < 0) {
			rf->svg_path[i] = NULL;
			return -ENOMEM;
		}
		rf->svg_fd[i] = outfile__open(rf->svg_path[i], owner);
		if (rf->svg_fd[i] < 0)
			return rf->svg_fd[i];
	}
	return 0;
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
	if (env->report_md_path && strcmp(env->report_md_path, "-"))
		return open_pictures(rf, env->report_md_path, owner);
	return 0;
}

static int svg_map(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	return html_svg_map(c, run->history, run->labels, out);
}

static int svg_live(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	return html_svg_live(c, run->history, out);
}

/* The report names its pictures by their file names, which sit beside it. */
static void name_pictures(const struct report_files *rf, struct tb_run_info *run)
{
	for (int i = 0; i < 2; i++) {
		const char *slash = rf->svg_path[i] ? strrchr(rf->svg_path[i], '/') : NULL;

		run->pictures[i] = rf->svg_fd[i] < 0 || !run->history ? NULL
				   : slash ? slash + 1 : rf->svg_path[i];
	}
}

static int write_pictures(struct report_files *rf, const struct correlator *c,
			  const struct tb_run_info *run)
{
	report_fn fn[2] = { svg_map, svg_live };
	int err = 0, e;

	for (int i = 0; i < 2; i++) {
		if (rf->svg_fd[i] < 0 || !run->history)
			continue;
		e = report__to_fd(rf->svg_fd[i], fn[i], c, run);
		rf->svg_fd[i] = -1;
		if (e)
			fprintf(stderr, "tlsbpf: cannot write '%s': %s\n", rf->svg_path[i], strerror(-e));
		err = err ? err : e;
	}
	return err;
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
			const struct correlator *c, const struct tb_run_info *info, FILE *text)
{
	bool default_text = !env->summary_path && !env->summary_json_path;
	bool on_stderr = default_text && text == stderr;
	struct tb_run_info named = *info, *run = &named;
	int err = 0, e;

	name_pictures(rf, run);

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
	e = write_pictures(rf, c, run);
	return err ? err : e;
}

void report_files__close(struct report_files *rf)
{
	for (int i = 0; i < TB_MAX_REPORTS; i++) {
		if (rf->fd[i] >= 0)
			close(rf->fd[i]);
		rf->fd[i] = -1;
	}
	for (int i = 0; i < 2; i++) {
		if (rf->svg_fd[i] >= 0)
			close(rf->svg_fd[i]);
		rf->svg_fd[i] = -1;
		free(rf->svg_path[i]);
		rf->svg_path[i] = NULL;
	}
}
