// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_csv_paths.c: the reader's fast paths (quote-free rows, 8 digits at once) checked. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "csv.h"

/* Files written before the args column: every reader test reads them as they are. */
#define H_V1_DETAIL                                                                          \
	"seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,"      \
	"origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail\n"
#define H H_V1_DETAIL

/* Rows with no quote, so the fast path takes them; each is read again with every field quoted. */
static const char *const rows[] = {
	"1,1000,10,11,app,malloc,24,0x5581c3a2b2a0,,850,heap,0x5581c3a00000,,,,,,,,,,",
	"2,2000,10,12,app,free,,0x5581c3a2b2a0,,,heap,0x5581c3a00000,10,11,cross_thread,,,,,,,",
	"3,3000,10,11,app,mmap,8192,0x7f0000001000,,,,,,,,,3,0x22,-1,,,",
	"4,4000,10,11,app,exec,,,,,,,,,,,,,,,,/opt/app",
	"5,5000,10,11,,exit,0,,,,,,,,,,,,,,,",
	"18446744073709551615,10000000000000000000,4294967295,1,a b,realloc,9999999999999999999,"
	"0xffffffffffffffff,0x0,1,arena,0x7f0000000000,4294967295,4294967295,"
	"reused|new_arena|internal,4096,7,0xffffffff,2147483647,18446744073709551615,"
	"-2147483648,x\ty",
	"7,7000,10,11,app,mmap,4096,0x7f00,,,anon,0x7f00,,,,,,,-2147483648,,-1,\r",
};

/* Bad rows: the same error either way. */
static const char *const bad[] = {
	"18446744073709551616,1,10,11,app,malloc,,,,,,,,,,,,,,,,",
	"99999999999999999999,1,10,11,app,malloc,,,,,,,,,,,,,,,,",
	"1,1000,4294967296,11,app,malloc,,,,,,,,,,,,,,,,",
	"1,1000,10,11,app,mallocx,,,,,,,,,,,,,,,,",
	"1,1000,10,11,app,malloc,,,,,moon,,,,,,,,,,,",
	"1,1000,10,11,app,malloc,,,,,,,,,reused|,,,,,,,",
	"1,1000,10,11,app,malloc,,0xzz,,,,,,,,,,,,,,",
	"1,1000,10,11,app,malloc,,,,,,,,,,,,,,,",
	"1,1000,10,11,app,malloc,,,,,,,,,,,,,,,,,",
};

static int same_event(const struct tb_event *a, const struct tb_event *b)
{
	return a->seq == b->seq && a->ts_ns == b->ts_ns && a->size == b->size &&
	       a->addr == b->addr && a->old_addr == b->old_addr && a->latency_ns == b->latency_ns &&
	       a->align == b->align && a->sysflags == b->sysflags && a->old_size == b->old_size &&
	       a->region_base == b->region_base && a->pid == b->pid && a->tid == b->tid &&
	       a->origin_pid == b->origin_pid && a->origin_tid == b->origin_tid &&
	       a->prot == b->prot && a->fd == b->fd && a->err == b->err && a->flags == b->flags &&
	       a->type == b->type && a->region == b->region && strcmp(a->comm, b->comm) == 0 &&
	       strcmp(a->detail, b->detail) == 0;
}

/* Every field of a quote-free row in quotes; a CR before the row's end stays outside them. */
static void quote_all(const char *row, char *out)
{
	size_t n = strlen(row), cr = n && row[n - 1] == '\r';

	*out++ = '"';
	for (size_t i = 0; i < n - cr; i++) {
		if (row[i] == ',') {
			memcpy(out, "\",\"", 3);
			out += 3;
		} else {
			*out++ = row[i];
		}
	}
	*out++ = '"';
	if (cr)
		*out++ = '\r';
	*out = '\0';
}

/* Reads header + row (+ "\n" when nl): 1 with *e, or -1 with the error in err. */
static int read_row(const char *row, int nl, struct tb_event *e, char *err, size_t cap)
{
	char text[4096];
	struct csv_reader *r;
	int ret;

	snprintf(text, sizeof(text), H "%s%s", row, nl ? "\n" : "");
	r = csv_reader__open_mem(text, strlen(text));
	memset(e, 0x5a, sizeof(*e));	/* what the reader leaves alone must not matter */
	ret = csv_reader__next(r, e);
	snprintf(err, cap, "%s", ret < 0 ? csv_reader__error(r) : "");
	if (ret == 1 && csv_reader__next(r, e) != 0)
		ret = -2;
	csv_reader__close(r);
	return ret;
}

static void test_same_event(void)
{
	char quoted[4096], err1[256], err2[256];
	struct tb_event a, b;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		quote_all(rows[i], quoted);
		for (int nl = 0; nl < 2; nl++) {
			int ra = read_row(rows[i], nl, &a, err1, sizeof(err1));
			int rb = read_row(quoted, nl, &b, err2, sizeof(err2));

			CHECK(ra == 1 && rb == 1 && same_event(&a, &b),
			      "row %zu%s: plain and quoted read alike (%s%s)", i + 1,
			      nl ? "" : " without a newline", err1, err2);
		}
	}
}

static void test_same_error(void)
{
	char quoted[4096], err1[256], err2[256];
	struct tb_event e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ra = read_row(bad[i], 1, &e, err1, sizeof(err1));
		int rb;

		quote_all(bad[i], quoted);
		rb = read_row(quoted, 1, &e, err2, sizeof(err2));
		CHECK(ra == -1 && rb == -1 && strcmp(err1, err2) == 0 && !strncmp(err1, "line 2: ", 8),
		      "bad row %zu: the same error either way: '%s'", i + 1, err1);
	}
}

/* The trailing CR of a CRLF line is no part of the last field, fast path or not. */
static void test_crlf(void)
{
	char err[256];
	struct tb_event e;

	CHECK(read_row("1,1000,10,11,app,exec,,,,,,,,,,,,,,,,/bin/x\r", 1, &e, err, sizeof(err)) ==
			      1 && strcmp(e.detail, "/bin/x") == 0,
	      "CRLF: detail without its CR (%s)", err);
	CHECK(read_row("1,1000,10,11,app,exec,,,,,,,,,,,,,,,,/bin/x\r", 0, &e, err, sizeof(err)) ==
			      1 && strcmp(e.detail, "/bin/x") == 0,
	      "CR at the end of the input: dropped too (%s)", err);
	CHECK(read_row("1,1000,10,11,a\rb,exec,,,,,,,,,,,,,,,,", 1, &e, err, sizeof(err)) == 1 &&
		      strcmp(e.comm, "a\rb") == 0,
	      "a CR inside a field is kept (%s)", err);
}

/* Decimal columns: every length up to 20 digits, bad bytes anywhere in an eight-digit run. */
static void test_numbers(void)
{
	static const struct {
		const char *text;
		int ok;
		unsigned long long value;
	} cases[] = {
		{ "0", 1, 0 },
		{ "7", 1, 7 },
		{ "12345678", 1, 12345678 },
		{ "123456789", 1, 123456789 },
		{ "1234567890123456", 1, 1234567890123456ULL },
		{ "99999999999999999", 1, 99999999999999999ULL },
		{ "9999999999999999999", 1, 9999999999999999999ULL },
		{ "18446744073709551615", 1, 18446744073709551615ULL },
		{ "00000000000000000001", 1, 1 },
		{ "18446744073709551616", 0, 0 },
		{ "19000000000000000000", 0, 0 },
		{ "000000000000000000001", 0, 0 },
		{ "1234567:", 0, 0 },
		{ "/2345678", 0, 0 },
		{ "12345678 ", 0, 0 },
		{ "1234\x80" "678", 0, 0 },
		{ "123456789012345a", 0, 0 },
		{ "+1", 0, 0 },
	};
	char row[256], err[256];
	struct tb_event e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		snprintf(row, sizeof(row), "1,1000,10,11,app,malloc,%s,0x10,,,,,,,,,,,,,,",
			 cases[i].text);
		ret = read_row(row, 1, &e, err, sizeof(err));
		if (cases[i].ok)
			CHECK(ret == 1 && e.size == cases[i].value, "size '%s' reads as %llu (%s)",
			      cases[i].text, cases[i].value, err);
		else
			CHECK(ret == -1 && strstr(err, "bad number in size"), "size '%s' refused: %s",
			      cases[i].text, err);
	}
	CHECK(read_row("1,1000,4294967295,11,app,exit,0,,,,,,,,,,,,,,,", 1, &e, err, sizeof(err)) ==
			      1 && e.pid == 4294967295u,
	      "pid 4294967295 (%s)", err);
	CHECK(read_row("1,1000,42949672950,11,app,exit,0,,,,,,,,,,,,,,,", 1, &e, err, sizeof(err)) ==
			      -1,
	      "pid of 11 digits refused: %s", err);
}

int main(void)
{
	test_same_event();
	test_same_error();
	test_crlf();
	test_numbers();
	printf("%d passed, %d failed\n", check_n - check_failed, check_failed);
	return check_done();
}
