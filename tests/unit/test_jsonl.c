// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_jsonl.c: the JSON lines writer: string escaping, and whole objects against their CSV rows. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "csv.h"
#include "jsonl.h"

static char tmpdir[] = "/tmp/tlsbpf-test-jsonl.XXXXXX";

/* s (len bytes) quoted, as a C string */
static const char *quoted(const char *s, size_t len)
{
	static char buf[2048];

	buf[json_quote(buf, s, len)] = 0;
	return buf;
}

#define QUOTE(lit, want, what) CHECK_STR(quoted(lit, sizeof(lit) - 1), want, what)

static void test_quote(void)
{
	QUOTE("tp_count", "\"tp_count\"", "a plain name as it is");
	QUOTE("", "\"\"", "an empty string");
	QUOTE("a\"b\\c", "\"a\\\"b\\\\c\"", "quote and backslash escaped");
	QUOTE("\n\x01\x1b\x1f\x7f", "\"\\u000a\\u0001\\u001b\\u001f\\u007f\"",
	      "control characters and DEL as \\u00XX");
	QUOTE("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
	      "valid UTF-8 of 2, 3 and 4 bytes as it is");
	QUOTE("\xff" "a\x80", "\"\\ufffda\\ufffd\"", "a byte that leads nothing: one U+FFFD each");
	QUOTE("a\xe2\x82", "\"a\\ufffd\"", "a sequence cut short by the end: one U+FFFD");
	QUOTE("\xe2\x82z", "\"\\ufffdz\"", "a sequence cut short by ASCII: one U+FFFD, then the byte");
	QUOTE("\xc0\xaf", "\"\\ufffd\\ufffd\"", "an overlong '/': two U+FFFD");
	QUOTE("\xe0\x80\x80", "\"\\ufffd\\ufffd\\ufffd\"", "an overlong 3-byte NUL: three");
	QUOTE("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "a UTF-16 surrogate: three");
	QUOTE("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "past U+10FFFF: four");
	QUOTE("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "U+10FFFF itself as it is");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	static char buf[1 << 16];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static const char *const want_lines =
	"{\"seq\":1,\"ts_ns\":1000,\"pid\":10,\"tid\":12,\"comm\":\"app\",\"event\":\"free\","
	"\"size\":null,\"addr\":\"0x5581c3a2b2a0\",\"old_addr\":null,\"latency_ns\":null,"
	"\"region\":\"heap\",\"region_base\":\"0x5581c3a00000\",\"origin_pid\":10,"
	"\"origin_tid\":11,\"flags\":[\"cross_thread\",\"reused\"],\"align\":null,\"prot\":null,"
	"\"sysflags\":null,\"fd\":null,\"old_size\":null,\"err\":null,\"detail\":null,"
	"\"args\":null,\"stack_id\":7}\n"
	"{\"seq\":2,\"ts_ns\":2000,\"pid\":10,\"tid\":10,\"comm\":\"\",\"event\":\"mmap\","
	"\"size\":8192,\"addr\":\"0x7f0000001000\",\"old_addr\":null,\"latency_ns\":null,"
	"\"region\":null,\"region_base\":null,\"origin_pid\":null,\"origin_tid\":null,"
	"\"flags\":[],\"align\":null,\"prot\":3,\"sysflags\":\"0x22\",\"fd\":-1,"
	"\"old_size\":null,\"err\":-12,\"detail\":\"a\\\"b\",\"args\":null,\"stack_id\":null}\n"
	"{\"seq\":3,\"ts_ns\":2000,\"pid\":0,\"tid\":0,\"comm\":\"\",\"event\":\"lost\","
	"\"size\":18446744073709551615,\"addr\":null,\"old_addr\":null,\"latency_ns\":null,"
	"\"region\":null,\"region_base\":null,\"origin_pid\":null,\"origin_tid\":null,"
	"\"flags\":[],\"align\":null,\"prot\":null,\"sysflags\":null,\"fd\":null,"
	"\"old_size\":null,\"err\":null,\"detail\":null,\"args\":null,\"stack_id\":null}\n";

/* A free, an anonymous mmap that failed, a rename (no row) and a lost row. */
static void write_rows(struct tb_output *o)
{
	struct tb_event e = { .seq = 1, .ts_ns = 1000, .pid = 10, .tid = 12, .type = TB_EV_FREE,
			      .addr = 0x5581c3a2b2a0, .region = TB_REG_HEAP,
			      .region_base = 0x5581c3a00000, .origin_pid = 10, .origin_tid = 11,
			      .flags = TB_F_CROSS_THREAD | TB_F_REUSED, .comm = "app", .fd = -1,
			      .stack_id = 7 };

	CHECK(o->write(o->w, &e) == 0, "a free is written");
	e = (struct tb_event){ .seq = 2, .ts_ns = 2000, .pid = 10, .tid = 10, .type = TB_EV_MMAP,
			       .size = 8192, .addr = 0x7f0000001000, .prot = 3, .sysflags = 0x22,
			       .fd = -1, .old_size = 5, .err = -12, .detail = "a\"b" };
	CHECK(o->write(o->w, &e) == 0, "an mmap is written");
	e.type = TB_EV_COMM;
	CHECK(o->write(o->w, &e) == 0, "a rename is no row, and no error");
	tb_event_lost(&e, 2000, ~0ULL);
	e.seq = 3;
	CHECK(o->write(o->w, &e) == 0, "a lost row is written");
}

static void test_writer(void)
{
	char path[128];
	struct tb_output o;
	const char *got;

	snprintf(path, sizeof(path), "%s/out.jsonl", tmpdir);
	CHECK(jsonl_output__open(&o, path, NULL) == 0, "the writer opens %s", path);
	write_rows(&o);
	CHECK(o.close(o.w) == 0, "and closes");
	got = slurp(path);
	CHECK(got && strcmp(got, want_lines) == 0, "the objects, keys in the CSV's order, empty "
	      "fields null, an anonymous mmap's offset and a free's size too (%zu bytes)",
	      got ? strlen(got) : 0);
	if (got && strcmp(got, want_lines))
		printf("got:\n%swanted:\n%s", got, want_lines);
	unlink(path);
	snprintf(path, sizeof(path), "%s/none/out.jsonl", tmpdir);
	CHECK(jsonl_output__open(&o, path, NULL) < 0, "a path in no directory is refused");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_quote();
	test_writer();
	rmdir(tmpdir);
	return check_done();
}
