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

#define MD_LIST_MAX 8		/* threads named in one sentence before "and N more" */
#define MD_BOX 34		/* inner width of a region's box in the layout diagram */

/* ---- helpers ------------------------------------------------------------------------------- */

static const struct tb_thread *md_thread(const struct correlator *c, uint32_t i)
{
	return i == TB_NONE || i >= c->nthreads ? NULL : c->threads[i];
}

/* "T2" for a thread of p, "pid/tid" for one of another process (a parent's, via fork). */
static void md_label(const struct correlator *c, uint32_t i, const struct tb_process *p,
		     char *buf, size_t cap)
{
	const struct tb_thread *t = md_thread(c, i);

	if (!t)
		snprintf(buf, cap, "nobody seen");
	else if (t->proc == p->index)
		snprintf(buf, cap, "T%" PRIu32, t->label);
	else
		snprintf(buf, cap, "%" PRIu32 "/%" PRIu32, t->pid, t->tid);
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

/* Most common positive distance between a thread's consecutive blocks; 0 when unknown. */
static uint64_t md_spacing(const struct tb_thread *t)
{
	const struct tb_spacing *best = NULL;

	if (t->allocs < 2)
		return 0;
	for (int i = 0; i < TB_SPACING_SLOTS; i++)
		if (t->spacing[i].count && (!best || t->spacing[i].count > best->count))
			best = &t->spacing[i];
	return best ? best->delta : 0;
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

static uint64_t md_proc_sum(const struct correlator *c, const struct tb_process *p,
			    size_t field)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < p->nthreads; i++)
		n += *(const uint64_t *)((const char *)c->threads[p->threads[i]] + field);
	return n;
}

#define PROC_SUM(c, p, f) md_proc_sum(c, p, offsetof(struct tb_thread, f))

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
		c->nthreads, c->nthreads == 1 ? "" : "s");
	if (run->have_status)
		fprintf(out, "; the command exited with status %d", run->exit_status);
	fputs(".\n", out);
	if (run->attached)
		fputs("- Attached to running processes: blocks allocated before that are not"
		      " counted.\n", out);
	fputs("\nIn glibc's terms: an *arena* is a pool malloc serves blocks from. The *main arena*"
	      " grows the brk heap next to the program; a *thread arena* lives in its own 64 MiB"
	      "-aligned mapping; a block of 128 KiB or more (the default threshold) gets a"
	      " mapping of its own, a *direct mmap chunk*.\n\n", out);
}

/* ---- findings: threads and arenas ---------------------------------------------------------- */

static void md_arena_name(const struct correlator *c, const struct tb_process *p, uint32_t ai,
			  FILE *out)
{
	const struct tb_arena *a = &p->arenas[md_arena_root(p, ai)];
	char owner[48];

	if (a->is_heap) {
		fprintf(out, "the brk heap (main arena, 0x%" PRIx64 ")", a->base);
		return;
	}
	md_label(c, a->owner, p, owner, sizeof(owner));
	fprintf(out, "the thread arena at 0x%" PRIx64 " (made by %s%s)", a->base, owner,
		a->inherited ? ", before the fork" : "");
}

static void md_thread_arenas(const struct correlator *c, const struct tb_process *p,
			     const struct tb_thread *t, FILE *out)
{
	fprintf(out, "T%" PRIu32 " from ", t->label);
	for (uint32_t k = 0; k < t->narenas; k++) {
		if (k)
			fputs(k + 1 == t->narenas ? " and " : ", ", out);
		md_arena_name(c, p, t->arenas[k], out);
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
				used = md_arena_root(p, t->arenas[k]) == a;
		}
		n += used;
	}
	return n;
}

static void md_proc_name(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	fprintf(out, "Process %" PRIu32 " ", p->pid);
	md_code(out, p->comm, TB_COMM_LEN);
	if (p->parent != TB_NONE)
		fprintf(out, " (forked by %" PRIu32 ")", c->procs[p->parent]->pid);
}

static void md_find_arenas(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	uint32_t users = 0, shown = 0;

	for (uint32_t i = 0; i < p->nthreads; i++)
		users += c->threads[p->threads[i]]->narenas > 0;
	fputs("- ", out);
	md_proc_name(c, p, out);
	fprintf(out, ": %" PRIu32 " of its %" PRIu32 " threads allocated from arenas, %" PRIu32
		" distinct arena%s", users, p->nthreads, md_distinct_arenas(c, p),
		md_distinct_arenas(c, p) == 1 ? "" : "s");
	for (uint32_t i = 0; i < p->nthreads; i++) {
		const struct tb_thread *t = c->threads[p->threads[i]];

		if (!t->narenas)
			continue;
		if (shown == MD_LIST_MAX) {
			fprintf(out, "; and %" PRIu32 " more", users - shown);
			break;
		}
		fputs(shown++ ? "; " : ": ", out);
		md_thread_arenas(c, p, t, out);
	}
	fputs(".\n", out);
}

/* Arenas that served more than one thread: where threads were not kept apart. */
static void md_find_shared(const struct correlator *c, const struct tb_process *p, FILE *out)
{
	char who[48];

	for (uint32_t a = 0; a < p->narenas; a++) {
		const struct tb_arena *ar = &p->arenas[a];

		if (ar->nusers < 2)
			continue;
		fprintf(out, "- In process %" PRIu32 ", %s 0x%" PRIx64 " served %" PRIu32
			" threads:", p->pid, ar->is_heap ? "the brk heap" : "the arena at",
			ar->base, ar->nusers);
		for (uint32_t k = 0; k < ar->nusers && k < MD_LIST_MAX; k++) {
			md_label(c, ar->users[k].thread, p, who, sizeof(who));
			fprintf(out, "%s %s (%" PRIu64 " blocks)", k ? "," : "", who,
				ar->users[k].blocks);
		}
		fputs(ar->nusers > MD_LIST_MAX ? ", ...\n" : ".\n", out);
	}
}

