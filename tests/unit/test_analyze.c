// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_analyze.c: `tlsbpf analyze` on small CSV files: which columns it trusts, what it reports. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
/* analyze.c is not one of the core objects the unit tests link: take it whole. */
#include "../../user/analyze.c"

/* Files written before the args column: every reader test reads them as they are. */
#define H_V1_DETAIL                                                                          \
	"seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,"      \
	"origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail\n"
#define HDR H_V1_DETAIL

static char tmpdir[] = "/tmp/tlsbpf-test-analyze.XXXXXX";
static char path_buf[4096];

static const char *tmp_path(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", tmpdir, name);
	return path_buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
}

/* The whole file, NUL-terminated, in a static buffer. */
static const char *read_all(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Runs analyze on csv text; the text report lands in report.txt, the JSON in report.json. */
static int analyze_text(const char *csv, char **argv)
{
	struct env env = {};
	char text[4096], json[4096];

	write_file(tmp_path("in.csv"), csv);
	snprintf(argv[0], 4096, "%s", tmp_path("in.csv"));
	snprintf(text, sizeof(text), "%s", tmp_path("report.txt"));
	snprintf(json, sizeof(json), "%s", tmp_path("report.json"));
	env.analyze = true;
	env.argv = argv;
	env.argc = 1;
	env.summary_path = text;
	env.summary_json_path = json;
	return analyze__main(&env);
}

/*
 * glibc re-frees its thread cache at thread exit; the probes flag those frees
 * internal. Read back from a CSV they must stay internal, not turn into
 * double frees of the program's blocks.
 */
static void test_internal_kept(char **argv)
{
	static const char csv[] = HDR
		"1,1000,10,10,app,brk,135168,0x5000021000,0x5000000000,,heap,0x5000000000,,,,,,,,,,\n"
		"2,2000,10,10,app,malloc,24,0x50000002a0,,100,,,,,,,,,,,,\n"
		"3,3000,10,10,app,free,,0x50000002a0,,,,,,,,,,,,,,\n"
		"4,4000,10,10,app,free,,0x50000002a0,,,heap,0x5000000000,10,10,internal,,,,,,,\n"
		"5,5000,10,10,app,free,,0x5000009000,,,heap,0x5000000000,,,internal,,,,,,,\n";
	const char *out;
	int rc = analyze_text(csv, argv);

	CHECK(rc == 0, "analyze of a CSV with internal re-frees exits 0 (got %d)", rc);
	out = read_all(tmp_path("report.txt"));
	CHECK(strstr(out, "totals: 1 allocations, 1 frees,") != NULL,
	      "internal re-frees are not counted as the program's frees");
	CHECK(strstr(out, "frees: 0 cross-thread, 0 inherited, 0 double, 0 invalid,") != NULL,
	      "internal re-frees are neither double nor invalid frees");
	out = read_all(tmp_path("report.json"));
	CHECK(strstr(out, "\"frees\":1,") && strstr(out, "\"double_frees\":0,"),
	      "the JSON report agrees");
}

/* What the correlator wrote into a CSV is recomputed, never believed. */
static void test_correlation_recomputed(char **argv)
{
	static const char csv[] = HDR
		"1,1000,10,10,app,malloc,24,0x50000002a0,,100,,,,,,,,,,,,\n"
		"2,2000,10,10,app,free,,0x50000002a0,,,arena,0x7f0000000000,10,99,"
		"cross_thread|double_free|reused,,,,,,,\n"
		"3,3000,10,10,app,malloc,0,0x0,,100,,,,,failed,,,,,,,\n";
	const char *out;
	int rc = analyze_text(csv, argv);

	CHECK(rc == 0, "analyze of a CSV with stale flags exits 0 (got %d)", rc);
	out = read_all(tmp_path("report.txt"));
	CHECK(strstr(out, "frees: 0 cross-thread, 0 inherited, 0 double, 0 invalid,") != NULL,
	      "flags written by an earlier correlation are ignored");
	out = read_all(tmp_path("report.json"));
	CHECK(strstr(out, "\"failed\":1,") != NULL, "a failed allocation stays failed");
}

static void test_malformed(char **argv)
{
	static const char csv[] = HDR "1,1000,10,10,app,malloc,24,0xzz,,100,,,,,,,,,,,,\n";
	int rc = analyze_text(csv, argv);

	CHECK(rc == 1, "a malformed CSV: analyze returns 1 (got %d)", rc);
}

int main(void)
{
	char arg[4096], *argv[] = { arg, NULL };

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_internal_kept(argv);
	test_correlation_recomputed(argv);
	test_malformed(argv);
	unlink(tmp_path("in.csv"));
	unlink(tmp_path("report.txt"));
	unlink(tmp_path("report.json"));
	rmdir(tmpdir);
	printf("%d passed, %d failed\n", check_n - check_failed, check_failed);
	return check_done();
}
