// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_folded.c: the folded stacks file read back by a reader of the format as flamegraph.pl
 * parses it (the value after the last space, frames split at ';', root first), against the
 * lines written out by hand here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "folded.h"

#define MAX_READ 32

struct folded_line {
	char stack[2048];
	unsigned long long value;
	int frames;
};

static char tmpdir[] = "/tmp/tlsbpf-test-folded.XXXXXX";
static char path[4096];

/* Every line of the file; -1 for a line that is not "STACK VALUE". */
static int read_folded(const char *file, struct folded_line *lines)
{
	FILE *f = fopen(file, "r");
	char buf[2048];
	int n = 0;

	while (f && n < MAX_READ && fgets(buf, sizeof(buf), f)) {
		char *space, *end;
		int i;

		buf[strcspn(buf, "\n")] = '\0';
		space = strrchr(buf, ' ');
		if (!space || space == buf)
			return -1;
		*space = '\0';
		lines[n].value = strtoull(space + 1, &end, 10);
		if (*end || end == space + 1)
			return -1;
		snprintf(lines[n].stack, sizeof(lines[n].stack), "%s", buf);
		lines[n].frames = 1;
		for (i = 0; buf[i]; i++)
			lines[n].frames += buf[i] == ';';
		n++;
	}
	if (f)
		fclose(f);
	return f ? n : -1;
}

/* main -> run (inlined into main) -> alloc_site, called at leaf */
static const struct prof_frame stack_a[] = {
	{ "/usr/bin/prog", "ab12", 0x1234, "alloc_site", "/src/prog.c", 40, 0 },
	{ "/usr/bin/prog", "ab12", 0x2000, "run", "/src/prog.c", 55, 0 },
	{ "/usr/bin/prog", "ab12", 0x2000, "main", "/src/main.c", 9, 1 },
};

/* a JIT frame, an unnamed frame of a library, a cut-short stack */
static const struct prof_frame stack_b[] = {
	{ "[anon]", "", 0x7f0012345678, NULL, NULL, 0, 0 },
	{ "/usr/lib/x86_64-linux-gnu/libfoo.so.1", "", 0x4f0, NULL, NULL, 0, 0 },
	{ "[truncated]", "", 0, NULL, NULL, 0, 0 },
};

static const struct prof_frame stack_c[] = {
	{ "/usr/bin/prog", "ab12", 0x1300, "operator new(unsigned long)", NULL, 0, 0 },
	{ "/usr/bin/prog", "ab12", 0x1400, "a;b\nc", "/src/x.c", 1, 0 },
};

static int find(const struct folded_line *lines, int n, const char *stack)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(lines[i].stack, stack) == 0)
			return i;
	return -1;
}

static void check_functions(void)
{
	struct folded *f = folded__new(0);
	struct folded_line l[MAX_READ];
	const char *names[] = { "leaf", "mid", "root" };
	int n, a, b, c, d;

	folded__add(f, stack_a, 3, 100);
	folded__add(f, stack_b, 3, 7);
	folded__add(f, stack_a, 3, 28);
	folded__add(f, stack_c, 2, 5);
	folded__add_names(f, names, 3, 1);
	snprintf(path, sizeof(path), "%s/a.folded", tmpdir);
	CHECK(folded__write(f, path, NULL) == 0, "folded__write");
	folded__free(f);
	n = read_folded(path, l);
	CHECK(n == 4, "4 distinct stacks, 4 lines that read as STACK VALUE (%d)", n);
	a = find(l, n, "main;run;alloc_site");
	CHECK(a >= 0 && l[a].value == 128 && l[a].frames == 3,
	      "root first, the inlined-into function above, equal stacks added up: 100 + 28");
	b = find(l, n, "[truncated];libfoo.so.1+0x4f0;[anon] 0x7f0012345678");
	CHECK(b >= 0 && l[b].value == 7, "a cut stack, an unnamed frame and an anonymous one named");
	c = find(l, n, "a_b_c;operator new(unsigned long)");
	CHECK(c >= 0 && l[c].value == 5, "';' and newlines inside names replaced, spaces kept");
	d = find(l, n, "root;mid;leaf");
	CHECK(d >= 0 && l[d].value == 1, "stacks from names, leaf first");
	CHECK(n == 4 && strcmp(l[0].stack, l[1].stack) < 0 && strcmp(l[1].stack, l[2].stack) < 0 &&
		      strcmp(l[2].stack, l[3].stack) < 0,
	      "lines sorted");
}

static void check_lines_and_errors(void)
{
	struct folded *f = folded__new(FOLDED_LINES);
	struct folded_line l[MAX_READ];
	int n;

	folded__add(f, stack_a, 3, 64);
	snprintf(path, sizeof(path), "%s/b.folded", tmpdir);
	folded__write(f, path, NULL);
	n = read_folded(path, l);
	CHECK(n == 1 && strcmp(l[0].stack, "main (main.c:9);run (prog.c:55);alloc_site (prog.c:40)") == 0 &&
		      l[0].value == 64,
	      "FOLDED_LINES: function (file:line): '%s'", n == 1 ? l[0].stack : "");
	snprintf(path, sizeof(path), "%s/missing/c.folded", tmpdir);
	CHECK(folded__write(f, path, NULL) == -ENOENT, "a directory that is not there: -ENOENT");
	folded__free(f);

	f = folded__new(0);
	snprintf(path, sizeof(path), "%s/d.folded", tmpdir);
	CHECK(folded__write(f, path, NULL) == 0 && read_folded(path, l) == 0, "no stacks: empty file");
	folded__free(f);
}

int main(void)
{
	char cmd[4200];

	if (!mkdtemp(tmpdir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	check_functions();
	check_lines_and_errors();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		return 1;
	return check_done();
}
