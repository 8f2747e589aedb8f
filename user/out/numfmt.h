/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* numfmt.h: decimal and hex digits without printf, for the per-event writers (CSV, JSON lines). */
#ifndef TB_NUMFMT_H
#define TB_NUMFMT_H

#include <stdint.h>
#include <string.h>

static const char digit_pairs[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the writers build their digits in registers for a little-endian store"
#endif

static const uint64_t pow10_u64[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
	10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

/* Digits of v: floor(log10) from the bit length, corrected by one comparison. */
static inline unsigned dec_len(uint64_t v)
{
	unsigned t = (64 - __builtin_clzll(v | 1)) * 1233 >> 12;

	return t - ((v | 1) < pow10_u64[t]) + 1;
}

/* Exactly 8 digits of v < 10^8: four pair lookups that do not wait on each other. */
static inline void put_dec8(char *p, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;

	memcpy(p, digit_pairs + hi / 100 * 2, 2);
	memcpy(p + 2, digit_pairs + hi % 100 * 2, 2);
	memcpy(p + 4, digit_pairs + lo / 100 * 2, 2);
	memcpy(p + 6, digit_pairs + lo % 100 * 2, 2);
}

/*
 * Timestamps have 14 digits and more: eight at a time in 32-bit arithmetic
 * keeps the chain of dependent divisions short.
 */
static inline char *put_dec(char *p, uint64_t v)
{
	unsigned n = dec_len(v);
	char *q = p + n;
	uint32_t w;

	while (v >= 100000000) {
		uint64_t hi = v / 100000000;

		q -= 8;
		put_dec8(q, (uint32_t)(v - hi * 100000000));
		v = hi;
	}
	for (w = v; w >= 100; w /= 100) {
		q -= 2;
		memcpy(q, digit_pairs + w % 100 * 2, 2);
	}
	if (w >= 10)
		memcpy(q - 2, digit_pairs + w * 2, 2);
	else
		q[-1] = '0' + w;
	return p + n;
}

static inline char *put_sdec(char *p, int32_t v)
{
	if (v >= 0)
		return put_dec(p, v);
	*p++ = '-';
	return put_dec(p, -(int64_t)v);
}

/* The 8 hex digits of v as 8 bytes, the most significant digit first in memory. */
static inline uint64_t hex8(uint32_t v)
{
	uint64_t x = v, letters;

	/* spread the nibbles one to a byte, the lowest nibble in the lowest byte */
	x = (x | x << 16) & 0x0000ffff0000ffffULL;
	x = (x | x << 8) & 0x00ff00ff00ff00ffULL;
	x = (x | x << 4) & 0x0f0f0f0f0f0f0f0fULL;
	letters = ((x + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
	x += 0x3030303030303030ULL + letters * ('a' - '0' - 10);
	return __builtin_bswap64(x);
}

/*
 * Whole 8-byte stores: the bytes past the digits are scratch that the next
 * column overwrites or the buffer's length leaves out (ROW_MAX has room).
 */
static inline char *put_hex(char *p, uint64_t v)
{
	unsigned n = (64 - __builtin_clzll(v | 1) + 3) / 4;
	uint64_t lo = hex8((uint32_t)v), hi;

	memcpy(p, "0x", 2);
	p += 2;
	if (n <= 8) {
		lo >>= 8 * (8 - n);
		memcpy(p, &lo, 8);
		return p + n;
	}
	hi = hex8(v >> 32) >> 8 * (16 - n);
	memcpy(p, &hi, 8);
	memcpy(p + n - 8, &lo, 8);
	return p + n;
}

#endif
