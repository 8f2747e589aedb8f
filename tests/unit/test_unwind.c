// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_unwind: --stacks=dwarf's unwinder on samples this test takes of its own
 * stack (the registers at a known instruction and the stack above them, as
 * the probes copy them), against glibc's backtrace() from the same function.
 */
#include <execinfo.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "unwind.h"

#define MAXBT 80

struct shot {
	struct tb_rec_sample r;
	void *bt[MAXBT];
	int nbt, own;	/* bt[own] is capture's own frame, its callers follow */
};

/* Where the mapping holding addr ends, from /proc/self/maps; 0 if none does. */
static uint64_t mapping_end(uint64_t addr)
{
	char line[512];
	uint64_t lo, hi, end = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2 && addr >= lo && addr < hi)
			end = hi;
	if (f)
		fclose(f);
	return end;
}

/* The registers at the instruction after the lea, the stack above them, then backtrace(). */
__attribute__((noinline)) static void capture(struct shot *s)
{
	__u64 *g = s->r.regs, end;

	__asm__ volatile("lea 0(%%rip), %%rax\n\t"
			 "mov %%rax, %0\n\t"
			 "mov %%rsp, %1\n\t"
			 "mov %%rbp, %2\n\t"
			 "mov %%rbx, %3\n\t"
			 "mov %%r12, %4\n\t"
			 "mov %%r13, %5\n\t"
			 "mov %%r14, %6\n\t"
			 "mov %%r15, %7"
			 : "=m"(g[TB_SR_IP]), "=m"(g[TB_SR_SP]), "=m"(g[TB_SR_BP]), "=m"(g[TB_SR_BX]),
			   "=m"(g[TB_SR_R12]), "=m"(g[TB_SR_R13]), "=m"(g[TB_SR_R14]),
			   "=m"(g[TB_SR_R15])
			 :
			 : "rax", "memory");
	end = mapping_end(g[TB_SR_SP]);
	s->r.len = end - g[TB_SR_SP] < TB_SAMPLE_WINDOW ? end - g[TB_SR_SP] : TB_SAMPLE_WINDOW;
	memcpy(s->r.window, (void *)g[TB_SR_SP], s->r.len);
	s->nbt = backtrace(s->bt, MAXBT);
	/* capture's own entry: the first after the lea, in its code (a sanitizer's own frame first) */
	for (s->own = 0; s->own < s->nbt - 1; s->own++)
		if ((uintptr_t)s->bt[s->own] > g[TB_SR_IP] &&
		    (uintptr_t)s->bt[s->own] - g[TB_SR_IP] < 4096)
			break;
	s->r.h.type = TB_SAMPLE_TYPE;
	s->r.h.pid = getpid();
	s->r.h.tid = gettid();
}

/* d - 1 frames above capture, none a tail call. */
__attribute__((noinline)) static void deep(int d, struct shot *s)
{
	if (d > 1) {
		deep(d - 1, s);
		__asm__ volatile("" ::: "memory");
		return;
	}
	capture(s);
}

static void *thread_main(void *arg)
{
	deep(20, arg);
	return NULL;
}

/* backtrace()'s callers of capture, out's frames: equal up to the shorter. */
static int same_prefix(const struct shot *s, const struct stacktab_frame *out, int n)
{
	int i;

	for (i = 0; i < n && s->own + 1 + i < s->nbt; i++)
		if (out[i].addr != (uint64_t)(uintptr_t)s->bt[s->own + 1 + i])
			return 0;
	return i;
}

static void whole(struct shot *s)
{
	struct unwind *u = unwind__new(TB_MAX_STACK);
	struct stacktab_frame out[TB_MAX_STACK];
	uint16_t flags = 0;
	int n = u ? unwind__sample(u, &s->r, out, &flags) : 0;
	int same = same_prefix(s, out, n);

	int callers = s->nbt - 1 - s->own;

	/* 20 deep: 19 or 20 frames of deep (the last may tail-call capture), and the thread's */
	CHECK(n >= 21 && same >= 21 && same == (n < callers ? n : callers),
	      "a thread 20 calls deep: %d frames, %d of them backtrace()'s (%d)", n, same,
	      callers);
	CHECK(!(flags & TB_STK_TRUNCATED), "unwound to the thread's first frame, flags %#x", flags);
	CHECK(n > 0 && out[0].module && strstr(out[0].module, "test_unwind") &&
	      out[0].offset && out[0].build_id[0],
	      "the call site is placed in this program's file, with its build-id");
	unwind__free(u);
}

static void cut(struct shot *s)
{
	struct unwind *u = unwind__new(8);
	struct stacktab_frame out[TB_MAX_STACK];
	struct tb_rec_sample *r = malloc(sizeof(*r));
	uint64_t samples, failed;
	uint16_t flags = 0;
	int n = unwind__sample(u, &s->r, out, &flags);

	CHECK(n == 8 && same_prefix(s, out, n) == 8 && (flags & TB_STK_TRUNCATED),
	      "depth 8: the first 8 frames, marked truncated (%d, flags %#x)", n, flags);
	unwind__free(u);

	/* a window that ends in the middle of the stack: what it holds, then the mark */
	u = unwind__new(TB_MAX_STACK);
	*r = s->r;
	r->len = 256;
	n = unwind__sample(u, r, out, &flags);
	CHECK(n >= 1 && n < 20 && same_prefix(s, out, n) == n && (flags & TB_STK_TRUNCATED),
	      "a 256-byte window: %d frames, %d of them backtrace()'s, flags %#x", n,
	      same_prefix(s, out, n), flags);
	/* a process that is not there: no mappings, no frames, counted */
	r->h.pid = r->h.tid = 0x7ffffff0;
	n = unwind__sample(u, r, out, &flags);
	unwind__counts(u, &samples, &failed);
	CHECK(n == 0 && samples == 2 && failed == 1, "a process gone: no frame, counted (%d, %" PRIu64
	      " of %" PRIu64 ")", n, failed, samples);
	unwind__free(u);
	free(r);
}

/* Not a check: what unwinding a sample costs here, for docs/performance.md. */
static void cost(struct shot *s)
{
	struct unwind *u = unwind__new(TB_MAX_STACK);
	struct stacktab_frame out[TB_MAX_STACK];
	struct timespec a, b;
	uint16_t flags;
	int rounds = 2000, depth[] = { 8, TB_MAX_STACK };

	for (int k = 0; k < 2; k++) {
		unwind__free(u);
		u = unwind__new(depth[k]);
		unwind__sample(u, &s->r, out, &flags);	/* the files opened, their CFI read */
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < rounds; i++)
			unwind__sample(u, &s->r, out, &flags);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("# unwinding a sample 20 calls deep at depth %d: %.2f us\n", depth[k],
		       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / rounds / 1e3);
	}
	unwind__free(u);
}

int main(void)
{
	struct shot *s = calloc(1, sizeof(*s));
	pthread_t t;

	if (!s || pthread_create(&t, NULL, thread_main, s) || pthread_join(t, NULL))
		return 1;
	whole(s);
	cut(s);
	cost(s);
	free(s);
	return check_done();
}
