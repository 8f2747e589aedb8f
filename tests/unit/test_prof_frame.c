// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_prof_frame.c: a captured stack made into profile frames: each address's inline chain
 * expanded in place, innermost first, with the lines the sites program says of itself;
 * frames with no file kept as they are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "prof_frame.h"

struct site {
	char func[128], module[4096];
	int line, call_line;
	unsigned long offset, vaddr;
};

/* The sites program's line for FUNC: where it is and what it says of its lines. */
static int find_site(const char *output_dir, const char *func, struct site *s)
{
	char cmd[8192], line[8192];
	FILE *p;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "%s/syms/sites-O2 %s/syms/libsites.so", output_dir, output_dir);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (sscanf(line, "%127s %d %d %4095s %lx %lx", s->func, &s->line, &s->call_line,
			   s->module, &s->offset, &s->vaddr) == 6 &&
		    strcmp(s->func, func) == 0) {
			found = 1;
			break;
		}
	if (p)
		pclose(p);
	return found ? 0 : -1;
}

static char bid[128];

static void build_id_of(const char *file)
{
	char cmd[8192];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s' | awk '/Build ID:/ {print $3; exit}'", file);
	p = popen(cmd, "r");
	if (!p || !fgets(bid, sizeof(bid), p))
		bid[0] = '\0';
	bid[strcspn(bid, "\n")] = '\0';
	if (p)
		pclose(p);
}

static int is(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int main(void)
{
	const char *output_dir = getenv("OUTPUT") ? getenv("OUTPUT") : ".output";
	struct site inner3, plain;
	struct prof_frame raw[7], out[16];
	struct symbols *s = symbols__new(NULL);
	int n;

	if (!s || find_site(output_dir, "inner3", &inner3) ||
	    find_site(output_dir, "plain_site", &plain)) {
		printf("not ok - %s/syms/sites-O2 did not run\n", output_dir);
		return 1;
	}
	build_id_of(inner3.module);
	raw[0] = (struct prof_frame){ inner3.module, bid, inner3.offset, "stale", NULL, 0, 0 };
	raw[1] = (struct prof_frame){ inner3.module, bid, inner3.offset, "stale", NULL, 0, 1 };
	raw[2] = (struct prof_frame){ plain.module, bid, plain.offset, NULL, NULL, 0, 0 };
	raw[3] = (struct prof_frame){ "[anon]", "", 0x7f0000001234, NULL, NULL, 0, 0 };
	raw[4] = (struct prof_frame){ plain.module, bid, 1ULL << 40, "from_file", "f.c", 3, 0 };
	raw[5] = (struct prof_frame){ plain.module, bid, 1ULL << 40, "its_caller", "f.c", 9, 1 };
	raw[6] = (struct prof_frame){ "[truncated]", "", 0, NULL, NULL, 0, 0 };
	n = prof_frame__symbolize(s, raw, 7, out, 16);

	CHECK(n == 8, "3 functions for the inlined site (given 2), 1 each for 3 frames, 2 kept (%d)",
	      n);
	CHECK(n >= 3 && is(out[0].function, "inner3") && out[0].line == inner3.line &&
		      out[0].inline_depth == 0 && is(out[1].function, "middle3") &&
		      out[1].line == inner3.call_line && out[1].inline_depth == 1 &&
		      is(out[2].function, "outer3") && out[2].inline_depth == 2,
	      "the inlined site: inner3:%d in middle3:%d in outer3, innermost first",
	      inner3.line, inner3.call_line);
	CHECK(n >= 3 && out[0].offset == inner3.offset && out[2].offset == inner3.offset &&
		      is(out[2].module, inner3.module) && is(out[2].build_id, bid),
	      "each keeps its address's module, build-id and offset");
	CHECK(n >= 4 && is(out[3].function, "plain_site") && out[3].line == plain.line &&
		      strstr(out[3].file, "sites.c"),
	      "the next address: plain_site at sites.c:%d", plain.line);
	CHECK(n == 8 && is(out[4].module, "[anon]") && !out[4].function &&
		      out[4].offset == 0x7f0000001234 && is(out[7].module, "[truncated]"),
	      "anonymous code and the cut kept as one frame each, no function");
	CHECK(n == 8 && out[5].offset == 1ULL << 40 && is(out[5].function, "from_file") &&
		      out[5].line == 3 && is(out[6].function, "its_caller") &&
		      out[6].inline_depth == 1 && out[6].line == 9,
	      "an offset the symbolizer knows nothing of keeps the chain it came with");
	CHECK(prof_frame__symbolize(s, raw, 7, out, 5) == -ENOSPC, "no room: -ENOSPC");
	symbols__free(s);
	return check_done();
}
