// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stacks_write.c: the stacks file beside the CSV: the first time a row names
 * a (canonical) stack_id, its frames, innermost first, each placed in its
 * file, with a row per level of its inline chain where the symbols name it.
 *
 * Written at most once a second while the run goes on, and whole at its end,
 * not at the row: naming a library's frames the first time reads its debug
 * info (libc's compressed DWARF took 40 ms of CPU here), which on a machine
 * the watched program keeps busy comes out of the program's time. What the
 * names need later is kept when the row comes (stacktab__canon holds the
 * file open), so a library unloaded or a process gone by then still resolves.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "csv.h"
#include "stacktab.h"
#include "stacks_write.h"

struct stacks_writer {
	FILE *f;
	struct stacktab *src;
	uint32_t written;	/* ids 1..written are in the file: ids come in the order rows name them */
	uint32_t named;		/* the highest id a row has named */
	uint64_t last_ns;	/* when stacks were last written */
	uint64_t frames, unnamed;	/* frames in a file, and those no name was found for */
};

#define STACKS_PERIOD_NS 1000000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void stacks_file__path(const char *csv_path, char *buf, size_t cap)
{
	size_t n = strlen(csv_path);

	if (n > 4 && !strcmp(csv_path + n - 4, ".csv"))
		n -= 4;
	snprintf(buf, cap, "%.*s.stacks.csv", (int)n, csv_path);
}

static char *put_flags(char *p, unsigned flags)
{
	static const char *const names[] = { "truncated", "gap", "collided" };
	const char *sep = "";

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & (1u << i)) {
			p += sprintf(p, "%s%s", sep, names[i]);
			sep = "|";
		}
	return p;
}

/* One row: a frame, or one level of its inline chain (line 0 for a level without one). */
static void write_row(struct stacks_writer *w, uint32_t id, int i, const struct stacktab_stack *st,
		      const struct sym_line *l, int level)
{
	const struct stacktab_frame *f = &st->frames[i];
	char mod[2 * 4096 + 2] = "", fn[2 * 4096 + 2] = "", file[2 * 4096 + 2] = "";
	char off[24] = "", line[16] = "", flags[64];

	if (f->module) {
		csv_quote(mod, f->module, strnlen(f->module, 4096));
		snprintf(off, sizeof(off), "0x%" PRIx64, f->offset);
	}
	if (l && l->function)
		csv_quote(fn, l->function, strnlen(l->function, 4096));
	if (l && l->file)
		csv_quote(file, l->file, strnlen(l->file, 4096));
	if (l && l->line)
		snprintf(line, sizeof(line), "%d", l->line);
	*put_flags(flags, st->flags) = 0;
	fprintf(w->f, "%u,%d,%u,0x%" PRIx64 ",%s,%s,%s,%s,%s,%s,%d,%s\n", id, i, st->pid, f->addr,
		mod, f->build_id ? f->build_id : "", off, fn, file, line, level, flags);
}

static void write_stack(struct stacks_writer *w, uint32_t id)
{
	const struct stacktab_stack *st = stacktab__get(w->src, id);

	for (int i = 0; st && i < st->nr; i++) {
		struct sym_result r;

		if (stacktab__names(w->src, id, i, &r))
			r.n = 0;
		if (st->frames[i].module && st->frames[i].module[0] == '/') {
			w->frames++;
			w->unnamed += !r.n || !r.lines[0].function;
		}
		if (!r.n)
			write_row(w, id, i, st, NULL, 0);
		for (int k = 0; k < r.n; k++)
			write_row(w, id, i, st, &r.lines[k], k);
	}
}

/* a row names an id first right after it is made, so every id below the last named is due */
static int write_named(struct stacks_writer *w)
{
	while (w->src && w->written < w->named && w->written < stacktab__count(w->src))
		write_stack(w, ++w->written);
	w->last_ns = now_ns();
	return ferror(w->f) ? -EIO : 0;
}

static int stacks_write(void *ptr, const struct tb_event *e)
{
	struct stacks_writer *w = ptr;

	if (e->stack_id > w->named)
		w->named = e->stack_id;
	return ferror(w->f) ? -EIO : 0;	/* a failed write of an earlier round's stacks */
}

/* each consumer round */
static int stacks_flush(void *ptr)
{
	struct stacks_writer *w = ptr;

	if (w->written >= w->named || now_ns() - w->last_ns < STACKS_PERIOD_NS)
		return 0;
	return write_named(w);
}

static int stacks_close(void *ptr)
{
	struct stacks_writer *w = ptr;
	int err = write_named(w);

	err = fclose(w->f) && !err ? -errno : err;

	if (w->unnamed)
		fprintf(stderr, "tlsbpf: %" PRIu64 " of %" PRIu64 " frames in the stacks file have no "
			"function name: their files have no symbols for them\n", w->unnamed, w->frames);

	free(w);
	return err;
}

int stacks_output__open(struct tb_output *out, const char *path, const struct tb_owner *owner)
{
	struct stacks_writer *w = calloc(1, sizeof(*w));
	int fd = w ? outfile__open(path, owner) : -ENOMEM;

	if (fd < 0) {
		free(w);
		return fd;
	}
	w->f = fdopen(fd, "w");
	if (!w->f) {
		close(fd);
		free(w);
		return -errno;
	}
	fputs(TB_STACKS_HEADER "\n", w->f);
	w->last_ns = now_ns();
	*out = (struct tb_output){ "the stacks file", w, stacks_write, stacks_flush, stacks_close };
	return 0;
}

void stacks_output__set_source(struct tb_output *out, struct stacktab *src)
{
	((struct stacks_writer *)out->w)->src = src;
}
