/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* env.h: the command line, parsed once into one struct every module reads. */
#ifndef TB_ENV_H
#define TB_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "live.h"
#include "report.h"

#define TB_MAX_USER_LIBS 16
#define TB_MAX_COMMS 8
#define TB_MAX_PID_LISTS 16
#define TB_TOP_DEFAULT 20	/* --top when not given */

struct env {
	bool verbose;
	bool quiet;		/* no live view */
	bool as_root;		/* under sudo, keep root for the command */
	unsigned sample;	/* --sample N: one allocation call in N; 0 or 1 = all */
	bool sample_by_time;	/* --sample-by time: the probes on 1/N of the time, not 1 call in N */
	unsigned sample_window_ms;	/* --sample-window: how long each time the probes are on */
	bool confine;		/* --confine: a private copy of the command's C library, or refuse */
	bool no_confine;	/* --no-confine: probe the library file even where a copy would do */
	bool per_process;	/* -p: probes placed in the watched processes (not an option) */
	unsigned pages;		/* --pages: enum tb_pages_mode (bpf/tlsbpf.h) */
	bool probe_at_entry;	/* --probe-at-entry: no moving probes past single-stepped instructions */
	bool debuginfod;	/* --debuginfod: symbols may be fetched from DEBUGINFOD_URLS' servers */
	unsigned stack_depth;	/* --stack-depth: frames kept per call stack; 0 (--no-stacks): none */
	bool stack_depth_given;	/* --stack-depth or --no-stacks said so: no default to choose */
	unsigned stacks_mode;	/* --stacks: enum tb_stacks_mode (bpf/tlsbpf.h) */
	bool no_free_stacks;	/* --no-free-stacks: stacks of allocations only */
	bool empty_probes;	/* benchmark floor: probes attached, programs return at once */
	bool analyze;		/* `tlsbpf analyze FILE.csv` */
	const char *user;	/* -u: run the command as this user */
	const char *live_path;	/* -o: live view to a file instead of stdout */
	const char *csv_path;	/* --csv; "-" is stdout */
	const char *json_lines_path;	/* --json-lines: the CSV's rows as JSON; "-" is stdout */
	const char *summary_path;	/* --summary; default stderr */
	const char *summary_json_path;
	const char *report_md_path;	/* --report: a lab report skeleton in Markdown */
	const char *html_path;	/* --html: one self-contained page of pictures */
	const char *pprof_path;		/* --pprof: allocated and live bytes per stack, profile.proto */
	const char *folded_path;	/* --folded: bytes allocated per stack, folded stacks */
	const char *perfetto_path;	/* --perfetto: the history as a Perfetto trace */
	unsigned top;		/* --top N: entries per list in the text and Markdown reports; 0 = all */
	const char *libs[TB_MAX_USER_LIBS];	/* --lib, probed besides the command's own */
	int nlibs;
	unsigned ringbuf_mb;
	const char *pid_lists[TB_MAX_PID_LISTS];	/* -p, each "PID[,PID...]" */
	int npid_lists;
	bool all;		/* -a: every process on the machine */
	const char *comms[TB_MAX_COMMS];	/* --comm: with -a, only these names */
	int ncomms;
	bool live;		/* --live: every event a line, with -a and on a terminal too */
	struct tb_live_filter filter;	/* --events, --filter-pid, --filter-tid: what the live view shows */
	unsigned duration_s;	/* --duration: stop after this long; 0 = no limit */
	char **argv;		/* the command and its arguments, or analyze's files */
	int argc;
};

typedef int (*env_report_fn)(const struct correlator *c, const struct tb_run_info *run, FILE *f);

/*
 * Every option that names an output file, one row each: all of them are opened
 * before the command starts, so a bad path fails first. A row with a report
 * function is an end-of-run report; one without is a stream its writer opens.
 */
struct env_output {
	const char *option;
	size_t field;		/* offsetof(struct env, the path) */
	env_report_fn report;
};

extern const struct env_output env_outputs[];

/* The path the output row names, or NULL when the option was not given. */
const char *env__output_path(const struct env *env, const struct env_output *o);
/* The option of an output other than the live view that writes to stdout ('-'), or NULL. */
const char *env__stdout_output(const struct env *env);

/* 0 on success; 1 when --help/--version printed and the caller should exit 0; <0 on a usage error (already reported). */
int env__parse(struct env *env, int argc, char **argv);

#endif
