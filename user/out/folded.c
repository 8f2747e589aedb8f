// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* folded.c: stacks added up by their folded text and written sorted, one line per stack. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "folded.h"

struct folded_stack {
	char *text; /* "root;...;leaf"; NULL marks a free slot */
	uint64_t value;
};

struct folded {
	unsigned int flags;
	struct folded_stack *slots; /* open addressing, at most half full */
	size_t n, cap;
};

struct folded *folded__new(unsigned int flags)
{
	struct folded *f = calloc(1, sizeof(*f));

	if (f)
		f->flags = flags;
	return f;
}

void folded__free(struct folded *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->cap; i++)
		free(f->slots[i].text);
	free(f->slots);
	free(f);
}

static uint64_t hash_text(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct folded_stack *slot_for(struct folded_stack *slots, size_t cap, const char *text)
{
	size_t i;

	for (i = hash_text(text) & (cap - 1); slots[i].text; i = (i + 1) & (cap - 1))
		if (strcmp(slots[i].text, text) == 0)
			break;
	return &slots[i];
}

static int grow(struct folded *f)
{
	size_t cap = f->cap ? 2 * f->cap : 256, i;
	struct folded_stack *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < f->cap; i++)
		if (f->slots[i].text)
			*slot_for(t, cap, f->slots[i].text) = f->slots[i];
	free(f->slots);
	f->slots = t;
	f->cap = cap;
	return 0;
}

/* Add value to the stack whose text is text (taken over by the set). */
static int add_text(struct folded *f, char *text, uint64_t value)
{
	struct folded_stack *st;

	if (2 * (f->n + 1) > f->cap && grow(f)) {
		free(text);
		return -ENOMEM;
	}
	st = slot_for(f->slots, f->cap, text);
	if (st->text) {
		free(text);
	} else {
		st->text = text;
		f->n++;
	}
	st->value += value;
	return 0;
}

/* ';' separates frames and a newline ends the stack: neither may be inside a name. */
static void put_name(FILE *m, const char *name)
{
	for (; *name; name++)
		fputc(*name == ';' || *name == '\n' || *name == '\r' ? '_' : *name, m);
}

int folded__add_names(struct folded *f, const char *const *names, int n, uint64_t value)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int i;

	if (!m)
		return -ENOMEM;
	for (i = n - 1; i >= 0; i--) {
		put_name(m, names[i] ? names[i] : "??");
		if (i)
			fputc(';', m);
	}
	if (fclose(m)) {
		free(text);
		return -ENOMEM;
	}
	return add_text(f, text, value);
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path ? path : "??";
}

/* A frame as flame graphs show it: its function, else where it is. */
static void frame_name(const struct folded *f, const struct prof_frame *fr, char *buf, size_t len)
{
	const char *mod = fr->module ? fr->module : "??";

	if (strcmp(mod, "[anon]") == 0)
		snprintf(buf, len, "[anon] %#" PRIx64, fr->offset);
	else if (mod[0] == '[')
		snprintf(buf, len, "%s", mod);
	else if (!fr->function)
		snprintf(buf, len, "%s+%#" PRIx64, base_name(mod), fr->offset);
	else if ((f->flags & FOLDED_LINES) && fr->file)
		snprintf(buf, len, "%s (%s:%d)", fr->function, base_name(fr->file), fr->line);
	else
		snprintf(buf, len, "%s", fr->function);
}

int folded__add(struct folded *f, const struct prof_frame *frames, int n, uint64_t value)
{
	char (*bufs)[512] = n > 0 ? malloc(n * sizeof(*bufs)) : NULL;
	const char **names = n > 0 ? malloc(n * sizeof(*names)) : NULL;
	int i, err;

	if (n > 0 && (!bufs || !names)) {
		free(bufs);
		free(names);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		frame_name(f, &frames[i], bufs[i], sizeof(bufs[i]));
		names[i] = bufs[i];
	}
	err = folded__add_names(f, names, n, value);
	free(bufs);
	free(names);
	return err;
}

static int by_text(const void *a, const void *b)
{
	return strcmp((*(const struct folded_stack *const *)a)->text,
		      (*(const struct folded_stack *const *)b)->text);
}

int folded__write_to(struct folded *f, FILE *out)
{
	struct folded_stack **sorted = malloc((f->n ? f->n : 1) * sizeof(*sorted));
	size_t i, k = 0;

	if (!sorted)
		return -ENOMEM;
	for (i = 0; i < f->cap; i++)
		if (f->slots[i].text)
			sorted[k++] = &f->slots[i];
	qsort(sorted, k, sizeof(*sorted), by_text);
	for (i = 0; i < k; i++)
		fprintf(out, "%s %" PRIu64 "\n", sorted[i]->text, sorted[i]->value);
	free(sorted);
	return ferror(out) ? -EIO : 0;
}

int folded__write(struct folded *f, const char *path, const struct tb_owner *owner)
{
	int fd = outfile__open(path, owner), err;
	FILE *out;

	if (fd < 0)
		return fd;
	out = fdopen(fd, "w");
	err = out ? folded__write_to(f, out) : -errno;
	if (out && fclose(out) && !err)
		err = -(errno ? errno : EIO);
	if (!out)
		close(fd);
	if (err)
		fprintf(stderr, "tlsbpf: cannot write '%s': %s\n", path, strerror(-err));
	return err;
}
