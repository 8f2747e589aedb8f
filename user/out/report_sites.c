// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * report_sites.c: allocation sites ranked by bytes, by blocks and by bytes live at the end,
 * and the stacks that allocated and freed each bad free, named by their call sites.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "report_sites.h"
#include "sites.h"
#include "stacktab.h"

static const struct tb_run_info *rank_run;
static enum site_rank rank_by;

static uint64_t key(const struct site_stats *s, enum site_rank by)
{
	return by == SITE_BY_BYTES ? s->bytes : by == SITE_BY_BLOCKS ? s->blocks : s->live_bytes;
}

/* Largest first; equal keys by stack id, so the order never depends on qsort */
static int rank_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t kx = key(sites__stack(rank_run->sites, x), rank_by);
	uint64_t ky = key(sites__stack(rank_run->sites, y), rank_by);

	return kx != ky ? (kx < ky ? 1 : -1) : (x > y) - (x < y);
}

uint32_t *report_sites__ranked(const struct tb_run_info *run, enum site_rank by, uint32_t *n)
{
	uint32_t all;

	return report_sites__ranked_all(run, by, n, &all);
}

uint32_t *report_sites__ranked_all(const struct tb_run_info *run, enum site_rank by, uint32_t *n,
				   uint32_t *all)
{
	uint32_t max = sites__nstacks(run->sites), *v = calloc(max + 1, sizeof(*v));

	*n = 0;
	for (uint32_t id = 1; v && id <= max; id++) {
		const struct site_stats *s = sites__stack(run->sites, id);

		if (s && key(s, by))
			v[(*n)++] = id;
	}
	rank_run = run;
	rank_by = by;
	if (v)
		qsort(v, *n, sizeof(*v), rank_cmp);
	*all = *n;
	if (run->top && *n > run->top)
		*n = run->top;
	return v;
}

void report_sites__name(const struct tb_run_info *run, uint32_t stack, char *buf, size_t cap)
{
	stacktab__site_name(run->stack_tab, stack, buf, cap);
}

const char *report_sites__title(enum site_rank by)
{
	static const char *const t[] = { "allocation sites by bytes allocated",
					  "allocation sites by blocks allocated",
					  "leaks by site: bytes still live at the end" };
	return t[by];
}

const char *report_sites__key(enum site_rank by)
{
	static const char *const k[] = { "bytes", "blocks", "live_bytes" };
	return k[by];
}

const char *report_sites__bad_kind(uint32_t flags)
{
	return flags & TB_F_DOUBLE_FREE ? "double_free" : flags & TB_F_INVALID_FREE ? "invalid_free" :
	       flags & TB_F_MISMATCHED_FREE ? "mismatched_free" :
	       flags & TB_F_INHERITED ? "inherited" : "cross_thread";
}

/* What the sites past --top add up to, in one line as the other lists end. */
static void text_rest(const struct tb_run_info *run, const uint32_t *v, uint32_t from, uint32_t all,
		      FILE *out)
{
	struct site_stats r = { 0 };

	for (uint32_t i = from; i < all; i++) {
		const struct site_stats *s = sites__stack(run->sites, v[i]);

		r.bytes += s->bytes;
		r.blocks += s->blocks;
		r.live_bytes += s->live_bytes;
	}
	fprintf(out, "  and %u more site%s: %" PRIu64 " B in %" PRIu64 " blocks, %" PRIu64
		" B live at the end\n", all - from, all - from == 1 ? "" : "s", r.bytes, r.blocks,
		r.live_bytes);
}

static void text_ranked(const struct tb_run_info *run, enum site_rank by, FILE *out)
{
	uint32_t n, all, *v = report_sites__ranked_all(run, by, &n, &all);
	char name[1024];

	if (!n) {
		free(v);
		return;
	}
	fprintf(out, "\n%s:\n", report_sites__title(by));
	fprintf(out, "  %12s %8s %12s %8s  %-6s site\n", "bytes", "blocks", "live bytes", "live",
		"stack");
	for (uint32_t i = 0; i < n; i++) {
		const struct site_stats *s = sites__stack(run->sites, v[i]);

		report_sites__name(run, v[i], name, sizeof(name));
		fprintf(out, "  %12" PRIu64 " %8" PRIu64 " %12" PRIu64 " %8" PRIu64 "  %-6u %s\n",
			s->bytes, s->blocks, s->live_bytes, s->live_blocks, v[i], name);
	}
	if (n < all)
		text_rest(run, v, n, all, out);
	free(v);
}

static void text_bad_frees(const struct tb_run_info *run, FILE *out)
{
	uint64_t more;
	uint32_t n, shown;
	const struct site_bad_free *b = sites__bad_frees(run->sites, &n, &more);
	char a[1024], f[1024];

	if (!n)
		return;
	shown = run->top && n > run->top ? run->top : n;
	fprintf(out, "\nbad frees: where each block was allocated and where it was freed\n");
	for (uint32_t i = 0; i < shown; i++) {
		report_sites__name(run, b[i].alloc_stack, a, sizeof(a));
		report_sites__name(run, b[i].free_stack, f, sizeof(f));
		fprintf(out, "  row %" PRIu64 ": %s free of 0x%" PRIx64 " by %u/%u: allocated at "
			"stack %u %s, freed at stack %u %s\n", b[i].seq,
			report_sites__bad_kind(b[i].flags), b[i].addr, b[i].pid, b[i].tid,
			b[i].alloc_stack, a, b[i].free_stack, f);
	}
	if (shown < n || more)
		fprintf(out, "  ... %" PRIu64 " more\n", n - shown + more);
}

void report_sites__text(const struct tb_run_info *run, FILE *out)
{
	if (!run || !run->sites)
		return;
	for (int by = 0; by < SITE_NRANKS; by++)
		text_ranked(run, by, out);
	text_bad_frees(run, out);
}
