// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_stacks_read.c: a stacks file written by tlsbpf's writer reads back into the same
 * stacks, ids, frames and names (an inline chain, a name with a comma and a quote, a frame in
 * no file, one with no names); and the reader survives every file cut short and thousands of
 * bytes changed at random, each refused in one line or read, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "stacks_read.h"
#include "stacks_write.h"
#include "stacktab.h"

static const struct sym_line chain[] = {
	{ "inner, \"quoted\"", "/src/a.c", 12 },
	{ "outer", "/src/b.c", 40 },
};

static struct stacktab *made(void)
{
	struct stacktab *t = stacktab__new(NULL);
	struct stacktab_frame a[3] = {
		{ 0x401234, 0x1234, "/usr/bin/app", "abcdef", chain, 2 },
		{ 0x7f0000001000, 0x7f0000001000, "[anon]", "" },
		{ 0x401300, 0x1300, "/usr/bin/app", "abcdef" },
	};
	struct stacktab_frame b[1] = { { 0x77, 0x77, NULL, "" } };

	CHECK(stacktab__add(t, 5, TB_STK_TRUNCATED, a, 3) == 1 && stacktab__add(t, 6, 0, b, 1) == 2,
	      "two stacks made");
	return t;
}

static int write_file(struct stacktab *t, const char *path)
{
	struct tb_output out;
	struct tb_event e = { .type = TB_EV_MALLOC, .stack_id = 2 };

	if (stacks_output__open(&out, path, &(struct tb_owner){ 0 }))
		return -1;
	stacks_output__set_source(&out, t);
	out.write(out.w, &e);
	return out.close(out.w);
}

static bool same(struct stacktab *x, struct stacktab *y)
{
	for (uint32_t id = 1; id <= 2; id++) {
		const struct stacktab_stack *a = stacktab__get(x, id), *b = stacktab__get(y, id);

		if (!a || !b || a->pid != b->pid || a->nr != b->nr || a->flags != b->flags)
			return false;
		for (int i = 0; i < a->nr; i++) {
			const struct stacktab_frame *f = &a->frames[i], *g = &b->frames[i];
			struct sym_result r, s;

			if (f->addr != g->addr || f->offset != g->offset ||
			    !f->module != !g->module || (f->module && strcmp(f->module, g->module)) ||
			    strcmp(f->build_id, g->build_id))
				return false;
			stacktab__names(x, id, i, &r);
			stacktab__names(y, id, i, &s);
			if (r.n && (r.n != s.n || strcmp(r.lines[r.n - 1].function, s.lines[r.n - 1].function) ||
				    r.lines[0].line != s.lines[0].line || strcmp(r.lines[0].file, s.lines[0].file)))
				return false;
		}
	}
	return stacktab__count(y) == 2;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(1 << 16);

	*len = f ? fread(buf, 1, 1 << 16, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

static void put(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	fwrite(buf, 1, len, f);
	fclose(f);
}

int main(void)
{
	char path[] = "/tmp/tlsbpf-test-sread.XXXXXX", err[8192];
	int fd = mkstemp(path);
	struct stacktab *t = made(), *back = stacktab__new(NULL);
	size_t len, refused = 0, read_ok = 0;
	char *orig, *buf;

	close(fd);
	CHECK(write_file(t, path) == 0, "the writer writes it");
	CHECK(stacks_file__read(path, back, err, sizeof(err)) == 0, "it reads back: %s", err);
	CHECK(same(t, back), "the same stacks, frames and names");
	stacktab__free(back);

	orig = slurp(path, &len);
	buf = malloc(len);
	for (size_t cut = 1; cut < len; cut++) {
		struct stacktab *x = stacktab__new(NULL);
		int ret;

		put(path, orig, cut);
		err[0] = 0;
		ret = stacks_file__read(path, x, err, sizeof(err));
		refused += ret && !strncmp(err, path, strlen(path)) && strstr(err, ": line ");
		read_ok += !ret;
		stacktab__free(x);
	}
	CHECK(refused + read_ok == len - 1 && refused > len / 2,
	      "every cut: read, or refused in one line naming the file and line (%zu of %zu)",
	      refused, len - 1);

	srand(16);
	refused = read_ok = 0;
	for (int i = 0; i < 3000; i++) {
		struct stacktab *x = stacktab__new(NULL);
		int ret;

		memcpy(buf, orig, len);
		for (int k = 0; k < 1 + i % 4; k++)
			buf[rand() % len] = "0x,\"\n|ag9-"[rand() % 11];
		put(path, buf, len);
		ret = stacks_file__read(path, x, err, sizeof(err));
		refused += ret && !strncmp(err, path, strlen(path));
		read_ok += !ret;
		stacktab__free(x);
	}
	CHECK(refused + read_ok == 3000, "3000 files with bytes changed: each read or refused (%zu refused)",
	      refused);
	unlink(path);
	free(orig);
	free(buf);
	stacktab__free(t);
	return check_done();
}
