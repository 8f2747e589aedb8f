/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* report.h: the end-of-run report, drawn from the correlator's model. */
#ifndef TB_REPORT_H
#define TB_REPORT_H

#include <stdio.h>
#include "correlate.h"

struct sites;
struct stacktab;

/* What the run was, as only the caller knows it. */
struct tb_run_info {
	const char *command;	/* the launched command line, or "pid 123", or "analyze FILE" */
	uint64_t duration_ns;	/* wall time watched */
	uint64_t events;	/* events received */
	uint64_t lost;		/* events lost (ring buffer full or map full) */
	int attached;		/* 1: processes existed before tlsbpf; their older blocks are not counted */
	int have_status;	/* 1: exit_status below is the launched command's */
	int exit_status;	/* 0..255, or 128+signal */
	unsigned sample_every;	/* --sample N; 1: sampled at a rate the caller does not know */
	uint64_t out_of_order;	/* records the merge met after a later one (CPU clocks disagreed) */
	unsigned top;		/* --top: entries shown per list in text and Markdown; 0 = all */
	const char *probes;	/* where the probes were and who paid their trap; NULL: unknown */
	/* --pages: every fault the kernel counted, row or not (enum tb_page_count); NULL: off */
	const uint64_t *page_counts;
	const struct tb_history *history;	/* every block's life, for the pictures; NULL if not kept */
	const struct tb_sites *labels;	/* each stack_id's frames named, for the pictures; NULL: none */
	const char *pictures[2];	/* --report: its map and chart SVG files, as it names them */
	const struct sites *sites;	/* what each stack allocated (sites.h); NULL: no stacks */
	struct stacktab *stack_tab;	/* the stacks and their names (stacktab.h); NULL: none */
	struct {
		int on;		/* stacks were kept (not --no-stacks, not analyze) */
		unsigned depth;	/* --stack-depth */
		uint64_t kept;	/* distinct stacks */
		uint64_t truncated;	/* ... whose walk stopped before the outermost frame */
		uint64_t missing;	/* rows that have no stack: the table was full, or unreadable */
	} stacks;
};

struct tb_process;
struct tb_history;
struct tb_sites;
struct tb_thread;

/* ---- shared by the text and Markdown reports ---- */

/* A process's or image's calls: what a line that stands for cut rows adds up. */
struct tb_proc_sums {
	uint64_t allocs, frees, bytes;
};

/*
 * Sets keep[i] for the `top` entries with the largest key (the earlier one on
 * a tie), and for every entry when top is 0 or n <= top. Returns how many.
 */
int report__pick(const uint64_t *key, uint32_t n, unsigned top, uint8_t *keep);
/* Calls of p's threads from..to (indices in p->threads; to is clamped). */
void report__proc_sums(const struct correlator *c, const struct tb_process *p, uint32_t from,
		       uint32_t to, struct tb_proc_sums *s);
/* Threads (tasks) seen: one that exec'd is one thread, though each image lists it. */
uint32_t report__tasks(const struct correlator *c);
/* One past the last of image k's threads in p->threads. */
uint32_t report__image_end(const struct tb_process *p, uint32_t k);
/* Most common positive distance between a thread's consecutive blocks; 0 when unknown. */
uint64_t report__thread_spacing(const struct tb_thread *t);

int report__text(const struct correlator *c, const struct tb_run_info *run, FILE *out);

/* Any of the reports: report__text, report__json, report__markdown. */
typedef int (*report_fn)(const struct correlator *c, const struct tb_run_info *run, FILE *out);

/* One report into fd, which is closed after; 0 or -errno. */
int report__to_fd(int fd, report_fn fn, const struct correlator *c, const struct tb_run_info *run);
int report__json(const struct correlator *c, const struct tb_run_info *run, FILE *out);
/* A lab report skeleton: what the run showed, in Markdown, with a layout diagram. */
int report__markdown(const struct correlator *c, const struct tb_run_info *run, FILE *out);
/* One self-contained HTML page of pictures; needs run->history (-EINVAL without). */
int report__html(const struct correlator *c, const struct tb_run_info *run, FILE *out);
/* The address-space map and live bytes per thread as standalone SVG files, for --report. */
int html_svg_map(const struct correlator *c, const struct tb_history *h,
		 const struct tb_sites *sites, FILE *out);
int html_svg_live(const struct correlator *c, const struct tb_history *h, FILE *out);
/* A Perfetto trace (protobuf TrackEvent) of the same history; needs run->history. */
int report__perfetto(const struct correlator *c, const struct tb_run_info *run, FILE *out);
/* Allocated and live-at-the-end blocks and bytes per stack, process and thread (pprof.h). */
int report__pprof(const struct correlator *c, const struct tb_run_info *run, FILE *out);
/* Bytes allocated per stack as folded stacks (folded.h). */
int report__folded(const struct correlator *c, const struct tb_run_info *run, FILE *out);

#endif
