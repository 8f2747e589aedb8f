// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report.c: the end-of-run report, as aligned text for people and as one JSON object for tools. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report.h"
#include "report_sites.h"
#include "sites.h"
#include "model.h"

#define MAX_COLS 20

/* ---- shared helpers ---------------------------------------------------------------------- */

/* What the caller knows wins; the model's own counts cover `tlsbpf analyze` of a saved trace. */
struct run_view {
	const char *command;
	uint64_t duration_ns, events, lost, out_of_order;
	int attached, have_status, exit_status;
	unsigned sample_every, top;
	const char *probes;
	const uint64_t *page_counts;
	int stacks_on;
	uint64_t stacks_kept, stacks_truncated, stacks_missing;
	unsigned stacks_depth;
};

static struct run_view run_view(const struct correlator *c, const struct tb_run_info *run)
{
	struct tb_run_info none = { 0 };
	struct run_view v;

	if (!run)
		run = &none;
	v.command = run->command ? run->command : "";
	v.duration_ns = run->duration_ns ? run->duration_ns : c->last_ts - c->first_ts;
	v.events = run->events ? run->events : c->events;
	/* Both count the same drops (the loader turns its counters into lost events). */
	v.lost = run->lost > c->lost ? run->lost : c->lost;
	v.attached = run->attached;
	v.have_status = run->have_status;
	v.exit_status = run->exit_status;
	v.sample_every = run->sample_every;
	v.out_of_order = run->out_of_order;
	v.top = run->top;
	v.probes = run->probes;
	v.page_counts = run->page_counts;
	v.stacks_on = run->stacks.on;
	v.stacks_kept = run->stacks.kept;
	v.stacks_truncated = run->stacks.truncated;
	v.stacks_depth = run->stacks.depth;
	v.stacks_missing = run->stacks.missing;
	return v;
}

struct rank {
	uint64_t key;
	uint32_t idx;
};

static int rank_cmp(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? 1 : -1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int report__pick(const uint64_t *key, uint32_t n, unsigned top, uint8_t *keep)
{
	struct rank *r;

	if (!top || n <= top) {
		memset(keep, 1, n);
		return n;
	}
	r = malloc((size_t)n * sizeof(*r));
	if (!r) {
		memset(keep, 1, n);	/* everything rather than a wrong cut */
		return n;
	}
	for (uint32_t i = 0; i < n; i++)
		r[i] = (struct rank){ key[i], i };
	qsort(r, n, sizeof(*r), rank_cmp);
	memset(keep, 0, n);
	for (uint32_t i = 0; i < top; i++)
		keep[r[i].idx] = 1;
	free(r);
	return top;
}

void report__proc_sums(const struct correlator *c, const struct tb_process *p, uint32_t from,
		       uint32_t to, struct tb_proc_sums *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = from; i < to && i < p->nthreads; i++) {
		const struct tb_thread *t = c->threads[p->threads[i]];

		s->allocs += t->allocs;
		s->frees += t->frees;
		s->bytes += t->bytes;
	}
}

uint32_t report__tasks(const struct correlator *c)
{
	uint32_t n = c->nthreads;

	/* every image after the first begins with the thread that exec'd, already counted */
	for (uint32_t i = 0; i < c->nprocs; i++)
		n -= c->procs[i]->nimages - 1;
	return n;
}

uint32_t report__image_end(const struct tb_process *p, uint32_t k)
{
	return k + 1 < p->nimages ? p->images[k + 1].first_thread : p->nthreads;
}

/* One past the last of image k's arenas in p->arenas. */
static uint32_t image_arenas_end(const struct tb_process *p, uint32_t k)
{
	return k + 1 < p->nimages ? p->images[k + 1].first_arena : p->narenas;
}

uint64_t report__thread_spacing(const struct tb_thread *t)
{
	const struct tb_spacing *best = NULL;

	if (t->allocs < 2)
		return 0;
	for (int i = 0; i < TB_SPACING_SLOTS; i++)
		if (t->spacing[i].count && (!best || t->spacing[i].count > best->count))
			best = &t->spacing[i];
	return best ? best->delta : 0;
}

static int arena_shown(const struct tb_arena *a)
{
	return a->blocks || a->seeded || (!a->inherited && !a->is_heap);
}

static uint64_t proc_live_blocks(const struct tb_process *p)
{
	return p->exited ? 0 : p->blocks.live;
}

/* A growing string: lists cut only by --top, never by a buffer. */
struct sbuf {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *s;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && b->len + n < b->cap) {
			b->len += n;
			return;
		}
		/* too short: grow and write it again */
		cap = (b->cap ? b->cap : 64) * 2 + n;
		s = realloc(b->s, cap);
		if (!s)
			return;
		b->s = s;
		b->cap = cap;
	}
}

static const char *sb_str(const struct sbuf *b)
{
	return b->s ? b->s : "";
}

/* ---- text: a table with aligned columns -------------------------------------------------- */

struct table {
	int ncols;
	char **cells;	/* row-major, row 0 is the header */
	size_t n, cap;
	int width[MAX_COLS];
};

__attribute__((format(printf, 2, 3)))
static void table_cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *cell;
	int len;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **v = realloc(t->cells, cap * sizeof(*v));

		if (!v)
			return;
		t->cells = v;
		t->cap = cap;
	}
	va_start(ap, fmt);
	len = vasprintf(&cell, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	t->cells[t->n] = cell;
	if (len > t->width[t->n % t->ncols])
		t->width[t->n % t->ncols] = len;
	t->n++;
}

/* Text columns (the first and the last) align left, numbers right. */
static void table_print(struct table *t, FILE *out, int indent)
{
	for (size_t i = 0; i < t->n; i++) {
		int col = i % t->ncols, last = col == t->ncols - 1;

		if (col == 0)
			fprintf(out, "%*s", indent, "");
		if (col == 0 || last)
			fprintf(out, "%-*s", last ? 0 : t->width[col], t->cells[i]);
		else
			fprintf(out, "%*s", t->width[col], t->cells[i]);
		fputs(last ? "\n" : "  ", out);
		free(t->cells[i]);
	}
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static void table_discard(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static void table_head(struct table *t, const char *const *names)
{
	memset(t, 0, sizeof(*t));
	while (names[t->ncols])
		t->ncols++;
	for (int i = 0; i < t->ncols; i++)
		table_cell(t, "%s", names[i]);
}

/* Thread and file names may hold anything: show what is not printable ASCII as \xNN. */
static const char *text_escape(const char *s, size_t max, char *buf, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < max && s[i] && o + 5 < cap; i++) {
		unsigned char ch = s[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '\\')
			o += snprintf(buf + o, cap - o, "\\x%02x", ch);
		else
			buf[o++] = ch;
	}
	buf[o] = '\0';
	return buf;
}

/* ---- text: sections ---------------------------------------------------------------------- */

/* --sample-by time: what fraction was watched, and what that means for every figure below. */
static void text_time_sampled(const struct correlator *c, FILE *out)
{
	uint64_t span;
	uint32_t windows;
	uint64_t on = model_sample_on_ns(c, &span, &windows);

	if (!span)
		return;
	fprintf(out, "sampled by time: the allocator probes were on %.2f%% of the time (%" PRIu32
		" window%s, %.3f s of %.3f s); counts are of calls made while they were on; a "
		"block whose free may have come while they were off is no leak, nor is a free of "
		"a block never seen an invalid one\n", 100.0 * on / span, windows,
		windows == 1 ? "" : "s", on / 1e9, span / 1e9);
}

static void text_header(const struct correlator *c, const struct run_view *v, FILE *out)
{
	fprintf(out, "tlsbpf report: %s\n", v->command);
	fprintf(out, "events lost: %" PRIu64 "%s\n", v->lost,
		v->lost ? " (counts below miss what those events carried)" : "");
	fprintf(out, "events: %" PRIu64 " in %.3f s, %" PRIu32 " process%s, %" PRIu32 " thread%s\n",
		v->events, v->duration_ns / 1e9, c->nprocs, c->nprocs == 1 ? "" : "es",
		report__tasks(c), report__tasks(c) == 1 ? "" : "s");
	if (v->attached)
		fputs("attach mode: blocks allocated before tlsbpf attached are not counted\n",
		      out);
	/* cut at the call site on purpose: no walk stopped short, nothing to warn of */
	if (v->stacks_on && v->stacks_depth == 1)
		fprintf(out, "call stacks: the call site alone (--stack-depth N keeps N frames), %"
			PRIu64 " distinct; %" PRIu64 " rows without a stack\n", v->stacks_kept,
			v->stacks_missing);
	else if (v->stacks_on)
		fprintf(out, "call stacks: %" PRIu64 " distinct, %" PRIu64 " of them truncated (the "
			"unwinding stopped before the outermost frame, or at --stack-depth); "
			"%" PRIu64 " rows without a stack\n", v->stacks_kept, v->stacks_truncated,
			v->stacks_missing);
	if (v->have_status)
		fprintf(out, "command exit status: %d\n", v->exit_status);
	if (v->probes)
		fprintf(out, "probes: %s\n", v->probes);
	if (v->sample_every > 1)
		fprintf(out, "sampled: one allocation call in %u per thread was recorded, with the "
			     "free of each recorded block; counts are of recorded calls\n",
			v->sample_every);
	else if (v->sample_every)
		fputs("sampled: only some allocation calls were recorded (the rate is not in the "
		      "CSV); counts are of recorded calls\n", out);
	text_time_sampled(c, out);
	if (v->page_counts)
		fprintf(out, "page faults counted by the kernel: %" PRIu64 " first touches (%" PRIu64
			" reads, %" PRIu64 " writes), %" PRIu64 " writes to present pages, %" PRIu64
			" pages copied (%" PRIu64 " of the zero page), %" PRIu64 " other\n",
			v->page_counts[TB_PC_TOUCH_READ] + v->page_counts[TB_PC_TOUCH_WRITE],
			v->page_counts[TB_PC_TOUCH_READ], v->page_counts[TB_PC_TOUCH_WRITE],
			v->page_counts[TB_PC_WP], v->page_counts[TB_PC_COW],
			v->page_counts[TB_PC_ZERO_COPY], v->page_counts[TB_PC_OTHER]);
}

static void proc_end_text(const struct tb_process *p, char *buf, size_t cap)
{
	char detail[TB_PATH_LEN * 4 + 1];

	if (p->exit_detail)
		text_escape(p->exit_detail, TB_PATH_LEN, detail, sizeof(detail));
	if (!p->exited)
		snprintf(buf, cap, "still running");
	else if (p->exit_detail && p->exit_status >= 0)
		snprintf(buf, cap, "%s (status %d)", detail, p->exit_status);
	else if (p->exit_detail)
		snprintf(buf, cap, "%s", detail);
	else
		snprintf(buf, cap, "exited with status %d", p->exit_status);
}

static void text_proc_title(const struct correlator *c, const struct tb_process *p, FILE *out,
			    int ind)
{
	char comm[TB_COMM_LEN * 4 + 1], exe[TB_PATH_LEN * 4 + 1], how[TB_PATH_LEN * 4 + 32];

	proc_end_text(p, how, sizeof(how));
	fprintf(out, "%*sprocess %" PRIu32 " %s%s%s%s: %s\n", ind, "", p->pid,
		text_escape(p->comm, TB_COMM_LEN, comm, sizeof(comm)), p->exe ? " (" : "",
		p->exe ? text_escape(p->exe, TB_PATH_LEN, exe, sizeof(exe)) : "", p->exe ? ")" : "",
		how);
	if (p->attached)
		fprintf(out, "%*s  running before it was watched: its older blocks are unknown\n",
			ind, "");
	if (p->ran_in < c->nprocs)
		fprintf(out, "%*s  ran in the memory of process %" PRIu32 " (vfork or CLONE_VM)%s: "
			"the blocks it got there are counted there\n", ind, "",
			c->procs[p->ran_in]->pid, p->execs ? " until its exec" : "");
	if (p->never_probed)
		fprintf(out, "%*s  never watched: it ended before tlsbpf could probe the allocator its "
			"exec brought; none of its calls were seen\n", ind, "");
	if (p->probed_late_ns)
		fprintf(out, "%*s  its allocator was probed %.1f ms after its exec: calls in between "
			"are not seen\n", ind, "", p->probed_late_ns / 1e6);
	fprintf(out, "%*s  threads created: %" PRIu64 ", children: %" PRIu64 ", execs: %" PRIu32
		"\n", ind, "", p->threads_created, p->children, p->execs);
}

/*
 * Arenas a thread was served from, first use first, each named in its own process;
 * past --top, how many more.
 */
static void thread_arenas_text(const struct correlator *c, const struct tb_thread *t, unsigned top,
			       struct sbuf *b)
{
	char one[40];
	uint32_t i, shown = 0;

	for (i = 0; i < t->narenas && (!top || shown < top); i++)
		if (model_thread_arena_label(c, t, i, one, sizeof(one)))
			sb_add(b, "%s%s", shown++ ? "," : "", one);
	if (i < t->narenas)
		sb_add(b, ",+%" PRIu32 " more", t->narenas - i);
	if (!shown)
		sb_add(b, "-");
}

static void text_thread_row(struct table *tb, const struct correlator *c,
			    const struct tb_thread *t, unsigned top)
{
	char comm[TB_COMM_LEN * 4 + 1];
	uint64_t sp = report__thread_spacing(t);
	struct sbuf arenas = { 0 };

	thread_arenas_text(c, t, top, &arenas);
	table_cell(tb, "T%" PRIu32, t->label);
	table_cell(tb, "%" PRIu32, t->tid);
	table_cell(tb, "%s", text_escape(t->comm, TB_COMM_LEN, comm, sizeof(comm)));
	table_cell(tb, "%" PRIu64, t->allocs);
	table_cell(tb, "%" PRIu64, t->frees);
	table_cell(tb, "%" PRIu64, t->bytes);
	table_cell(tb, "%" PRIu64, t->live_bytes);
	table_cell(tb, "%" PRIu64, t->peak_bytes);
	if (sp)
		table_cell(tb, "%" PRIu64, sp);
	else
		table_cell(tb, "-");
	table_cell(tb, "%" PRIu64, t->cross_frees);
	table_cell(tb, "%" PRIu64, t->inherited_frees);
	table_cell(tb, "%" PRIu64, t->reused);
	table_cell(tb, "%" PRIu64, t->double_frees);
	table_cell(tb, "%" PRIu64, t->invalid_frees);
	table_cell(tb, "%" PRIu64, t->unknown_frees);
	table_cell(tb, "%s", sb_str(&arenas));
	free(arenas.s);
}

/* What the rows cut by --top held, so that the shown and the rest add up. */
static void text_more(FILE *out, int ind, uint64_t n, const char *one, const char *many,
		      const struct tb_proc_sums *s)
{
	fprintf(out, "%*sand %" PRIu64 " more %s: %" PRIu64 " allocations, %" PRIu64 " frees, %"
		PRIu64 " B requested\n", ind, "", n, n == 1 ? one : many, s->allocs, s->frees,
		s->bytes);
}

/* The threads of one image: the --top ones with the most bytes requested, in their order. */
static void text_threads(const struct correlator *c, const struct tb_process *p, uint32_t from,
			 uint32_t to, unsigned top, FILE *out, int ind)
{
	static const char *const head[] = {
		"thread",  "tid",   "comm",    "allocs", "frees",   "requested",
		"live",	   "peak",  "spacing", "xfree",  "inhfree", "reused",
		"dblfree", "invalid", "unknown", "arenas", NULL,
	};
	uint32_t n = to - from;
	uint64_t *key = malloc((n + 1) * sizeof(*key));
	uint8_t *keep = malloc(n + 1);
	struct tb_proc_sums more = { 0 };
	uint64_t hidden = 0;
	struct table tb;

	if (!key || !keep) {
		free(key);
		free(keep);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		key[i] = c->threads[p->threads[from + i]]->bytes;
	report__pick(key, n, top, keep);
	table_head(&tb, head);
	for (uint32_t i = 0; i < n; i++) {
		const struct tb_thread *t = c->threads[p->threads[from + i]];

		if (keep[i]) {
			text_thread_row(&tb, c, t, top);
			continue;
		}
		hidden++;
		more.allocs += t->allocs;
		more.frees += t->frees;
		more.bytes += t->bytes;
	}
	table_print(&tb, out, ind + 2);
	if (hidden)
		text_more(out, ind + 2, hidden, "thread", "threads", &more);
	free(key);
	free(keep);
}

/* "image 2 of 3, exec /usr/bin/git [git gc --auto]: 10 allocations, ...": one per program. */
static void text_image(const struct correlator *c, const struct tb_process *p, uint32_t k,
		       FILE *out, int ind)
{
	const struct tb_image *im = &p->images[k];
	char comm[TB_COMM_LEN * 4 + 1], exe[TB_PATH_LEN * 4 + 1];
	struct tb_proc_sums s;
	char *args = NULL;

	report__proc_sums(c, p, im->first_thread, report__image_end(p, k), &s);
	if (im->args) {
		size_t cap = strlen(im->args) * 4 + 1;

		args = malloc(cap);
		if (args)
			text_escape(im->args, SIZE_MAX, args, cap);
	}
	fprintf(out, "%*simage %" PRIu32 " of %" PRIu32 ", %s %s%s%s%s: %s, %" PRIu64
		" allocations, %" PRIu64 " frees, %" PRIu64 " B requested\n", ind, "", k + 1,
		p->nimages, im->exec ? "exec" : p->attached && !k ? "attached" : "forked",
		im->exe ? text_escape(im->exe, TB_PATH_LEN, exe, sizeof(exe)) : "?",
		args ? " [" : "", args ? args : "", args ? "]" : "",
		text_escape(im->comm, TB_COMM_LEN, comm, sizeof(comm)), s.allocs, s.frees, s.bytes);
	free(args);
}

static void text_leak_list(FILE *out, const struct tb_leak *v, uint32_t n, uint64_t blocks,
			   uint64_t bytes, unsigned top)
{
	uint64_t mb = blocks, mbytes = bytes;
	uint32_t i;

	for (i = 0; i < n && (!top || i < top); i++) {
		fprintf(out, "%s%" PRIu64 " x %" PRIu64 " B", i ? ", " : "", v[i].count, v[i].size);
		mb -= v[i].count;
		mbytes -= v[i].count * v[i].size;
	}
	if (i < n)
		fprintf(out, ", and %" PRIu32 " more size%s (%" PRIu64 " B in %" PRIu64 " block%s)",
			n - i, n - i == 1 ? "" : "s", mbytes, mb, mb == 1 ? "" : "s");
	fprintf(out, " (%" PRIu64 " B in %" PRIu64 " block%s)", bytes, blocks,
		blocks == 1 ? "" : "s");
}

static void text_leaks(const struct tb_process *p, FILE *out, int ind, unsigned top,
		       bool by_time)
{
	fprintf(out, "%*s  ", ind, "");
	if (!p->exited) {
		fprintf(out, "live blocks now: %" PRIu64 " (leaks are known at exit)\n",
			proc_live_blocks(p));
		return;
	}
	if (p->never_probed && !p->leak_blocks) {
		fputs("leaks: not known (never watched)", out);
	} else if (!p->leak_blocks) {
		fputs("leaks: none", out);
	} else {
		fputs("leaks: ", out);
		text_leak_list(out, p->leaks, p->nleaks, p->leak_blocks, p->leak_bytes, top);
	}
	fputc('\n', out);
	if (p->libc_leak_blocks) {
		fprintf(out, "%*s  kept by the C library (not leaks of the program): ", ind, "");
		text_leak_list(out, p->libc_leaks, p->nlibc_leaks, p->libc_leak_blocks,
			       p->libc_leak_bytes, top);
		fputc('\n', out);
	}
	if (p->inherited_leak_blocks)
		fprintf(out, "%*s  inherited blocks never freed: %" PRIu64 " (%" PRIu64 " B)\n",
			ind, "", p->inherited_leak_blocks, p->inherited_leak_bytes);
	if (p->unseen_blocks && by_time)
		fprintf(out, "%*s  not counted as leaks: %" PRIu64 " blocks live at the end whose "
			"free may have come while the probes were off\n", ind, "", p->unseen_blocks);
	else if (p->unseen_blocks)
		fprintf(out, "%*s  not counted as leaks: %" PRIu64 " sampled blocks whose free could "
			"not be recorded (another process's call at the same address took the mark)\n",
			ind, "", p->unseen_blocks);
}

/* The arena's users with the most bytes; past --top, how many more and their blocks. */
static void arena_users_text(const struct correlator *c, const struct tb_process *p,
			     const struct tb_arena *a, unsigned top, struct sbuf *b)
{
	uint64_t *key = malloc((a->nusers + 1) * sizeof(*key)), more = 0;
	uint8_t *keep = malloc(a->nusers + 1);
	uint32_t shown = 0;
	char label[32];

	if (!key || !keep) {
		free(key);
		free(keep);
		return;
	}
	for (uint32_t i = 0; i < a->nusers; i++)
		key[i] = a->users[i].bytes;
	report__pick(key, a->nusers, top, keep);
	for (uint32_t i = 0; i < a->nusers; i++) {
		if (!keep[i]) {
			more += a->users[i].blocks;
			continue;
		}
		model_thread_label(c, a->users[i].thread, p, "-", label, sizeof(label));
		sb_add(b, "%s%s:%" PRIu64, shown++ ? " " : "", label, a->users[i].blocks);
	}
	if (shown < a->nusers)
		sb_add(b, " +%" PRIu32 " more threads:%" PRIu64, a->nusers - shown, more);
	if (!a->nusers)
		sb_add(b, "-");
	free(key);
	free(keep);
}

static void text_arena_row(const struct correlator *c, const struct tb_process *p,
			   const struct tb_arena *a, unsigned top, struct table *tb)
{
	struct sbuf users = { 0 };
	char owner[32];

	model_thread_label(c, a->owner, p, "-", owner, sizeof(owner));
	arena_users_text(c, p, a, top, &users);
	table_cell(tb, "%s", a->is_heap ? "heap" : a->extends != TB_NONE ? "arena+" : "arena");
	table_cell(tb, "0x%" PRIx64, a->base);
	table_cell(tb, "%s", owner);
	table_cell(tb, "%" PRIu64, a->blocks);
	table_cell(tb, "%" PRIu64, a->bytes);
	table_cell(tb, "%s", sb_str(&users));
	free(users.s);
}

/* The arenas of one image, the --top with the most bytes, in their order. */
static void text_arenas(const struct correlator *c, const struct tb_process *p, uint32_t from,
			uint32_t to, FILE *out, int ind, unsigned top)
{
	static const char *const head[] = {
		"arena", "base", "owner", "blocks", "bytes", "threads (blocks)", NULL,
	};
	uint32_t n = to - from, shown = 0, any = 0, more = 0;
	uint64_t *key = calloc(n + 1, sizeof(*key)), mblocks = 0, mbytes = 0;
	uint8_t *keep = malloc(n + 1);
	struct table tb;

	if (!key || !keep)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		/* arenas not shown weigh less than any shown one: the cut keeps shown ones */
		key[i] = arena_shown(&p->arenas[from + i]) ? p->arenas[from + i].bytes + 1 : 0;
		shown += key[i] != 0;
	}
	report__pick(key, n, top && shown > top ? top : 0, keep);
	table_head(&tb, head);
	for (uint32_t i = 0; i < n; i++) {
		const struct tb_arena *a = &p->arenas[from + i];

		if (!arena_shown(a))
			continue;
		if (!keep[i]) {
			more++;
			mblocks += a->blocks;
			mbytes += a->bytes;
			continue;
		}
		text_arena_row(c, p, a, top, &tb);
		any = 1;
	}
	if (any)
		table_print(&tb, out, ind + 2);
	else
		table_discard(&tb);
	if (more)
		fprintf(out, "%*s  and %" PRIu32 " more arena%s: %" PRIu64 " blocks, %" PRIu64 " B\n",
			ind, "", more, more == 1 ? "" : "s", mblocks, mbytes);
out:
	free(key);
	free(keep);
}

static void text_chunks(const struct tb_process *p, FILE *out, int ind)
{
	if (p->chunks)
		fprintf(out, "%*s  mmap chunks: %" PRIu64 ", %" PRIu64 " B requested, %" PRIu64
			" B mapped, largest %" PRIu64 " B\n", ind, "", p->chunks, p->chunk_bytes,
			p->chunk_mapped, p->chunk_largest);
}

/*
 * Which processes the text report shows: the --top with the most bytes
 * requested and every ancestor of one, so that the tree stays whole. Each
 * process not shown is summed into its nearest shown ancestor's "more" line,
 * or into the report's own for a tree with no process shown.
 */
struct proc_cut {
	uint8_t *shown;
	uint32_t *into;			/* nearest shown ancestor, or TB_NONE */
	struct tb_proc_sums *more;	/* per process: what it stands for of the hidden */
	uint64_t *nmore;
	struct tb_proc_sums rest;	/* hidden with no shown ancestor */
	uint64_t nrest;
};

static void cut_free(struct proc_cut *k)
{
	free(k->shown);
	free(k->into);
	free(k->more);
	free(k->nmore);
}

static int cut_alloc(struct proc_cut *k, uint32_t n)
{
	memset(k, 0, sizeof(*k));
	k->shown = calloc(n + 1, 1);
	k->into = calloc(n + 1, sizeof(*k->into));
	k->more = calloc(n + 1, sizeof(*k->more));
	k->nmore = calloc(n + 1, sizeof(*k->nmore));
	if (k->shown && k->into && k->more && k->nmore)
		return 0;
	cut_free(k);
	return -ENOMEM;
}

static int proc_cut(const struct correlator *c, unsigned top, const uint8_t *skip,
		    struct proc_cut *k)
{
	uint64_t *key = calloc(c->nprocs + 1, sizeof(*key));
	struct tb_proc_sums s;

	if (!key || cut_alloc(k, c->nprocs)) {
		free(key);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->nprocs; i++) {
		report__proc_sums(c, c->procs[i], 0, UINT32_MAX, &s);
		/* +1: a process that allocated nothing still beats one set aside as quiet */
		key[i] = skip[i] ? 0 : s.bytes + 1;
	}
	report__pick(key, c->nprocs, top, k->shown);
	free(key);
	/* a parent's index is below its children's: one pass upwards, one downwards */
	for (uint32_t i = c->nprocs; i-- > 0;)
		if (k->shown[i] && !skip[i] && c->procs[i]->parent != TB_NONE)
			k->shown[c->procs[i]->parent] = 1;
	for (uint32_t i = 0; i < c->nprocs; i++) {
		const struct tb_process *p = c->procs[i];
		uint32_t up = p->parent;
		struct tb_proc_sums *m;

		k->into[i] = up == TB_NONE ? TB_NONE : k->shown[up] ? up : k->into[up];
		if (k->shown[i] || skip[i])
			continue;
		report__proc_sums(c, p, 0, UINT32_MAX, &s);
		m = k->into[i] == TB_NONE ? &k->rest : &k->more[k->into[i]];
		m->allocs += s.allocs;
		m->frees += s.frees;
		m->bytes += s.bytes;
		if (k->into[i] == TB_NONE)
			k->nrest++;
		else
			k->nmore[k->into[i]]++;
	}
	return 0;
}

/* The blocks whose faults made the most pages resident or copied: --top of them. */
struct caused {
	uint64_t block;
	uint32_t pages;
};

struct caused_list {
	struct caused *v;
	uint32_t n, cap;
};

static void caused_add(void *arg, uint64_t block, uint32_t pages)
{
	struct caused_list *l = arg;

	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		struct caused *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct caused){ block, pages };
}

static int caused_cmp(const void *a, const void *b)
{
	const struct caused *x = a, *y = b;

	if (x->pages != y->pages)
		return x->pages < y->pages ? 1 : -1;
	return x->block < y->block ? -1 : x->block > y->block;
}

static void text_pages_blocks(const struct tb_process *p, FILE *out, int ind, unsigned top)
{
	struct caused_list l = {};
	uint32_t shown;

	pages__each_caused(p->pg, caused_add, &l);
	if (!l.n)
		return;
	qsort(l.v, l.n, sizeof(*l.v), caused_cmp);
	shown = top && l.n > top ? top : l.n;
	fprintf(out, "%*s  pages by block (touched or copied):", ind, "");
	for (uint32_t i = 0; i < shown; i++)
		fprintf(out, " 0x%" PRIx64 " %" PRIu32 "%s", l.v[i].block, l.v[i].pages,
			i + 1 < shown ? "," : "");
	if (shown < l.n)
		fprintf(out, " and %" PRIu32 " more blocks", l.n - shown);
	fputc('\n', out);
	free(l.v);
}

/* Where the process's resident memory grew and was copied: its heap and thread arenas. */
static void text_pages_arenas(const struct tb_process *p, FILE *out, int ind)
{
	bool any = false;

	for (uint32_t i = 0; i < p->narenas; i++) {
		const struct tb_arena *a = &p->arenas[i];

		if (!a->pages_touched && !a->pages_copied)
			continue;
		fprintf(out, "%s", any ? "," : "");
		if (!any)
			fprintf(out, "%*s  pages by arena:", ind, "");
		any = true;
		if (a->is_heap)
			fprintf(out, " heap");
		else
			fprintf(out, " 0x%" PRIx64, a->base);
		fprintf(out, " touched %" PRIu64 " copied %" PRIu64, a->pages_touched,
			a->pages_copied);
	}
	if (any)
		fputc('\n', out);
}

/* One run given back: when, how, and the blocks whose bytes were on it. */
static void text_giveback(const struct tb_giveback *g, FILE *out, int ind)
{
	fprintf(out, "%*s    row %" PRIu64 " %s by %" PRIu32 ": 0x%" PRIx64 "-0x%" PRIx64 ", %" PRIu64
		" resident page%s", ind, "", g->seq, tb_event_name(g->how), g->tid, g->start,
		g->end, g->pages, g->pages == 1 ? "" : "s");
	if (g->nlive) {
		fprintf(out, "; LIVE blocks %" PRIu32 ":", g->nlive);
		for (uint32_t i = 0; i < g->nlive && i < TB_GB_BLOCKS; i++)
			fprintf(out, " 0x%" PRIx64, g->live[i]);
	}
	if (g->nfreed) {
		fprintf(out, "; freed blocks %" PRIu32 ":", g->nfreed);
		for (uint32_t i = 0; i < g->nfreed && i < TB_GB_BLOCKS; i++)
			fprintf(out, " 0x%" PRIx64, g->freed[i]);
	}
	fputc('\n', out);
}

/* Pages given back tied to blocks: every run that held a live block, then --top with freed ones. */
static void text_pages_givebacks(const struct tb_process *p, FILE *out, int ind, unsigned top)
{
	const struct tb_page_stats *s = &p->pages;
	const struct tb_giveback *g;
	uint32_t n, shown = 0;
	uint64_t total;

	if (!tb_page_given_back(s))
		return;
	g = pages__givebacks(p->pg, &n, &total);
	fprintf(out, "%*s  given back (%" PRIu64 " runs): pages of %" PRIu64 " freed blocks, of %"
		PRIu64 " LIVE blocks%s\n", ind, "", total, s->freed_blocks_back,
		s->live_blocks_back, s->live_blocks_back ? " (their bytes are lost: a bug)" : "");
	for (uint32_t i = 0; i < n; i++)
		if (g[i].nlive) {
			text_giveback(&g[i], out, ind);
			shown++;
		}
	/* then those of freed blocks; a run that held no block is only counted */
	for (uint32_t i = 0, others = 0; i < n && (!top || others < top); i++)
		if (!g[i].nlive && g[i].nfreed) {
			text_giveback(&g[i], out, ind);
			shown++;
			others++;
		}
	if (total > shown)
		fprintf(out, "%*s    and %" PRIu64 " more runs, not listed (a row's detail names"
			" the blocks on its run)\n", ind, "", total - shown);
}

/* --pages: the last fault the kernel refused, the context of a crash by SIGSEGV. */
static void text_refused(const struct tb_process *p, FILE *out, int ind)
{
	const struct tb_refused *r = &p->refused;
	char what[TB_PATH_LEN * 4 + 1];

	if (!r->seq)
		return;
	fprintf(out, "%*s  last fault refused by the kernel: row %" PRIu64 ", thread %" PRIu32
		" at 0x%" PRIx64 " in %s", ind, "", r->seq, r->tid, r->addr,
		tb_region_name(r->region));
	if (r->block)
		fprintf(out, ", block 0x%" PRIx64, r->block);
	fprintf(out, ": %s\n", text_escape(r->what, TB_PATH_LEN, what, sizeof(what)));
}

/* --pages: what the process's faults did, then each thread's share. */
static void text_pages(const struct correlator *c, const struct tb_process *p, FILE *out, int ind,
		       unsigned top)
{
	const struct tb_page_stats *s = &p->pages;

	text_refused(p, out, ind);

	if (p->rss.rows)
		fprintf(out, "%*s  resident (rss rows, within %u pages a kind): peak %" PRIu64
			" KiB, anon peak %" PRIu64 " KiB; last: anon %" PRIu64 " KiB, file %" PRIu64
			" KiB, shmem %" PRIu64 " KiB\n", ind, "", TB_RSS_STEP, p->rss.peak >> 10,
			p->rss.peak_anon >> 10, p->rss.now[1] >> 10, p->rss.now[0] >> 10,
			p->rss.now[3] >> 10);
	if (!tb_page_faults(s) && !tb_page_copies(s))
		return;
	fprintf(out, "%*s  pages: first touched %" PRIu64 " (%" PRIu64 " written: new, %" PRIu64
		" read: zero page, %" PRIu64 " file or code, %" PRIu64 " in mappings not seen),"
		" guard %" PRIu64 "; writes to write-protected pages %" PRIu64 ", copied %" PRIu64
		" (%" PRIu64 " after fork, %" PRIu64 " zero page, %" PRIu64 " file, %" PRIu64
		" history unknown); other faults %" PRIu64 "; in live blocks %" PRIu64
		"; given back %" PRIu64 " (munmap %" PRIu64 ", madvise %" PRIu64 ", brk trim %" PRIu64
		")\n",
		ind, "", s->fresh + s->zero + s->file + s->unmapped, s->fresh, s->zero, s->file,
		s->unmapped, s->guard, s->wp, tb_page_copies(s), s->cow_fork, s->cow_zero,
		s->cow_file, s->cow_other, s->other, s->in_blocks, tb_page_given_back(s),
		s->unmapped_back, s->advised_back, s->trimmed_back);
	fprintf(out, "%*s  pages by thread:", ind, "");
	for (uint32_t i = 0; i < p->nthreads; i++) {
		const struct tb_thread *t = c->threads[p->threads[i]];
		const struct tb_page_stats *ts = &t->pages;

		fprintf(out, " T%u touched %" PRIu64 " copied %" PRIu64 " (after fork %" PRIu64 ")%s",
			t->label, ts->fresh + ts->zero + ts->file + ts->unmapped,
			tb_page_copies(ts), ts->cow_fork, i + 1 < p->nthreads ? "," : "");
	}
	fputc('\n', out);
	text_pages_arenas(p, out, ind);
	if (p->pg) {
		text_pages_blocks(p, out, ind, top);
		text_pages_givebacks(p, out, ind, top);
	}
}

static void text_proc(const struct correlator *c, const struct tb_process *p,
		      const struct proc_cut *k, unsigned top, FILE *out, int ind)
{
	text_proc_title(c, p, out, ind);
	for (uint32_t i = 0; i < p->nimages; i++) {
		/* one program run from start to exit needs no image line unless it has arguments */
		if (p->nimages > 1 || p->images[i].args)
			text_image(c, p, i, out, ind + 2);
		text_threads(c, p, p->images[i].first_thread, report__image_end(p, i), top, out,
			     ind);
		if (i + 1 < p->nimages)
			text_arenas(c, p, p->images[i].first_arena, image_arenas_end(p, i), out,
				    ind, top);
	}
	/* the last image's leaks, then its arenas, as for a process that never exec'd */
	text_leaks(p, out, ind, top, c->sample_first_on != 0);
	text_arenas(c, p, p->images[p->nimages - 1].first_arena, p->narenas, out, ind, top);
	text_chunks(p, out, ind);
	text_pages(c, p, out, ind, top);
	if (k->nmore[p->index])
		text_more(out, ind + 2, k->nmore[p->index], "descendant process (not shown)",
			  "descendant processes (not shown)", &k->more[p->index]);
}

static uint32_t next_shown(const struct correlator *c, const struct proc_cut *k, uint32_t i)
{
	while (i != TB_NONE && !k->shown[i])
		i = c->procs[i]->next_sibling;
	return i;
}

/* Children print under their parent, one level deeper; siblings in the order they were born. */
static void text_tree(const struct correlator *c, const struct tb_process *root,
		      const struct proc_cut *k, unsigned top, FILE *out)
{
	const struct tb_process *p = root;
	int depth = 0;
	uint32_t i;

	for (;;) {
		text_proc(c, p, k, top, out, depth * 4);
		i = next_shown(c, k, p->first_child);
		if (i != TB_NONE) {
			p = c->procs[i];
			depth++;
			continue;
		}
		while (p != root && next_shown(c, k, p->next_sibling) == TB_NONE) {
			p = c->procs[p->parent];
			depth--;
		}
		if (p == root)
			return;
		p = c->procs[next_shown(c, k, p->next_sibling)];
	}
}

struct totals {
	uint64_t allocs, frees, bytes, leak_blocks, leak_bytes, chunks, chunk_mapped;
	uint64_t libc_blocks, libc_bytes;
	uint64_t cross, inherited, reused, dbl, invalid, mismatched, unknown;
};

static struct totals totals(const struct correlator *c)
{
	struct totals s = { 0 };

	for (uint32_t i = 0; i < c->nthreads; i++) {
		const struct tb_thread *t = c->threads[i];

		s.allocs += t->allocs;
		s.frees += t->frees;
		s.bytes += t->bytes;
		s.cross += t->cross_frees;
		s.inherited += t->inherited_frees;
		s.reused += t->reused;
		s.dbl += t->double_frees;
		s.invalid += t->invalid_frees;
		s.mismatched += t->mismatched_frees;
		s.unknown += t->unknown_frees;
	}
	for (uint32_t i = 0; i < c->nprocs; i++) {
		s.leak_blocks += c->procs[i]->leak_blocks;
		s.leak_bytes += c->procs[i]->leak_bytes;
		s.libc_blocks += c->procs[i]->libc_leak_blocks;
		s.libc_bytes += c->procs[i]->libc_leak_bytes;
		s.chunks += c->procs[i]->chunks;
		s.chunk_mapped += c->procs[i]->chunk_mapped;
	}
	return s;
}

static void text_totals(const struct correlator *c, const struct run_view *v, FILE *out)
{
	struct totals s = totals(c);

	fprintf(out, "totals: %" PRIu64 " allocations, %" PRIu64 " frees, %" PRIu64
		" B requested, leaks %" PRIu64 " blocks (%" PRIu64 " B), mmap chunks %" PRIu64
		" (%" PRIu64 " B mapped)\n", s.allocs, s.frees, s.bytes, s.leak_blocks,
		s.leak_bytes, s.chunks, s.chunk_mapped);
	fprintf(out, "frees: %" PRIu64 " cross-thread, %" PRIu64 " inherited, %" PRIu64
		" double, %" PRIu64 " invalid, %" PRIu64 " mismatched, %" PRIu64 " unknown origin; %"
		PRIu64 " addresses reused\n", s.cross, s.inherited, s.dbl, s.invalid, s.mismatched,
		s.unknown, s.reused);
	if (s.libc_blocks)
		fprintf(out, "kept by the C library (not in the leaks above): %" PRIu64 " blocks (%"
			PRIu64 " B)\n", s.libc_blocks, s.libc_bytes);
	fprintf(out, "processes still running: %zu\n", correlator__live_processes(c));
	if (v->lost)
		fprintf(out, "events lost: %" PRIu64 "\n", v->lost);
}

/* A process that ran before tlsbpf and made no allocator call while watched, nor a child. */
static bool quiet_attached(const struct correlator *c, const struct tb_process *p)
{
	if (!p->attached || p->first_child != TB_NONE)
		return false;
	for (uint32_t i = 0; i < c->nthreads; i++) {
		const struct tb_thread *t = c->threads[i];

		if (t->proc == p->index && (t->allocs || t->frees || t->unknown_frees ||
					    t->internal_frees || t->failed))
			return false;
	}
	return true;
}

int report__text(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	uint8_t *skip;
	struct proc_cut k;
	struct run_view v;
	uint32_t quiet = 0;

	if (!c || !out)
		return -EINVAL;
	v = run_view(c, run);
	skip = calloc(c->nprocs + 1, 1);
	if (!skip)
		return -ENOMEM;
	/* -a watches every process: the idle ones would bury the rest */
	for (uint32_t i = 0; i < c->nprocs; i++) {
		skip[i] = c->procs[i]->parent == TB_NONE && quiet_attached(c, c->procs[i]);
		quiet += skip[i];
	}
	if (proc_cut(c, v.top, skip, &k)) {
		free(skip);
		return -ENOMEM;
	}
	text_header(c, &v, out);
	for (uint32_t i = 0; i < c->nprocs; i++) {
		if (c->procs[i]->parent != TB_NONE || skip[i] || !k.shown[i])
			continue;
		fputc('\n', out);
		text_tree(c, c->procs[i], &k, v.top, out);
	}
	if (k.nrest) {
		fputc('\n', out);
		text_more(out, 0, k.nrest, "process", "processes", &k.rest);
	}
	if (quiet)
		fprintf(out, "\n%" PRIu32 " more process%s watched made no allocator call\n", quiet,
			quiet == 1 ? "" : "es");
	report_sites__text(run, out);
	fputc('\n', out);
	text_totals(c, &v, out);
	cut_free(&k);
	free(skip);
	return ferror(out) ? -EIO : 0;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/*
 * report__json writes one object:
 *
 * { "command": str, "duration_ns": n, "events": n, "events_lost": n, "attached": bool,
 *   "sample_every": n, "sample_by_time": { "windows", "on_ns", "span_ns": n } | null
 *   (--sample-by time: the windows the allocator probes were on, their time, and the span
 *   from the first window to the last event), "events_out_of_order": n, "exit_status": n | null,
 *   "probes": str | null (where the probes were and who paid their trap; null: not known),
 *   "stacks": { "distinct", "truncated", "rows_without", "depth": n } | null (null: none
 *   kept; depth: --stack-depth, 1 the call site alone),
 *   "sites": { "bytes", "blocks", "live_bytes": [ { "stack_id": n, "site": str
 *               ("function (file:line)", else "module+0xoffset"), "bytes", "blocks",
 *               "live_bytes", "live_blocks": n } ] (every stack that allocated, ranked
 *               by each key; live_bytes lists only those with bytes live), "bad_frees": [ { "seq": n, "kind": "cross_thread"
 *               | "inherited" | "double_free" | "invalid_free" | "mismatched_free",
 *               "addr": "0x...", "pid",
 *               "tid", "alloc_stack_id" (0: not known), "free_stack_id": n, "alloc_site",
 *               "free_site": str } ], "bad_frees_not_listed": n } | null (null: no stacks),
 *   "totals": { "processes", "threads" (a thread that exec'd counts once, though each
 *               image lists it), "allocations", "frees", "bytes_requested",
 *               "leaked_blocks", "leaked_bytes", "mmap_chunks", "mmap_chunk_bytes_mapped",
 *               "cross_thread_frees", "inherited_frees", "reused", "double_frees",
 *               "invalid_frees", "mismatched_frees", "unknown_origin_frees", "libc_kept_blocks",
 *               "libc_kept_bytes": n },
 *   "processes": [ {                      in creation order; "id" is the index here
 *       "id": n, "pid": n, "parent": id | null, "children": [id], "comm": str,
 *       "exe": str | null, "attached": bool, "ran_in": id | null (the process whose memory
 *       a vfork or CLONE_VM child ran in), "never_probed": bool (it ended before the
 *       allocator its exec brought was probed: none of its calls seen), "probed_late_ns": n | null,
 *       "state": "running" | "exited",
 *       "exit_status": n | null, "exit_detail": str | null, "start_ns": n, "end_ns": n | null,
 *       "execs": n, "threads_created": n, "live_blocks": n,
 *       "images": [ { "how": "exec" | "fork" | "attach", "exe": str | null,
 *           "args": str | null, "comm": str, "start_ns": n, "end_ns": n | null,
 *           "threads": n } ],       one per program the process ran, in order
 *       "threads": [ { "label": "T0", "image": n, "tid": n, "comm": str, "exited": bool,
 *           "allocations", "failed", "frees", "bytes_requested", "live_bytes",
 *           "peak_live_bytes": n, "spacing": n | null, "cross_thread_frees",
 *           "inherited_frees", "reused", "double_frees", "invalid_frees",
 *           "mismatched_frees", "unknown_origin_frees": n,
 *           "arenas": ["heap" | "0x..." | "PID:heap" | "PID:0x..."] } ],  PID: another
 *           process's arena, whose memory a vfork or CLONE_VM child ran in
 *       "leaks": [ { "size": n, "count": n } ], "leaked_blocks", "leaked_bytes",
 *       "libc_kept": [ { "size": n, "count": n } ], "libc_kept_blocks", "libc_kept_bytes",
 *       "inherited_leaked_blocks", "inherited_leaked_bytes": n,
 *       "sample_unseen_blocks": n (--sample: live at exit, its free not recordable, or by
 *       time, the probes went off after it: no leak),
 *       "arenas": [ { "kind": "heap" | "arena", "base": "0x...", "extends": "0x..." | null,
 *           "owner": { "pid", "tid" } | null, "inherited": bool, "blocks", "bytes": n,
 *           "threads": [ { "pid", "tid", "blocks", "bytes", "first_ns", "last_ns": n } ] } ],
 *       "mmap_chunks": { "count", "bytes_requested", "bytes_mapped", "largest": n } } ] }
 *
 * Leaks are the program's blocks live at its exit, most bytes first; libc_kept are
 * the blocks the C library or ld.so allocated for itself and kept (flag `libc`).
 * Labels (T0...) count from 0 in each image. Nothing is cut by --top here.
 *
 * Addresses are hex strings (JSON numbers lose precision past 2^53). Strings are
 * UTF-8: bytes that are not valid UTF-8 are written as \u00XX, one per byte.
 */

struct jw {
	FILE *f;
	int depth;
	int count[32];	/* members written so far at each depth, for the commas */
};

static void jw_key(struct jw *w, const char *key)
{
	if (w->count[w->depth]++)
		fputc(',', w->f);
	if (key)
		fprintf(w->f, "\"%s\":", key);
}

static void jw_open(struct jw *w, const char *key, char brace)
{
	jw_key(w, key);
	fputc(brace, w->f);
	if (w->depth < 31)
		w->count[++w->depth] = 0;
}

static void jw_close(struct jw *w, char brace)
{
	fputc(brace, w->f);
	if (w->depth)
		w->depth--;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] < 0xc2 || s[0] > 0xf4 || n < len)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;	/* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;	/* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f;	/* past U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static void json_string(FILE *f, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strnlen(str, max);

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		size_t len = s[i] >= 0x80 ? utf8_seq(s + i, n - i) : 0;

		if (len) {
			fwrite(s + i, 1, len, f);
			i += len;
			continue;
		}
		if (s[i] == '"' || s[i] == '\\')
			fprintf(f, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			fprintf(f, "\\u%04x", s[i]);
		else
			fputc(s[i], f);
		i++;
	}
	fputc('"', f);
}

static void jw_str(struct jw *w, const char *key, const char *s, size_t max)
{
	jw_key(w, key);
	if (s)
		json_string(w->f, s, max);
	else
		fputs("null", w->f);
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

static void jw_hex(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	fprintf(w->f, "\"0x%" PRIx64 "\"", v);
}

static void jw_raw(struct jw *w, const char *key, const char *literal)
{
	jw_key(w, key);
	fputs(literal, w->f);
}

static void jw_bool(struct jw *w, const char *key, int v)
{
	jw_raw(w, key, v ? "true" : "false");
}

static void json_thread_counts(struct jw *w, const struct tb_thread *t)
{
	uint64_t sp = report__thread_spacing(t);

	jw_u64(w, "allocations", t->allocs);
	jw_u64(w, "failed", t->failed);
	jw_u64(w, "frees", t->frees);
	jw_u64(w, "bytes_requested", t->bytes);
	jw_u64(w, "live_bytes", t->live_bytes);
	jw_u64(w, "peak_live_bytes", t->peak_bytes);
	if (sp)
		jw_u64(w, "spacing", sp);
	else
		jw_raw(w, "spacing", "null");
	jw_u64(w, "cross_thread_frees", t->cross_frees);
	jw_u64(w, "inherited_frees", t->inherited_frees);
	jw_u64(w, "reused", t->reused);
	jw_u64(w, "double_frees", t->double_frees);
	jw_u64(w, "invalid_frees", t->invalid_frees);
	jw_u64(w, "mismatched_frees", t->mismatched_frees);
	jw_u64(w, "unknown_origin_frees", t->unknown_frees);
}

static void json_thread(struct jw *w, const struct correlator *c, const struct tb_thread *t)
{
	char label[16], arena[40];

	snprintf(label, sizeof(label), "T%" PRIu32, t->label);
	jw_open(w, NULL, '{');
	jw_str(w, "label", label, sizeof(label));
	jw_u64(w, "image", t->image);
	jw_u64(w, "tid", t->tid);
	jw_str(w, "comm", t->comm, TB_COMM_LEN);
	jw_bool(w, "exited", t->exited);
	json_thread_counts(w, t);
	jw_open(w, "arenas", '[');
	for (uint32_t i = 0; i < t->narenas; i++)
		if (model_thread_arena_label(c, t, i, arena, sizeof(arena)))
			jw_str(w, NULL, arena, sizeof(arena));
	jw_close(w, ']');
	jw_close(w, '}');
}

static void json_owner(struct jw *w, const struct correlator *c, const char *key, uint32_t i)
{
	const struct tb_thread *t = model_thread(c, i);

	if (!t) {
		jw_raw(w, key, "null");
		return;
	}
	jw_open(w, key, '{');
	jw_u64(w, "pid", t->pid);
	jw_u64(w, "tid", t->tid);
	jw_close(w, '}');
}

static void json_arena_users(struct jw *w, const struct correlator *c, const struct tb_arena *a)
{
	jw_open(w, "threads", '[');
	for (uint32_t i = 0; i < a->nusers; i++) {
		const struct tb_arena_user *u = &a->users[i];
		const struct tb_thread *t = model_thread(c, u->thread);

		jw_open(w, NULL, '{');
		jw_u64(w, "pid", t ? t->pid : 0);
		jw_u64(w, "tid", t ? t->tid : 0);
		jw_u64(w, "blocks", u->blocks);
		jw_u64(w, "bytes", u->bytes);
		jw_u64(w, "first_ns", u->first_ts);
		jw_u64(w, "last_ns", u->last_ts);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void json_arenas(struct jw *w, const struct correlator *c, const struct tb_process *p)
{
	jw_open(w, "arenas", '[');
	for (uint32_t i = 0; i < p->narenas; i++) {
		const struct tb_arena *a = &p->arenas[i];

		if (!arena_shown(a))
			continue;
		jw_open(w, NULL, '{');
		jw_str(w, "kind", a->is_heap ? "heap" : "arena", 6);
		jw_hex(w, "base", a->base);
		if (a->extends != TB_NONE)
			jw_hex(w, "extends", p->arenas[a->extends].base);
		else
			jw_raw(w, "extends", "null");
		json_owner(w, c, "owner", a->owner);
		jw_bool(w, "inherited", a->inherited);
		jw_u64(w, "blocks", a->blocks);
		jw_u64(w, "bytes", a->bytes);
		json_arena_users(w, c, a);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void json_leaks(struct jw *w, const char *key, const struct tb_leak *v, uint32_t n)
{
	jw_open(w, key, '[');
	for (uint32_t i = 0; i < n; i++) {
		jw_open(w, NULL, '{');
		jw_u64(w, "size", v[i].size);
		jw_u64(w, "count", v[i].count);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void json_memory(struct jw *w, const struct tb_process *p)
{
	json_leaks(w, "leaks", p->leaks, p->nleaks);
	jw_u64(w, "leaked_blocks", p->leak_blocks);
	jw_u64(w, "leaked_bytes", p->leak_bytes);
	json_leaks(w, "libc_kept", p->libc_leaks, p->nlibc_leaks);
	jw_u64(w, "libc_kept_blocks", p->libc_leak_blocks);
	jw_u64(w, "libc_kept_bytes", p->libc_leak_bytes);
	jw_u64(w, "inherited_leaked_blocks", p->inherited_leak_blocks);
	jw_u64(w, "inherited_leaked_bytes", p->inherited_leak_bytes);
	jw_u64(w, "sample_unseen_blocks", p->unseen_blocks);
	jw_open(w, "mmap_chunks", '{');
	jw_u64(w, "count", p->chunks);
	jw_u64(w, "bytes_requested", p->chunk_bytes);
	jw_u64(w, "bytes_mapped", p->chunk_mapped);
	jw_u64(w, "largest", p->chunk_largest);
	jw_close(w, '}');
}

static void json_proc_identity(struct jw *w, const struct correlator *c,
			       const struct tb_process *p)
{
	jw_u64(w, "id", p->index);
	jw_u64(w, "pid", p->pid);
	if (p->parent != TB_NONE)
		jw_u64(w, "parent", p->parent);
	else
		jw_raw(w, "parent", "null");
	jw_open(w, "children", '[');
	for (uint32_t i = p->first_child; i != TB_NONE; i = c->procs[i]->next_sibling)
		jw_u64(w, NULL, i);
	jw_close(w, ']');
	jw_str(w, "comm", p->comm, TB_COMM_LEN);
	jw_str(w, "exe", p->exe, TB_PATH_LEN);
	jw_bool(w, "attached", p->attached);
	if (p->ran_in < c->nprocs)
		jw_u64(w, "ran_in", p->ran_in);
	else
		jw_raw(w, "ran_in", "null");
	jw_bool(w, "never_probed", p->never_probed);
	if (p->probed_late_ns)
		jw_u64(w, "probed_late_ns", p->probed_late_ns);
	else
		jw_raw(w, "probed_late_ns", "null");
}

static void json_proc_life(struct jw *w, const struct tb_process *p)
{
	jw_str(w, "state", p->exited ? "exited" : "running", 8);
	if (p->exited && p->exit_status >= 0)
		jw_u64(w, "exit_status", (uint64_t)p->exit_status);
	else
		jw_raw(w, "exit_status", "null");
	jw_str(w, "exit_detail", p->exit_detail, TB_PATH_LEN);
	jw_u64(w, "start_ns", p->start_ts);
	if (p->exited)
		jw_u64(w, "end_ns", p->end_ts);
	else
		jw_raw(w, "end_ns", "null");
	jw_u64(w, "execs", p->execs);
	jw_u64(w, "threads_created", p->threads_created);
	jw_u64(w, "live_blocks", proc_live_blocks(p));
}

static void json_images(struct jw *w, const struct tb_process *p)
{
	jw_open(w, "images", '[');
	for (uint32_t i = 0; i < p->nimages; i++) {
		const struct tb_image *im = &p->images[i];

		jw_open(w, NULL, '{');
		jw_str(w, "how", im->exec ? "exec" : p->attached && !i ? "attach" : "fork", 7);
		jw_str(w, "exe", im->exe, TB_PATH_LEN);
		jw_str(w, "args", im->args, SIZE_MAX);
		jw_str(w, "comm", im->comm, TB_COMM_LEN);
		jw_u64(w, "start_ns", im->start_ts);
		if (im->end_ts)
			jw_u64(w, "end_ns", im->end_ts);
		else
			jw_raw(w, "end_ns", "null");
		jw_u64(w, "threads", report__image_end(p, i) - im->first_thread);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

/* --pages: the process's faults by what the page held (docs/csv.md, "Pages") */
static void json_pages(struct jw *w, const struct tb_page_stats *s)
{
	jw_open(w, "pages", '{');
	jw_u64(w, "touched_new", s->fresh);
	jw_u64(w, "touched_zero", s->zero);
	jw_u64(w, "touched_file", s->file);
	jw_u64(w, "touched_unmapped", s->unmapped);
	jw_u64(w, "guard", s->guard);
	jw_u64(w, "write_protect", s->wp);
	jw_u64(w, "copied_after_fork", s->cow_fork);
	jw_u64(w, "copied_zero", s->cow_zero);
	jw_u64(w, "copied_file", s->cow_file);
	jw_u64(w, "copied_unknown", s->cow_other);
	jw_u64(w, "other", s->other);
	jw_u64(w, "in_blocks", s->in_blocks);
	jw_u64(w, "given_back_munmap", s->unmapped_back);
	jw_u64(w, "given_back_madvise", s->advised_back);
	jw_u64(w, "given_back_brk_trim", s->trimmed_back);
	jw_u64(w, "given_back_freed_blocks", s->freed_blocks_back);
	jw_u64(w, "given_back_live_blocks", s->live_blocks_back);
	jw_close(w, '}');
}

static void json_addrs(struct jw *w, const char *key, const uint64_t *v, uint32_t n)
{
	char buf[24];

	jw_open(w, key, '[');
	for (uint32_t i = 0; i < n && i < TB_GB_BLOCKS; i++) {
		snprintf(buf, sizeof(buf), "\"0x%" PRIx64 "\"", v[i]);
		jw_raw(w, NULL, buf);
	}
	jw_close(w, ']');
}

/* --pages: the copies in blocks that were kept, with the fork that had shared each page */
static void json_copies(struct jw *w, const struct tb_process *p)
{
	const struct tb_copy *cp = NULL;
	uint64_t total = 0;
	uint32_t n = 0;

	if (p->pg)
		cp = pages__copies(p->pg, &n, &total);
	jw_u64(w, "copies_in_blocks", total);
	jw_open(w, "copies", '[');
	for (uint32_t i = 0; i < n; i++) {
		jw_open(w, NULL, '{');
		jw_u64(w, "ts_ns", cp[i].ts);
		jw_u64(w, "tid", cp[i].tid);
		jw_hex(w, "addr", cp[i].addr);
		jw_hex(w, "block", cp[i].block);
		jw_u64(w, "owner_pid", cp[i].owner_pid);
		jw_u64(w, "owner_tid", cp[i].owner_tid);
		jw_bool(w, "inherited", cp[i].inherited);
		jw_bool(w, "zero_page", cp[i].zero);
		if (cp[i].fork_pid) {
			jw_u64(w, "fork_pid", cp[i].fork_pid);
			jw_u64(w, "fork_seq", cp[i].fork_seq);
			jw_u64(w, "fork_ts_ns", cp[i].fork_ts);
		} else {
			jw_raw(w, "fork_pid", "null");
			jw_raw(w, "fork_seq", "null");
			jw_raw(w, "fork_ts_ns", "null");
		}
		jw_bool(w, "fork_exact", cp[i].fork_exact);
		jw_u64(w, "fork_candidates", cp[i].forks);
		jw_u64(w, "children_sharing", cp[i].sharers);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

/* --pages: the runs given back that were kept, with the blocks on them (docs/csv.md, "Pages") */
static void json_givebacks(struct jw *w, const struct tb_process *p)
{
	const struct tb_giveback *g = NULL;
	uint64_t total = 0;
	uint32_t n = 0;

	if (p->pg)
		g = pages__givebacks(p->pg, &n, &total);
	jw_u64(w, "given_back_runs", total);
	jw_open(w, "given_back", '[');
	for (uint32_t i = 0; i < n; i++) {
		jw_open(w, NULL, '{');
		jw_u64(w, "seq", g[i].seq);
		jw_u64(w, "ts_ns", g[i].ts);
		jw_str(w, "event", tb_event_name(g[i].how), 16);
		jw_u64(w, "tid", g[i].tid);
		jw_hex(w, "start", g[i].start);
		jw_hex(w, "end", g[i].end);
		jw_u64(w, "pages", g[i].pages);
		jw_u64(w, "live_count", g[i].nlive);
		json_addrs(w, "live", g[i].live, g[i].nlive);
		jw_u64(w, "freed_count", g[i].nfreed);
		json_addrs(w, "freed", g[i].freed, g[i].nfreed);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

/* --pages: the last fault the kernel refused, or null */
static void json_refused(struct jw *w, const struct tb_refused *r)
{
	if (!r->seq) {
		jw_raw(w, "last_refused_fault", "null");
		return;
	}
	jw_open(w, "last_refused_fault", '{');
	jw_u64(w, "seq", r->seq);
	jw_u64(w, "ts_ns", r->ts);
	jw_u64(w, "tid", r->tid);
	jw_hex(w, "addr", r->addr);
	jw_str(w, "region", tb_region_name(r->region), 32);
	jw_hex(w, "block", r->block);
	jw_str(w, "detail", r->what, TB_PATH_LEN);
	jw_close(w, '}');
}

/* --pages: resident memory by the rss rows */
static void json_rss(struct jw *w, const struct tb_rss *r)
{
	jw_open(w, "resident", '{');
	jw_u64(w, "peak_bytes", r->peak);
	jw_u64(w, "anon_peak_bytes", r->peak_anon);
	jw_u64(w, "last_anon_bytes", r->now[1]);
	jw_u64(w, "last_file_bytes", r->now[0]);
	jw_u64(w, "last_shmem_bytes", r->now[3]);
	jw_u64(w, "rows", r->rows);
	jw_close(w, '}');
}

static void json_proc(struct jw *w, const struct correlator *c, const struct tb_process *p)
{
	jw_open(w, NULL, '{');
	json_proc_identity(w, c, p);
	json_proc_life(w, p);
	json_images(w, p);
	jw_open(w, "threads", '[');
	for (uint32_t i = 0; i < p->nthreads; i++)
		json_thread(w, c, c->threads[p->threads[i]]);
	jw_close(w, ']');
	json_memory(w, p);
	json_arenas(w, c, p);
	json_pages(w, &p->pages);
	json_givebacks(w, p);
	json_copies(w, p);
	json_refused(w, &p->refused);
	json_rss(w, &p->rss);
	jw_close(w, '}');
}

/* --sample-by time: the windows; null when the run was not sampled by time. */
static void json_time_sampled(struct jw *w, const struct correlator *c)
{
	uint64_t span;
	uint32_t windows;
	uint64_t on = model_sample_on_ns(c, &span, &windows);

	if (!span) {
		jw_raw(w, "sample_by_time", "null");
		return;
	}
	jw_open(w, "sample_by_time", '{');
	jw_u64(w, "windows", windows);
	jw_u64(w, "on_ns", on);
	jw_u64(w, "span_ns", span);
	jw_close(w, '}');
}

static void json_stacks(struct jw *w, const struct run_view *v)
{
	if (!v->stacks_on) {
		jw_raw(w, "stacks", "null");
		return;
	}
	jw_open(w, "stacks", '{');
	jw_u64(w, "distinct", v->stacks_kept);
	jw_u64(w, "truncated", v->stacks_truncated);
	jw_u64(w, "rows_without", v->stacks_missing);
	jw_u64(w, "depth", v->stacks_depth);
	jw_close(w, '}');
}

static void json_site_list(struct jw *w, const struct tb_run_info *run, enum site_rank by)
{
	uint32_t n, *v = report_sites__ranked(run, by, &n);
	char name[1024];

	jw_open(w, report_sites__key(by), '[');
	for (uint32_t i = 0; i < n; i++) {
		const struct site_stats *s = sites__stack(run->sites, v[i]);

		report_sites__name(run, v[i], name, sizeof(name));
		jw_open(w, NULL, '{');
		jw_u64(w, "stack_id", v[i]);
		jw_str(w, "site", name, SIZE_MAX);
		jw_u64(w, "bytes", s->bytes);
		jw_u64(w, "blocks", s->blocks);
		jw_u64(w, "live_bytes", s->live_bytes);
		jw_u64(w, "live_blocks", s->live_blocks);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	free(v);
}

static void json_bad_frees(struct jw *w, const struct tb_run_info *run)
{
	uint64_t more;
	uint32_t n;
	const struct site_bad_free *b = sites__bad_frees(run->sites, &n, &more);
	char name[1024];

	jw_open(w, "bad_frees", '[');
	for (uint32_t i = 0; i < n; i++) {
		jw_open(w, NULL, '{');
		jw_u64(w, "seq", b[i].seq);
		jw_str(w, "kind", report_sites__bad_kind(b[i].flags), SIZE_MAX);
		jw_hex(w, "addr", b[i].addr);
		jw_u64(w, "pid", b[i].pid);
		jw_u64(w, "tid", b[i].tid);
		jw_u64(w, "alloc_stack_id", b[i].alloc_stack);
		report_sites__name(run, b[i].alloc_stack, name, sizeof(name));
		jw_str(w, "alloc_site", name, SIZE_MAX);
		jw_u64(w, "free_stack_id", b[i].free_stack);
		report_sites__name(run, b[i].free_stack, name, sizeof(name));
		jw_str(w, "free_site", name, SIZE_MAX);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	jw_u64(w, "bad_frees_not_listed", more);
}

/* Sites ranked three ways and every bad free listed: JSON has everything, --top or not. */
static void json_sites(struct jw *w, const struct tb_run_info *run)
{
	struct tb_run_info all;

	if (!run || !run->sites) {
		jw_raw(w, "sites", "null");
		return;
	}
	all = *run;
	all.top = 0;
	jw_open(w, "sites", '{');
	for (int by = 0; by < SITE_NRANKS; by++)
		json_site_list(w, &all, by);
	json_bad_frees(w, &all);
	jw_close(w, '}');
}

static void json_totals(struct jw *w, const struct correlator *c)
{
	struct totals s = totals(c);

	jw_open(w, "totals", '{');
	jw_u64(w, "processes", c->nprocs);
	jw_u64(w, "threads", report__tasks(c));
	jw_u64(w, "allocations", s.allocs);
	jw_u64(w, "frees", s.frees);
	jw_u64(w, "bytes_requested", s.bytes);
	jw_u64(w, "leaked_blocks", s.leak_blocks);
	jw_u64(w, "leaked_bytes", s.leak_bytes);
	jw_u64(w, "mmap_chunks", s.chunks);
	jw_u64(w, "mmap_chunk_bytes_mapped", s.chunk_mapped);
	jw_u64(w, "cross_thread_frees", s.cross);
	jw_u64(w, "inherited_frees", s.inherited);
	jw_u64(w, "reused", s.reused);
	jw_u64(w, "double_frees", s.dbl);
	jw_u64(w, "invalid_frees", s.invalid);
	jw_u64(w, "mismatched_frees", s.mismatched);
	jw_u64(w, "unknown_origin_frees", s.unknown);
	jw_u64(w, "libc_kept_blocks", s.libc_blocks);
	jw_u64(w, "libc_kept_bytes", s.libc_bytes);
	jw_close(w, '}');
}

int report__json(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	struct jw w = { .f = out };
	struct run_view v;

	if (!c || !out)
		return -EINVAL;
	v = run_view(c, run);
	jw_open(&w, NULL, '{');
	jw_str(&w, "command", v.command, SIZE_MAX);
	jw_u64(&w, "duration_ns", v.duration_ns);
	jw_u64(&w, "events", v.events);
	jw_u64(&w, "events_lost", v.lost);
	jw_bool(&w, "attached", v.attached);
	jw_u64(&w, "sample_every", v.sample_every);
	json_time_sampled(&w, c);
	jw_u64(&w, "events_out_of_order", v.out_of_order);
	if (v.page_counts) {
		jw_open(&w, "page_faults_counted", '{');
		jw_u64(&w, "touch_read", v.page_counts[TB_PC_TOUCH_READ]);
		jw_u64(&w, "touch_write", v.page_counts[TB_PC_TOUCH_WRITE]);
		jw_u64(&w, "write_protect", v.page_counts[TB_PC_WP]);
		jw_u64(&w, "copied", v.page_counts[TB_PC_COW]);
		jw_u64(&w, "copied_zero", v.page_counts[TB_PC_ZERO_COPY]);
		jw_u64(&w, "other", v.page_counts[TB_PC_OTHER]);
		jw_close(&w, '}');
	}
	json_stacks(&w, &v);
	if (v.have_status)
		jw_u64(&w, "exit_status", (uint64_t)v.exit_status);
	else
		jw_raw(&w, "exit_status", "null");
	if (v.probes)
		jw_str(&w, "probes", v.probes, SIZE_MAX);
	else
		jw_raw(&w, "probes", "null");
	json_totals(&w, c);
	json_sites(&w, run);
	jw_open(&w, "processes", '[');
	for (uint32_t i = 0; i < c->nprocs; i++)
		json_proc(&w, c, c->procs[i]);
	jw_close(&w, ']');
	jw_close(&w, '}');
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}

int report__to_fd(int fd, report_fn fn, const struct correlator *c, const struct tb_run_info *run)
{
	FILE *f = fdopen(fd, "w");
	int err;

	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	err = fn(c, run, f);
	if (fflush(f) && !err)
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}
