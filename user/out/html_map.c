// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* html_map.c: the page's address-space map (a band per region, a rectangle per block) and address by time. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"


int html_key_cmp(const void *a, const void *b)
{
	const struct html_key *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->region != y->region)
		return x->region < y->region ? -1 : 1;
	if (x->base != y->base)
		return x->base < y->base ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void block_title(const struct html_ctx *x, const struct tb_hblock *b)
{
	uint32_t ti = history__task(x->h, b->pid, b->tid);
	FILE *out = x->out;

	fprintf(out, "<title>%" PRIu64 " B at 0x%" PRIx64 " (%s), pid %u, allocated by tid %u", b->size,
		b->addr, html_region_word(b->region), b->pid, b->tid);
	if (ti != IDMAP_NONE && x->h->t[ti].comm[0]) {
		fputs(" (", out);
		html_text(out, x->h->t[ti].comm, TB_COMM_LEN);
		fputs(")", out);
	}
	fprintf(out, " at +%.3f ms", html_ms(b->t_alloc - x->h->first_ts));
	if (b->flags & TB_HB_INHERITED)
		fputs(", inherited at fork", out);
	if (b->flags & TB_HB_EXEC)
		fprintf(out, ", gone with its image at exec +%.3f ms", html_ms(b->t_free - x->h->first_ts));
	else if (b->t_free)
		fprintf(out, ", freed at +%.3f ms by tid %u%s%s", html_ms(b->t_free - x->h->first_ts),
			b->free_tid, b->flags & TB_HB_CROSS ? " (cross-thread)" : "",
			b->flags & TB_HB_REALLOC ? " (realloc)" : "");
	else
		fputs(", live at the end (never freed)", out);
	if (b->flags & TB_HB_REUSED)
		fputs(", at a reused address", out);
	if (b->flags & TB_HB_LIBC)
		fputs(", the C library's own", out);
	html_block_site(x, b->stack_id);
	fputs("</title>", out);
}

static void draw_block(const struct html_ctx *x, const struct tb_hblock *b, uint64_t start,
		       double scale)
{
	uint32_t ti = history__task(x->h, b->pid, b->tid);
	bool inh = b->flags & TB_HB_INHERITED;
	/* an outline on a block a few pixels wide would hide its colour: its title says it all */
	bool edge = b->size * scale >= HTML_EDGE_MIN;
	char col[40];

	html_colour(ti == IDMAP_NONE ? 0 : ti, col, sizeof(col));
	fputs("<rect ", x->out);
	if (x->svg)	/* a file of its own has no style sheet */
		fprintf(x->out, "style=\"%s%s\" ", inh ? "fill-opacity:.55;" : "",
			!edge ? "" : inh ? "stroke:#000;stroke-width:1.5;stroke-dasharray:3 2"
				 : "stroke:#c00;stroke-width:.8");
	fprintf(x->out, "class=\"b%s%s%s%s", b->t_free ? " off" : "", inh ? " inh" : "",
		b->t_free ? "" : " leak", edge ? " edge" : "");
	/* the page's style sheet gives the colour, y and height: 20,000 blocks, a megabyte less */
	if (x->svg)
		fprintf(x->out, "\" y=\"2\" height=\"%d\" fill=\"%s\"", HTML_BAND_H - 4, col);
	else
		fprintf(x->out, " t%u\"", ti == IDMAP_NONE ? 0 : ti);
	fprintf(x->out, " x=\"%.4f\" width=\"%.4f\" data-addr=\"0x%" PRIx64 "\" data-size=\"%"
		PRIu64 "\" data-pid=\"%u\" data-tid=\"%u\" data-a=\"%" PRIu64 "\" data-f=\"%" PRId64
		"\">", (b->addr - start) * scale, b->size * scale, b->addr, b->size, b->pid, b->tid,
		b->t_alloc - x->h->first_ts, b->t_free ? (int64_t)(b->t_free - x->h->first_ts) : -1);
	block_title(x, b);
	fputs("</rect>\n", x->out);
}

static bool bad_free(const struct tb_hmark *m)
{
	return m->type == TB_EV_FREE && (m->flags & (TB_F_DOUBLE_FREE | TB_F_INVALID_FREE));
}

static const char *bad_free_word(const struct tb_hmark *m)
{
	return m->flags & TB_F_DOUBLE_FREE ? "double" : "invalid";
}

/* Double and invalid frees of the band's process in [start, end]: a red triangle at the address. */
static void draw_bad_frees(const struct html_ctx *x, uint32_t pid, uint64_t start, uint64_t end,
			   double scale)
{
	for (uint64_t i = 0; i < x->h->nm; i++) {
		const struct tb_hmark *m = &x->h->m[i];
		double px;

		if (!bad_free(m) || m->pid != pid || m->addr < start || m->addr > end)
			continue;
		px = (m->addr - start) * scale;
		fprintf(x->out, "<polygon class=\"badfree\" fill=\"#d00\" points=\"%.2f,0 %.2f,%d "
			"%.2f,%d\" data-kind=\"%s\" data-addr=\"0x%" PRIx64 "\" data-pid=\"%u\" "
			"data-tid=\"%u\"><title>%s free of 0x%" PRIx64 " by tid %u at +%.3f ms</title>"
			"</polygon>\n", px, px - 4, HTML_BAND_H / 2, px + 4, HTML_BAND_H / 2,
			bad_free_word(m), m->addr, m->pid, m->tid, bad_free_word(m), m->addr, m->tid,
			html_ms(m->ts - x->h->first_ts));
	}
}

#define HTML_PAGE 4096ULL
#define HTML_PAGE_MIN 3		/* pixels: a copied page's mark at least this wide */

/* The page of a cow row lies (partly) in [start, end). */
static bool page_in(const struct tb_hpage *p, uint32_t pid, uint64_t start, uint64_t end)
{
	uint64_t page = p->addr & ~(HTML_PAGE - 1);

	return p->pid == pid && page < end && page + HTML_PAGE > start;
}

/*
 * The band's process's pages copied after fork: a page-sized mark over the
 * band's full height (blocks leave a margin), outlined, at the page's address.
 */
static void draw_copied_pages(const struct html_ctx *x, uint32_t pid, uint64_t start,
			      uint64_t end, double scale)
{
	for (uint64_t i = 0; i < x->h->np; i++) {
		const struct tb_hpage *p = &x->h->p[i];
		uint64_t page = p->addr & ~(HTML_PAGE - 1);
		uint32_t ti = history__task(x->h, p->pid, p->tid);
		double px = ((double)page - (double)start) * scale, w = HTML_PAGE * scale;

		if (!page_in(p, pid, start, end))
			continue;
		if (w < HTML_PAGE_MIN) {
			px += (w - HTML_PAGE_MIN) / 2;
			w = HTML_PAGE_MIN;
		}
		fprintf(x->out, "<rect class=\"cow\" x=\"%.4f\" y=\"0.5\" width=\"%.4f\" height=\"%d\" "
			"data-page=\"0x%" PRIx64 "\" data-pid=\"%u\" data-tid=\"%u\" data-block=\"0x%"
			PRIx64 "\"><title>page 0x%" PRIx64 " copied after fork by pid %u tid %u (", px, w,
			HTML_BAND_H - 1, page, p->pid, p->tid, p->block, page, p->pid, p->tid);
		if (ti != IDMAP_NONE)
			html_text(x->out, x->h->t[ti].comm, TB_COMM_LEN);
		fprintf(x->out, ") at +%.3f ms, a write to 0x%" PRIx64, html_ms(p->ts - x->h->first_ts),
			p->addr);
		if (p->block && p->block_size)
			fprintf(x->out, " in the %" PRIu64 " B block at 0x%" PRIx64, p->block_size,
				p->block);
		else if (p->block)
			fprintf(x->out, " in the block at 0x%" PRIx64, p->block);
		else
			fputs(" outside every live block (the allocator's own)", x->out);
		fputs("</title></rect>\n", x->out);
	}
}

static void band_span(const struct html_ctx *x, const struct html_key *k, uint64_t from,
		      uint64_t to, uint64_t *start, uint64_t *end);

/* The process's copied pages in words: how many, how many in blocks, how many on no band. */
static void list_copied_pages(const struct html_ctx *x, const struct html_key *k, uint64_t from,
			      uint64_t to, uint32_t pid)
{
	uint64_t n = 0, in_block = 0, drawn = 0, nb = 0, (*band)[2] = NULL;

	for (uint64_t i = 0; i < x->h->np; i++)
		n += x->h->p[i].pid == pid;
	if (!n)
		return;
	for (uint64_t j = from; j < to; j = html_band_end(x, k, j, to))
		nb++;
	band = malloc((nb + 1) * sizeof(*band));
	nb = 0;
	for (uint64_t j = from, e; band && j < to; j = e, nb++) {
		e = html_band_end(x, k, j, to);
		band_span(x, k, j, e, &band[nb][0], &band[nb][1]);
	}
	for (uint64_t i = 0; i < x->h->np; i++) {
		const struct tb_hpage *p = &x->h->p[i];
		bool on = false;

		if (p->pid != pid)
			continue;
		in_block += p->block != 0;
		for (uint64_t j = 0; j < nb && !on; j++)
			on = page_in(p, pid, band[j][0], band[j][1]);
		drawn += on;
	}
	free(band);
	fprintf(x->out, "<p class=\"cow-count\" data-pid=\"%u\" data-pages=\"%" PRIu64
		"\" data-in-blocks=\"%" PRIu64 "\" data-drawn=\"%" PRIu64 "\">%" PRIu64
		" pages copied after fork (orange outlines on the bands), %" PRIu64 " of them "
		"in a live block; %" PRIu64 " lie outside every band and are not drawn.</p>\n",
		pid, n, in_block, drawn, n, in_block, n - drawn);
}

/* The process's double and invalid frees in words, those outside every band included. */
static void list_bad_frees(const struct html_ctx *x, uint32_t pid)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < x->h->nm; i++) {
		const struct tb_hmark *m = &x->h->m[i];

		if (!bad_free(m) || m->pid != pid)
			continue;
		if (!n++)
			fputs("<p class=\"note\">Red triangles on the bands: ", x->out);
		if (n <= HTML_LINES)
			fprintf(x->out, "%s%s free of 0x%" PRIx64 " by tid %u at +%.3f ms", n > 1 ? "; "
				: "", bad_free_word(m), m->addr, m->tid, html_ms(m->ts - x->h->first_ts));
	}
	if (n > HTML_LINES)
		fprintf(x->out, "; %" PRIu64 " more", n - HTML_LINES);
	if (n)
		fputs(" (an address outside every band has no triangle).</p>\n", x->out);
}

/* The lowest and one past the highest address of blocks k[from..to). */
static void band_span(const struct html_ctx *x, const struct html_key *k, uint64_t from,
		      uint64_t to, uint64_t *start, uint64_t *end)
{
	*start = k[from].addr;
	*end = 0;
	for (uint64_t i = from; i < to; i++) {
		const struct tb_hblock *b = &x->h->b[k[i].i];

		*end = b->addr + b->size > *end ? b->addr + b->size : *end;
	}
}

/* A band in a standalone SVG: its label on the left, its blocks in a box of their own. */
static void svg_band(struct html_ctx *x, const struct html_key *k, uint64_t from, uint64_t to,
		     uint64_t start, uint64_t end, double scale, uint64_t live, uint64_t bytes)
{
	fprintf(x->out, "<text x=\"0\" y=\"%.0f\" font-family=\"monospace\" font-size=\"11\">%s "
		"0x%" PRIx64 "-0x%" PRIx64 ", %" PRIu64 " live, %" PRIu64 " B</text>\n", x->y + 16,
		html_region_word(x->h->b[k[from].i].region), start, end, live, bytes);
	fprintf(x->out, "<svg x=\"%d\" y=\"%.0f\" width=\"%d\" height=\"%d\"><rect width=\"%d\" "
		"height=\"%d\" fill=\"#f4f4f4\"/>\n", HTML_SVG_LABEL, x->y, HTML_W, HTML_BAND_H, HTML_W,
		HTML_BAND_H);
	for (uint64_t j = from; j < to; j++)
		draw_block(x, &x->h->b[k[j].i], start, scale);
	draw_bad_frees(x, x->h->b[k[from].i].pid, start, end, scale);
	fputs("</svg>\n", x->out);
	x->y += HTML_BAND_H + 4;
}

/* One band: the blocks k[from..to) of one region, which leave no gap over HTML_GAP. */
static void draw_band(struct html_ctx *x, const struct html_key *k, uint64_t from,
		      uint64_t to)
{
	uint64_t start, end, bytes = 0, live = 0;
	const struct tb_hblock *first = &x->h->b[k[from].i];
	double scale;

	band_span(x, k, from, to, &start, &end);
	for (uint64_t j = from; j < to; j++) {
		const struct tb_hblock *b = &x->h->b[k[j].i];

		if (!b->t_free) {
			live++;
			bytes += b->size;
		}
	}
	scale = end > start ? (double)HTML_W / (end - start) : 1;
	if (x->svg) {
		svg_band(x, k, from, to, start, end, scale, live, bytes);
		return;
	}
	fprintf(x->out, "<div class=\"band\"><div class=\"lab\">%s 0x%" PRIx64 "-0x%" PRIx64
		"<br>%" PRIu64 " live, %" PRIu64 " B at the end</div>", html_region_word(first->region),
		start, end, live, bytes);
	fprintf(x->out, "<svg class=\"map\" width=\"%d\" height=\"%d\" data-start=\"0x%" PRIx64
		"\" data-end=\"0x%" PRIx64 "\" data-scale=\"%.9g\">\n", HTML_W, HTML_BAND_H, start, end,
		scale);
	for (uint64_t j = from; j < to; j++)
		draw_block(x, &x->h->b[k[j].i], start, scale);
	draw_bad_frees(x, first->pid, start, end, scale);
	draw_copied_pages(x, first->pid, start, end, scale);
	fputs("</svg></div>\n", x->out);
}


/* One past the last block of the band that begins at k[from]: one region, no gap over HTML_GAP. */
uint64_t html_band_end(const struct html_ctx *x, const struct html_key *k, uint64_t from,
		       uint64_t to)
{
	uint64_t end = 0, j;

	for (j = from; j < to; j++) {
		const struct tb_hblock *b = &x->h->b[k[j].i];

		if (j > from && (k[j].region != k[from].region || k[j].base != k[from].base ||
				 b->addr > end + HTML_GAP))
			break;
		end = b->addr + b->size > end ? b->addr + b->size : end;
	}
	return j;
}

static double time_x(const struct html_ctx *x, uint64_t ts)
{
	return x->span ? (ts - x->h->first_ts) * (double)HTML_W / x->span : 0;
}

/* A block's life as a bar at its address: from its allocation to its free, or to the end. */
static void draw_life(const struct html_ctx *x, const struct tb_hblock *b, double y)
{
	uint32_t ti = history__task(x->h, b->pid, b->tid);
	double x1 = time_x(x, b->t_alloc), x2 = time_x(x, b->t_free ? b->t_free : x->h->last_ts);
	char col[40];

	html_colour(ti == IDMAP_NONE ? 0 : ti, col, sizeof(col));
	fprintf(x->out, "<line class=\"life\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.2f\" y2=\"%.2f\" "
		"stroke=\"%s\" data-pid=\"%u\" data-tid=\"%u\">", x1, x2 > x1 + 1 ? x2 : x1 + 1, y, y, col,
		b->pid, b->tid);
	block_title(x, b);
	fputs("</line>\n", x->out);
	if (b->flags & TB_HB_CROSS)
		fprintf(x->out, "<circle class=\"xfree\" cx=\"%.1f\" cy=\"%.2f\" r=\"3\"><title>"
			"freed by another thread (tid %u)</title></circle>\n", x2, y, b->free_tid);
	if (b->flags & TB_HB_REUSED)
		fprintf(x->out, "<circle class=\"reuse\" cx=\"%.1f\" cy=\"%.2f\" r=\"2.5\"><title>"
			"an address freed before, handed out again</title></circle>\n", x1, y);
}

/* Address by time: a strip per band, blocks as bars from their allocation to their free. */
static void draw_lives(const struct html_ctx *x, const struct html_key *k, uint64_t from,
		       uint64_t to)
{
	const int strip = 60;
	uint64_t start, end, e;
	uint32_t nbands = 0;
	double y0 = 0;

	for (uint64_t j = from; j < to; j = html_band_end(x, k, j, to))
		nbands++;
	fprintf(x->out, "<svg class=\"lives\" width=\"%d\" height=\"%u\">\n", HTML_W,
		nbands * strip);
	for (uint64_t j = from; j < to; j = e, y0 += strip) {
		e = html_band_end(x, k, j, to);
		band_span(x, k, j, e, &start, &end);
		fprintf(x->out, "<rect class=\"strip\" x=\"0\" y=\"%.0f\" width=\"%d\" height=\"%d\">"
			"<title>%s 0x%" PRIx64 "-0x%" PRIx64 ": low addresses at the top</title></rect>\n",
			y0, HTML_W, strip - 2, html_region_word(k[j].region), start, end);
	}
	html_chart_marks(x, (int)(nbands * strip));
	y0 = 0;
	for (uint64_t j = from; j < to; j = e, y0 += strip) {
		e = html_band_end(x, k, j, to);
		band_span(x, k, j, e, &start, &end);
		for (uint64_t i = j; i < e; i++) {
			const struct tb_hblock *b = &x->h->b[k[i].i];

			draw_life(x, b, y0 + 2 + (strip - 6) * (double)(b->addr - start) /
						     (end > start ? end - start : 1));
		}
	}
	fputs("<line class=\"cursor\" data-w=\"1000\" x1=\"1000\" x2=\"1000\" y1=\"0\" "
	      "y2=\"10000\"/></svg>\n", x->out);
}

/* One process's bands, k[from..to) sorted by html_key_cmp, and its blocks' lives. */
static void draw_proc(struct html_ctx *x, const struct html_key *k, uint64_t from,
		      uint64_t to)
{
	html_proc_heading(x, x->h->b[k[from].i].pid, "h3");
	x->y += 22;
	for (uint64_t j = from, e; j < to; j = e) {
		e = html_band_end(x, k, j, to);
		draw_band(x, k, j, e);
	}
	if (!x->svg) {
		list_bad_frees(x, x->h->b[k[from].i].pid);
		list_copied_pages(x, k, from, to, x->h->b[k[from].i].pid);
	}
	if (!x->all_drawn || x->svg)
		return;
	fputs("<p>Address by time: each block a bar at its address from its allocation to its "
	      "free (to the end if never freed); a red dot: freed by another thread; a blue dot: "
	      "an address handed out again.</p>\n", x->out);
	draw_lives(x, k, from, to);
}

static struct html_key *map_keys(struct html_ctx *x, uint64_t *n)
{
	const struct tb_history *h = x->h;
	struct html_key *k = malloc((h->nb + 1) * sizeof(*k));
	struct tb_idmap order = {};
	uint64_t m = 0;

	if (!k)
		return NULL;
	for (uint64_t i = 0; i < h->nb; i++) {
		const struct tb_hblock *b = &h->b[i];
		uint32_t o = idmap_get(&order, b->pid);

		if (!x->all_drawn && b->t_free)
			continue;
		if (m == HTML_MAX_BLOCKS) {
			x->undrawn++;
			continue;
		}
		if (o == IDMAP_NONE) {
			o = order.n;
			if (idmap_put(&order, b->pid, o))
				break;
		}
		k[m++] = (struct html_key){ o, b->region, b->region == TB_REG_ARENA ? b->region_base : 0,
					    b->addr, i };
	}
	idmap_free(&order);
	qsort(k, m, sizeof(*k), html_key_cmp);
	*n = m;
	return k;
}

int html_map(struct html_ctx *x)
{
	uint64_t n, from = 0;
	struct html_key *k = map_keys(x, &n);

	if (!k)
		return -ENOMEM;
	fputs("<h2 id=\"map\">Address space</h2>\n<p>One band per region (the brk heap, each thread "
	      "arena, mmap chunks), split where more than 1 MiB lies unused; one rectangle per block "
	      "at its address, to scale within its band, coloured by the thread that allocated it. "
	      "Lighter, with a dashed outline: inherited at fork; red outline: never freed (outlines "
	      "on blocks at least 4 pixels wide); a red triangle: a double or invalid free of that "
	      "address; an orange outline the band's full height: a page a write copied after a "
	      "fork (with --pages). Hover a block for its row.</p>\n", x->out);
	if (x->h->np)
		fprintf(x->out, "<p id=\"copied\" data-pages=\"%" PRIu64 "\"><span class=\"key\">"
			"<svg width=\"14\" height=\"14\"><rect class=\"cow\" x=\"1\" y=\"1\" "
			"width=\"12\" height=\"12\"><title>a copied page</title></rect></svg></span> "
			"%" PRIu64 " pages copied after fork.</p>\n", x->h->np, x->h->np);
	if (!x->all_drawn)
		fprintf(x->out, "<p class=\"note\">%" PRIu64 " blocks were recorded: more than %d, so "
			"only the blocks live at the end are drawn, the moment selector cannot "
			"show earlier ones, and address by time below is aggregated into a grid; "
			"the charts count every block.</p>\n", x->h->nb, HTML_MAX_BLOCKS);
	if (x->undrawn)
		fprintf(x->out, "<p class=\"note\">%" PRIu64 " more live blocks are not drawn.</p>\n",
			x->undrawn);
	for (uint64_t j = 1; j <= n; j++) {
		if (j < n && k[j].proc == k[from].proc)
			continue;
		draw_proc(x, k, from, j);
		from = j;
	}
	if (!n)
		fputs("<p>No block was recorded.</p>\n", x->out);
	free(k);
	return x->all_drawn ? 0 : html_grid(x);
}

/* Rows a standalone map takes: a heading per process and a band per region. */
static double svg_height(struct html_ctx *x, const struct html_key *k, uint64_t n)
{
	double h = 0;

	for (uint64_t j = 0; j < n; j = html_band_end(x, k, j, n)) {
		if (!j || k[j].proc != k[j - 1].proc)
			h += 22;
		h += HTML_BAND_H + 4;
	}
	return h + 4;
}

int html_svg_map(const struct correlator *c, const struct tb_history *h,
		 const struct tb_sites *sites, FILE *out)
{
	struct html_ctx x = { .c = c, .h = h, .sites = sites, .out = out, .svg = true };
	uint64_t n, from = 0;
	struct html_key *k = map_keys(&x, &n);

	if (!k)
		return -ENOMEM;
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n<title>address space at the end: "
		"a band per region, a rectangle per live block, coloured by thread; dashed: inherited "
		"at fork</title>\n", HTML_SVG_LABEL + HTML_W, svg_height(&x, k, n));
	for (uint64_t j = 1; j <= n; j++) {
		if (j < n && k[j].proc == k[from].proc)
			continue;
		draw_proc(&x, k, from, j);
		from = j;
	}
	fputs("</svg>\n", out);
	free(k);
	return 0;
}
