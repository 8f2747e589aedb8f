// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* html.c: `--html FILE`, one self-contained page: its head, selectors, counts, the process tree, sizes. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "html_js.h"
#include "report.h"
#include "series.h"

void html_text(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; s && i < max && s[i]; i++) {
		unsigned char ch = s[i];

		switch (ch) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				fprintf(out, "\\x%02x", ch);
			else
				fputc(ch, out);
		}
	}
}

double html_ms(uint64_t ns)
{
	return ns / 1e6;
}

void html_colour(uint32_t i, char *buf, size_t cap)
{
	snprintf(buf, cap, "hsl(%u,60%%,%u%%)", (200 + i * 137) % 360, 45 + (i * 7) % 15);
}

const char *html_region_word(unsigned r)
{
	return r == TB_REG_NONE ? "unplaced" : tb_region_name(r);
}

static const struct tb_process *proc_of(const struct correlator *c, uint32_t pid)
{
	uint32_t i = idmap_get(&c->pid_map, pid);

	return i == IDMAP_NONE ? NULL : c->procs[i];
}

void html_proc_heading(const struct html_ctx *x, uint32_t pid, const char *tag)
{
	const struct tb_process *p = proc_of(x->c, pid);

	if (x->svg)
		fprintf(x->out, "<text x=\"0\" y=\"%.0f\" font-weight=\"bold\">process %u", x->y + 15,
			pid);
	else
		fprintf(x->out, "<%s>process %u", tag, pid);
	if (p) {
		fputs(" (", x->out);
		html_text(x->out, p->comm, TB_COMM_LEN);
		fputs(")", x->out);
		if (p->exe) {
			fputs(" ", x->out);
			html_text(x->out, p->exe, 4096);
		}
	}
	if (x->svg)
		fputs("</text>\n", x->out);
	else
		fprintf(x->out, "</%s>\n", tag);
}

/* ---- the fork and thread tree, sizes -------------------------------------------------------- */

/* What each process inherited at fork and what it freed of that. */
static void inherited_counts(const struct tb_history *h, uint32_t pid, uint64_t *got,
			     uint64_t *freed)
{
	*got = *freed = 0;
	for (uint64_t i = 0; i < h->nb; i++) {
		if (h->b[i].pid != pid || !(h->b[i].flags & TB_HB_INHERITED))
			continue;
		(*got)++;
		*freed += (h->b[i].flags & TB_HB_FREED) != 0;
	}
}

static void tree_proc(const struct html_ctx *x, const struct tb_process *p, int depth)
{
	uint64_t got, freed;

	fputs("<li>", x->out);
	html_proc_heading(x, p->pid, "b");
	inherited_counts(x->h, p->pid, &got, &freed);
	if (got)
		fprintf(x->out, ": inherited %" PRIu64 " blocks at fork and freed %" PRIu64 " of them",
			got, freed);
	fputs("<ul>", x->out);
	for (uint32_t i = 0; i < p->nthreads; i++) {
		const struct tb_thread *t = model_thread(x->c, p->threads[i]);

		if (!t)
			continue;
		fprintf(x->out, "<li>thread %u (", t->tid);
		html_text(x->out, t->comm, TB_COMM_LEN);
		fprintf(x->out, "): %" PRIu64 " allocations, %" PRIu64 " frees, %" PRIu64
			" cross-thread, %" PRIu64 " B live at the end</li>", t->allocs, t->frees,
			t->cross_frees, t->live_bytes);
	}
	for (uint32_t k = p->first_child; k != TB_NONE && k < x->c->nprocs && depth < 64;
	     k = x->c->procs[k]->next_sibling)
		tree_proc(x, x->c->procs[k], depth + 1);
	fputs("</ul></li>\n", x->out);
}

static void html_tree(const struct html_ctx *x)
{
	fputs("<h2 id=\"tree\">Processes and threads</h2>\n<ul>", x->out);
	for (uint32_t i = 0; i < x->c->nprocs; i++)
		if (x->c->procs[i]->parent == TB_NONE)
			tree_proc(x, x->c->procs[i], 0);
	fputs("</ul>\n", x->out);
}

/* One process's blocks of one region (one arena), counted by log2 size. */
struct size_group {
	uint32_t pid;
	uint8_t region;
	uint64_t base;
	uint32_t next;			/* the process's next group, or IDMAP_NONE */
	uint64_t count[64];
};

static int size_group_cmp(const void *a, const void *b)
{
	const struct size_group *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->region != y->region)
		return x->region < y->region ? -1 : 1;
	return x->base < y->base ? -1 : x->base > y->base;
}

/* The group of b: a process has few, found through the process's first. */
static uint32_t size_group_of(struct size_group **g, uint32_t *n, uint32_t *cap,
			      struct tb_idmap *first, const struct tb_hblock *b)
{
	uint32_t i = idmap_get(first, b->pid), head = i;
	uint64_t base = series__arena(b);

	for (; i != IDMAP_NONE; i = (*g)[i].next)
		if ((*g)[i].region == b->region && (*g)[i].base == base)
			return i;
	if (*n == *cap) {
		uint32_t c = *cap ? 2 * *cap : 16;
		struct size_group *ng = realloc(*g, c * sizeof(*ng));

		if (!ng)
			return IDMAP_NONE;
		*g = ng;
		*cap = c;
	}
	if (idmap_put(first, b->pid, *n))
		return IDMAP_NONE;
	(*g)[*n] = (struct size_group){ .pid = b->pid, .region = b->region, .base = base,
					 .next = head };
	return (*n)++;
}

static void size_row(const struct html_ctx *x, const struct size_group *g)
{
	uint64_t most = 1;

	for (int l = 0; l < 64; l++)
		most = g->count[l] > most ? g->count[l] : most;
	fprintf(x->out, "<tr><td>%u</td><td>%s", g->pid, html_region_word(g->region));
	if (g->base)
		fprintf(x->out, " 0x%" PRIx64, g->base);
	fputs("</td><td><svg width=\"640\" height=\"40\">", x->out);
	for (int l = 0; l < 40; l++)
		fprintf(x->out, "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"%.1f\" "
			"fill=\"#58a\"><title>%" PRIu64 " blocks of %llu to %llu B</title></rect>",
			l * 16, 38 - 36.0 * g->count[l] / most, 36.0 * g->count[l] / most + 1, g->count[l],
			1ULL << l, (2ULL << l) - 1);
	fputs("</svg></td></tr>\n", x->out);
}

/* Blocks by log2 size, per process and region (arena base for thread arenas). */
static int html_sizes(const struct html_ctx *x)
{
	struct size_group *g = NULL;
	struct tb_idmap first = {};
	uint32_t n = 0, cap = 0;

	for (uint64_t i = 0; i < x->h->nb; i++) {
		const struct tb_hblock *b = &x->h->b[i];
		uint32_t k = size_group_of(&g, &n, &cap, &first, b);
		int l = b->size ? 63 - __builtin_clzll(b->size) : 0;

		if (k == IDMAP_NONE) {
			free(g);
			idmap_free(&first);
			return -ENOMEM;
		}
		g[k].count[l]++;
	}
	idmap_free(&first);
	if (n)	/* g is NULL for a run without blocks */
		qsort(g, n, sizeof(*g), size_group_cmp);
	fputs("<h2 id=\"sizes\">Sizes</h2>\n<p>Blocks allocated, by size rounded down to a power of "
	      "two, per process and arena.</p>\n<table><tr><th>pid</th><th>where</th><th>blocks by "
	      "size</th></tr>\n", x->out);
	for (uint32_t k = 0; k < n; k++)
		size_row(x, &g[k]);
	fputs("</table>\n", x->out);
	free(g);
	return 0;
}

/* ---- the page ------------------------------------------------------------------------------- */

/* The run's counts as the pictures have them, in words and in attributes a reader can check. */
static void html_counts(const struct html_ctx *x)
{
	uint64_t allocs = 0, frees = 0, cross = 0, inh = 0, chunks = 0, dbl = 0, inval = 0;

	for (uint64_t i = 0; i < x->h->nb; i++) {
		const struct tb_hblock *b = &x->h->b[i];
		bool freed = (b->flags & TB_HB_FREED) && !(b->flags & (TB_HB_REALLOC | TB_HB_INTERNAL));

		allocs += !(b->flags & TB_HB_INHERITED);
		chunks += !(b->flags & TB_HB_INHERITED) && b->region == TB_REG_MMAP_CHUNK;
		frees += freed;
		cross += freed && (b->flags & TB_HB_CROSS);
		inh += freed && (b->flags & TB_HB_INHERITED);
	}
	for (uint64_t i = 0; i < x->h->nm; i++) {
		dbl += x->h->m[i].type == TB_EV_FREE && (x->h->m[i].flags & TB_F_DOUBLE_FREE);
		inval += x->h->m[i].type == TB_EV_FREE && (x->h->m[i].flags & TB_F_INVALID_FREE);
	}
	fprintf(x->out, "<p id=\"counts\" data-allocations=\"%" PRIu64 "\" data-frees=\"%" PRIu64
		"\" data-cross-thread-frees=\"%" PRIu64 "\" data-inherited-frees=\"%" PRIu64
		"\" data-mmap-chunks=\"%" PRIu64 "\" data-double-frees=\"%" PRIu64
		"\" data-invalid-frees=\"%" PRIu64 "\">%" PRIu64 " allocations, %" PRIu64 " frees (%"
		PRIu64 " cross-thread, %" PRIu64 " of inherited blocks), %" PRIu64 " mmap chunks, %"
		PRIu64 " double and %" PRIu64 " invalid frees.</p>\n", allocs, frees, cross, inh, chunks,
		dbl, inval, allocs, frees, cross, inh, chunks, dbl, inval);
}

/* What every block and cell would repeat: their geometry, each thread's colour. */
static void html_sheet(const struct html_ctx *x)
{
	char col[40];

	fprintf(x->out, "rect.b{y:2px;height:%dpx}rect.cell{width:%gpx;height:%gpx}",
		HTML_BAND_H - 4, (double)HTML_W / HTML_GRID_COLS, (double)HTML_GRID_ROWS * 3 /
		HTML_GRID_ROWS);
	for (uint32_t i = 0; i < x->h->nt || i == 0; i++) {
		html_colour(i, col, sizeof(col));
		fprintf(x->out, "rect.t%u{fill:%s}", i, col);
	}
}

static void html_head(const struct html_ctx *x, const struct tb_run_info *run)
{
	FILE *out = x->out;

	/* no source of any kind but the page itself: a stray load is an error, not a leak */
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'none'; "
	      "connect-src 'none'; form-action 'none'\">\n<title>tlsbpf: ", out);
	html_text(out, run->command, 4096);
	fprintf(out, "</title>\n<style>%s", html_css);
	html_sheet(x);
	fprintf(out, "</style></head>\n<body data-span=\"%" PRIu64 "\">\n<h1>tlsbpf: ", x->span);
	html_text(out, run->command, 4096);
	fprintf(out, "</h1>\n<p>%" PRIu64 " events, %" PRIu64 " blocks in %u processes and %u "
		"threads over %.3f ms.", run->events, x->h->nb, x->c->nprocs, x->h->nt, html_ms(x->span));
	if (run->lost)
		fprintf(out, " <span class=\"note\">%" PRIu64 " events were lost: the pictures miss "
			"them.</span>", run->lost);
	if (x->h->err)
		fputs(" <span class=\"note\">Memory ran out while recording: the pictures are "
		      "partial.</span>", out);
	fputs("</p>\n", out);
	html_counts(x);
}

/* Each process's option, then each thread's; values "pPID" and "TID". */
static void html_select(const struct html_ctx *x)
{
	struct tb_idmap seen = {};

	fputs("<select id=\"thread\"><option value=\"\">every process and thread</option>", x->out);
	for (uint32_t i = 0; i < x->h->nt; i++) {
		uint32_t pid = x->h->t[i].pid;

		if (idmap_get(&seen, pid) != IDMAP_NONE || idmap_put(&seen, pid, i))
			continue;
		fprintf(x->out, "<option value=\"p%u\">process %u ", pid, pid);
		html_text(x->out, proc_of(x->c, pid) ? proc_of(x->c, pid)->comm : "", TB_COMM_LEN);
		fputs("</option>", x->out);
	}
	idmap_free(&seen);
	for (uint32_t i = 0; i < x->h->nt; i++) {
		const struct tb_htask *t = &x->h->t[i];

		fprintf(x->out, "<option value=\"%u\">thread %u (pid %u) ", t->tid, t->tid, t->pid);
		html_text(x->out, t->comm, TB_COMM_LEN);
		fputs("</option>", x->out);
	}
	fputs("</select>", x->out);
}

/* The blocks the map draws live at the end, as the script counts them (html_map's choice). */
static void drawn_live(const struct html_ctx *x, uint64_t *n, uint64_t *bytes)
{
	uint64_t m = 0;

	*n = *bytes = 0;
	for (uint64_t i = 0; i < x->h->nb && m < HTML_MAX_BLOCKS; i++) {
		const struct tb_hblock *b = &x->h->b[i];

		if (!x->all_drawn && b->t_free)
			continue;
		m++;
		if (!b->t_free) {
			(*n)++;
			*bytes += b->size;
		}
	}
}

static void html_controls(const struct html_ctx *x)
{
	uint64_t n, bytes;

	drawn_live(x, &n, &bytes);
	fprintf(x->out, "<div id=\"controls\">From <input type=\"range\" id=\"from\" min=\"0\" "
		"max=\"1000\" value=\"1000\"> to <input type=\"range\" id=\"moment\" min=\"0\" "
		"max=\"1000\" value=\"1000\"> <span id=\"moment-label\">end of run</span>: <span "
		"id=\"live-count\">%" PRIu64 " blocks drawn, %" PRIu64 " B</span>; show: ", n, bytes);
	html_select(x);
	fputs(" <noscript>(the selectors need scripts; the page shows the end of the run)</noscript>"
	      "</div>\n", x->out);
}

int report__html(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	struct html_ctx x = { .c = c, .h = run->history, .sites = run->labels, .out = out };
	int err;

	if (!x.h)
		return -EINVAL;
	x.all_drawn = x.h->nb <= HTML_MAX_BLOCKS;
	x.span = x.h->last_ts - x.h->first_ts;
	html_head(&x, run);
	html_controls(&x);
	err = html_map(&x);
	if (!err)
		err = html_charts(&x);
	if (!err)
		err = html_sites(&x);
	if (!err) {
		html_tree(&x);
		err = html_sizes(&x);
	}
	fprintf(out, "<script>%s</script>\n</body></html>\n", html_js);
	return err;
}
