// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stacks_write.c: the stacks file beside the CSV: the first time a row names
 * a (canonical) stack_id, its frames, innermost first, each placed in its
 * file, with a row per level of its inline chain where the symbols name it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "csv.h"
#include "stacktab.h"
#include "stacks_write.h"

struct stacks_writer {
	FILE *f;
	struct stacktab *src;
	uint32_t written;	/* ids 1..written are in the file: ids come in the order rows name them */
	uint64_t frames, unnamed;	/* frames in a file, and those no name was found for */
};

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

static int stacks_write(void *ptr, const struct tb_event *e)
{
	struct stacks_writer *w = ptr;

	if (!w->src)
		return 0;
	/* a row names an id first right after it is made, so every id below it is written */
	while (w->written < e->stack_id && w->written < stacktab__count(w->src))
		write_stack(w, ++w->written);
	return ferror(w->f) ? -EIO : 0;
}

static int stacks_close(void *ptr)
{
	struct stacks_writer *w = ptr;
	int err = fclose(w->f) ? -errno : 0;

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
	*out = (struct tb_output){ "the stacks file", w, stacks_write, NULL, stacks_close };
	return 0;
}

void stacks_output__set_source(struct tb_output *out, struct stacktab *src)
{
	((struct stacks_writer *)out->w)->src = src;
}
