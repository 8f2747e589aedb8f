// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* html_grid.c: address by time for a run too large to draw block by block: a grid per band. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "radix.h"

/*
 * A band's grid: HTML_GRID_ROWS address bins (low addresses at the top) by
 * HTML_GRID_COLS time bins. A block counts in the row of its address and in
 * every column from its allocation's to its free's (the end's if never
 * freed), so a column's cells add up to the blocks live at some moment of
 * that slice of the run, and their bytes.
 */
struct grid {
	uint64_t n[HTML_GRID_ROWS * HTML_GRID_COLS];
	uint64_t bytes[HTML_GRID_ROWS * HTML_GRID_COLS];
};

/* Integer arithmetic only, so a reader of the CSV can bin a time the same way. */
static uint32_t time_col(const struct html_ctx *x, uint64_t ts)
{
	return (uint32_t)((ts - x->h->first_ts) * HTML_GRID_COLS / (x->span + 1));
}

static void grid_fill(const struct html_ctx *x, struct grid *g, const struct html_key *k,
		      uint64_t from, uint64_t to, uint64_t start, uint64_t end)
{
	uint64_t width = end > start ? end - start : 1;

	memset(g, 0, sizeof(*g));
	for (uint64_t i = from; i < to; i++) {
		const struct tb_hblock *b = &x->h->b[k[i].i];
		uint64_t r = (b->addr - start) * HTML_GRID_ROWS / width;
		uint32_t c1 = time_col(x, b->t_free ? b->t_free : x->h->last_ts);

		r = r < HTML_GRID_ROWS ? r : HTML_GRID_ROWS - 1;
		for (uint32_t c = time_col(x, b->t_alloc); c <= c1; c++) {
			g->n[r * HTML_GRID_COLS + c]++;
			g->bytes[r * HTML_GRID_COLS + c] += b->size;
		}
	}
}

/* A band's cells, only those holding a block; each shaded by its bytes against the fullest cell. */
static void grid_cells(const struct html_ctx *x, const struct grid *g, uint64_t start,
		       uint64_t end, int y0, int h)
{
	uint64_t most = 1, width = end > start ? end - start : 1;
	double cw = (double)HTML_W / HTML_GRID_COLS, ch = (double)h / HTML_GRID_ROWS;

	for (int i = 0; i < HTML_GRID_ROWS * HTML_GRID_COLS; i++)
		most = g->bytes[i] > most ? g->bytes[i] : most;
	for (int r = 0; r < HTML_GRID_ROWS; r++) {
		/* the row's first address, as time_col's reader would compute it */
		uint64_t a0 = start + (width * r + HTML_GRID_ROWS - 1) / HTML_GRID_ROWS;
		uint64_t a1 = start + (width * (r + 1) + HTML_GRID_ROWS - 1) / HTML_GRID_ROWS;

		for (int c = 0; c < HTML_GRID_COLS; c++) {
			const int i = r * HTML_GRID_COLS + c;
			uint64_t t0 = ((uint64_t)c * (x->span + 1) + HTML_GRID_COLS - 1) / HTML_GRID_COLS;
			uint64_t t1 = ((uint64_t)(c + 1) * (x->span + 1) + HTML_GRID_COLS - 1) /
				      HTML_GRID_COLS;

			if (!g->n[i])
				continue;
			/* width and height from the style sheet (html_head): 25,000 cells */
			fprintf(x->out, "<rect class=\"cell\" x=\"%g\" y=\"%g\" "
				"fill-opacity=\"%.2f\" data-r=\"%d\" data-c=\"%d\" "
				"data-n=\"%" PRIu64 "\" data-bytes=\"%" PRIu64 "\"><title>%" PRIu64
				" blocks, %" PRIu64 " B live from +%.3f to +%.3f ms at 0x%" PRIx64
				"-0x%" PRIx64 "</title></rect>\n", c * cw, y0 + r * ch,
				0.08 + 0.92 * (double)g->bytes[i] / most, r, c, g->n[i], g->bytes[i], g->n[i],
				g->bytes[i], html_ms(t0), html_ms(t1), a0, a1);
		}
	}
}

/* The regions a band's blocks were placed in: an address can be a chunk, then part of an arena. */
static void band_regions(const struct html_ctx *x, const struct html_key *k, uint64_t from,
			 uint64_t to)
{
	uint64_t seen = 0;
	const char *sep = "";

	for (uint64_t i = from; i < to; i++)
		seen |= 1ULL << (x->h->b[k[i].i].region & 63);
	for (unsigned r = 0; r < 64; r++, seen >>= 1) {
		if (seen & 1) {
			fprintf(x->out, "%s%s", sep, html_region_word(r));
			sep = ", ";
		}
	}
}

/* One band's grid, an SVG of its own carrying what a reader needs to bin the CSV alike. */
static void grid_band(const struct html_ctx *x, struct grid *g, const struct html_key *k,
		      uint64_t from, uint64_t to)
{
	const int h = HTML_GRID_ROWS * 3;
	uint64_t start = k[from].addr, end = 0;

	for (uint64_t i = from; i < to; i++) {
		const struct tb_hblock *b = &x->h->b[k[i].i];

		end = b->addr + b->size > end ? b->addr + b->size : end;
	}
	grid_fill(x, g, k, from, to, start, end);
	fprintf(x->out, "<div class=\"lab\">0x%" PRIx64 "-0x%" PRIx64 ": %" PRIu64 " blocks (",
		start, end, to - from);
	band_regions(x, k, from, to);
	fprintf(x->out, ")</div><svg class=\"grid\" width=\"%d\" height=\"%d\" data-pid=\"%u\" "
		"data-start=\"0x%" PRIx64 "\" data-end=\"0x%" PRIx64 "\" data-rows=\"%d\" "
		"data-cols=\"%d\" data-blocks=\"%" PRIu64 "\">\n", HTML_W, h, x->h->b[k[from].i].pid,
		start, end, HTML_GRID_ROWS, HTML_GRID_COLS, to - from);
	html_chart_marks(x, h);
	grid_cells(x, g, start, end, 0, h);
	fputs("</svg>\n", x->out);
}

/* 16 bits of a key: digit d of its address (d < 4), or of its process order. */
static uint32_t key_digit(const void *rec, int d)
{
	const struct html_key *k = rec;

	return d < 4 ? (uint32_t)(k->addr >> (16 * d)) & 0xffff : (k->proc >> (16 * (d - 4))) & 0xffff;
}

/* k[0..n) in html_key_cmp's order where region and base are 0 and i ascends: by address, then process. */
static int keys_sort(struct html_key *v, uint64_t n)
{
	return radix_sort(v, n, sizeof(*v), 6, key_digit);
}

/*
 * Every block, not only the live ones, by process and address alone: a band is
 * a stretch of addresses over the whole run, whatever region held them when.
 */
static struct html_key *grid_keys(const struct html_ctx *x)
{
	const struct tb_history *h = x->h;
	struct html_key *k = malloc((h->nb + 1) * sizeof(*k));
	struct tb_idmap order = {};

	if (!k)
		return NULL;
	for (uint64_t i = 0; i < h->nb; i++) {
		const struct tb_hblock *b = &h->b[i];
		uint32_t o = idmap_get(&order, b->pid);

		if (o == IDMAP_NONE && (o = order.n, idmap_put(&order, b->pid, o))) {
			free(k);
			k = NULL;
			break;
		}
		k[i] = (struct html_key){ o, 0, 0, b->addr, i };
	}
	idmap_free(&order);
	if (k && keys_sort(k, h->nb)) {
		free(k);
		k = NULL;
	}
	return k;
}

int html_grid(const struct html_ctx *x)
{
	struct html_key *k = grid_keys(x);
	struct grid *g = malloc(sizeof(*g));
	uint64_t n = x->h->nb;

	if (!k || !g) {
		free(k);
		free(g);
		return -ENOMEM;
	}
	fprintf(x->out, "<h2 id=\"lives\">Address by time, aggregated</h2>\n<p class=\"note\" "
		"id=\"grid-note\" data-blocks=\"%" PRIu64 "\" data-first=\"%" PRIu64 "\">%" PRIu64
		" blocks: too many to draw one by one, so each band is a grid of %d address bins "
		"(low addresses at the top) by %d time bins. A cell counts the blocks that start in "
		"its addresses and are live at some moment of its time (until their free, or the "
		"end), shaded by their bytes against the band's fullest cell; hover a cell for its "
		"counts. Vertical lines: fork, thread, exec, new arenas, bad frees. The selectors do "
		"not change the grid.</p>\n", n, x->h->first_ts, n, HTML_GRID_ROWS, HTML_GRID_COLS);
	for (uint64_t from = 0, to; from < n; from = to) {
		for (to = from + 1; to < n && k[to].proc == k[from].proc; to++)
			;
		html_proc_heading(x, x->h->b[k[from].i].pid, "h3");
		for (uint64_t j = from, e; j < to; j = e) {
			e = html_band_end(x, k, j, to);
			grid_band(x, g, k, j, e);
		}
	}
	free(g);
	free(k);
	return 0;
}
