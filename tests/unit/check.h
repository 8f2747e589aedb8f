/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* check.h: the unit tests' tiny harness; prints TAP-like lines that tests/run tallies. */
#ifndef TB_CHECK_H
#define TB_CHECK_H

#include <stdio.h>

static int check_n, check_failed;

/* One line per check: "ok N - what" or "not ok N - what (file:line)". */
#define CHECK(cond, ...)                                                                  \
	do {                                                                              \
		int ok_ = !!(cond);                                                       \
		check_n++;                                                                \
		printf("%sok %d - ", ok_ ? "" : "not ", check_n);                         \
		printf(__VA_ARGS__);                                                      \
		if (!ok_) {                                                               \
			check_failed++;                                                   \
			printf(" (%s:%d: %s)", __FILE__, __LINE__, #cond);                \
		}                                                                         \
		printf("\n");                                                             \
	} while (0)

#define CHECK_EQ_U64(a, b, what)                                                          \
	do {                                                                              \
		unsigned long long a_ = (a), b_ = (b);                                    \
		CHECK(a_ == b_, "%s: %llu == %llu", what, a_, b_);                        \
	} while (0)

#define CHECK_STR(a, b, what)                                                             \
	do {                                                                              \
		const char *a_ = (a), *b_ = (b);                                          \
		CHECK(a_ && b_ && strcmp(a_, b_) == 0, "%s: '%s' == '%s'", what,          \
		      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                            \
	} while (0)

static inline int check_done(void)
{
	fflush(stdout);
	return check_failed ? 1 : 0;
}

#endif
