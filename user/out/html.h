/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* html.h: what the page's parts (html.c, html_*.c) share; no other module includes it. */
#ifndef TB_HTML_H
#define TB_HTML_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "history.h"
#include "model.h"

#define HTML_W 1000		/* a band's and a chart's width in pixels */
#define HTML_BAND_H 24
#define HTML_GAP (1ULL << 20)	/* a band is split where its blocks leave this much unused */
#define HTML_MAX_BLOCKS 20000	/* drawn one by one with their times; more: only the live ones */
#define HTML_GRID_ROWS 32	/* address by time past HTML_MAX_BLOCKS: address bins of a band */
#define HTML_GRID_COLS 125	/* and time bins */
#define HTML_BUCKETS 400	/* points of a live-bytes line */
#define HTML_BUCKETS_TEXT "400"
#define HTML_LINES 12		/* lines per chart; the rest are counted */
#define HTML_MARKS 400		/* moments marked on a chart */
#define HTML_EDGE_MIN 4		/* pixels: a narrower block is drawn without its outline */
#define HTML_SVG_LABEL 400	/* a standalone map's label column */

struct tb_sites;

struct html_ctx {
	const struct correlator *c;
	const struct tb_history *h;
	const struct tb_sites *sites;	/* frame labels per stack_id; NULL: none known */
	FILE *out;
	bool all_drawn;		/* every block drawn with its times (else: the live ones) */
	bool svg;		/* a standalone SVG file (a lab report's), not the page */
	uint64_t undrawn;	/* live blocks past HTML_MAX_BLOCKS */
	uint64_t span;		/* last row - first row, ns */
	double y;		/* SVG: where the next band goes */
};

/* Sorted so each process's blocks are together, by region, arena, then address. */
struct html_key {
	uint32_t proc;		/* order of first appearance */
	uint8_t region;
	uint64_t base;		/* arena base for arena blocks, else 0 */
	uint64_t addr;
	uint64_t i;
};

/* Text from the traced program (a comm, a path): never markup. */
void html_text(FILE *out, const char *s, size_t max);
double html_ms(uint64_t ns);
/* The same colour for a thread on the map and in the charts. */
void html_colour(uint32_t i, char *buf, size_t cap);
const char *html_region_word(unsigned r);
void html_proc_heading(const struct html_ctx *x, uint32_t pid, const char *tag);
int html_key_cmp(const void *a, const void *b);
/* Moments (fork, thread, exec, new arena, bad free) as vertical lines over a chart. */
void html_chart_marks(const struct html_ctx *x, int height);

/* The address-space map and, when every block is drawn, address by time (html_map.c). */
int html_map(struct html_ctx *x);
/* One past the last block of the band that begins at k[from] (html_map.c). */
uint64_t html_band_end(const struct html_ctx *x, const struct html_key *k, uint64_t from,
		       uint64_t to);
/* Address by time for a run too large to draw block by block (html_grid.c). */
int html_grid(const struct html_ctx *x);
/* Allocation sites: top stacks by bytes and live bytes, an icicle (html_flame.c). */
int html_sites(const struct html_ctx *x);
/* ", site SITE" in a block's title, when it has a stack. */
void html_block_site(const struct html_ctx *x, uint32_t stack_id);
/* Live bytes over time per process, thread and arena (html_chart.c). */
int html_charts(const struct html_ctx *x);

#endif
