// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_decode.c: the decoder's thread names: kept from task records, forgotten at exit, reused. */
#include "check.h"
#include "../../user/decode.c"

#define NTHREADS 300
#define GONE_PID 4000000000u	/* above any pid_max: /proc has no such process */

static struct tb_event ev;

static void task(struct decoder *d, uint16_t type, uint32_t tid, const char *comm)
{
	struct tb_rec_task r = { .h = { .type = type, .pid = GONE_PID, .tid = tid } };

	snprintf(r.comm, sizeof(r.comm), "%s", comm);
	decoder__record(d, &r, sizeof(r), &ev);
}

/* The name a thread's malloc row carries. */
static const char *name_of(struct decoder *d, uint32_t tid)
{
	struct tb_rec_alloc r = { .h = { .type = TB_EV_MALLOC, .pid = GONE_PID, .tid = tid } };

	decoder__record(d, &r, sizeof(r), &ev);
	return ev.comm;
}

static int names_are(struct decoder *d, uint32_t first, uint32_t step, const char *fmt)
{
	char want[TB_COMM_LEN];
	int bad = 0;

	for (uint32_t i = first; i < NTHREADS; i += step) {
		snprintf(want, sizeof(want), fmt, i);
		bad += strcmp(name_of(d, 1000 + i), want) != 0;
	}
	return bad;
}

int main(void)
{
	struct decoder *d = decoder__new();
	char name[TB_COMM_LEN];

	for (uint32_t i = 0; i < NTHREADS; i++) {
		snprintf(name, sizeof(name), "t%u", i);
		task(d, TB_EV_THREAD, 1000 + i, name);
	}
	CHECK(names_are(d, 0, 1, "t%u") == 0, "each thread's rows carry the name its birth gave");
	for (uint32_t i = 1; i < NTHREADS; i += 2)
		task(d, TB_EV_EXIT_THREAD, 1000 + i, "");
	CHECK(names_are(d, 0, 2, "t%u") == 0, "the threads left keep their names");
	CHECK(names_are(d, 1, 2, "?") == 0, "an exited thread's tid is asked of /proc, which has none");
	/* asking /proc kept "?" for them: gone again */
	for (uint32_t i = 1; i < NTHREADS; i += 2)
		task(d, TB_EV_EXIT_THREAD, 1000 + i, "");
	for (uint32_t i = 1; i < NTHREADS; i += 2) {
		snprintf(name, sizeof(name), "new%u", i);
		task(d, TB_EV_THREAD, 1000 + i, name);
	}
	CHECK(names_are(d, 1, 2, "new%u") == 0, "a tid born again has its new name");
	CHECK_EQ_U64(d->nnames, NTHREADS, "the reborn threads took the freed entries");
	task(d, TB_EV_COMM, 1000, "renamed");
	CHECK_STR(name_of(d, 1000), "renamed", "a rename replaces the name");
	CHECK(names_are(d, 2, 2, "t%u") == 0, "the others are untouched by it");
	decoder__free(d);
	return check_done();
}
