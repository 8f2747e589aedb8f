// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report_md.c: the lab report skeleton `--report FILE.md` writes, from the correlator's model. */
#include <errno.h>
#include <gnu/libc-version.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include "report.h"
#include "model.h"
#include "report_sites.h"
#include "sites.h"

#define MD_LIST_MAX 8		/* threads named in one sentence before "and N more" */
#define MD_WHAT 32		/* a region's name in the layout diagram */
#define MD_BOX (MD_WHAT + 12)	/* inner width of its box: the name and its size */

/* ---- names, sizes and counts --------------------------------------------------------------- */

static const char *md_s(uint64_t n)
{
	return n == 1 ? "" : "s";
}


/* Text from the traced program inside `code`: no backtick, no control or non-ASCII byte. */
static void md_code(FILE *out, const char *s, size_t max)
{
	fputc('`', out);
	for (size_t i = 0; s && i < max && s[i]; i++) {
		unsigned char ch = s[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '`' || ch == '\\')
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
	fputc('`', out);
}

/* A size for people: 132 KiB, 64 MiB, 1.5 GiB; bytes below 1 KiB. */
static const char *md_size(uint64_t v, char *buf, size_t cap)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = v;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0 || d == (uint64_t)d)
		snprintf(buf, cap, "%.0f %s", d, unit[u]);
	else
		snprintf(buf, cap, "%.1f %s", d, unit[u]);
	return buf;
}

/* The arena a heap belongs to: a thread arena that outgrew its first heap is one arena. */
static uint32_t md_arena_root(const struct tb_process *p, uint32_t ai)
{
	return p->arenas[ai].extends != TB_NONE ? p->arenas[ai].extends : ai;
}

static int md_arena_shown(const struct tb_arena *a)
{
	return a->blocks || a->seeded || (!a->inherited && !a->is_heap);
}

struct md_frees {
	uint64_t inherited, cross, reused, internal;
};

static struct md_frees md_proc_frees(const struct correlator *c, const struct tb_process *p)
{
	struct md_frees f = { 0 };

	for (uint32_t i = 0; i < p->nthreads; i++) {
		const struct tb_thread *t = c->threads[p->threads[i]];

		f.inherited += t->inherited_frees;
		f.cross += t->cross_frees;
		f.reused += t->reused;
		f.internal += t->internal_frees;
	}
	return f;
}

/* ---- title --------------------------------------------------------------------------------- */

static void md_title(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	uint64_t events = run->events ? run->events : c->events;
	uint64_t ns = run->duration_ns ? run->duration_ns : c->last_ts - c->first_ts;
	struct utsname u;

	fputs("# Lab report: ", out);
	md_code(out, run->command ? run->command : "?", SIZE_MAX);
	fputs("\n\n", out);
	if (uname(&u) == 0)
		fprintf(out, "- Kernel: Linux %s (%s).\n", u.release, u.machine);
	fprintf(out, "- C library: tlsbpf itself runs on glibc %s; the traced program's allocator"
		" library is the one `tlsbpf -v` said it probed (the model does not record it).\n",
		gnu_get_libc_version());
	fprintf(out, "- Run: %" PRIu64 " events in %.3f s, %" PRIu32 " process%s, %" PRIu32
		" thread%s", events, ns / 1e9, c->nprocs, c->nprocs == 1 ? "" : "es",
		report__tasks(c), md_s(report__tasks(c)));
	if (run->have_status)
		fprintf(out, "; the command exited with status %d", run->exit_status);
	fputs(".\n", out);
	if (run->attached)
		fputs("- Attached to running processes: blocks allocated before that are not"
		      " counted.\n", out);
	fputs("\nIn glibc's terms: an *arena* is a pool malloc serves blocks from. The *main arena*"
	      " grows the brk heap next to the program; a *thread arena* lives in its own 64 MiB"
	      "-aligned mapping; a block of 128 KiB or more (the default threshold, which glibc"
	      " raises as such blocks are freed) gets a mapping of its own, a *direct mmap"
	      " chunk*.\n\n", out);
}

/* ---- findings: threads and arenas ---------------------------------------------------------- */

/*
 * t is the thread served: an arena it made itself is "its own". p owns the
 * arena: the thread's process, or the parent a vfork child ran in.
 */
static void md_arena_name(const struct correlator *c, const struct tb_process *p,
			  const struct tb_thread *t, uint32_t ai, FILE *out)
{
	const struct tb_arena *a = &p->arenas[md_arena_root(p, ai)];
	char owner[32];

	if (p->index != t->proc)
		fprintf(out, "(in the memory of process %" PRIu32 ") ", p->pid);
	if (a->is_heap) {
		fprintf(out, "the brk heap (main arena, 0x%" PRIx64 ")%s", a->base,
			md_arena_root(p, ai) != p->heap_arena ? " before exec" : "");
		return;
	}
	if (a->owner == t->index) {
		fprintf(out, "its own thread arena at 0x%" PRIx64, a->base);
		return;
	}
	if (a->owner == TB_NONE) {
		fprintf(out, "the thread arena at 0x%" PRIx64 "%s", a->base,
			a->seeded ? " (there at attach)" : "");
		return;
	}
	model_thread_label(c, a->owner, p, "nobody seen", owner, sizeof(owner));
	fprintf(out, "the thread arena at 0x%" PRIx64 " made by %s%s", a->base, owner,
		a->inherited ? " before the fork" : "");
}

static void md_thread_arenas(const struct correlator *c, const struct tb_thread *t, FILE *out)
{
	const struct tb_process *o;

	fprintf(out, "T%" PRIu32 " from ", t->label);
	for (uint32_t k = 0; k < t->narenas; k++) {
		if (k)
			fputs(k + 1 == t->narenas ? " and " : ", ", out);
		if (model_thread_arena(c, t, k, &o))
			md_arena_name(c, o, t, t->arenas[k].arena, out);
	}
}

/* How many arenas (a grown arena counts once) the threads of p were served from. */
static uint32_t md_distinct_arenas(const struct correlator *c, const struct tb_process *p)
{
	uint32_t n = 0;

	for (uint32_t a = 0; a < p->narenas; a++) {
		int used = 0;

		if (md_arena_root(p, a) != a)
			continue;
		for (uint32_t i = 0; i < p->nthreads && !used; i++) {
			const struct tb_thread *t = c->threads[p->threads[i]];

			for (uint32_t k = 0; k < t->narenas && !used; k++)
				used = t->arenas[k].proc == p->index &&
				       t->arenas[k].arena < p->narenas &&
				       md_arena_root(p, t->arenas[k].arena) == a;
		}
		n += used;
	}
	return n;
}

/* The program's file name, or its thread name when no exec was seen. */
static void md_prog(const struct tb_process *p, FILE *out)
{
	const char *slash = p->exe ? strrchr(p->exe, '/') : NULL;

	if (p->exe)
		md_code(out, slash ? slash + 1 : p->exe, TB_PATH_LEN);
	else
		md_code(out, p->comm, TB_COMM_LEN);
}

static void md_proc_name(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	fprintf(out, "Process %" PRIu32 " ", p->pid);
	md_prog(p, out);
	if (p->parent != TB_NONE)
		fprintf(out, " (forked by %" PRIu32 ")", c->procs[p->parent]->pid);
}

static void md_find_arenas(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	uint32_t users = 0, shown = 0, n = md_distinct_arenas(c, p);

	for (uint32_t i = 0; i < p->nthreads; i++)
		users += c->threads[p->threads[i]]->narenas > 0;
	fputs("- ", out);
	md_proc_name(c, p, out);
	if (!users) {
		fputs(": no thread allocated while it was watched.\n", out);
		return;
	}
	fprintf(out, ": %" PRIu32 " thread%s allocated, from %" PRIu32 " distinct arena%s", users,
		md_s(users), n, md_s(n));
	if (users < p->nthreads)
		fprintf(out, " (%" PRIu32 " more allocated nothing)", p->nthreads - users);
	for (uint32_t i = 0; i < p->nthreads; i++) {
		const struct tb_thread *t = c->threads[p->threads[i]];

		if (!t->narenas)
			continue;
		if (shown == MD_LIST_MAX) {
			fprintf(out, "; and %" PRIu32 " more", users - shown);
			break;
		}
		fputs(shown++ ? "; " : ": ", out);
		md_thread_arenas(c, t, out);
	}
	fputs(".\n", out);
}

/* Arenas that served more than one thread: where threads were not kept apart. */
static void md_find_shared(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	char who[32];

	for (uint32_t a = 0; a < p->narenas; a++) {
		const struct tb_arena *ar = &p->arenas[a];

		if (ar->nusers < 2)
			continue;
		fprintf(out, "- In process %" PRIu32 ", %s 0x%" PRIx64 " served %" PRIu32
			" threads:", p->pid, ar->is_heap ? "the brk heap" : "the arena at",
			ar->base, ar->nusers);
		for (uint32_t k = 0; k < ar->nusers && k < MD_LIST_MAX; k++) {
			model_thread_label(c, ar->users[k].thread, p, "nobody seen", who, sizeof(who));
			fprintf(out, "%s %s (%" PRIu64 " block%s)", k ? "," : "", who,
				ar->users[k].blocks, md_s(ar->users[k].blocks));
		}
		fputs(ar->nusers > MD_LIST_MAX ? ", ...\n" : ".\n", out);
	}
}

/* ---- findings: spacing --------------------------------------------------------------------- */

static void md_spacing_group(const struct correlator *c, const struct tb_process *p,
			     uint64_t sp, FILE *out)
{
	uint32_t shown = 0;
	char buf[32];

	if (sp >= TB_ARENA_SIZE)
		fprintf(out, "no steady spacing (blocks came from regions %s apart) in",
			md_size(sp, buf, sizeof(buf)));
	else
		fprintf(out, "%" PRIu64 " B in", sp);
	for (uint32_t i = 0; i < p->nthreads; i++) {
		const struct tb_thread *t = c->threads[p->threads[i]];

		if (report__thread_spacing(t) == sp && shown++ < MD_LIST_MAX)
			fprintf(out, "%s T%" PRIu32, shown > 1 ? "," : "", t->label);
	}
	if (shown > MD_LIST_MAX)
		fprintf(out, " and %" PRIu32 " more", shown - MD_LIST_MAX);
}

/* Threads grouped by the most common distance between their consecutive blocks. */
static void md_find_spacing(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	uint64_t seen[16];
	uint32_t n = 0, k;

	for (uint32_t i = 0; i < p->nthreads && n < 16; i++) {
		uint64_t sp = report__thread_spacing(c->threads[p->threads[i]]);

		for (k = 0; k < n && seen[k] != sp; k++)
			;
		if (sp && k == n)
			seen[n++] = sp;
	}
	if (!n)
		return;
	fprintf(out, "- Process %" PRIu32 ", most common distance from one block to the same"
		" thread's next: ", p->pid);
	for (k = 0; k < n; k++) {
		fputs(k ? "; " : "", out);
		md_spacing_group(c, p, seen[k], out);
	}
	fputs(".\n", out);
}

/* ---- findings: images ---------------------------------------------------------------------- */

/* A process that exec'd ran several programs: each with its arguments and its own calls. */
static void md_find_images(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	struct tb_proc_sums s;

	if (p->nimages < 2)
		return;
	fprintf(out, "- Process %" PRIu32 " ran %" PRIu32 " programs in turn:", p->pid,
		p->nimages);
	for (uint32_t i = 0; i < p->nimages; i++) {
		const struct tb_image *im = &p->images[i];

		report__proc_sums(c, p, im->first_thread, report__image_end(p, i), &s);
		fprintf(out, "%s ", i ? ";" : "");
		if (im->args)
			md_code(out, im->args, SIZE_MAX);
		else
			md_code(out, im->exe ? im->exe : im->comm, TB_PATH_LEN);
		fprintf(out, " (%s, %" PRIu64 " allocation%s, %" PRIu64 " free%s)",
			im->exec ? "exec" : "as forked", s.allocs, md_s(s.allocs), s.frees,
			md_s(s.frees));
	}
	fputs(".\n", out);
}

/* ---- findings: frees, chunks, leaks, errors ------------------------------------------------ */

static void md_find_frees(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	struct md_frees f = md_proc_frees(c, p);

	if (f.inherited || f.cross || f.reused) {
		fputs("- ", out);
		md_proc_name(c, p, out);
		fprintf(out, ": %" PRIu64 " free%s of blocks inherited at fork, %" PRIu64
			" cross-thread free%s (freed by another thread than the one that got the"
			" block), %" PRIu64 " address%s handed out again after a free.\n",
			f.inherited, md_s(f.inherited), f.cross, md_s(f.cross), f.reused,
			f.reused == 1 ? "" : "es");
	}
	if (f.internal)
		fprintf(out, "- Process %" PRIu32 ": the allocator library itself freed %" PRIu64
			" block%s that the program had already freed or never got (at thread exit"
			" glibc empties the thread's cache of freed blocks; CSV flag `internal`, not"
			" counted as the program's frees).\n", p->pid, f.internal, md_s(f.internal));
}

static void md_find_chunks(const struct tb_process *p, FILE *out)
{
	char a[32], b[32];

	if (!p->chunks)
		return;
	fprintf(out, "- Process %" PRIu32 ": %" PRIu64 " block%s got a direct mmap chunk: %"
		PRIu64 " B asked for, %" PRIu64 " B mapped (%s), the largest mapping %" PRIu64
		" B (%s).\n", p->pid, p->chunks, md_s(p->chunks), p->chunk_bytes,
		p->chunk_mapped, md_size(p->chunk_mapped, a, sizeof(a)), p->chunk_largest,
		md_size(p->chunk_largest, b, sizeof(b)));
}

/* Which fork had shared the copied page, and with how many children it still was. */
static void md_copy_fork(const struct tb_copy *cp, FILE *out)
{
	if (cp->fork_pid && cp->fork_exact)
		fprintf(out, "; shared since the fork of %" PRIu32 " (row %" PRIu64 ")",
			cp->fork_pid, cp->fork_seq);
	else if (cp->fork_pid)
		fprintf(out, "; shared by one of %" PRIu32 " forks, the first that of %" PRIu32
			" (row %" PRIu64 ")", cp->forks, cp->fork_pid, cp->fork_seq);
	if (cp->sharers)
		fprintf(out, ", still held by %" PRIu32 " child%s", cp->sharers,
			cp->sharers == 1 ? "" : "ren");
	fputs(".\n", out);
}

/* --pages: the blocks whose pages went back; a live one's is a bug of the program's. */
static void md_givebacks(const struct tb_process *p, FILE *out)
{
	const struct tb_giveback *g;
	uint32_t n;
	uint64_t total;

	g = pages__givebacks(p->pg, &n, &total);
	if (p->pages.freed_blocks_back || p->pages.live_blocks_back)
		fprintf(out, "  - Pages given back held %" PRIu64 " freed block%s and %" PRIu64
			" live one%s.\n", p->pages.freed_blocks_back,
			md_s(p->pages.freed_blocks_back), p->pages.live_blocks_back,
			md_s(p->pages.live_blocks_back));
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < g[i].nlive && k < TB_GB_BLOCKS; k++)
			fprintf(out, "  - **Live block `0x%" PRIx64 "` lost a page**: `%s` by %" PRIu32
				" at row %" PRIu64 " gave back `0x%" PRIx64 "`-`0x%" PRIx64 "` while it"
				" was allocated.\n", g[i].live[k], tb_event_name(g[i].how), g[i].tid,
				g[i].seq, g[i].start, g[i].end);
}

/* --pages: what the process's faults did, and which of its writes copied which blocks' pages. */
static void md_find_pages(const struct tb_process *p, FILE *out)
{
	const struct tb_page_stats *s = &p->pages;
	const struct tb_copy *cp;
	uint64_t total;
	uint32_t n;

	if (!tb_page_faults(s) && !tb_page_copies(s) && !p->rss.rows)
		return;
	fprintf(out, "- Process %" PRIu32 " (`--pages`): %" PRIu64 " page%s first touched, %" PRIu64
		" copied (%" PRIu64 " after fork, %" PRIu64 " of the zero page), %" PRIu64
		" write%s to write-protected pages served without a copy, %" PRIu64
		" given back", p->pid, s->fresh + s->zero + s->file + s->unmapped,
		md_s(s->fresh + s->zero + s->file + s->unmapped), tb_page_copies(s), s->cow_fork,
		s->cow_zero, s->wp > tb_page_copies(s) ? s->wp - tb_page_copies(s) : 0,
		md_s(s->wp), tb_page_given_back(s));
	if (p->rss.rows)
		fprintf(out, "; resident peak %" PRIu64 " KiB (rss rows)", p->rss.peak >> 10);
	fputs(".\n", out);
	if (!p->pg)
		return;
	cp = pages__copies(p->pg, &n, &total);
	for (uint32_t i = 0; i < n; i++) {
		fprintf(out, "  - thread %" PRIu32 " wrote `0x%" PRIx64 "`: the page `0x%" PRIx64
			"` was %s, in block `0x%" PRIx64 "` allocated by %" PRIu32 "/%" PRIu32 "%s",
			cp[i].tid, cp[i].addr, cp[i].addr & ~(uint64_t)4095,
			cp[i].zero ? "the zero page, replaced" : "copied", cp[i].block,
			cp[i].owner_pid, cp[i].owner_tid,
			cp[i].inherited ? ", inherited at the fork" : "");
		md_copy_fork(&cp[i], out);
	}
	if (total > n)
		fprintf(out, "  - and %" PRIu64 " more copies in blocks (the CSV's `cow` rows).\n",
			total - n);
	md_givebacks(p, out);
}

static void md_end_text(const struct tb_process *p, FILE *out)
{
	if (!p->exited)
		fputs("is still running", out);
	else if (p->exit_detail && p->exit_status >= 0)
		fprintf(out, "ended: %s (status %d)", p->exit_detail, p->exit_status);
	else if (p->exit_detail)
		fprintf(out, "ended: %s", p->exit_detail);
	else
		fprintf(out, "exited with status %d", p->exit_status);
}

/* Sizes by bytes, most first, the --top of them; the rest summed. */
static void md_leak_list(const struct tb_leak *v, uint32_t n, unsigned top, FILE *out)
{
	uint64_t blocks = 0, bytes = 0;
	uint32_t i;

	for (i = 0; i < n && (!top || i < top); i++)
		fprintf(out, "%s %" PRIu64 " x %" PRIu64 " B", i ? "," : "", v[i].count, v[i].size);
	for (uint32_t k = i; k < n; k++) {
		blocks += v[k].count;
		bytes += v[k].count * v[k].size;
	}
	if (i < n)
		fprintf(out, " and %" PRIu32 " more size%s (%" PRIu64 " block%s, %" PRIu64 " B)",
			n - i, md_s(n - i), blocks, md_s(blocks), bytes);
}

static void md_find_leaks(const struct correlator *c, const struct tb_process *p, unsigned top,
			  FILE *out)
{
	fputs("- ", out);
	md_proc_name(c, p, out);
	fputc(' ', out);
	md_end_text(p, out);
	if (!p->exited) {
		fprintf(out, " with %" PRIu32 " live blocks.\n", p->blocks.live);
		return;
	}
	if (p->never_probed && !p->leak_blocks) {
		fputs("; it ended before tlsbpf could probe the allocator its exec brought, so"
		      " none of its calls were seen.\n", out);
		return;
	}
	if (!p->leak_blocks)
		fputs(" and freed every block it allocated", out);
	else
		fprintf(out, " and %s %" PRIu64 " block%s (%" PRIu64 " B)%s:",
			p->exit_detail ? "still held" : "left", p->leak_blocks, md_s(p->leak_blocks),
			p->leak_bytes, p->exit_detail ? "" : " unfreed");
	md_leak_list(p->leaks, p->nleaks, top, out);
	if (p->libc_leak_blocks) {
		fprintf(out, "; the C library kept %" PRIu64 " block%s (%" PRIu64 " B) of its own,"
			" which are not the program's leaks (CSV flag `libc`):", p->libc_leak_blocks,
			md_s(p->libc_leak_blocks), p->libc_leak_bytes);
		md_leak_list(p->libc_leaks, p->nlibc_leaks, top, out);
	}
	if (p->inherited_leak_blocks)
		fprintf(out, "; it never freed %" PRIu64 " inherited blocks (%" PRIu64 " B)",
			p->inherited_leak_blocks, p->inherited_leak_bytes);
	fputs(".\n", out);
}

/* --sample-by time: the figures above are of the windows only. */
static void md_time_sampled(const struct correlator *c, FILE *out)
{
	uint64_t span;
	uint32_t windows;
	uint64_t on = model_sample_on_ns(c, &span, &windows);

	if (span)
		fprintf(out, "- Sampled by time: the allocator probes were on %.2f%% of the time "
			"(%" PRIu32 " windows); every count above is of calls made while they were "
			"on.\n", 100.0 * on / span, windows);
}

static void md_find_errors(const struct correlator *c, uint64_t lost, FILE *out)
{
	uint64_t cross = 0, inh = 0, dbl = 0, invalid = 0, mismatched = 0, unknown = 0;

	for (uint32_t i = 0; i < c->nthreads; i++) {
		cross += c->threads[i]->cross_frees;
		inh += c->threads[i]->inherited_frees;
		dbl += c->threads[i]->double_frees;
		invalid += c->threads[i]->invalid_frees;
		mismatched += c->threads[i]->mismatched_frees;
		unknown += c->threads[i]->unknown_frees;
	}
	fprintf(out, "- In all: %" PRIu64 " cross-thread frees, %" PRIu64 " frees of inherited"
		" blocks, %" PRIu64 " double frees, %" PRIu64 " invalid frees, %" PRIu64 " mismatched"
		" frees (new[] freed by delete, new by free...), %" PRIu64 " frees of blocks allocated"
		" before tlsbpf saw them.\n", cross, inh, dbl, invalid, mismatched, unknown);
	if (lost)
		fprintf(out, "- Events lost: %" PRIu64 "; the counts above miss what those events"
			" carried.\n", lost);
	else
		fputs("- Events lost: 0.\n", out);
	md_time_sampled(c, out);
}

/* The --top processes with the most bytes requested; NULL when out of memory (then all). */
static uint8_t *md_pick_procs(const struct correlator *c, unsigned top, uint32_t *shown)
{
	uint64_t *key = malloc((c->nprocs + 1) * sizeof(*key));
	uint8_t *keep = malloc(c->nprocs + 1);
	struct tb_proc_sums s;

	*shown = c->nprocs;
	if (!key || !keep) {
		free(key);
		free(keep);
		return NULL;
	}
	for (uint32_t i = 0; i < c->nprocs; i++) {
		report__proc_sums(c, c->procs[i], 0, UINT32_MAX, &s);
		key[i] = s.bytes;
	}
	*shown = report__pick(key, c->nprocs, top, keep);
	free(key);
	return keep;
}

static void md_findings(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	uint32_t shown;
	uint8_t *keep = md_pick_procs(c, run->top, &shown);
	uint64_t chunks = 0;

	fputs("## Findings\n\n", out);
	for (uint32_t i = 0; i < c->nprocs; i++) {
		const struct tb_process *p = c->procs[i];

		chunks += p->chunks;
		if (keep && !keep[i])
			continue;
		md_find_images(c, p, out);
		md_find_arenas(c, p, out);
		md_find_shared(c, p, out);
		md_find_spacing(c, p, out);
		md_find_frees(c, p, out);
		md_find_chunks(p, out);
		md_find_pages(p, out);
		md_find_leaks(c, p, run->top, out);
	}
	free(keep);
	if (shown < c->nprocs)
		fprintf(out, "- %" PRIu32 " more process%s, which requested fewer bytes, %s not"
			" described here (`--top 0` describes all); `--summary-json` lists them"
			" all.\n", c->nprocs - shown, c->nprocs - shown == 1 ? "" : "es",
			c->nprocs - shown == 1 ? "is" : "are");
	if (!chunks)
		fputs("- No block got a direct mmap chunk.\n", out);
	md_find_errors(c, run->lost > c->lost ? run->lost : c->lost, out);
	fputc('\n', out);
}

/* ---- address-space layout ------------------------------------------------------------------ */

struct md_region {
	uint64_t start, end;
	uint32_t serial;	/* pieces of one mapping share it; 0 for heap and arenas */
	char what[64];
	char who[112];
};

struct md_layout {
	struct md_region *v;
	uint32_t n, cap;
};

static struct md_region *md_region_add(struct md_layout *l, uint64_t start, uint64_t end)
{
	struct md_region *r;

	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 16;
		struct md_region *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	r->start = start;
	r->end = end;
	return r;
}

/* "T1: 4 blocks" or "T1: 3, T5: 2 blocks": which threads' blocks lie in an arena. */
static void md_users(const struct correlator *c, const struct tb_process *p,
		     const struct tb_arena *a, char *buf, size_t cap)
{
	uint32_t shown = a->nusers < 4 ? a->nusers : 4;
	size_t o = 0;
	char who[32];

	buf[0] = '\0';
	for (uint32_t k = 0; k < shown && o < cap; k++) {
		model_thread_label(c, a->users[k].thread, p, "nobody seen", who, sizeof(who));
		o += snprintf(buf + o, cap - o, "%s%s: %" PRIu64, k ? ", " : "", who,
			      a->users[k].blocks);
	}
	if (shown && o < cap)
		o += snprintf(buf + o, cap - o, " block%s",
			      md_s(a->nusers == 1 ? a->users[0].blocks : 2));
	if (a->nusers > shown && o < cap)
		snprintf(buf + o, cap - o, "; %" PRIu32 " more threads", a->nusers - shown);
}

/* --pages: an arena's pages copied (after fork, or of the zero page) marked on its line. */
static void md_copied(const struct tb_arena *a, struct md_region *r)
{
	size_t at = strlen(r->who);

	if (a && a->pages_copied && at < sizeof(r->who))
		snprintf(r->who + at, sizeof(r->who) - at, "%s%" PRIu64 " page%s copied",
			 at ? "; " : "", a->pages_copied, md_s(a->pages_copied));
}

static void md_layout_arenas(const struct correlator *c, const struct tb_process *p,
			     struct md_layout *l)
{
	const struct tb_arena *heap = p->heap_arena < p->narenas ? &p->arenas[p->heap_arena] : NULL;
	struct md_region *r;
	char owner[32];

	if (p->have_heap && p->heap_end > p->heap_start &&
	    (r = md_region_add(l, p->heap_start, p->heap_end))) {
		snprintf(r->what, sizeof(r->what), "brk heap (main arena)");
		if (heap)
			md_users(c, p, heap, r->who, sizeof(r->who));
		md_copied(heap, r);
	}
	for (uint32_t i = 0; i < p->narenas; i++) {
		const struct tb_arena *a = &p->arenas[i];

		if (a->is_heap || !md_arena_shown(a) || !(r = md_region_add(l, a->base,
									    a->base + TB_ARENA_SIZE)))
			continue;
		model_thread_label(c, a->owner, p, "nobody seen", owner, sizeof(owner));
		if (a->owner == TB_NONE)
			snprintf(r->what, sizeof(r->what), "thread arena%s",
				 a->seeded ? " (there at attach)" : "");
		else
			snprintf(r->what, sizeof(r->what), "%s of %s",
				 a->inherited ? "inherited arena" :
				 a->extends != TB_NONE ? "added heap" : "thread arena", owner);
		md_users(c, p, a, r->who, sizeof(r->who));
		md_copied(a, r);
	}
}

/* A stack is named after the thread whose stack pointer lies in it, whichever piece that is. */
static void md_map_label(const struct correlator *c, const struct tb_process *p,
			 const struct tb_map *m, struct md_region *r)
{
	char who[32];

	if (m->kind == TB_REG_STACK) {
		if (m->owner == TB_NONE && *r->what)
			return;
		model_thread_label(c, m->owner, p, "nobody seen", who, sizeof(who));
		snprintf(r->what, sizeof(r->what), "stack of %s", who);
		return;
	}
	model_thread_label(c, m->creator, p, "nobody seen", who, sizeof(who));
	snprintf(r->what, sizeof(r->what), "direct mmap chunk");
	snprintf(r->who, sizeof(r->who), "mapped by %s", who);
}

/* Stacks and direct mmap chunks: those still mapped now, or when the process exited. */
static void md_layout_maps(const struct correlator *c, const struct tb_process *p,
			   struct md_layout *l)
{
	struct md_region *r = NULL;

	for (uint32_t i = 0; i < p->maps.n; i++) {
		const struct tb_map *m = &p->maps.v[i];

		if (m->kind != TB_REG_STACK && m->kind != TB_REG_MMAP_CHUNK)
			continue;
		if (r && r->serial == m->serial && r->end == m->start) {
			r->end = m->end;	/* another piece of the same mapping */
		} else {
			r = md_region_add(l, m->start, m->end);
			if (!r)
				return;
			r->serial = m->serial;
		}
		md_map_label(c, p, m, r);
	}
}

static int md_region_cmp(const void *a, const void *b)
{
	const struct md_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void md_edge(uint64_t addr, FILE *out)
{
	char hex[24];

	snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
	fprintf(out, "%14s +%.*s+\n", hex, MD_BOX,
		"--------------------------------------------------------------------");
}

/* Low addresses first; adjacent regions share an edge, a gap between them is marked. */
static void md_draw(const struct md_layout *l, FILE *out)
{
	uint64_t end = 0;
	char size[32], line[MD_BOX + 1];

	for (uint32_t i = 0; i < l->n; i++) {
		const struct md_region *r = &l->v[i];

		if (i && r->start > end) {
			snprintf(line, sizeof(line), "   ... %s ...", md_size(r->start - end, size,
									   sizeof(size)));
			fprintf(out, "%14s :%-*s:\n", "", MD_BOX, line);
		}
		if (!i || r->start != end)
			md_edge(r->start, out);
		md_size(r->end - r->start, size, sizeof(size));
		fprintf(out, "%14s | %-*.*s %9s |%s%s\n", "", MD_WHAT, MD_WHAT, r->what, size,
			*r->who ? " " : "", r->who);
		md_edge(r->end, out);
		end = r->end;
	}
}

static void md_layout_notes(const struct tb_process *p, FILE *out)
{
	char size[32];

	if (!p->exited)
		return;
	fputs("\nStacks and direct mmap chunks are drawn as they were when the process exited: one"
	      " unmapped before then has no place above; the CSV's `thread`, `mmap` and `munmap`"
	      " rows give its addresses.", out);
	if (p->chunks)
		fprintf(out, " This process mapped %" PRIu64 " direct mmap chunk%s in all, the largest"
			" %s.", p->chunks, md_s(p->chunks),
			md_size(p->chunk_largest, size, sizeof(size)));
	fputc('\n', out);
}

static void md_layout_proc(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	struct md_layout l = { 0 };

	md_layout_arenas(c, p, &l);
	md_layout_maps(c, p, &l);
	fprintf(out, "### Process %" PRIu32 " ", p->pid);
	md_prog(p, out);
	if (p->parent != TB_NONE)
		fprintf(out, ", forked by %" PRIu32, c->procs[p->parent]->pid);
	fputs("\n\n", out);
	if (l.n) {
		qsort(l.v, l.n, sizeof(*l.v), md_region_cmp);
		fputs("```\n", out);
		md_draw(&l, out);
		fputs("```\n", out);
		md_layout_notes(p, out);
	} else {
		fputs("Nothing the allocator served is known for this process.\n", out);
	}
	fputc('\n', out);
	free(l.v);
}

static void md_layout(const struct correlator *c, unsigned top, FILE *out)
{
	uint32_t shown;
	uint8_t *keep = md_pick_procs(c, top, &shown);

	fputs("## Address-space layout\n\n"
	      "Low addresses first. Thread arenas are drawn at their 64 MiB reservation; only the"
	      " part in use is readable and writable. The right column says whose blocks lie"
	      " there (T0 is the main thread; pid/tid is a thread of the parent).\n\n", out);
	for (uint32_t i = 0; i < c->nprocs; i++)
		if (!keep || keep[i])
			md_layout_proc(c, c->procs[i], out);
	free(keep);
	if (shown < c->nprocs)
		fprintf(out, "%" PRIu32 " more process%s not drawn.\n\n", c->nprocs - shown,
			c->nprocs - shown == 1 ? " is" : "es are");
}

/* ---- which code: sites and the lines of bad frees ---------------------------------------- */

static void md_site_list(const struct tb_run_info *run, enum site_rank by, FILE *out)
{
	uint32_t n, *v = report_sites__ranked(run, by, &n);
	char name[1024];

	if (n)
		fprintf(out, "%c%s:\n\n", report_sites__title(by)[0] - 32,
			report_sites__title(by) + 1);
	for (uint32_t i = 0; i < n; i++) {
		const struct site_stats *st = sites__stack(run->sites, v[i]);

		report_sites__name(run, v[i], name, sizeof(name));
		fprintf(out, "- `%s` (stack %" PRIu32 "): %" PRIu64 " B in %" PRIu64 " block%s, %"
			PRIu64 " B in %" PRIu64 " still live at the end\n", name, v[i], st->bytes,
			st->blocks, md_s(st->blocks), st->live_bytes, st->live_blocks);
	}
	if (n)
		fputc('\n', out);
	free(v);
}

/* A kind of bad free made at one pair of lines, in one process. */
struct md_bad_group {
	const char *kind;
	uint32_t pid;
	uint64_t count;
	char alloc[512], freed[512];
};

static uint32_t md_bad_groups(const struct tb_run_info *run, struct md_bad_group *g, uint32_t max)
{
	uint64_t more;
	uint32_t n, ng = 0, k;
	const struct site_bad_free *b = sites__bad_frees(run->sites, &n, &more);
	struct md_bad_group x;

	for (uint32_t i = 0; i < n; i++) {
		x = (struct md_bad_group){ report_sites__bad_kind(b[i].flags), b[i].pid, 1 };
		report_sites__name(run, b[i].alloc_stack, x.alloc, sizeof(x.alloc));
		report_sites__name(run, b[i].free_stack, x.freed, sizeof(x.freed));
		for (k = 0; k < ng; k++)
			if (g[k].kind == x.kind && g[k].pid == x.pid && !strcmp(g[k].alloc, x.alloc) &&
			    !strcmp(g[k].freed, x.freed))
				break;
		if (k < ng)
			g[k].count++;
		else if (ng < max)
			g[ng++] = x;
	}
	return ng;
}

static void md_bad_frees(const struct tb_run_info *run, FILE *out)
{
	static const struct { const char *kind, *what; } say[] = {
		{ "inherited", "free%s of blocks inherited at fork" },
		{ "cross_thread", "cross-thread free%s" },
		{ "double_free", "double free%s" },
		{ "invalid_free", "invalid free%s" },
		{ "mismatched_free", "mismatched free%s" },
	};
	struct md_bad_group *g = calloc(256, sizeof(*g));
	uint32_t ng = g ? md_bad_groups(run, g, 256) : 0;

	if (ng)
		fputs("Where the blocks of the bad frees were allocated and freed:\n\n", out);
	for (uint32_t i = 0; i < ng && (!run->top || i < run->top); i++) {
		const char *what = "free%s";

		for (unsigned k = 0; k < sizeof(say) / sizeof(say[0]); k++)
			if (!strcmp(say[k].kind, g[i].kind))
				what = say[k].what;
		fprintf(out, "- Process %" PRIu32 ": %" PRIu64 " ", g[i].pid, g[i].count);
		fprintf(out, what, md_s(g[i].count));
		fprintf(out, ", allocated at `%s`, freed at `%s`.\n", g[i].alloc, g[i].freed);
	}
	if (ng)
		fputc('\n', out);
	free(g);
}

static void md_sites(const struct tb_run_info *run, FILE *out)
{
	if (!run->sites || !sites__nstacks(run->sites))
		return;
	fputs("## Which code\n\nEach call stack named by its call site, `function (file:line)`: "
	      "the line that called the allocator (the stacks file lists the whole stacks).\n\n",
	      out);
	md_bad_frees(run, out);
	md_site_list(run, SITE_BY_BYTES, out);
	md_site_list(run, SITE_BY_LIVE, out);
}

int report__markdown(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	struct tb_run_info none = { 0 };

	if (!c || !out)
		return -EINVAL;
	if (!run)
		run = &none;
	md_title(c, run, out);
	md_findings(c, run, out);
	md_sites(run, out);
	md_layout(c, run->top, out);
	if (run->pictures[0] && run->pictures[1])
		fprintf(out, "## Pictures\n\nThe address space at the end: a band per region, a "
			"rectangle per live block to scale within its band, coloured by the thread that "
			"allocated it, dashed where inherited at fork.\n\n![address space](%s)\n\n"
			"Live bytes per thread over the run (marks: fork, thread, exec, new arena).\n\n"
			"![live bytes](%s)\n\n", run->pictures[0], run->pictures[1]);
	fputs("## What this means\n\n_to be written from this run_\n\n"
	      "## Follow-up questions\n\n_to be written from this run_\n", out);
	return ferror(out) ? -EIO : 0;
}
