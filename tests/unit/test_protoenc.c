// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_protoenc.c: the Perfetto writer's wire encoder against the worked
 * examples of the protocol-buffer encoding documentation (a varint 150, the
 * string "testing", a message holding another), and a message longer than a
 * one-byte length, whose length bytes must come out minimal.
 */
#include <string.h>
#include "check.h"
#include "protoenc.h"

static int same(const struct pb_buf *p, const uint8_t *want, size_t n)
{
	return !p->err && p->n == n && !memcmp(p->b, want, n);
}

static void varint(void)
{
	struct pb_buf p = { 0 };
	static const uint8_t want[] = { 0x08, 0x96, 0x01 };	/* field 1, varint 150 */

	pb_uint(&p, 1, 150);
	CHECK(same(&p, want, sizeof(want)), "field 1 = 150 is 08 96 01");
	p.n = 0;
	pb_uint(&p, 1, 0);
	CHECK(p.n == 2 && p.b[1] == 0, "zero is one byte");
	p.n = 0;
	pb_int(&p, 1, -1);
	CHECK(p.n == 11 && p.b[10] == 0x01, "an int64 -1 is ten bytes of varint");
	free(p.b);
}

static void string(void)
{
	struct pb_buf p = { 0 };
	static const uint8_t want[] = { 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g' };

	pb_str(&p, 2, "testing");
	CHECK(same(&p, want, sizeof(want)), "field 2 = \"testing\" is 12 07 74 65 73 74 69 6e 67");
	free(p.b);
}

static void nested(void)
{
	struct pb_buf p = { 0 };
	static const uint8_t want[] = { 0x1a, 0x03, 0x08, 0x96, 0x01 };
	size_t at;

	at = pb_open(&p, 3);
	pb_uint(&p, 1, 150);
	pb_close(&p, at);
	CHECK(same(&p, want, sizeof(want)), "field 3 = { field 1 = 150 } is 1a 03 08 96 01");
	free(p.b);
}

/* Two levels, the inner one 300 bytes long: a two-byte length inside, then outside. */
static void long_nested(void)
{
	struct pb_buf p = { 0 };
	char s[298];
	size_t outer, inner;

	memset(s, 'x', sizeof(s));
	outer = pb_open(&p, 1);
	inner = pb_open(&p, 2);
	pb_bytes(&p, 5, s, sizeof(s));	/* 1 tag + 2 length + 298 = 301 bytes */
	pb_close(&p, inner);
	pb_close(&p, outer);
	/* outer: 0a, len 304 = b0 02; inner: 12, len 301 = ad 02; the field: 2a, len 298 = aa 02 */
	CHECK(p.n == 1 + 2 + 1 + 2 + 1 + 2 + 298, "lengths take the bytes they need (%zu)", p.n);
	CHECK(p.b[0] == 0x0a && p.b[1] == 0xb0 && p.b[2] == 0x02, "outer length 304 is b0 02");
	CHECK(p.b[3] == 0x12 && p.b[4] == 0xad && p.b[5] == 0x02, "inner length 301 is ad 02");
	CHECK(p.b[6] == 0x2a && p.b[7] == 0xaa && p.b[8] == 0x02 && p.b[9] == 'x',
	      "the bytes field follows, whole");
	free(p.b);
}

static void fixed64(void)
{
	struct pb_buf p = { 0 };
	static const uint8_t want[] = { 0x09, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 };

	pb_fixed64(&p, 1, 0x0102030405060708ULL);
	CHECK(same(&p, want, sizeof(want)), "a fixed64 is eight bytes, least significant first");
	free(p.b);
}

int main(void)
{
	varint();
	string();
	nested();
	long_nested();
	fixed64();
	return check_done();
}
