// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_pprof.c: a profile with known samples, read back by Go's own pprof (`go tool pprof
 * -raw` and `-traces`): its totals, samples, labels, mappings and stacks against what was
 * written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "pprof.h"

#define NSTACKS 4
#define NSAMPLES 50

static char tmpdir[] = "/tmp/tlsbpf-test-pprof.XXXXXX";

/* main -> run (inlined into main) -> alloc_site */
static const struct prof_frame stack0[] = {
	{ "/usr/bin/prog", "ab12cd", 0x1234, "alloc_site", "/src/prog.c", 40, 0 },
	{ "/usr/bin/prog", "ab12cd", 0x2000, "run", "/src/prog.c", 55, 0 },
	{ "/usr/bin/prog", "ab12cd", 0x2000, "main", "/src/main.c", 9, 1 },
};
/* a C++ name, a library frame with no name, JIT code, and the stack cut there */
static const struct prof_frame stack1[] = {
	{ "/usr/bin/prog", "ab12cd", 0x1300, "ns::Cache::grow(unsigned long)", "/src/c.cc", 7, 0 },
	{ "/usr/lib/libfoo.so.1", "ef34", 0x4f0, NULL, NULL, 0, 0 },
	{ "[anon]", "", 0x7f0012345678, NULL, NULL, 0, 0 },
	{ "[truncated]", "", 0, NULL, NULL, 0, 0 },
};
/* the same call site as stack0 reached another way */
static const struct prof_frame stack2[] = {
	{ "/usr/bin/prog", "ab12cd", 0x1234, "alloc_site", "/src/prog.c", 40, 0 },
	{ "/usr/bin/prog", "ab12cd", 0x2400, "main", "/src/main.c", 12, 0 },
};
static const struct prof_frame stack3[] = {
	{ "/usr/lib/libfoo.so.1", "ef34", 0x600, "foo_alloc", "/src/foo.c", 3, 0 },
};

static const struct prof_frame *stacks[NSTACKS] = { stack0, stack1, stack2, stack3 };
static const int depths[NSTACKS] = { 3, 4, 2, 1 };
/* each stack as `go tool pprof -traces` prints it, leaf first, a frame per line */
static const char *traces[NSTACKS] = {
	"alloc_site|run (inline)|main",
	"ns::Cache::grow|[libfoo.so.1]|[anon]|[truncated]", /* -traces drops the parameters */
	"alloc_site|main",
	"foo_alloc",
};

struct written {
	int64_t total[PPROF_NVALUES];
	int samples;
};

static uint64_t rng = 88172645463325252ULL;

static int64_t next_value(int64_t max)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (int64_t)(rng % (uint64_t)max);
}

/* NSAMPLES samples over the stacks, values from a seeded generator; what was written. */
static int write_profile(const char *path, struct written *w)
{
	struct pprof_opts opts = { .period = 1, .time_nanos = 1700000000000000000LL,
				   .duration_nanos = 2500000000LL };
	struct pprof_writer *pw = pprof__begin(path, NULL, &opts);
	int i, j;

	memset(w, 0, sizeof(*w));
	if (!pw)
		return -errno;
	for (i = 0; i < NSAMPLES; i++) {
		int s = i % NSTACKS;
		int64_t objects = 1 + next_value(9), size = 8 + next_value(4096);
		int64_t live = next_value(objects + 1);
		int64_t v[PPROF_NVALUES] = { objects, objects * size, live, live * size };
		struct pprof_labels l = { .pid = 4000 + s, .tid = 4100 + i, .process = "prog",
					  .thread = i % 2 ? "worker" : NULL };

		if (pprof__add_sample(pw, stacks[s], depths[s], v, &l))
			return -ENOMEM;
		for (j = 0; j < PPROF_NVALUES; j++)
			w->total[j] += v[j];
		w->samples++;
	}
	return pprof__end(pw);
}

/* pprof's output for a profile, as a string. */
static char *pprof_output(const char *args, const char *path)
{
	char cmd[8192], *out = NULL;
	size_t len = 0, n;
	char buf[4096];
	FILE *p, *m = open_memstream(&out, &len);

	snprintf(cmd, sizeof(cmd), "HOME='%s' go tool pprof %s '%s' 2>&1", tmpdir, args, path);
	p = popen(cmd, "r");
	while (p && (n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, m);
	if (p)
		pclose(p);
	fclose(m);
	return out;
}

/* -raw: each sample line "V V V V: ids", summed per value. */
static void check_raw(const char *raw, const struct written *w)
{
	int64_t total[PPROF_NVALUES] = { 0 };
	int samples = 0, labelled = 0;
	const char *line;

	CHECK(strstr(raw, "alloc_objects/count alloc_space/bytes inuse_objects/count "
			  "inuse_space/bytes[dflt]") != NULL,
	      "pprof reads the four sample types, inuse_space the default");
	for (line = raw; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		long long v[PPROF_NVALUES];
		int used = 0, j;

		if (sscanf(line, " %lld %lld %lld %lld:%n", &v[0], &v[1], &v[2], &v[3], &used) == 4 &&
		    used) {
			for (j = 0; j < PPROF_NVALUES; j++)
				total[j] += v[j];
			samples++;
		}
		labelled += strncmp(line + strspn(line, " "), "pid:[", 5) == 0;
	}
	CHECK(samples == w->samples, "pprof reads %d samples (written %d)", samples, w->samples);
	CHECK(memcmp(total, w->total, sizeof(total)) == 0,
	      "totals as written: alloc %" PRId64 "/%" PRId64 " inuse %" PRId64 "/%" PRId64
	      " (pprof: %" PRId64 "/%" PRId64 " %" PRId64 "/%" PRId64 ")",
	      w->total[0], w->total[1], w->total[2], w->total[3], total[0], total[1], total[2],
	      total[3]);
	CHECK(labelled == w->samples && strstr(raw, "pid:[4001] tid:[4101]") &&
		      strstr(raw, "process:[prog] thread:[worker]"),
	      "every sample has its pid and tid labels, and the names given");
	CHECK(strstr(raw, "/usr/bin/prog ab12cd [FN][FL][LN][IN]") &&
		      strstr(raw, "/usr/lib/libfoo.so.1 ef34 [FN][FL][LN][IN]"),
	      "a mapping per file, with its build-id");
	CHECK(strstr(raw, " run /src/prog.c:55 s=0\n             main /src/main.c:9 s=0\n") != NULL,
	      "an inline chain is one location with two lines, innermost first");
	CHECK(strstr(raw, "M=1 ns::Cache::grow /src/c.cc:7 s=0(ns::Cache::grow(unsigned long))\n") != NULL,
	      "a C++ function's full name");
	CHECK(strstr(raw, "Period: 1\nTime: 2023-11-14 22:13:20 +0000 UTC\nDuration: 2.5s\n") != NULL,
	      "period, start time and duration");
}

/* -traces: each distinct stack's frames, leaf first, as written. */
static void check_traces(const char *out)
{
	int i;

	for (i = 0; i < NSTACKS; i++) {
		char want[1024], *at = want;
		const char *p;

		/* a trace is a value and the leaf on one line, then a frame per line */
		for (p = traces[i]; *p; p++) {
			if (*p == '|') {
				at += sprintf(at, "\n             ");
				continue;
			}
			*at++ = *p;
		}
		snprintf(at, sizeof(want) - (at - want), "\n-----------");
		CHECK(strstr(out, want) != NULL, "stack %d reads back leaf first: %s", i, traces[i]);
	}
}

int main(void)
{
	char path[4096], cmd[4200], *out;
	struct written w;
	int err;

	if (!mkdtemp(tmpdir) || system("command -v go >/dev/null")) {
		printf("not ok - no temporary directory, or no go (golang-go: make test-deps)\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/heap.pb.gz", tmpdir);
	err = write_profile(path, &w);
	CHECK(err == 0, "pprof__begin, pprof__add_sample, pprof__end (%d)", err);
	out = pprof_output("-raw", path);
	check_raw(out ? out : "", &w);
	free(out);
	out = pprof_output("-traces", path);
	check_traces(out ? out : "");
	free(out);

	snprintf(path, sizeof(path), "%s/empty.pb.gz", tmpdir);
	err = pprof__end(pprof__begin(path, NULL, NULL));
	out = pprof_output("-raw", path);
	CHECK(err == 0 && out && strstr(out, "Samples:") && !strstr(out, "failed"),
	      "a profile with no samples reads");
	free(out);

	snprintf(path, sizeof(path), "%s/missing/x.pb.gz", tmpdir);
	CHECK(pprof__begin(path, NULL, NULL) == NULL && errno == ENOENT,
	      "a directory that is not there: NULL, ENOENT, before any sample");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		return 1;
	return check_done();
}
