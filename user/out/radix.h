/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * radix.h: a stable radix sort of fixed-size records by 16-bit digits, least significant
 * first, a digit all records share skipped. A million records: qsort took a tenth of the
 * pictures' writing. Inlined where used, so the digit function is a direct call.
 */
#ifndef TB_RADIX_H
#define TB_RADIX_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* digit(record, d): the record's d-th 16-bit digit, d = 0 the least significant. */
typedef uint32_t (*radix_digit_fn)(const void *rec, int d);

static inline __attribute__((always_inline)) int
radix_sort(void *base, uint64_t n, size_t size, int digits, radix_digit_fn digit)
{
	char *tmp = malloc((n + 1) * size), *src = base, *dst = tmp, *t;
	uint64_t *count = malloc((1 << 16) * sizeof(*count));

	if (!tmp || !count) {
		free(tmp);
		free(count);
		return -ENOMEM;
	}
	for (int d = 0; d < digits; d++) {
		uint64_t sum = 0;

		memset(count, 0, (1 << 16) * sizeof(*count));
		for (uint64_t i = 0; i < n; i++)
			count[digit(src + i * size, d)]++;
		if (n && count[digit(src, d)] == n)
			continue;
		for (uint32_t v = 0; v < 1 << 16; v++) {
			uint64_t c = count[v];

			count[v] = sum;
			sum += c;
		}
		for (uint64_t i = 0; i < n; i++)
			memcpy(dst + count[digit(src + i * size, d)]++ * size, src + i * size, size);
		t = src;
		src = dst;
		dst = t;
	}
	if (src != (char *)base)
		memcpy(base, src, n * size);
	free(tmp);
	free(count);
	return 0;
}

#endif
