// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stacks_read.c: the stacks file read back into a stack table: rows grouped by stack_id and
 * frame, each frame's inline rows its names, every field checked as the writer makes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stacks_read.h"
#include "stacks_write.h"

#define NFIELDS 12
#define MAX_INLINE 64	/* inline levels kept per frame */

enum { F_ID, F_FRAME, F_PID, F_ADDR, F_MODULE, F_BUILD_ID, F_OFFSET, F_FUNCTION, F_FILE,
       F_LINE, F_INLINE, F_FLAGS };

/* The stack being gathered: its frames, their names, and the strings they point at. */
struct gather {
	uint32_t id, pid;
	uint16_t flags;
	int nr;
	uint64_t first_line;
	struct stacktab_frame f[TB_MAX_STACK];
	struct sym_line lines[TB_MAX_STACK][MAX_INLINE];
	char *strs[TB_MAX_STACK * (2 + 2 * MAX_INLINE)];
	int nstrs;
};

struct reader {
	const char *path;
	uint64_t line;
	char *err;
	size_t cap;
};

static int bad(struct reader *r, const char *fmt, ...)
{
	size_t n = snprintf(r->err, r->cap, "%s: line %" PRIu64 ": ", r->path, r->line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err + (n < r->cap ? n : r->cap), n < r->cap ? r->cap - n : 0, fmt, ap);
	va_end(ap);
	return -1;
}

/* Splits s in place into fields (quoted with "" as csv_quote writes them); their count, or -1. */
static int split(char *s, char **f, int max)
{
	int n = 0;

	while (n < max) {
		char *w = s;

		f[n++] = s;
		if (*s == '"') {
			for (s++;; s++) {
				if (!*s)
					return -1;
				if (*s == '"' && s[1] != '"')
					break;
				*w++ = *s;
				s += *s == '"';
			}
			s++;
			if (*s && *s != ',')
				return -1;
		} else {
			while (*s && *s != ',' && *s != '"')
				w = ++s;
			if (*s == '"')
				return -1;
		}
		if (!*s) {
			*w = 0;
			return n;
		}
		*w = 0;
		s++;
	}
	return -1;
}

static int number(const char *s, int base, uint64_t max, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || (base == 16 && strncmp(s, "0x", 2)))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	return *end || errno || *v > max ? -1 : 0;
}

static int parse_flags(const char *s, uint16_t *flags)
{
	static const char *const names[] = { "truncated", "gap", "collided" };

	*flags = 0;
	while (*s) {
		size_t n = strcspn(s, "|");
		unsigned i;

		for (i = 0; i < 3 && (strlen(names[i]) != n || strncmp(s, names[i], n)); i++)
			;
		if (i == 3)
			return -1;
		*flags |= 1u << i;
		s += n + (s[n] == '|');
	}
	return 0;
}

static const char *keep(struct gather *g, const char *s)
{
	if (!*s)
		return NULL;
	return g->strs[g->nstrs++] = strdup(s);
}

static void gather_reset(struct gather *g)
{
	for (int i = 0; i < g->nstrs; i++)
		free(g->strs[i]);
	g->nstrs = g->nr = 0;
	g->id = 0;
}

/* The stack gathered so far into the table, where it must get the id the file gives it. */
static int gather_end(struct reader *r, struct gather *g, struct stacktab *t)
{
	uint32_t id;

	if (!g->id)
		return 0;
	id = stacktab__add(t, g->pid, g->flags, g->f, g->nr);
	if (!id || id != g->id)
		r->line = g->first_line;	/* the error is the stack's, said at its first row */
	if (!id)
		return bad(r, "stack %u: %s", g->id, strerror(errno));
	if (id != g->id)
		return bad(r, "stack %u has the frames of stack %u", g->id, id);
	gather_reset(g);
	return 0;
}

/* A frame's first row (inline 0): where its code is. */
static int frame_row(struct reader *r, struct gather *g, char **f)
{
	struct stacktab_frame *fr = &g->f[g->nr];
	uint64_t addr, off = 0;

	if (g->nr == TB_MAX_STACK)
		return bad(r, "more than %d frames", TB_MAX_STACK);
	number(f[F_ADDR], 16, UINT64_MAX, &addr);	/* checked in where_ok */
	if (*f[F_MODULE])
		number(f[F_OFFSET], 16, UINT64_MAX, &off);
	*fr = (struct stacktab_frame){ addr, off, keep(g, f[F_MODULE]), keep(g, f[F_BUILD_ID]) };
	fr->lines = g->lines[g->nr];
	g->nr++;
	return 0;
}

/* Any row's names: one more level of its frame's inline chain. */
static int names_row(struct reader *r, struct gather *g, char **f, uint64_t level)
{
	struct stacktab_frame *fr = &g->f[g->nr - 1];
	uint64_t line = 0;

	if (*f[F_LINE] && number(f[F_LINE], 10, INT32_MAX, &line))
		return bad(r, "bad line: '%s'", f[F_LINE]);
	if (level >= MAX_INLINE)
		return level == MAX_INLINE ? 0 : bad(r, "inline %" PRIu64 " out of order", level);
	g->lines[g->nr - 1][level] = (struct sym_line){ keep(g, f[F_FUNCTION]), keep(g, f[F_FILE]),
							(int)line };
	/* a frame no name was found for is one row of empty names, read as such */
	fr->nlines = (int)level + 1;
	return 0;
}

/* Every row's place fields, inline rows' too, as the writer makes them. */
static int where_ok(struct reader *r, char **f)
{
	uint64_t v;

	if (number(f[F_ADDR], 16, UINT64_MAX, &v))
		return bad(r, "bad hex in addr: '%s'", f[F_ADDR]);
	if (*f[F_MODULE] ? number(f[F_OFFSET], 16, UINT64_MAX, &v) : !!*f[F_OFFSET])
		return bad(r, "bad offset: '%s'", f[F_OFFSET]);
	if (strspn(f[F_BUILD_ID], "0123456789abcdef") != strlen(f[F_BUILD_ID]))
		return bad(r, "bad build_id: '%s'", f[F_BUILD_ID]);
	return 0;
}

static int row(struct reader *r, struct gather *g, struct stacktab *t, char **f)
{
	uint64_t id, frame, pid, level;
	uint16_t flags;

	if (number(f[F_ID], 10, UINT32_MAX, &id) || !id)
		return bad(r, "bad stack_id: '%s'", f[F_ID]);
	if (number(f[F_FRAME], 10, TB_MAX_STACK, &frame) || number(f[F_PID], 10, UINT32_MAX, &pid) ||
	    number(f[F_INLINE], 10, UINT32_MAX, &level) || parse_flags(f[F_FLAGS], &flags))
		return bad(r, "bad frame, pid, inline or flags");
	if (where_ok(r, f))
		return -1;
	if (id != g->id) {
		if (gather_end(r, g, t))
			return -1;
		if (id != stacktab__count(t) + 1)
			return bad(r, "stack_id %" PRIu64 " out of order: %u expected", id,
				   stacktab__count(t) + 1);
		*g = (struct gather){ .id = id, .pid = pid, .flags = flags, .first_line = r->line };
	}
	if (level == 0 && frame != (uint64_t)g->nr)
		return bad(r, "frame %" PRIu64 " out of order: %d expected", frame, g->nr);
	if (level && (frame + 1 != (uint64_t)g->nr || level != (uint64_t)g->f[g->nr - 1].nlines))
		return bad(r, "inline %" PRIu64 " out of order", level);
	if (!level && frame_row(r, g, f))
		return -1;
	return names_row(r, g, f, level);
}

int stacks_file__read(const char *path, struct stacktab *t, char *err, size_t cap)
{
	struct reader r = { path, 0, err, cap };
	struct gather *g = calloc(1, sizeof(*g));
	FILE *in = g ? fopen(path, "r") : NULL;
	char *buf = NULL, *f[NFIELDS + 1];
	size_t bcap = 0;
	ssize_t n;
	int ret = 0;

	if (!in) {
		snprintf(err, cap, "cannot read '%s': %s", path, strerror(errno));
		free(g);
		return -1;
	}
	while (!ret && (n = getline(&buf, &bcap, in)) > 0) {
		r.line++;
		if (buf[n - 1] != '\n')
			ret = bad(&r, "the file ends in the middle of a row: cut short");
		else if ((buf[n - 1] = 0), r.line == 1)
			ret = strcmp(buf, TB_STACKS_HEADER) ? bad(&r, "not a tlsbpf stacks file header") : 0;
		else if (split(buf, f, NFIELDS + 1) != NFIELDS)
			ret = bad(&r, "not %d fields", NFIELDS);
		else
			ret = row(&r, g, t, f);
	}
	if (!ret && ferror(in))
		ret = bad(&r, "%s", strerror(errno));
	else if (!ret && !r.line)
		ret = bad(&r, "empty file: no header");
	ret = ret ?: gather_end(&r, g, t);
	gather_reset(g);
	free(g);
	free(buf);
	fclose(in);
	return ret;
}
