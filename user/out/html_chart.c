// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* html_chart.c: the page's live bytes over time, a line per process, thread and arena. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "series.h"

/* One line of a chart: a process, a thread or an arena. */
struct html_line {
	uint64_t key;
	uint32_t pid, tid;	/* tid 0: a process's or an arena's line */
	uint64_t base;		/* arena */
	uint64_t cur, peak;
	int64_t lastb;
	uint64_t *v;		/* HTML_BUCKETS maxima */
};

struct html_lines {
	struct html_line *l;
	uint32_t n, cap;
	struct tb_idmap map;
};

static struct html_line *line_of(struct html_lines *s, uint64_t key, uint32_t pid, uint32_t tid,
				 uint64_t base)
{
	uint32_t i = idmap_get(&s->map, key);
	struct html_line *l;

	if (i != IDMAP_NONE)
		return &s->l[i];
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		struct html_line *nl = realloc(s->l, cap * sizeof(*nl));

		if (!nl)
			return NULL;
		s->l = nl;
		s->cap = cap;
	}
	l = &s->l[s->n];
	*l = (struct html_line){ key, pid, tid, base, 0, 0, -1, calloc(HTML_BUCKETS, sizeof(uint64_t)) };
	if (!l->v || idmap_put(&s->map, key, s->n)) {
		free(l->v);
		return NULL;
	}
	return &s->l[s->n++];
}

/* A bucket holds the most bytes live during it; buckets with no change carry the value on. */
static void line_step(struct html_line *l, int64_t delta, int64_t bucket)
{
	uint64_t before = l->cur;

	l->cur += delta;
	l->peak = l->cur > l->peak ? l->cur : l->peak;
	if (bucket != l->lastb) {
		for (int64_t b = l->lastb + 1; b < bucket; b++)
			l->v[b] = before;
		l->v[bucket] = before > l->cur ? before : l->cur;
		l->lastb = bucket;
	} else if (l->cur > l->v[bucket]) {
		l->v[bucket] = l->cur;
	}
}

static void line_end(struct html_line *l)
{
	for (int64_t b = l->lastb + 1; b < HTML_BUCKETS; b++)
		l->v[b] = l->cur;
}

static void lines_free(struct html_lines *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		free(s->l[i].v);
	free(s->l);
	idmap_free(&s->map);
}

/* Fills the process, thread and arena lines from the changes; -ENOMEM. */
static int lines_fill(const struct html_ctx *x, struct html_lines s[3])
{
	const struct tb_history *h = x->h;
	uint64_t n;
	struct tb_change *ch = series__changes(h, &n);

	if (!ch)
		return -ENOMEM;
	for (uint64_t j = 0; j < n; j++) {
		const struct tb_hblock *b = &h->b[ch[j].block];
		int64_t bucket = x->span ? (int64_t)((ch[j].ts - h->first_ts) * (double)(HTML_BUCKETS - 1) /
						     x->span) : HTML_BUCKETS - 1;
		uint64_t base = series__arena(b);
		struct html_line *l[3] = {
			line_of(&s[0], b->pid, b->pid, 0, 0),
			b->flags & TB_HB_INHERITED ? NULL
				: line_of(&s[1], (uint64_t)b->pid << 32 | b->tid, b->pid, b->tid, 0),
			base ? line_of(&s[2], (uint64_t)b->pid << 40 | base >> 12, b->pid, 0, base) : NULL,
		};

		for (int k = 0; k < 3; k++)
			if (l[k])
				line_step(l[k], ch[j].delta, bucket);
	}
	free(ch);
	for (int k = 0; k < 3; k++)
		for (uint32_t i = 0; i < s[k].n; i++)
			line_end(&s[k].l[i]);
	return 0;
}

static void line_name(const struct html_ctx *x, const struct html_line *l, int kind)
{
	uint32_t ti = history__task(x->h, l->pid, l->tid ? l->tid : l->pid);

	if (kind == 2)
		fprintf(x->out, "pid %u arena 0x%" PRIx64, l->pid, l->base);
	else if (kind == 1)
		fprintf(x->out, "pid %u tid %u ", l->pid, l->tid);
	else
		fprintf(x->out, "pid %u ", l->pid);
	if (kind != 2 && ti != IDMAP_NONE)
		html_text(x->out, x->h->t[ti].comm, TB_COMM_LEN);
}

void html_chart_marks(const struct html_ctx *x, int height)
{
	static const char *const cls[] = { [TB_EV_FORK] = "fork", [TB_EV_THREAD] = "thread",
		[TB_EV_EXEC] = "exec", [TB_EV_FREE] = "bad", [TB_EV_MALLOC] = "arena" };
	uint64_t shown = 0;

	for (uint64_t i = 0; i < x->h->nm && shown < HTML_MARKS; i++) {
		const struct tb_hmark *m = &x->h->m[i];
		const char *c = (unsigned)m->type < sizeof(cls) / sizeof(cls[0]) ? cls[m->type] : NULL;
		double px;

		if (tb_ev_is_alloc(m->type) && m->type != TB_EV_FREE)
			c = "arena";
		if (!c)
			continue;
		px = x->span ? (m->ts - x->h->first_ts) * (double)HTML_W / x->span : HTML_W;
		if (x->svg)	/* a file of its own has no style sheet */
			fprintf(x->out, "<line stroke=\"%s\" ", !strcmp(c, "fork") ? "#a0a" :
				!strcmp(c, "exec") ? "#06c" : !strcmp(c, "arena") ? "#0a0" :
				!strcmp(c, "bad") ? "#d00" : "#888");
		else
			fputs("<line ", x->out);
		fprintf(x->out, "class=\"mk %s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%d\"><title>"
			"+%.3f ms: %s pid %u tid %u", c, px, px, height, html_ms(m->ts - x->h->first_ts),
			!strcmp(c, "arena") ? "new arena in" : !strcmp(c, "bad") ?
			(m->flags & TB_F_DOUBLE_FREE ? "double free in" : "invalid free in")
			: tb_event_name(m->type), m->pid, m->tid);
		if (m->addr)
			fprintf(x->out, " at 0x%" PRIx64, m->addr);
		if (m->type == TB_EV_FORK || m->type == TB_EV_THREAD)
			fprintf(x->out, " from pid %u tid %u", m->origin_pid, m->origin_tid);
		fputs(" (", x->out);
		html_text(x->out, m->comm, TB_COMM_LEN);
		fputs(")</title></line>\n", x->out);
		shown++;
	}
}

static int peak_cmp(const void *a, const void *b)
{
	const struct html_line *x = a, *y = b;

	return x->peak != y->peak ? (x->peak > y->peak ? -1 : 1) : (x->key > y->key) - (x->key < y->key);
}

/* The scale a chart's lines share: the highest peak among the first `shown`. */
static uint64_t chart_top(struct html_lines *s, uint32_t shown)
{
	uint64_t top = 1;

	if (s->n)	/* an empty chart has no array: qsort's NULL is undefined even for 0 */
		qsort(s->l, s->n, sizeof(*s->l), peak_cmp);
	for (uint32_t i = 0; i < shown; i++)
		top = s->l[i].peak > top ? s->l[i].peak : top;
	return top;
}

static void line_colour(const struct html_ctx *x, const struct html_line *l, int kind, uint32_t i,
			char *col, size_t cap)
{
	uint32_t ti = history__task(x->h, l->pid, l->tid);

	html_colour(kind == 1 && ti != IDMAP_NONE ? ti : i * 5 + 3, col, cap);
}

/* The lines, their scale written at the top left, the run's length at the bottom right. */
static void chart_lines(const struct html_ctx *x, const struct html_lines *s, uint32_t shown,
			int kind, uint64_t top, int H)
{
	char col[40];

	fprintf(x->out, "<text x=\"4\" y=\"12\" font-size=\"11\" fill=\"#555\">%" PRIu64
		" B</text><text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\" "
		"text-anchor=\"end\">%.3f ms</text>\n", top, HTML_W - 4, H - 6, html_ms(x->span));
	for (uint32_t i = 0; i < shown; i++) {
		const struct html_line *l = &s->l[i];

		line_colour(x, l, kind, i, col, sizeof(col));
		fprintf(x->out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
			"data-pid=\"%u\"", col, l->pid);
		if (kind == 1)
			fprintf(x->out, " data-tid=\"%u\"", l->tid);
		fputs(" points=\"", x->out);
		for (int b = 0; b < HTML_BUCKETS; b++)
			fprintf(x->out, "%.1f,%.1f ", b * (double)HTML_W / (HTML_BUCKETS - 1),
				H - 4 - (H - 8) * (double)l->v[b] / top);
		fputs("\"><title>", x->out);
		line_name(x, l, kind);
		fprintf(x->out, ": peak %" PRIu64 " B, %" PRIu64 " B at the end</title></polyline>\n",
			l->peak, l->cur);
	}
}

static void chart(const struct html_ctx *x, struct html_lines *s, int kind, const char *what)
{
	const int H = 180;
	uint32_t shown = s->n < HTML_LINES ? s->n : HTML_LINES;
	uint64_t top = chart_top(s, shown);
	char col[40];

	fprintf(x->out, "<h3>Per %s</h3>\n<svg class=\"chart\" width=\"%d\" height=\"%d\">"
		"<title>live bytes per %s, 0 to %" PRIu64 " B, over %.3f ms</title>\n", what, HTML_W,
		H, what, top, html_ms(x->span));
	html_chart_marks(x, H);
	chart_lines(x, s, shown, kind, top, H);
	fprintf(x->out, "<line class=\"cursor\" data-w=\"%d\" x1=\"%d\" x2=\"%d\" y1=\"0\" y2=\"%d\"/>"
		"</svg>\n<p class=\"key\">", HTML_W, HTML_W, HTML_W, H);
	for (uint32_t i = 0; i < shown; i++) {
		line_colour(x, &s->l[i], kind, i, col, sizeof(col));
		fprintf(x->out, "<span style=\"color:%s\">&#9632; ", col);
		line_name(x, &s->l[i], kind);
		fprintf(x->out, " (peak %" PRIu64 " B)</span>", s->l[i].peak);
	}
	if (s->n > shown)
		fprintf(x->out, "<span>and %u more %ss, not drawn</span>", s->n - shown, what);
	fputs("</p>\n", x->out);
}

int html_charts(const struct html_ctx *x)
{
	struct html_lines s[3] = {};
	int err = lines_fill(x, s);

	if (!err) {
		fputs("<h2 id=\"live\">Live bytes over time</h2>\n<p>The most bytes live in each of "
		      HTML_BUCKETS_TEXT " time slices. Marks: fork (purple), thread (grey), exec (blue), "
		      "new arena (green), double or invalid free (red). A thread's line counts the blocks "
		      "it allocated; a process's, every block it holds, inherited ones too.</p>\n",
		      x->out);
		chart(x, &s[0], 0, "process");
		chart(x, &s[1], 1, "thread");
		chart(x, &s[2], 2, "arena");
	}
	for (int k = 0; k < 3; k++)
		lines_free(&s[k]);
	return err;
}

/* A lab report's chart: live bytes per thread, its key under it, in a file of its own. */
int html_svg_live(const struct correlator *c, const struct tb_history *h, FILE *out)
{
	struct html_ctx x = { .c = c, .h = h, .out = out, .svg = true,
			      .span = h->last_ts - h->first_ts };
	struct html_lines s[3] = {};
	const int H = 180;
	uint32_t shown;
	uint64_t top;
	char col[40];
	int err = lines_fill(&x, s);

	shown = s[1].n < HTML_LINES ? s[1].n : HTML_LINES;
	if (!err) {
		top = chart_top(&s[1], shown);
		fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
			"font-family=\"sans-serif\" font-size=\"12\">\n<title>live bytes per thread "
			"over the run</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
			"stroke=\"#ddd\"/>\n", HTML_W, H + 18 * (shown + 1), HTML_W, H);
		html_chart_marks(&x, H);
		chart_lines(&x, &s[1], shown, 1, top, H);
		for (uint32_t i = 0; i < shown; i++) {
			line_colour(&x, &s[1].l[i], 1, i, col, sizeof(col));
			fprintf(out, "<text x=\"4\" y=\"%u\" fill=\"%s\">&#9632; ", H + 18 * (i + 1), col);
			line_name(&x, &s[1].l[i], 1);
			fprintf(out, " (peak %" PRIu64 " B)</text>\n", s[1].l[i].peak);
		}
		fputs("</svg>\n", out);
	}
	for (int k = 0; k < 3; k++)
		lines_free(&s[k]);
	return err;
}
