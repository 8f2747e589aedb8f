// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_csv.c: the CSV writer and reader, and safe output files; --bench N measures speed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "csv.h"

enum { C_SEQ, C_TS, C_PID, C_TID, C_COMM, C_EVENT, C_SIZE, C_ADDR, C_OLD_ADDR, C_LATENCY,
       C_REGION, C_REGION_BASE, C_ORIGIN_PID, C_ORIGIN_TID, C_FLAGS, C_ALIGN, C_PROT,
       C_SYSFLAGS, C_FD, C_OLD_SIZE, C_ERR, C_DETAIL, C_ARGS, C_STACK_ID, C_N };

static char tmpdir[] = "/tmp/tlsbpf-test-csv.XXXXXX";
static char path_buf[4096];

static const char *tmp_path(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", tmpdir, name);
	return path_buf;
}

/* The whole file in a malloc'd NUL-terminated buffer (NUL bytes inside are kept). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	fwrite(data, 1, len, f);
	fclose(f);
}

static struct tb_event base_event(uint64_t seq, enum tb_event_type type)
{
	struct tb_event e;

	memset(&e, 0, sizeof(e));
	e.seq = seq;
	e.ts_ns = seq * 1000;
	e.pid = 10;
	e.tid = 11;
	e.fd = -1;
	e.type = type;
	strcpy(e.comm, "app");
	return e;
}

/* The row the writer makes for e, without the header. */
static char *row_of(const struct tb_event *e)
{
	const char *path = tmp_path("row.csv");
	struct csv_writer *w = csv_writer__open(path, NULL);
	char *all, *row;

	if (!w)
		return strdup("(open failed)");
	csv_writer__write(w, e);
	csv_writer__close(w);
	all = slurp(path, NULL);
	row = strdup(strchr(all, '\n') + 1);
	free(all);
	return row;
}

/* Builds the expected row from the non-empty columns, so each test names only what it expects. */
static char *expect(const char *const cols[C_N])
{
	static char buf[4096];
	size_t n = 0;

	for (int i = 0; i < C_N; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s", cols[i] ? cols[i] : "",
			      i == C_N - 1 ? "\n" : ",");
	return buf;
}

static void check_row(const struct tb_event *e, const char *const cols[C_N], const char *what)
{
	char *got = row_of(e), *want = expect(cols);
	int same = strcmp(got, want) == 0;

	got[strcspn(got, "\n")] = '\0';
	CHECK(same, "%s row: %s", what, got);
	if (!same)
		printf("# want: %s", want);
	free(got);
}

#define COMMON(seq) [C_SEQ] = #seq, [C_TS] = #seq "000", [C_PID] = "10", [C_TID] = "11", \
		    [C_COMM] = "app"

static void test_header(void)
{
	const char *path = tmp_path("empty.csv");
	struct csv_writer *w = csv_writer__open(path, NULL);
	char *all;

	CHECK(w != NULL, "writer opens %s", path);
	CHECK_EQ_U64(csv_writer__close(w), 0, "close of a header-only file");
	all = slurp(path, NULL);
	CHECK(all && strcmp(all, TB_CSV_HEADER "\n") == 0, "header line");
	free(all);
}

static void test_alloc_rows(void)
{
	struct tb_event e = base_event(1, TB_EV_MALLOC);

	e.size = 24;
	e.addr = 0x5581c3a2b2a0;
	e.latency_ns = 850;
	e.region = TB_REG_HEAP;
	e.region_base = 0x5581c3a00000;
	check_row(&e, (const char *[C_N]){ COMMON(1), [C_EVENT] = "malloc", [C_SIZE] = "24",
			[C_ADDR] = "0x5581c3a2b2a0", [C_LATENCY] = "850", [C_REGION] = "heap",
			[C_REGION_BASE] = "0x5581c3a00000" }, "malloc");

	e = base_event(2, TB_EV_FREE);
	e.addr = 0x5581c3a2b2a0;
	e.region = TB_REG_ARENA;
	e.region_base = 0x7f0000000000;
	e.origin_pid = 10;
	e.origin_tid = 12;
	e.flags = TB_F_CROSS_THREAD | TB_F_INHERITED;
	e.latency_ns = 99;	/* free has no latency column: must not show */
	check_row(&e, (const char *[C_N]){ COMMON(2), [C_EVENT] = "free",
			[C_ADDR] = "0x5581c3a2b2a0", [C_REGION] = "arena",
			[C_REGION_BASE] = "0x7f0000000000", [C_ORIGIN_PID] = "10",
			[C_ORIGIN_TID] = "12", [C_FLAGS] = "cross_thread|inherited" }, "free");

	/* freed by the thread that got it: the ids come from the row's own, copied */
	e.flags = 0;
	e.origin_pid = 10;
	e.origin_tid = 11;
	check_row(&e, (const char *[C_N]){ COMMON(2), [C_EVENT] = "free",
			[C_ADDR] = "0x5581c3a2b2a0", [C_REGION] = "arena",
			[C_REGION_BASE] = "0x7f0000000000", [C_ORIGIN_PID] = "10",
			[C_ORIGIN_TID] = "11" }, "free by the allocating thread");
	e.origin_tid = 1;
	check_row(&e, (const char *[C_N]){ COMMON(2), [C_EVENT] = "free",
			[C_ADDR] = "0x5581c3a2b2a0", [C_REGION] = "arena",
			[C_REGION_BASE] = "0x7f0000000000", [C_ORIGIN_PID] = "10",
			[C_ORIGIN_TID] = "1" }, "free by another thread of the process");

	e = base_event(3, TB_EV_REALLOC);
	e.size = 100;
	e.latency_ns = 1200;
	check_row(&e, (const char *[C_N]){ COMMON(3), [C_EVENT] = "realloc", [C_SIZE] = "100",
			[C_ADDR] = "0x0", [C_OLD_ADDR] = "0x0", [C_LATENCY] = "1200" },
		  "realloc(NULL) that failed");

	e = base_event(4, TB_EV_POSIX_MEMALIGN);
	e.size = 4096;
	e.align = 64;
	e.err = -12;
	e.flags = TB_F_FAILED;
	e.latency_ns = 0;
	check_row(&e, (const char *[C_N]){ COMMON(4), [C_EVENT] = "posix_memalign",
			[C_SIZE] = "4096", [C_ADDR] = "0x0", [C_LATENCY] = "0",
			[C_FLAGS] = "failed",
			[C_ALIGN] = "64", [C_ERR] = "-12" }, "failed posix_memalign");
}

/* Alignments the CSV once cut to their low 32 bits, and the request of an overflowing calloc. */
static void test_request_rows(void)
{
	static const struct { uint64_t align; const char *text; } aligns[] = {
		{ 0, "0" }, { 1ULL << 31, "2147483648" }, { 1ULL << 32, "4294967296" },
		{ 1ULL << 40, "1099511627776" }, { 1ULL << 63, "9223372036854775808" },
	};
	struct tb_event e;

	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		e = base_event(7, TB_EV_MEMALIGN);
		e.align = aligns[i].align;
		e.flags = TB_F_FAILED;
		check_row(&e, (const char *[C_N]){ COMMON(7), [C_EVENT] = "memalign",
				[C_SIZE] = "0", [C_ADDR] = "0x0", [C_LATENCY] = "0",
				[C_FLAGS] = "failed", [C_ALIGN] = aligns[i].text },
			  "memalign's alignment");
	}
	e = base_event(8, TB_EV_CALLOC);
	e.size = 16;
	e.old_size = UINT64_MAX / 4;
	e.flags = TB_F_FAILED | TB_F_OVERFLOW;
	check_row(&e, (const char *[C_N]){ COMMON(8), [C_EVENT] = "calloc", [C_SIZE] = "16",
			[C_ADDR] = "0x0", [C_LATENCY] = "0", [C_FLAGS] = "failed|overflow",
			[C_OLD_SIZE] = "4611686018427387903" }, "calloc whose nmemb * size overflows");
	e = base_event(9, TB_EV_EXEC);
	snprintf(e.detail, sizeof(e.detail), "/usr/bin/git");
	e.args = "git gc --prune=\"now\"";
	check_row(&e, (const char *[C_N]){ COMMON(9), [C_EVENT] = "exec",
			[C_DETAIL] = "/usr/bin/git", [C_ARGS] = "\"git gc --prune=\"\"now\"\"\"" },
		  "exec with its arguments");
}

static void test_mmap_rows(void)
{
	struct tb_event e = base_event(5, TB_EV_MMAP);

	e.size = 8192;
	e.addr = 0x7f0000001000;
	e.prot = 3;
	e.sysflags = 0x22;
	e.old_size = 77;	/* no file: the offset column stays empty */
	check_row(&e, (const char *[C_N]){ COMMON(5), [C_EVENT] = "mmap", [C_SIZE] = "8192",
			[C_ADDR] = "0x7f0000001000", [C_PROT] = "3", [C_SYSFLAGS] = "0x22",
			[C_FD] = "-1" }, "anonymous mmap");

	e.fd = 3;
	e.old_size = 4096;
	e.sysflags = 0x2;
	e.prot = 1;
	strcpy(e.detail, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	check_row(&e, (const char *[C_N]){ COMMON(5), [C_EVENT] = "mmap", [C_SIZE] = "8192",
			[C_ADDR] = "0x7f0000001000", [C_PROT] = "1", [C_SYSFLAGS] = "0x2",
			[C_FD] = "3", [C_OLD_SIZE] = "4096",
			[C_DETAIL] = "/usr/lib/x86_64-linux-gnu/libc.so.6" }, "file mmap");
}

static void test_vm_rows(void)
{
	struct tb_event e = base_event(6, TB_EV_MREMAP);

	e.size = 16384;
	e.addr = 0x7f0000100000;
	e.old_addr = 0x7f0000001000;
	e.old_size = 8192;
	e.sysflags = 1;
	check_row(&e, (const char *[C_N]){ COMMON(6), [C_EVENT] = "mremap", [C_SIZE] = "16384",
			[C_ADDR] = "0x7f0000100000", [C_OLD_ADDR] = "0x7f0000001000",
			[C_SYSFLAGS] = "0x1", [C_OLD_SIZE] = "8192" }, "mremap");

	e = base_event(7, TB_EV_MPROTECT);
	e.size = 4096;
	e.addr = 0x7f0000100000;
	e.prot = 0;
	e.err = -22;
	check_row(&e, (const char *[C_N]){ COMMON(7), [C_EVENT] = "mprotect", [C_SIZE] = "4096",
			[C_ADDR] = "0x7f0000100000", [C_PROT] = "0", [C_ERR] = "-22" },
		  "failed mprotect");
	e.err = 0;
	e.region = TB_REG_UNKNOWN;	/* in no mapping the model knows: no base to give */
	check_row(&e, (const char *[C_N]){ COMMON(7), [C_EVENT] = "mprotect", [C_SIZE] = "4096",
			[C_ADDR] = "0x7f0000100000", [C_REGION] = "unknown", [C_PROT] = "0" },
		  "mprotect of an unknown range");

	e = base_event(8, TB_EV_MADVISE);
	e.size = 4096;
	e.addr = 0x7f0000100000;
	e.sysflags = 4;
	e.prot = 7;	/* not a madvise column */
	check_row(&e, (const char *[C_N]){ COMMON(8), [C_EVENT] = "madvise", [C_SIZE] = "4096",
			[C_ADDR] = "0x7f0000100000", [C_SYSFLAGS] = "0x4" }, "madvise");

	e = base_event(9, TB_EV_MUNMAP);
	e.size = 4096;
	e.addr = 0x7f0000100000;
	check_row(&e, (const char *[C_N]){ COMMON(9), [C_EVENT] = "munmap", [C_SIZE] = "4096",
			[C_ADDR] = "0x7f0000100000" }, "munmap");

	e = base_event(10, TB_EV_BRK);
	e.size = 135168;
	e.addr = 0x555555579000;
	e.old_addr = 0x555555558000;
	check_row(&e, (const char *[C_N]){ COMMON(10), [C_EVENT] = "brk", [C_SIZE] = "135168",
			[C_ADDR] = "0x555555579000", [C_OLD_ADDR] = "0x555555558000" }, "brk");
}

static void test_task_rows(void)
{
	struct tb_event e = base_event(11, TB_EV_FORK);

	e.origin_pid = 9;
	e.origin_tid = 9;
	e.sysflags = 0x1200011;
	check_row(&e, (const char *[C_N]){ COMMON(11), [C_EVENT] = "fork", [C_ORIGIN_PID] = "9",
			[C_ORIGIN_TID] = "9", [C_SYSFLAGS] = "0x1200011" }, "fork");

	e = base_event(12, TB_EV_THREAD);
	e.addr = 0x7f5ec2dfe910;
	e.origin_pid = 10;
	e.origin_tid = 11;
	e.sysflags = 0x3d0f00;
	check_row(&e, (const char *[C_N]){ COMMON(12), [C_EVENT] = "thread",
			[C_ADDR] = "0x7f5ec2dfe910", [C_ORIGIN_PID] = "10", [C_ORIGIN_TID] = "11",
			[C_SYSFLAGS] = "0x3d0f00" }, "thread");

	e = base_event(13, TB_EV_EXEC);
	strcpy(e.detail, "/opt/my,app \"v2\"");
	check_row(&e, (const char *[C_N]){ COMMON(13), [C_EVENT] = "exec",
			[C_DETAIL] = "\"/opt/my,app \"\"v2\"\"\"" }, "exec with comma and quotes");

	e = base_event(14, TB_EV_EXIT);
	e.size = 139;
	strcpy(e.detail, "killed by SIGSEGV");
	check_row(&e, (const char *[C_N]){ COMMON(14), [C_EVENT] = "exit", [C_SIZE] = "139",
			[C_DETAIL] = "killed by SIGSEGV" }, "exit");

	e = base_event(15, TB_EV_EXIT_THREAD);
	e.size = 5;
	check_row(&e, (const char *[C_N]){ COMMON(15), [C_EVENT] = "exit_thread" }, "exit_thread");

	e = base_event(16, TB_EV_LOST);
	e.pid = e.tid = 0;
	e.comm[0] = '\0';
	e.size = 1234;
	check_row(&e, (const char *[C_N]){ [C_SEQ] = "16", [C_TS] = "16000", [C_PID] = "0",
			[C_TID] = "0", [C_EVENT] = "lost", [C_SIZE] = "1234" }, "lost");
}

static void test_numbers(void)
{
	static const char want[] = "18446744073709551615,10000000000000000000,4294967295,11,app,"
				   "malloc,9999999999999999999,0xffffffffffffffff,,10,";
	struct tb_event e = base_event(UINT64_MAX, TB_EV_MALLOC);
	char *row;

	e.ts_ns = 10000000000000000000ULL;
	e.pid = UINT32_MAX;
	e.size = 9999999999999999999ULL;
	e.addr = UINT64_MAX;
	e.latency_ns = 10;
	row = row_of(&e);
	CHECK(strncmp(row, want, strlen(want)) == 0, "extreme numbers: %.*s", 110, row);
	free(row);
	for (uint64_t v = 1, i = 0; i < 40; i++, v *= i % 2 ? 1 : 10) {
		char want[32];

		e.size = i % 2 ? v : v - 1;
		row = row_of(&e);
		snprintf(want, sizeof(want), ",malloc,%llu,", (unsigned long long)e.size);
		CHECK(strstr(row, want) != NULL, "decimal %s", want);
		free(row);
	}
	/* every digit count, and each hex digit in the top place: the writer builds digits in registers */
	for (unsigned bits = 0; bits <= 64; bits++) {
		for (uint64_t top = 1; top < 16; top += 7) {
			char want[48];

			e.addr = bits ? (top << (bits - 1) / 4 * 4) | 0x0123456789abcdefULL >> (64 - bits) : 0;
			row = row_of(&e);
			snprintf(want, sizeof(want), ",0x%llx,,10,", (unsigned long long)e.addr);
			CHECK(strstr(row, want) != NULL, "hex %s", want);
			free(row);
		}
	}
}

/* Row i of a run with odometer carries, jumps in seq, the time crossing 10^8 ns steps,
 * tids that share a cache slot, a pid change and thread renames. */
static struct tb_event cache_event(int i, uint64_t *seq, uint64_t *ts)
{
	static const char *const comms[] = { "app", "a,b", "renamed", "fifteen-bytes-x" };
	struct tb_event e;

	*seq = i % 500 == 499 ? *seq + 7919 : i == 1500 ? 999 : *seq + 1;
	*ts += i % 3 == 0 ? 33333333 : 1;
	e = base_event(*seq, i % 2 ? TB_EV_FREE : TB_EV_MALLOC);
	e.ts_ns = *ts;
	/* two threads take turns, as in a busy run; now and then a tid of the same cache slot */
	e.tid = i % 10 == 9 ? 9 + (i % 3) * 8 : 1 + i % 2;
	e.pid = i % 11 == 0 ? 77 : 10;
	strcpy(e.comm, comms[(i / 5) % 4]);
	e.addr = 0x7f0000000000ULL + i * 48;
	return e;
}

/*
 * One writer keeps what consecutive rows share (the row number's digits, the
 * time's upper digits, a thread's "pid,tid,comm,"): a long run of rows must
 * read exactly as each row written alone.
 */
static void test_row_caches(void)
{
	const char *path = tmp_path("caches.csv");
	struct csv_writer *w = csv_writer__open(path, NULL);
	struct stat st;
	uint64_t seq = 0, ts = 99999990;
	size_t len, off, bad = 0;
	char *all, *row;
	int i;

	for (i = 0; i < 3000; i++) {
		struct tb_event e = cache_event(i, &seq, &ts);

		csv_writer__write(w, &e);
	}
	csv_writer__close(w);
	all = slurp(path, &len);
	seq = 0, ts = 99999990, off = strchr(all, '\n') + 1 - all;
	for (i = 0; i < 3000 && off < len; i++) {
		struct tb_event e = cache_event(i, &seq, &ts);
		size_t rl;

		row = row_of(&e);
		rl = strlen(row);
		if ((off + rl > len || memcmp(all + off, row, rl)) && !bad++)
			printf("# row %d: '%.*s' alone: '%s'\n", i, (int)rl, all + off, row);
		off += rl;
		free(row);
	}
	CHECK(bad == 0 && off == len && i == 3000,
	      "3000 rows from one writer read as each written alone (%zu differ)", bad);
	free(all);
	/* the writer reserves blocks 16 MiB ahead: none may be left past the last row */
	CHECK(stat(tmp_path("caches.csv"), &st) == 0 && (uint64_t)st.st_blocks * 512 <= ((uint64_t)len + 4095) / 4096 * 4096 + 65536,
	      "no reserved blocks left past the end: %llu bytes in %llu blocks of 512",
	      (unsigned long long)len, (unsigned long long)st.st_blocks);
}

/*
 * Row numbers are built by adding one to the previous row's digits: runs that
 * cross every carry (9 to 10 ... 10^19), the low eight digits rolling over under
 * higher ones, and jumps must read back as written.
 */
static uint64_t seq_at(int run, int k)
{
	uint64_t p = 1;

	for (int i = 0; i < run % 20; i++)
		p *= 10;
	if (run >= 40)
		return UINT64_MAX - 30 + k;
	if (run >= 20)	/* the low eight digits all nines under some upper digits */
		p = (uint64_t)(run - 19) * 300000007ULL * (run % 3 ? 100000000 : 1) / 100000000 * 100000000;
	return p - 5 + k;
}

static void test_row_numbers(void)
{
	const char *path = tmp_path("seq.csv");
	struct csv_writer *w = csv_writer__open(path, NULL);
	struct tb_event e = base_event(0, TB_EV_FREE);
	size_t len, bad = 0, rows = 0;
	char *all, *line;

	for (int run = 1; run <= 40; run++)
		for (int k = 0; k < 30; k++) {
			e.seq = seq_at(run, k);
			csv_writer__write(w, &e);
		}
	csv_writer__close(w);
	all = slurp(path, &len);
	line = all ? strchr(all, '\n') : NULL;
	for (int run = 1; line && run <= 40; run++)
		for (int k = 0; line && k < 30; k++) {
			uint64_t want = seq_at(run, k);

			line++;
			if (strtoull(line, NULL, 10) != want && !bad++)
				printf("# row number %llu written as '%.24s'\n", (unsigned long long)want, line);
			rows++;
			line = strchr(line, '\n');
		}
	CHECK(all && rows == 1200 && bad == 0, "1200 row numbers across every carry read back as written (%zu differ)", bad);
	free(all);
}

static void test_ignored_types(void)
{
	const char *path = tmp_path("types.csv");
	struct csv_writer *w = csv_writer__open(path, NULL);
	struct tb_event e = base_event(1, TB_EV_COMM);
	char *all;

	CHECK_EQ_U64(csv_writer__write(w, &e), 0, "comm event accepted");
	e.type = TB_EV_NONE;
	CHECK(csv_writer__write(w, &e) == -EINVAL, "type none refused");
	e.type = TB_EV_MAX + 3;
	CHECK(csv_writer__write(w, &e) == -EINVAL, "type out of range refused");
	csv_writer__close(w);
	all = slurp(path, NULL);
	CHECK(all && strcmp(all, TB_CSV_HEADER "\n") == 0, "comm and bad types make no row");
	free(all);
}

/* Reads the one data row of a file, or fails the check. */
static int read_one(const char *path, struct tb_event *e)
{
	struct csv_reader *r = csv_reader__open(path);
	int ret;

	if (!r)
		return -1;
	ret = csv_reader__next(r, e);
	if (ret != 1)
		printf("# %s\n", csv_reader__error(r));
	if (ret == 1 && csv_reader__next(r, &(struct tb_event){ 0 }) != 0)
		ret = -2;
	csv_reader__close(r);
	return ret;
}

static void test_hostile_comm(void)
{
	static const char *const comms[] = {
		"a,b", "say \"hi\"", "two\nlines", "cr\rhere", "\xff\xfe\x80junk", "\"", ",",
		"\x1b[2J", "fifteen-bytes-x", "", "eight-by,after", "fourteen-bytes\"",
		"seven-b\n",
	};
	const char *path = tmp_path("comm.csv");

	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		struct tb_event e = base_event(i + 1, TB_EV_EXEC), got;
		struct csv_writer *w = csv_writer__open(path, NULL);

		strcpy(e.comm, comms[i]);
		snprintf(e.detail, sizeof(e.detail), "/bin/%s\r\n\"x\"", comms[i]);
		csv_writer__write(w, &e);
		csv_writer__close(w);
		CHECK(read_one(path, &got) == 1 && strcmp(got.comm, e.comm) == 0 &&
			      strcmp(got.detail, e.detail) == 0,
		      "comm #%zu round-trips", i);
	}
}

static void test_unterminated_comm(void)
{
	struct tb_event e = base_event(1, TB_EV_MALLOC), got;
	const char *path = tmp_path("unterminated.csv");
	struct csv_writer *w = csv_writer__open(path, NULL);

	memset(e.comm, 'x', sizeof(e.comm));	/* a decoder bug must not make an unreadable file */
	memset(e.detail, 'y', sizeof(e.detail));
	csv_writer__write(w, &e);
	csv_writer__close(w);
	CHECK(read_one(path, &got) == 1 && strlen(got.comm) == TB_COMM_LEN - 1 &&
		      strlen(got.detail) == TB_PATH_LEN - 1,
	      "names without NUL are cut to what the reader takes");
}

static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Values that stress formatting: zero, small, and full width. */
static uint64_t rnd_value(void)
{
	switch (rnd() % 4) {
	case 0:
		return 0;
	case 1:
		return rnd() % 1000;
	case 2:
		return rnd() >> (rnd() % 64);
	default:
		return rnd();
	}
}

static void rnd_bytes(char *dst, size_t max)
{
	static const char pool[] = ",\"\r\n\\ \x1b\x7f\x80\xff" "abcxyz019";
	size_t n = rnd() % max;

	for (size_t i = 0; i < n; i++)
		dst[i] = rnd() % 3 ? pool[rnd() % (sizeof(pool) - 1)] : (char)(1 + rnd() % 255);
	dst[n] = '\0';
}

static struct tb_event rnd_event(uint64_t seq)
{
	struct tb_event e;

	memset(&e, 0, sizeof(e));
	e.seq = seq;
	e.ts_ns = rnd_value();
	e.type = TB_EV_MALLOC + rnd() % (TB_EV_LOST - TB_EV_MALLOC + 1);
	e.pid = rnd();
	e.tid = rnd();
	e.size = rnd_value();
	e.addr = rnd_value();
	e.old_addr = rnd_value();
	e.latency_ns = rnd_value();
	e.align = rnd_value();
	e.sysflags = rnd_value();
	e.old_size = rnd_value();
	e.region = rnd() % TB_REG_MAX;
	/* places that repeat, in the same region or another, as the writer's memory of them sees */
	e.region_base = rnd() % 4 ? 0x7f0000000000ULL + (rnd() % 3) * 0x4000000 : rnd_value();
	e.origin_pid = rnd() % 3 ? 0 : rnd();
	e.origin_tid = rnd();
	/* the writer copies ids it has just written when a row's origin is its own thread */
	if (rnd() % 4 == 0) {
		e.origin_pid = e.pid;
		e.origin_tid = rnd() % 2 ? e.tid : rnd();
	}
	e.prot = rnd();
	e.fd = rnd() % 2 ? -1 : (int32_t)rnd();
	e.err = rnd() % 2 ? 0 : (int32_t)rnd();
	e.flags = rnd() & ((1u << TB_F_NBITS) - 1);
	e.stack_id = rnd() % 3 ? (uint32_t)rnd() : 0;
	rnd_bytes(e.comm, TB_COMM_LEN);
	rnd_bytes(e.detail, rnd() % 8 ? 16 : TB_PATH_LEN);
	return e;
}

/* What reading back a written event must give: the columns the type carries, zero elsewhere. */
static struct tb_event as_written(const struct tb_event *in)
{
	struct tb_event e = *in;
	int alloc = tb_ev_allocates(e.type), vm = tb_ev_is_vm(e.type);
	int t = e.type;

	if (!(alloc || vm || t == TB_EV_EXIT || t == TB_EV_LOST))
		e.size = 0;
	if (!(alloc || vm || t == TB_EV_FREE || t == TB_EV_THREAD))
		e.addr = 0;
	if (!(t == TB_EV_REALLOC || t == TB_EV_REALLOCARRAY || t == TB_EV_MREMAP || t == TB_EV_BRK))
		e.old_addr = 0;
	if (!alloc)
		e.latency_ns = 0;
	if (t != TB_EV_MMAP && t != TB_EV_MPROTECT)
		e.prot = 0;
	if (!(t == TB_EV_MMAP || t == TB_EV_MREMAP || t == TB_EV_MADVISE || t == TB_EV_FORK ||
	      t == TB_EV_THREAD))
		e.sysflags = 0;
	if (t != TB_EV_MMAP)
		e.fd = -1;
	if (!(t == TB_EV_MREMAP || (t == TB_EV_MMAP && e.fd >= 0) || t == TB_EV_CALLOC ||
	      t == TB_EV_REALLOCARRAY))
		e.old_size = 0;
	if (!(t == TB_EV_POSIX_MEMALIGN || t == TB_EV_ALIGNED_ALLOC || t == TB_EV_MEMALIGN))
		e.align = 0;
	if (e.region == TB_REG_NONE)
		e.region_base = 0;
	return e;
}

static int same_event(const struct tb_event *a, const struct tb_event *b)
{
	return a->seq == b->seq && a->ts_ns == b->ts_ns && a->size == b->size &&
	       a->addr == b->addr && a->old_addr == b->old_addr && a->latency_ns == b->latency_ns &&
	       a->align == b->align && a->sysflags == b->sysflags && a->old_size == b->old_size &&
	       a->region_base == b->region_base && a->pid == b->pid && a->tid == b->tid &&
	       a->origin_pid == b->origin_pid && a->origin_tid == b->origin_tid &&
	       a->prot == b->prot && a->fd == b->fd && a->err == b->err && a->flags == b->flags &&
	       a->type == b->type && a->region == b->region && a->stack_id == b->stack_id &&
	       strcmp(a->comm, b->comm) == 0 &&
	       strcmp(a->detail, b->detail) == 0 &&
	       (a->args && b->args ? strcmp(a->args, b->args) == 0 : a->args == b->args);
}

/* Enough rows to cross the writer's and the reader's buffers several times. */
static void test_round_trip(void)
{
	enum { N = 30000 };
	const char *path = tmp_path("random.csv");
	struct csv_writer *w = csv_writer__open(path, NULL);
	struct csv_reader *r;
	struct tb_event e, got;
	uint64_t saved = rnd_state, n = 0, bad = 0;
	int ret;

	for (uint64_t i = 1; i <= N; i++) {
		e = rnd_event(i);
		csv_writer__write(w, &e);
	}
	CHECK_EQ_U64(csv_writer__close(w), 0, "random rows written");
	rnd_state = saved;
	r = csv_reader__open(path);
	while ((ret = csv_reader__next(r, &got)) == 1) {
		struct tb_event want;

		e = rnd_event(++n);
		want = as_written(&e);
		if (!same_event(&want, &got) && bad++ < 3)
			printf("# row %llu differs\n", (unsigned long long)n);
	}
	CHECK(ret == 0, "random rows read to the end (%s)", ret ? csv_reader__error(r) : "ok");
	CHECK_EQ_U64(n, N, "random rows read");
	CHECK_EQ_U64(bad, 0, "random rows that differ");
	csv_reader__close(r);
}

/* The reader on a pipe that delivers a few bytes at a time: every record crosses a refill. */
static void test_trickle(void)
{
	const char *path = tmp_path("random.csv");
	size_t len, off = 0;
	char *data = slurp(path, &len);
	struct csv_reader *r;
	struct tb_event e;
	int fds[2], saved_stdin, ret;
	uint64_t n = 0;
	pid_t child;

	if (pipe(fds) < 0)
		return;
	child = fork();
	if (child == 0) {
		close(fds[0]);
		for (size_t chunk = 1; off < len; off += chunk, chunk = chunk % 4093 + 7) {
			if (chunk > len - off)
				chunk = len - off;
			if (write(fds[1], data + off, chunk) < 0)
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	saved_stdin = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	r = csv_reader__open("-");
	while ((ret = csv_reader__next(r, &e)) == 1)
		n++;
	CHECK(ret == 0 && n == 30000, "trickled stdin: %llu rows (%s)", (unsigned long long)n,
	      ret ? csv_reader__error(r) : "ok");
	csv_reader__close(r);
	dup2(saved_stdin, 0);
	close(saved_stdin);
	waitpid(child, NULL, 0);
	free(data);
}

/* Runs the reader over text; returns the rows read, or -1 with the error in err. */
static int read_text(const char *text, size_t len, char *err, size_t errlen,
		     struct tb_event *last)
{
	struct csv_reader *r = csv_reader__open_mem(text, len);
	struct tb_event e;
	int n = 0, ret;

	while ((ret = csv_reader__next(r, &e)) == 1) {
		n++;
		if (last)
			*last = e;
	}
	snprintf(err, errlen, "%s", ret < 0 ? csv_reader__error(r) : "");
	if (ret < 0 && csv_reader__next(r, &e) != -1)
		n = -100;	/* errors must be sticky */
	csv_reader__close(r);
	return ret < 0 ? -1 : n;
}

/* Files written before the args column: every reader test reads them as they are. */
#define H_V1_DETAIL                                                                          \
	"seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,"      \
	"origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail\n"
#define H H_V1_DETAIL
#define ROW_MALLOC "1,1000,10,11,app,malloc,24,0x10,,850,heap,0x0,,,,,,,,,,"

static void reads_as(const char *text, int rows, const char *error, const char *what)
{
	char err[512];
	int n = read_text(text, strlen(text), err, sizeof(err), NULL);

	if (error)
		CHECK(n == -1 && strcmp(err, error) == 0, "%s: '%s'", what, err);
	else
		CHECK(n == rows, "%s: %d rows %s", what, n, err);
}

static void test_reader_headers(void)
{
	const char *v1 = "seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,"
			 "region_base,origin_pid,origin_tid,flags";
	char text[1024], err[256];
	struct tb_event e;

	reads_as(H ROW_MALLOC "\n", 1, NULL, "the writer's header");
	reads_as("", 0, "line 1: not a tlsbpf CSV header", "empty input");
	reads_as("seq,ts_ns,pid\n1,2,3\n", 0, "line 1: not a tlsbpf CSV header", "short header");
	reads_as("\xef\xbb\xbf" H, 0, "line 1: not a tlsbpf CSV header", "header with a BOM");
	reads_as("seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,"
		 "origin_pid,origin_tid\n", 0, "line 1: not a tlsbpf CSV header",
		 "14 columns are too few");
	reads_as("seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,"
		 "origin_pid,origin_tid,flags,aligned\n", 0, "line 1: not a tlsbpf CSV header",
		 "a misnamed 16th column");
	reads_as("x" H, 0, "line 1: not a tlsbpf CSV header", "garbage header");
	reads_as(H, 0, NULL, "header only");
	reads_as(TB_CSV_HEADER, 0, NULL, "header without a newline");

	snprintf(text, sizeof(text), "%s\n1,5,10,11,app,mmap,4096,0x7f00,,,anon,0x7f00,,,\n", v1);
	CHECK(read_text(text, strlen(text), err, sizeof(err), &e) == 1 && e.fd == -1 &&
		      e.type == TB_EV_MMAP && e.region == TB_REG_ANON && e.size == 4096,
	      "schema v1 (15 columns): %s", err);
	snprintf(text, sizeof(text), "%s\n1,5,10,11,app,mmap,4096\n", v1);
	CHECK(read_text(text, strlen(text), err, sizeof(err), NULL) == -1 &&
		      strcmp(err, "line 2: expected 15 fields, found 7") == 0,
	      "schema v1, short row: %s", err);
	snprintf(text, sizeof(text), "%s,cpu,weight\n%s,,5,77,\"3,4\"\n", TB_CSV_HEADER,
		 ROW_MALLOC);
	CHECK(read_text(text, strlen(text), err, sizeof(err), &e) == 1 && e.size == 24 &&
		      e.stack_id == 5,
	      "extra columns of a later version are ignored: %s", err);
	snprintf(text, sizeof(text), "%s,cpu\n%s,,\n", TB_CSV_HEADER, ROW_MALLOC);
	CHECK(read_text(text, strlen(text), err, sizeof(err), NULL) == -1 &&
		      strcmp(err, "line 2: expected 25 fields, found 24") == 0,
	      "a row without the extra column: %s", err);
}

static void test_reader_fields(void)
{
	reads_as(H ROW_MALLOC "\n" ROW_MALLOC, 2, NULL, "last row without a newline");
	reads_as(H ROW_MALLOC "\r\n" ROW_MALLOC "\r\n", 2, NULL, "CRLF line ends");
	reads_as(H ROW_MALLOC ",\n", 0, "line 2: expected 22 fields, found 23", "extra field");
	reads_as(H "1,2,3\n", 0, "line 2: expected 22 fields, found 3", "too few fields");
	reads_as(H ROW_MALLOC "\n1,2,3", 0, "line 3: expected 22 fields, found 3",
		 "truncated last row");
	reads_as(H "\n", 0, "line 2: expected 22 fields, found 1", "empty line");
	reads_as(H "1,1000,10,11,\"unterminated,malloc", 0,
		 "line 2: unterminated quoted field at end of file", "unterminated quote");
	reads_as(H "1,1000,10,11,ab\"c,malloc,,,,,,,,,,,,,,,,\n", 0,
		 "line 2: quote inside an unquoted field", "stray quote");
	reads_as(H "1,1000,10,11,\"ab\"c,malloc,,,,,,,,,,,,,,,,\n", 0,
		 "line 2: text after a closing quote", "text after a quote");
	reads_as(H "1,1000,10,11,app,malloc,2x4,,,,,,,,,,,,,,,\n", 0,
		 "line 2: bad number in size: '2x4'", "bad number");
	reads_as(H "1,1000,10,11,app,malloc,-4,,,,,,,,,,,,,,,\n", 0,
		 "line 2: bad number in size: '-4'", "negative size");
	reads_as(H "18446744073709551616,1000,10,11,app,malloc,,,,,,,,,,,,,,,,\n", 0,
		 "line 2: bad number in seq: '18446744073709551616'", "seq overflow");
	reads_as(H "1,1000,4294967296,11,app,malloc,,,,,,,,,,,,,,,,\n", 0,
		 "line 2: bad number in pid: '4294967296'", "pid overflow");
	reads_as(H "1,1000,10,11,app,malloc,,0xzz,,,,,,,,,,,,,,\n", 0,
		 "line 2: bad hex in addr: '0xzz'", "bad hex");
	reads_as(H "1,1000,10,11,app,malloc,,123,,,,,,,,,,,,,,\n", 0,
		 "line 2: bad hex in addr: '123'", "hex without 0x");
	reads_as(H "1,1000,10,11,app,malloc,,0x10000000000000000,,,,,,,,,,,,,,\n", 0,
		 "line 2: bad hex in addr: '0x10000000000000000'", "hex overflow");
	reads_as(H "1,1000,10,11,app,mallocx,,,,,,,,,,,,,,,,\n", 0,
		 "line 2: unknown event 'mallocx'", "unknown event");
	reads_as(H "1,1000,10,11,app,comm,,,,,,,,,,,,,,,,\n", 0, "line 2: unknown event 'comm'",
		 "comm is no CSV event");
	reads_as(H "1,1000,10,11,app,,,,,,,,,,,,,,,,,\n", 0, "line 2: empty event", "empty event");
	reads_as(H ",1000,10,11,app,malloc,,,,,,,,,,,,,,,,\n", 0, "line 2: empty seq", "empty seq");
	reads_as(H "1,1000,10,11,app,malloc,,,,,moon,,,,,,,,,,,\n", 0,
		 "line 2: unknown region 'moon'", "unknown region");
	reads_as(H "1,1000,10,11,app,malloc,,,,,,,,,reused|bogus,,,,,,,\n", 0,
		 "line 2: unknown flags 'reused|bogus'", "unknown flag");
	reads_as(H "1,1000,10,11,app,malloc,,,,,,,,,reused|,,,,,,,\n", 0,
		 "line 2: unknown flags 'reused|'", "empty flag name");
	reads_as(H "1,1000,10,11,sixteen-bytes-xx,malloc,,,,,,,,,,,,,,,,\n", 0,
		 "line 2: comm longer than 15 bytes", "comm too long");
	reads_as(H "1,1000,10,11,app,free,,,,,,,,,,,,,-2147483649,,,\n", 0,
		 "line 2: bad number in fd: '-2147483649'", "fd below int32");
	reads_as(H "1,1000,10,11,app,free,,,,,,,,,,,,,-,,,\n", 0, "line 2: bad number in fd: '-'",
		 "a lone minus");
	reads_as(H "1,1000,10,11,app,mmap,,,,,,,,,,,,,-2147483648,,-2147483648,\n", 1, NULL,
		 "int32 minimum");
}

static void test_reader_quotes(void)
{
	static const char text[] = H "1,1000,10,11,\"a\nb\",exec,,,,,,,,,,,,,,,,\"x\"\"y\"\"\"\n"
				     "2,1000,10,11,\"\r\n\",exec,,,,,,,,,,,,,,,,\"\"\n"
				     "3,1000,10,11,app,bogus,,,,,,,,,,,,,,,,\n";
	static const char nul[] = H "1,1000,10,11,a\0b,malloc,,,,,,,,,,,,,,,,\n";
	static const char nul_num[] = H "1,1000,10,11,ab,malloc,2\0,,,,,,,,,,,,,,,\n";
	struct csv_reader *r = csv_reader__open_mem(text, sizeof(text) - 1);
	struct tb_event e;
	char err[256];

	CHECK(csv_reader__next(r, &e) == 1 && strcmp(e.comm, "a\nb") == 0 &&
		      strcmp(e.detail, "x\"y\"") == 0,
	      "quoted newline and doubled quotes");
	CHECK(csv_reader__next(r, &e) == 1 && strcmp(e.comm, "\r\n") == 0 && e.detail[0] == 0,
	      "quoted CRLF, empty quoted field");
	CHECK(csv_reader__next(r, &e) == -1, "bad row after quoted newlines");
	CHECK_STR(csv_reader__error(r), "line 6: unknown event 'bogus'",
		  "line numbers count newlines inside quotes");
	csv_reader__close(r);
	CHECK(read_text(nul, sizeof(nul) - 1, err, sizeof(err), NULL) == -1 &&
		      strcmp(err, "line 2: NUL byte in comm") == 0,
	      "NUL byte in comm: %s", err);
	CHECK(read_text(nul_num, sizeof(nul_num) - 1, err, sizeof(err), NULL) == -1 &&
		      strcmp(err, "line 2: bad number in size: '2\\x00'") == 0,
	      "NUL byte in a number: %s", err);
}

/* A row of exactly len bytes, newline excluded, padded by a later version's extra column. */
static char *row_of_length(size_t len)
{
	size_t fixed = strlen(ROW_MALLOC) + 3;
	char *row = malloc(len + 2);

	memcpy(row, ROW_MALLOC ",,,", fixed);
	memset(row + fixed, 'p', len - fixed);
	row[len] = '\n';
	row[len + 1] = '\0';
	return row;
}

static void test_reader_long_lines(void)
{
	static const char head[] = TB_CSV_HEADER ",padding\n";
	char err[256], *row, *text;
	size_t n;

	for (size_t len = 65535; len <= 65537; len++) {
		row = row_of_length(len);
		n = strlen(head) + len + 1;
		text = malloc(n + 1);
		snprintf(text, n + 1, "%s%s", head, row);
		if (len <= 65536)
			CHECK(read_text(text, n, err, sizeof(err), NULL) == 1,
			      "row of %zu bytes is read: %s", len, err);
		else
			CHECK(read_text(text, n, err, sizeof(err), NULL) == -1 &&
				      strcmp(err, "line 2: line longer than 65536 bytes") == 0,
			      "row of %zu bytes is refused: %s", len, err);
		free(row);
		free(text);
	}
	text = malloc(200000);
	memcpy(text, H, strlen(H));
	memset(text + strlen(H), '"', 200000 - strlen(H));
	CHECK(read_text(text, 200000, err, sizeof(err), NULL) == -1 &&
		      strcmp(err, "line 2: line longer than 65536 bytes") == 0,
	      "200 kB of quotes: %s", err);
	free(text);
}

/* Bytes this process has read so far, from /proc/self/io: a count, not a clock. */
static unsigned long long bytes_read(void)
{
	char line[128];
	unsigned long long n = 0;
	FILE *f = fopen("/proc/self/io", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "rchar: %llu", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* 2 GiB without a newline (a sparse file) is refused after reading about one buffer. */
static void test_reader_huge_line(void)
{
	const char *path = tmp_path("huge.csv");
	struct csv_reader *r;
	struct tb_event e;
	unsigned long long before, after;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (write(fd, H, strlen(H)) < 0 || ftruncate(fd, (2ULL << 30) + strlen(H)) < 0)
		printf("# cannot make the sparse file\n");
	close(fd);
	before = bytes_read();
	r = csv_reader__open(path);
	CHECK(csv_reader__next(r, &e) == -1, "2 GiB line refused");
	CHECK_STR(csv_reader__error(r), "line 2: line longer than 65536 bytes", "2 GiB line error");
	after = bytes_read();
	CHECK(after - before < (8ULL << 20), "2 GiB line refused after reading %llu bytes, not all",
	      after - before);
	csv_reader__close(r);
	unlink(path);
}

static void test_reader_open(void)
{
	struct csv_reader *r = csv_reader__open(tmp_path("missing.csv"));

	CHECK(r == NULL && errno == ENOENT, "missing file: NULL and ENOENT");
	r = csv_reader__open(tmpdir);
	CHECK(r != NULL && csv_reader__next(r, &(struct tb_event){ 0 }) == -1 &&
		      strcmp(csv_reader__error(r), "line 1: cannot read: Is a directory") == 0,
	      "a directory: %s", r ? csv_reader__error(r) : "NULL");
	csv_reader__close(r);
}

/* Write errors: ENOSPC from /dev/full, EPIPE from a pipe nobody reads. Neither may crash. */
static void test_write_errors(void)
{
	struct tb_event e = base_event(1, TB_EV_MALLOC);
	struct csv_writer *w = csv_writer__open("/dev/full", NULL);
	int fds[2], saved_stdout, err = 0;

	for (int i = 0; i < 50000; i++)
		csv_writer__write(w, &e);
	CHECK(csv_writer__write(w, &e) == -ENOSPC, "full device: write reports ENOSPC");
	CHECK(csv_writer__close(w) == -ENOSPC, "full device: close reports ENOSPC");

	signal(SIGPIPE, SIG_IGN);
	if (pipe(fds) < 0)
		return;
	saved_stdout = dup(1);
	fflush(stdout);
	dup2(fds[1], 1);
	w = csv_writer__open("-", NULL);
	dup2(saved_stdout, 1);
	close(saved_stdout);
	close(fds[1]);
	close(fds[0]);
	for (int i = 0; i < 50000 && !err; i++)
		err = csv_writer__write(w, &e);
	CHECK(err == -EPIPE && csv_writer__flush(w) == -EPIPE, "closed pipe: EPIPE, kept");
	CHECK(csv_writer__close(w) == -EPIPE, "closed pipe: close reports EPIPE");
}

/* Runs outfile__open with stderr captured; returns the result and the message it printed. */
static int open_capturing(const char *path, const struct tb_owner *owner, char *msg, size_t len)
{
	const char *log = tmp_path("stderr.txt");
	char logpath[4096], *text;
	int saved = dup(2), fd, ret;

	snprintf(logpath, sizeof(logpath), "%s", log);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	ret = outfile__open(path, owner);
	dup2(saved, 2);
	close(saved);
	text = slurp(logpath, NULL);
	snprintf(msg, len, "%s", text ? text : "");
	free(text);
	if (strchr(msg, '\n') == msg + strlen(msg) - 1)
		msg[strlen(msg) - 1] = '\0';	/* one line: compare it without its newline */
	if (ret >= 0)
		close(ret);
	return ret;
}

static void test_outfile_refusals(void)
{
	char msg[8192], want[8192], target[4096], lnk[4096], *data;
	int ret;

	snprintf(target, sizeof(target), "%s", tmp_path("target"));
	snprintf(lnk, sizeof(lnk), "%s", tmp_path("link.csv"));
	write_file(target, "precious\n", 9);
	if (symlink(target, lnk) < 0)
		printf("# cannot make the symlink\n");
	ret = open_capturing(lnk, NULL, msg, sizeof(msg));
	snprintf(want, sizeof(want), "tlsbpf: cannot open '%s': refusing to follow a symbolic link",
		 lnk);
	CHECK(ret == -ELOOP && strcmp(msg, want) == 0, "symlink refused: %s", msg);
	data = slurp(target, NULL);
	CHECK(data && strcmp(data, "precious\n") == 0, "symlink target untouched");
	free(data);
	unlink(target);
	ret = open_capturing(lnk, NULL, msg, sizeof(msg));
	CHECK(ret == -ELOOP && strcmp(msg, want) == 0, "dangling symlink refused: %s", msg);
	CHECK(access(target, F_OK) != 0, "dangling symlink target not created");

	ret = open_capturing("no-such-dir/x.csv", NULL, msg, sizeof(msg));
	CHECK(ret == -ENOENT &&
		      strcmp(msg, "tlsbpf: cannot open 'no-such-dir/x.csv': No such file or "
				  "directory") == 0,
	      "missing directory: %s", msg);
	ret = open_capturing(tmpdir, NULL, msg, sizeof(msg));
	CHECK(ret == -EISDIR && strstr(msg, "Is a directory"), "directory refused: %s", msg);

	write_file(target, "precious\n", 9);
	snprintf(lnk, sizeof(lnk), "%s", tmp_path("hardlink.csv"));
	if (link(target, lnk) < 0)
		printf("# cannot make the hard link\n");
	ret = open_capturing(lnk, NULL, msg, sizeof(msg));
	CHECK(ret == -EPERM && strstr(msg, "refusing to truncate a file with several hard links"),
	      "hard link refused: %s", msg);
	data = slurp(target, NULL);
	CHECK(data && strcmp(data, "precious\n") == 0, "hard-linked file untouched");
	free(data);
}

static void test_outfile_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = tmp_path("sock");
	char msg[8192];
	int s, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		printf("# cannot bind\n");
	ret = open_capturing(sa.sun_path, NULL, msg, sizeof(msg));
	CHECK(ret < 0 && strncmp(msg, "tlsbpf: cannot open '", 21) == 0, "socket refused: %s",
	      msg);
	close(s);
}

static void test_outfile_accepts(void)
{
	const char *path = tmp_path("owned.csv");
	struct tb_owner owner = { .set = 1, .uid = 12345, .gid = 23456 };
	char msg[4096], fifo[4096];
	struct stat st;
	int fd, rd;

	fd = outfile__open("-", NULL);
	CHECK(fd > 2 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "'-' gives a close-on-exec stdout copy");
	close(fd);
	CHECK(open_capturing("/dev/null", NULL, msg, sizeof(msg)) >= 0, "/dev/null accepted");

	snprintf(fifo, sizeof(fifo), "%s", tmp_path("fifo"));
	mkfifo(fifo, 0600);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	CHECK(open_capturing(fifo, NULL, msg, sizeof(msg)) >= 0, "FIFO accepted: %s", msg);
	close(rd);

	unlink(path);
	umask(022);
	fd = outfile__open(path, getuid() == 0 ? &owner : NULL);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0644, "created 0644");
	if (getuid() == 0)
		CHECK(st.st_uid == 12345 && st.st_gid == 23456, "created file given to the owner");
	if (write(fd, "old contents\n", 13) < 0)
		printf("# write failed\n");
	if (fchown(fd, 0, 0) < 0)
		printf("# fchown failed\n");
	fchmod(fd, 0600);
	close(fd);
	fd = outfile__open(path, getuid() == 0 ? &owner : NULL);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "existing file truncated");
	CHECK((st.st_mode & 0777) == 0600, "existing file keeps its mode");
	if (getuid() == 0)
		CHECK(st.st_uid == 0, "existing file keeps its owner");
	close(fd);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Rows like a real trace: mostly malloc and free from a few threads. */
static double bench_write(const char *path, uint64_t n)
{
	struct tb_event ev[4];
	struct csv_writer *w = csv_writer__open(path, NULL);
	double t0 = now();

	ev[0] = base_event(0, TB_EV_MALLOC);
	ev[0].latency_ns = 87;
	ev[0].region = TB_REG_HEAP;
	ev[0].region_base = 0x5581c3a00000;
	ev[1] = ev[0];
	ev[1].type = TB_EV_FREE;
	ev[1].origin_pid = 10;
	ev[1].origin_tid = 11;
	ev[2] = ev[0];
	ev[2].type = TB_EV_CALLOC;
	ev[2].region = TB_REG_ARENA;
	ev[2].region_base = 0x7f5ec0000000;
	strcpy(ev[2].comm, "worker-3");
	ev[3] = ev[1];
	ev[3].flags = TB_F_CROSS_THREAD;
	for (uint64_t i = 1; i <= n; i++) {
		struct tb_event *e = &ev[i & 3];

		e->seq = i;
		e->ts_ns = 1700000000000000000ULL + i * 37;
		e->size = 16 + (i * 7919) % 4000;
		e->addr = 0x5581c3a2b2a0 + (i << 4);
		csv_writer__write(w, e);
	}
	csv_writer__close(w);
	return n / (now() - t0);
}

static double bench_read(const char *path, uint64_t n)
{
	struct csv_reader *r = csv_reader__open(path);
	struct tb_event e;
	uint64_t got = 0;
	double t0 = now();

	while (csv_reader__next(r, &e) == 1)
		got++;
	if (got != n)
		printf("# read %llu of %llu rows: %s\n", (unsigned long long)got,
		       (unsigned long long)n, csv_reader__error(r));
	csv_reader__close(r);
	return got / (now() - t0);
}

static int bench(uint64_t n)
{
	const char *file = "/dev/shm/tlsbpf-bench.csv";
	struct stat st;

	printf("# csv writer: %llu rows to /dev/null: %.2f M rows/s\n", (unsigned long long)n,
	       bench_write("/dev/null", n) / 1e6);
	printf("# csv writer: %llu rows to %s: %.2f M rows/s\n", (unsigned long long)n, file,
	       bench_write(file, n) / 1e6);
	stat(file, &st);
	printf("# csv reader: %llu rows (%.0f MB) from %s: %.2f M rows/s\n",
	       (unsigned long long)n, st.st_size / 1e6, file, bench_read(file, n) / 1e6);
	unlink(file);
	return 0;
}

static void cleanup(void)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", tmpdir);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--bench") == 0)
		return bench(strtoull(argv[2], NULL, 10));
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_header();
	test_alloc_rows();
	test_request_rows();
	test_mmap_rows();
	test_vm_rows();
	test_task_rows();
	test_numbers();
	test_row_caches();
	test_row_numbers();
	test_ignored_types();
	test_hostile_comm();
	test_unterminated_comm();
	test_round_trip();
	test_trickle();
	test_reader_headers();
	test_reader_fields();
	test_reader_quotes();
	test_reader_long_lines();
	test_reader_huge_line();
	test_reader_open();
	test_write_errors();
	test_outfile_refusals();
	test_outfile_socket();
	test_outfile_accepts();
	cleanup();
	return check_done();
}
