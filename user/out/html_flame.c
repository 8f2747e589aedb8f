// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* html_flame.c: the page's allocation sites: top stacks by bytes and live bytes, an icicle. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "html_sites.h"

#define SITES_SHOWN 20		/* rows of each table */
#define SITE_FRAMES 4		/* frames a table row names; its title names them all */
#define BLOCK_FRAMES 3		/* frames a block's title names: a page has up to 40,000 of them */
#define ARROW "\xe2\x86\x90"	/* U+2190, "called from": 3 bytes where &#8592; takes 7 */
#define FLAME_ROW 17		/* pixels per icicle level */

/* What a stack_id's blocks add up to; id 0 gathers the blocks without a stack. */
struct site_sum {
	uint32_t id;
	uint64_t bytes, blocks;		/* allocated (a fork's copies are not allocations) */
	uint64_t live, nlive;		/* live at the end, a fork's copies included */
};

struct site_sums {
	struct site_sum *s;
	uint32_t n;
	uint64_t bytes;			/* every allocation's */
};

static int sums_build(const struct tb_history *h, struct site_sums *out)
{
	struct tb_idmap ids = {};
	uint32_t cap = 0;

	*out = (struct site_sums){};
	for (uint64_t i = 0; i < h->nb; i++) {
		const struct tb_hblock *b = &h->b[i];
		uint32_t k = idmap_get(&ids, b->stack_id);

		if (k == IDMAP_NONE) {
			if (out->n == cap) {
				struct site_sum *ns = realloc(out->s, (cap = cap ? 2 * cap : 64) * sizeof(*ns));

				if (!ns)
					goto nomem;
				out->s = ns;
			}
			k = out->n;
			if (idmap_put(&ids, b->stack_id, k))
				goto nomem;
			out->s[out->n++] = (struct site_sum){ .id = b->stack_id };
		}
		if (!(b->flags & TB_HB_INHERITED)) {
			out->s[k].bytes += b->size;
			out->s[k].blocks++;
			out->bytes += b->size;
		}
		if (!b->t_free) {
			out->s[k].live += b->size;
			out->s[k].nlive++;
		}
	}
	idmap_free(&ids);
	return 0;
nomem:
	idmap_free(&ids);
	free(out->s);
	return -ENOMEM;
}

static int by_bytes(const void *a, const void *b)
{
	const struct site_sum *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int by_live(const void *a, const void *b)
{
	const struct site_sum *x = a, *y = b;

	if (x->live != y->live)
		return x->live > y->live ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* A stack named by its frames, innermost first, at most max of them. */
static void site_name(const struct html_ctx *x, uint32_t id, int max)
{
	const char *const *l;
	int n = id ? html_sites__get(x->sites, id, &l) : 0;

	if (!id)
		fputs("(no stack)", x->out);
	else if (!n)
		fprintf(x->out, "stack %u", id);
	for (int i = 0; i < n && i < max; i++) {
		fputs(i ? " " ARROW " " : "", x->out);
		html_text(x->out, l[i] ? l[i] : "?", 256);
	}
	if (n > max)
		fputs(" " ARROW " ...", x->out);
}

void html_block_site(const struct html_ctx *x, uint32_t stack_id)
{
	if (!stack_id)
		return;
	fputs(", site ", x->out);
	site_name(x, stack_id, BLOCK_FRAMES);
}

static void sites_table(const struct html_ctx *x, const struct site_sums *ss, bool live)
{
	fprintf(x->out, "<table id=\"sites-%s\"><tr><th>stack</th><th>bytes</th><th>blocks</th>"
		"<th>live bytes at the end</th><th>live blocks</th><th style=\"text-align:left\">"
		"call site " ARROW " callers</th></tr>\n", live ? "live" : "bytes");
	for (uint32_t i = 0, shown = 0; i < ss->n && shown < SITES_SHOWN; i++) {
		const struct site_sum *s = &ss->s[i];

		if (live ? !s->live : !s->bytes)
			continue;
		shown++;
		fprintf(x->out, "<tr class=\"site\" data-stack=\"%u\" data-bytes=\"%" PRIu64 "\" "
			"data-blocks=\"%" PRIu64 "\" data-live-bytes=\"%" PRIu64 "\" data-live-blocks=\"%"
			PRIu64 "\"><td>%u</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64
			"</td><td>%" PRIu64 "</td><td class=\"frames\" title=\"", s->id, s->bytes, s->blocks,
			s->live, s->nlive, s->id, s->bytes, s->blocks, s->live, s->nlive);
		site_name(x, s->id, TB_MAX_STACK);
		fputs("\">", x->out);
		site_name(x, s->id, SITE_FRAMES);
		fputs("</td></tr>\n", x->out);
	}
	fputs("</table>\n", x->out);
}

/* ---- the icicle: the root on top, each stack's outermost frame first ------------------------- */

struct fnode {
	const char *label;
	uint64_t bytes;
	uint32_t child, next;	/* first child, next sibling; 0: none (0 is the root) */
};

struct flame {
	struct fnode *n;
	uint32_t len, cap;
	int depth;
	char **owned;		/* the labels "stack N" made here, for stacks not named */
	uint32_t nowned;
};

static uint32_t flame_child(struct flame *f, uint32_t parent, const char *label)
{
	uint32_t c;

	for (c = f->n[parent].child; c; c = f->n[c].next)
		if (!strcmp(f->n[c].label, label))
			return c;
	if (f->len == f->cap) {
		struct fnode *nn = realloc(f->n, (f->cap = f->cap ? 2 * f->cap : 256) * sizeof(*nn));

		if (!nn)
			return 0;
		f->n = nn;
	}
	c = f->len++;
	f->n[c] = (struct fnode){ label, 0, 0, f->n[parent].child };
	f->n[parent].child = c;
	return c;
}

/* A name for a stack the sites do not know: "(no stack)", or "stack N". */
static const char *unnamed(struct flame *f, uint32_t id)
{
	char **no;

	if (!id)
		return "(no stack)";
	no = realloc(f->owned, (f->nowned + 1) * sizeof(*no));
	if (!no)
		return NULL;
	f->owned = no;
	if (asprintf(&f->owned[f->nowned], "stack %u", id) < 0)
		return NULL;
	return f->owned[f->nowned++];
}

/* A stack's path, outermost frame first; its labels live as long as the sites do. */
static int flame_add(struct flame *f, const struct html_ctx *x, const struct site_sum *s)
{
	const char *const *l;
	int n = s->id ? html_sites__get(x->sites, s->id, &l) : 0;
	const char *name = n ? NULL : unnamed(f, s->id);
	uint32_t at = 0;

	if (!n && !name)
		return -ENOMEM;
	f->n[0].bytes += s->bytes;
	for (int i = n ? n - 1 : 0; i >= 0; i--) {
		at = flame_child(f, at, n ? (l[i] ? l[i] : "?") : name);
		if (!at)
			return -ENOMEM;
		f->n[at].bytes += s->bytes;
	}
	f->depth = f->depth > (n ? n : 1) ? f->depth : (n ? n : 1);
	return 0;
}

static int node_cmp(const void *a, const void *b, void *arg)
{
	const struct fnode *n = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (n[x].bytes != n[y].bytes)
		return n[x].bytes > n[y].bytes ? -1 : 1;
	return strcmp(n[x].label, n[y].label);
}

/* A node and, left to right by bytes, its children; nodes under a pixel wide are left out. */
static void flame_draw(const struct html_ctx *x, const struct flame *f, uint32_t i, double left,
		       double scale, int depth)
{
	double w = f->n[i].bytes * scale;
	uint32_t k = 0, c, *kids;

	if (w < 1 && i)
		return;
	fprintf(x->out, "<rect class=\"fl\"%s x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
		"fill=\"hsl(%u,70%%,%u%%)\" data-bytes=\"%" PRIu64 "\" data-depth=\"%d\"><title>",
		i ? "" : " id=\"flame-root\"", left, depth * FLAME_ROW, w, FLAME_ROW - 1,
		20 + (unsigned)(strlen(f->n[i].label) * 7) % 40, 55 + depth % 4 * 5, f->n[i].bytes,
		depth);
	html_text(x->out, f->n[i].label, 256);
	fprintf(x->out, ": %" PRIu64 " B, %.1f%% of allocated</title></rect>\n", f->n[i].bytes,
		f->n[0].bytes ? 100.0 * f->n[i].bytes / f->n[0].bytes : 0);
	if (w >= 40) {
		fprintf(x->out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">", left + 3,
			depth * FLAME_ROW + 12);
		html_text(x->out, f->n[i].label, (size_t)(w / 6.5));
		fputs("</text>\n", x->out);
	}
	for (c = f->n[i].child; c; c = f->n[c].next)
		k++;
	kids = malloc((k + 1) * sizeof(*kids));
	if (!kids)
		return;
	k = 0;
	for (c = f->n[i].child; c; c = f->n[c].next)
		kids[k++] = c;
	qsort_r(kids, k, sizeof(*kids), node_cmp, f->n);
	for (uint32_t j = 0; j < k; j++) {
		flame_draw(x, f, kids[j], left, scale, depth + 1);
		left += f->n[kids[j]].bytes * scale;
	}
	free(kids);
}

static void flame_free(struct flame *f)
{
	for (uint32_t i = 0; i < f->nowned; i++)
		free(f->owned[i]);
	free(f->owned);
	free(f->n);
}

static int html_icicle(const struct html_ctx *x, const struct site_sums *ss)
{
	struct flame f = { .n = malloc(256 * sizeof(struct fnode)), .len = 1, .cap = 256 };
	int err = 0;

	if (!f.n)
		return -ENOMEM;
	f.n[0] = (struct fnode){ "all allocations", 0, 0, 0 };
	for (uint32_t i = 0; i < ss->n && !err; i++)
		if (ss->s[i].bytes)
			err = flame_add(&f, x, &ss->s[i]);
	if (!err) {
		fprintf(x->out, "<svg id=\"flame\" width=\"%d\" height=\"%d\">\n", HTML_W,
			(f.depth + 1) * FLAME_ROW);
		flame_draw(x, &f, 0, 0, f.n[0].bytes ? (double)HTML_W / f.n[0].bytes : 0, 0);
		fputs("</svg>\n", x->out);
	}
	flame_free(&f);
	return err;
}

int html_sites(const struct html_ctx *x)
{
	struct site_sums ss;
	bool any = false;
	int err;

	for (uint64_t i = 0; i < x->h->nb && !any; i++)
		any = x->h->b[i].stack_id != 0;
	if (!any)
		return 0;
	err = sums_build(x->h, &ss);
	if (err)
		return err;
	fprintf(x->out, "<h2 id=\"sites\">Allocation sites</h2>\n<p>A site is a call stack (the "
		"CSV's stack_id, its frames in the stacks file), named by its call site and then its "
		"callers; frames without symbols are named by their file and offset. %" PRIu64
		" B were allocated in all. The %d sites that allocated the most bytes:</p>\n",
		ss.bytes, SITES_SHOWN);
	qsort(ss.s, ss.n, sizeof(*ss.s), by_bytes);
	sites_table(x, &ss, false);
	fprintf(x->out, "<p>The %d sites whose blocks hold the most bytes at the end (a fork's "
		"copies count as their parent's site):</p>\n", SITES_SHOWN);
	qsort(ss.s, ss.n, sizeof(*ss.s), by_live);
	sites_table(x, &ss, true);
	fputs("<p>Allocated bytes by call stack, outermost caller at the top, each call site at "
	      "the bottom of its column; a box's width is its bytes (hover for them). Boxes under a "
	      "pixel wide are left out.</p>\n", x->out);
	qsort(ss.s, ss.n, sizeof(*ss.s), by_bytes);
	err = html_icicle(x, &ss);
	free(ss.s);
	return err;
}
