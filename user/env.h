/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* env.h: the command line, parsed once into one struct every module reads. */
#ifndef TB_ENV_H
#define TB_ENV_H

#include <stdbool.h>
#include <sys/types.h>

#define TB_MAX_USER_LIBS 16
#define TB_MAX_COMMS 8
#define TB_MAX_PID_LISTS 16
#define TB_TOP_DEFAULT 20	/* --top when not given */

struct env {
	bool verbose;
	bool quiet;		/* no live view */
	bool as_root;		/* under sudo, keep root for the command */
	unsigned sample;	/* --sample N: one allocation call in N; 0 or 1 = all */
	bool confine;		/* --confine: probe a private copy of the command's C library */
	bool probe_at_entry;	/* --probe-at-entry: no moving probes past single-stepped instructions */
	bool empty_probes;	/* benchmark floor: probes attached, programs return at once */
	bool analyze;		/* `tlsbpf analyze FILE.csv` */
	const char *user;	/* -u: run the command as this user */
	const char *live_path;	/* -o: live view to a file instead of stdout */
	const char *csv_path;	/* --csv; "-" is stdout */
	const char *summary_path;	/* --summary; default stderr */
	const char *summary_json_path;
	const char *report_md_path;	/* --report: a lab report skeleton in Markdown */
	unsigned top;		/* --top N: entries per list in the text and Markdown reports; 0 = all */
	const char *libs[TB_MAX_USER_LIBS];	/* --lib, probed besides the command's own */
	int nlibs;
	unsigned ringbuf_mb;
	const char *pid_lists[TB_MAX_PID_LISTS];	/* -p, each "PID[,PID...]" */
	int npid_lists;
	bool all;		/* -a: every process on the machine */
	const char *comms[TB_MAX_COMMS];	/* --comm: with -a, only these names */
	int ncomms;
	bool live;		/* --live: one line per event even with -a */
	unsigned duration_s;	/* --duration: stop after this long; 0 = no limit */
	char **argv;		/* the command and its arguments, or analyze's files */
	int argc;
};

/* 0 on success; 1 when --help/--version printed and the caller should exit 0; <0 on a usage error (already reported). */
int env__parse(struct env *env, int argc, char **argv);

#endif
