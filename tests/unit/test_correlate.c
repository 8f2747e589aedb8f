// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_correlate.c: the correlator and report on synthetic event streams; `--bench N` times it. */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "correlate.h"
#include "report.h"
#include "model.h"

#define P_RW 3
#define M_PRIVATE 0x2
#define M_FIXED 0x10
#define M_ANON 0x20
#define M_NORESERVE 0x4000
#define M_STACK 0x20000
#define MiB (1ULL << 20)

#define HEAP 0x555555559000ULL	/* initial program break in every test process */

static uint64_t now = 1000000;

/* ---- building events --------------------------------------------------------------------- */

static struct tb_event ev(enum tb_event_type type, uint32_t pid, uint32_t tid)
{
	struct tb_event e = { .type = type, .pid = pid, .tid = tid, .fd = -1 };

	now += 1000;
	e.ts_ns = now;
	snprintf(e.comm, sizeof(e.comm), "t%u", tid);
	return e;
}

static struct tb_event run(struct correlator *c, struct tb_event e)
{
	correlator__process(c, &e);
	return e;
}

/* An allocation that started `lat` ns before it returned: events in between were inside it. */
static struct tb_event alloc_lat(struct correlator *c, enum tb_event_type type, uint32_t pid,
				 uint32_t tid, uint64_t size, uint64_t addr, uint64_t lat)
{
	struct tb_event e = ev(type, pid, tid);

	e.size = size;
	e.addr = addr;
	e.latency_ns = lat;
	if (!addr)
		e.flags = TB_F_FAILED;
	return run(c, e);
}

static struct tb_event mal(struct correlator *c, uint32_t pid, uint32_t tid, uint64_t size,
			   uint64_t addr)
{
	return alloc_lat(c, TB_EV_MALLOC, pid, tid, size, addr, 500);
}

static struct tb_event fre(struct correlator *c, uint32_t pid, uint32_t tid, uint64_t addr)
{
	struct tb_event e = ev(TB_EV_FREE, pid, tid);

	e.addr = addr;
	return run(c, e);
}

static struct tb_event rea(struct correlator *c, uint32_t pid, uint32_t tid, uint64_t old,
			   uint64_t size, uint64_t addr, int failed)
{
	struct tb_event e = ev(TB_EV_REALLOC, pid, tid);

	e.old_addr = old;
	e.size = size;
	e.addr = addr;
	e.latency_ns = 500;
	if (failed)
		e.flags = TB_F_FAILED;
	return run(c, e);
}

static struct tb_event vm(struct correlator *c, enum tb_event_type type, uint32_t pid,
			  uint32_t tid, uint64_t addr, uint64_t len, uint32_t prot, uint64_t flags)
{
	struct tb_event e = ev(type, pid, tid);

	e.addr = addr;
	e.size = len;
	e.prot = prot;
	e.sysflags = flags;
	return run(c, e);
}

static struct tb_event brk_to(struct correlator *c, uint32_t pid, uint64_t old, uint64_t brk)
{
	struct tb_event e = ev(TB_EV_BRK, pid, pid);

	e.old_addr = old;
	e.addr = brk;
	return run(c, e);
}

static struct tb_event task(struct correlator *c, enum tb_event_type type, uint32_t pid,
			    uint32_t tid, uint32_t opid, uint32_t otid, uint64_t addr)
{
	struct tb_event e = ev(type, pid, tid);

	e.origin_pid = opid;
	e.origin_tid = otid;
	e.addr = addr;
	if (type == TB_EV_EXEC)
		snprintf(e.detail, sizeof(e.detail), "/usr/bin/prog");
	return run(c, e);
}

static struct tb_event exit_proc(struct correlator *c, uint32_t pid, uint64_t status,
				 const char *detail)
{
	struct tb_event e = ev(TB_EV_EXIT, pid, pid);

	e.size = status;
	snprintf(e.detail, sizeof(e.detail), "%s", detail);
	return run(c, e);
}

/* A process watched from its exec, with a brk heap of 132 KiB: its history is complete. */
static void start_proc(struct correlator *c, uint32_t pid)
{
	task(c, TB_EV_EXEC, pid, pid, 0, 0, 0);
	brk_to(c, pid, HEAP, HEAP);
	brk_to(c, pid, HEAP, HEAP + 0x21000);
}

static struct tb_process *proc_of(struct correlator *c, uint32_t pid)
{
	for (uint32_t i = c->nprocs; i-- > 0;)
		if (c->procs[i]->pid == pid)
			return c->procs[i];
	return NULL;
}

static struct tb_thread *thread_of(struct correlator *c, uint32_t pid, uint32_t tid)
{
	for (uint32_t i = c->nthreads; i-- > 0;)
		if (c->threads[i]->pid == pid && c->threads[i]->tid == tid)
			return c->threads[i];
	return NULL;
}

/* ---- allocation and free ----------------------------------------------------------------- */

static void test_heap_same_thread(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 100);
	e = brk_to(c, 100, HEAP + 0x21000, HEAP + 0x42000);
	CHECK(e.region == TB_REG_HEAP && e.region_base == HEAP, "brk row: heap at its start");
	e = mal(c, 100, 100, 64, HEAP + 0x2a0);
	CHECK(e.region == TB_REG_HEAP, "malloc in the brk heap: region heap");
	CHECK_EQ_U64(e.region_base, HEAP, "malloc: region_base is the heap start");
	CHECK_EQ_U64(e.flags, 0, "malloc: no flags");
	e = fre(c, 100, 100, HEAP + 0x2a0);
	CHECK(e.region == TB_REG_HEAP && e.region_base == HEAP, "free: the block's region");
	CHECK_EQ_U64(e.flags, 0, "free by the allocating thread: no flags");
	CHECK(e.origin_pid == 100 && e.origin_tid == 100, "free: origin is the allocator");
	e = mal(c, 100, 100, 32, 0);
	CHECK(e.flags == TB_F_FAILED && e.region == TB_REG_NONE, "failed malloc keeps failed only");
	CHECK_EQ_U64(thread_of(c, 100, 100)->failed, 1, "failed malloc counted");
	correlator__free(c);
}

static void test_cross_thread(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 200);
	task(c, TB_EV_THREAD, 200, 201, 200, 200, 0);
	mal(c, 200, 200, 48, HEAP + 0x300);
	e = fre(c, 200, 201, HEAP + 0x300);
	CHECK(e.flags == TB_F_CROSS_THREAD, "free by another thread: cross_thread");
	CHECK(e.origin_pid == 200 && e.origin_tid == 200, "cross free: origin is the allocator");
	CHECK_EQ_U64(thread_of(c, 200, 201)->cross_frees, 1, "cross free counted on the freer");
	CHECK_EQ_U64(thread_of(c, 200, 200)->live_bytes, 0, "allocator's live bytes drop");
	correlator__free(c);
}

static void test_double_and_invalid(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 300);
	mal(c, 300, 300, 24, HEAP + 0x400);
	fre(c, 300, 300, HEAP + 0x400);
	e = fre(c, 300, 300, HEAP + 0x400);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "second free: double_free");
	CHECK(e.origin_tid == 300 && e.region == TB_REG_HEAP, "double free keeps origin, region");
	e = fre(c, 300, 300, HEAP + 0x8000);
	CHECK(e.flags == TB_F_INVALID_FREE, "never-returned pointer: invalid_free");
	CHECK(e.origin_pid == 0 && e.origin_tid == 0, "invalid free: no origin");
	e = fre(c, 300, 300, HEAP + 0x8000);
	CHECK(e.flags == TB_F_INVALID_FREE, "invalid twice is still invalid, not double");
	correlator__free(c);
}

/* A C++ operator's row: the malloc or free it made, named in detail. */
static struct tb_event cxx(struct correlator *c, enum tb_event_type type, uint32_t pid,
			   uint32_t tid, uint64_t addr, const char *op)
{
	struct tb_event e = ev(type, pid, tid);

	e.addr = addr;
	e.size = type == TB_EV_FREE ? 0 : 32;
	snprintf(e.detail, sizeof(e.detail), "%s", op);
	return run(c, e);
}

/* new[] by delete, malloc by delete, new by free or realloc: valgrind's mismatches, and only those. */
static void test_mismatched_free(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 350);
	cxx(c, TB_EV_MALLOC, 350, 350, HEAP + 0x100, "new[]");
	e = cxx(c, TB_EV_FREE, 350, 350, HEAP + 0x100, "delete");
	CHECK(e.flags == TB_F_MISMATCHED_FREE, "new[] freed by delete: mismatched_free");
	mal(c, 350, 350, 32, HEAP + 0x100);
	e = cxx(c, TB_EV_FREE, 350, 350, HEAP + 0x100, "delete sized");
	CHECK(e.flags == TB_F_MISMATCHED_FREE, "malloc freed by delete: mismatched_free");
	cxx(c, TB_EV_MALLOC, 350, 350, HEAP + 0x100, "new");
	e = fre(c, 350, 350, HEAP + 0x100);
	CHECK(e.flags == TB_F_MISMATCHED_FREE, "new freed by free: mismatched_free");
	cxx(c, TB_EV_MEMALIGN, 350, 350, HEAP + 0x200, "new aligned nothrow");
	e = cxx(c, TB_EV_FREE, 350, 350, HEAP + 0x200, "delete sized aligned");
	CHECK(e.flags == 0, "aligned new freed by sized aligned delete: no flag");
	cxx(c, TB_EV_MALLOC, 350, 350, HEAP + 0x200, "new[] nothrow");
	e = cxx(c, TB_EV_FREE, 350, 350, HEAP + 0x200, "delete[] sized");
	CHECK(e.flags == 0, "new[] freed by delete[]: no flag");
	cxx(c, TB_EV_MALLOC, 350, 350, HEAP + 0x300, "new");
	e = rea(c, 350, 350, HEAP + 0x300, 64, HEAP + 0x400, 0);
	CHECK(e.flags & TB_F_MISMATCHED_FREE, "new's block moved by realloc: mismatched_free");
	e = fre(c, 350, 350, HEAP + 0x400);
	CHECK(e.flags == 0, "realloc's block freed by free: no flag");
	cxx(c, TB_EV_MALLOC, 350, 350, HEAP + 0x500, "mallocx");
	e = fre(c, 350, 350, HEAP + 0x500);
	CHECK(e.flags == 0, "an allocator's own entry point is the malloc family");
	CHECK_EQ_U64(thread_of(c, 350, 350)->mismatched_frees, 4, "mismatches counted");
	correlator__free(c);
}

/* glibc's thread-exit cache flush: frees from inside the library of blocks already freed. */
static void test_internal_free(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 350);
	mal(c, 350, 350, 24, HEAP + 0x400);
	fre(c, 350, 350, HEAP + 0x400);
	e = ev(TB_EV_FREE, 350, 350);
	e.addr = HEAP + 0x400;
	e.flags = TB_F_INTERNAL;
	e = run(c, e);
	CHECK(e.flags == TB_F_INTERNAL, "library re-freeing a freed block: internal, not double_free");
	CHECK(e.origin_tid == 350 && e.region == TB_REG_HEAP, "internal re-free keeps origin, region");
	e = ev(TB_EV_FREE, 350, 350);
	e.addr = HEAP + 0x9000;
	e.flags = TB_F_INTERNAL;
	e = run(c, e);
	CHECK(e.flags == TB_F_INTERNAL, "library freeing memory it never malloc'd: not invalid_free");
	CHECK_EQ_U64(thread_of(c, 350, 350)->frees, 1, "internal re-frees are not the program's frees");
	CHECK_EQ_U64(thread_of(c, 350, 350)->internal_frees, 2, "internal re-frees counted apart");
	CHECK_EQ_U64(thread_of(c, 350, 350)->double_frees + thread_of(c, 350, 350)->invalid_frees, 0,
		     "no double or invalid free counted");
	correlator__free(c);
}

/* vfork: the child runs in its parent's memory until exec, so its blocks are the parent's. */
static void test_vfork_shares_memory(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 360);
	mal(c, 360, 360, 24, HEAP + 0x400);
	e = ev(TB_EV_FORK, 361, 361);
	e.origin_pid = e.origin_tid = 360;
	e.sysflags = 0x4100; /* CLONE_VM | CLONE_VFORK */
	run(c, e);
	e = mal(c, 361, 361, 512, HEAP + 0x800);
	CHECK(e.region == TB_REG_HEAP, "a vfork child's malloc lands in its parent's heap");
	e = fre(c, 361, 361, HEAP + 0x400);
	CHECK(!(e.flags & (TB_F_INHERITED | TB_F_INVALID_FREE)) && e.origin_pid == 360,
	      "the child freeing its parent's block: the parent's block, not an inherited copy");
	task(c, TB_EV_EXEC, 361, 361, 0, 0, 0);
	e = fre(c, 360, 360, HEAP + 0x800);
	CHECK(!(e.flags & TB_F_INVALID_FREE) && e.origin_pid == 361 && (e.flags & TB_F_CROSS_THREAD),
	      "the parent frees what its vfork child got: not invalid, allocated by the child");
	CHECK_EQ_U64(thread_of(c, 361, 361)->live_bytes, 0,
		     "the child's live bytes: its block outlived its exec in the parent, now freed");
	e = fre(c, 360, 360, HEAP + 0x400);
	CHECK(e.flags & TB_F_DOUBLE_FREE, "the block the child freed is freed in the parent too");
	e = mal(c, 361, 361, 24, HEAP + 0x400);
	CHECK(!(e.flags & TB_F_REUSED), "after its exec the child has a memory of its own");
	correlator__free(c);
}

static struct tb_event sampled(struct tb_event e)
{
	e.flags |= TB_F_SAMPLED;
	return e;
}

/* --sample: what sampling hid is never a double free, an invalid free or a leak. */
static void test_sample_claims(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 390);
	e = ev(TB_EV_REALLOC, 390, 390);
	e.old_addr = HEAP + 0x400; /* its malloc was one sampling skipped */
	e.addr = HEAP + 0x800;
	e.size = 100;
	e = run(c, sampled(e));
	CHECK(e.flags == (TB_F_SAMPLED | TB_F_UNKNOWN_ORIGIN),
	      "sampled realloc of a block never recorded: unknown origin, not invalid");
	e = ev(TB_EV_FREE, 390, 390);
	e.addr = HEAP + 0x800;
	e = run(c, sampled(e));
	CHECK(e.flags == TB_F_SAMPLED, "sampled free of a recorded block: a plain free");
	e = run(c, sampled(e));
	CHECK(e.flags == (TB_F_SAMPLED | TB_F_DOUBLE_FREE),
	      "a second free no mark explains: the probes saw it freed twice, a double free");
	e = ev(TB_EV_REALLOC, 390, 390);
	e.old_addr = HEAP + 0x800;
	e.addr = HEAP + 0xc00;
	e.size = 100;
	e = run(c, sampled(e));
	CHECK(!(e.flags & (TB_F_DOUBLE_FREE | TB_F_INVALID_FREE)),
	      "a sampled realloc of a freed address: its malloc may be a skipped one, no claim");

	/* A fork's child frees its copy: that takes the parent's mark at the same address. */
	e = ev(TB_EV_MALLOC, 390, 390);
	e.addr = HEAP + 0x1000;
	e.size = 64;
	run(c, sampled(e));
	e = ev(TB_EV_FORK, 391, 391);
	e.origin_pid = e.origin_tid = 390;
	run(c, e);
	e = ev(TB_EV_FREE, 391, 391);
	e.addr = HEAP + 0x1000;
	e = run(c, sampled(e));
	CHECK(e.flags == (TB_F_SAMPLED | TB_F_INHERITED), "the child frees its inherited copy");
	task(c, TB_EV_EXIT, 391, 391, 0, 0, 0);
	task(c, TB_EV_EXIT, 390, 390, 0, 0, 0);
	/* the one leak is the realloc's result at HEAP + 0xc00 */
	CHECK(proc_of(c, 390)->leak_blocks == 1 && proc_of(c, 390)->unseen_blocks == 1,
	      "the parent's block whose mark the child took is unseen, not a leak (%" PRIu64
	      " leaks, %" PRIu64 " unseen)", proc_of(c, 390)->leak_blocks,
	      proc_of(c, 390)->unseen_blocks);
	correlator__free(c);

	c = correlator__new();
	start_proc(c, 392);
	/* the marks a long sampled run takes do not pile up */
	for (uint64_t i = 0; i < 1200000; i++) {
		e = ev(TB_EV_MALLOC, 392, 392);
		e.addr = HEAP + 0x100000 + 16 * i;
		e.size = 8;
		run(c, sampled(e));
		e = ev(TB_EV_FREE, 392, 392);
		e.addr = HEAP + 0x100000 + 16 * i;
		run(c, sampled(e));
	}
	CHECK(c->marks.n < (1u << 20), "taken marks are dropped once they dominate (%u kept)",
	      c->marks.n);
	correlator__free(c);
}

static void test_reuse(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 400);
	task(c, TB_EV_THREAD, 400, 401, 400, 400, 0);
	e = mal(c, 400, 400, 32, HEAP + 0x500);
	CHECK(!(e.flags & TB_F_REUSED), "first use of an address: not reused");
	fre(c, 400, 400, HEAP + 0x500);
	e = mal(c, 400, 400, 32, HEAP + 0x500);
	CHECK(e.flags == TB_F_REUSED, "same address again, same thread: reused");
	fre(c, 400, 400, HEAP + 0x500);
	e = mal(c, 400, 401, 40, HEAP + 0x500);
	CHECK(e.flags == TB_F_REUSED, "same address again, other thread: reused");
	e = fre(c, 400, 400, HEAP + 0x500);
	CHECK(e.flags == TB_F_CROSS_THREAD && e.origin_tid == 401, "reused block: its new owner");
	CHECK_EQ_U64(thread_of(c, 400, 400)->reused, 1, "reuse counted per thread");
	correlator__free(c);
}

static void test_realloc(void)
{
	struct correlator *c = correlator__new();
	uint64_t a = HEAP + 0x600, b = HEAP + 0x1000, n = HEAP + 0x2000;
	struct tb_event e;

	start_proc(c, 500);
	e = rea(c, 500, 500, 0, 100, a, 0);
	CHECK(e.region == TB_REG_HEAP && e.flags == 0, "realloc(NULL, n) is a malloc");
	e = rea(c, 500, 500, a, 120, a, 0);
	CHECK(e.flags == 0, "realloc in place: no reuse, no free flags");
	CHECK(e.origin_tid == 500, "realloc in place: origin of the input");
	CHECK_EQ_U64(thread_of(c, 500, 500)->live_bytes, 120, "in place: live bytes resized");
	e = rea(c, 500, 500, a, 400, b, 0);
	CHECK(e.flags == 0 && e.origin_tid == 500 && e.region == TB_REG_HEAP, "realloc moved");
	e = fre(c, 500, 500, a);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "moved realloc released its input");
	e = rea(c, 500, 500, b, 800, 0, 1);
	CHECK(e.flags == TB_F_FAILED && e.origin_tid == 500, "failed realloc: flagged, origin");
	e = rea(c, 500, 500, b, 0, 0, 0);
	CHECK(e.flags == 0 && e.region == TB_REG_HEAP, "realloc(p, 0) frees p (live after fail)");
	e = fre(c, 500, 500, b);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "after realloc(p, 0), p is freed");
	e = rea(c, 500, 500, n, 16, n + 0x100, 0);
	CHECK(e.flags == TB_F_INVALID_FREE, "realloc of a never-returned pointer: invalid");
	e = rea(c, 500, 500, 0, 16, b, 0);
	CHECK(e.flags == TB_F_REUSED, "realloc(NULL) at a freed address: reused");
	CHECK_EQ_U64(thread_of(c, 500, 500)->live_bytes, 32, "live bytes follow the chain");
	correlator__free(c);
}

/* ---- processes ------------------------------------------------------------------------- */

static void test_fork(void)
{
	struct correlator *c = correlator__new();
	uint64_t a = HEAP + 0x700, b = HEAP + 0x800;
	struct tb_event e;

	start_proc(c, 600);
	task(c, TB_EV_THREAD, 600, 601, 600, 600, 0);
	mal(c, 600, 601, 64, a);
	task(c, TB_EV_FORK, 610, 610, 600, 601, 0);
	mal(c, 600, 600, 64, b);
	e = fre(c, 610, 610, a);
	CHECK(e.flags == TB_F_INHERITED, "child frees a block from before fork: inherited only");
	CHECK(e.origin_pid == 600 && e.origin_tid == 601, "inherited: origin is the parent thread");
	CHECK(e.region == TB_REG_HEAP, "inherited block keeps its region");
	e = fre(c, 610, 610, b);
	CHECK(e.flags == TB_F_INVALID_FREE, "block allocated after fork is not in the child");
	e = fre(c, 600, 601, a);
	CHECK(e.flags == 0, "parent's own free of the same address: not inherited");
	e = fre(c, 610, 610, a);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "child frees it twice: double free");
	CHECK_EQ_U64(thread_of(c, 610, 610)->inherited_frees, 1, "inherited free counted");
	CHECK_EQ_U64(proc_of(c, 600)->children, 1, "parent has one child");
	CHECK_EQ_U64(correlator__live_processes(c), 2, "two live processes");
	correlator__free(c);
}

static void test_exec_clears(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 700);
	task(c, TB_EV_THREAD, 700, 701, 700, 700, 0);
	mal(c, 700, 700, 64, HEAP + 0x900);
	vm(c, TB_EV_MMAP, 700, 700, 0x7f0000000000ULL, 0x10000, P_RW, M_PRIVATE | M_ANON);
	task(c, TB_EV_EXEC, 700, 700, 0, 0, 0);
	CHECK(thread_of(c, 700, 701)->exited, "exec ends every other thread");
	e = fre(c, 700, 700, HEAP + 0x900);
	CHECK(e.flags == TB_F_INVALID_FREE, "free of a pre-exec block after exec: invalid");
	e = vm(c, TB_EV_MADVISE, 700, 700, 0x7f0000001000ULL, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_UNKNOWN, "mappings cleared by exec");
	CHECK_STR(proc_of(c, 700)->exe, "/usr/bin/prog", "exec filename kept");
	correlator__free(c);
}

static void test_pid_tid_reuse(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;
	struct tb_process *old;

	start_proc(c, 800);
	task(c, TB_EV_FORK, 810, 810, 800, 800, 0);
	mal(c, 810, 810, 10, HEAP + 0xa00);
	exit_proc(c, 810, 0, "");
	old = proc_of(c, 810);
	task(c, TB_EV_FORK, 810, 810, 800, 800, 0);
	CHECK(proc_of(c, 810) != old, "pid reuse: a new process record");
	CHECK(old->exited && old->leak_blocks == 1, "the old one kept its exit and leak");
	e = fre(c, 810, 810, HEAP + 0xa00);
	CHECK(e.flags == TB_F_INVALID_FREE, "the new process never saw the old block");
	task(c, TB_EV_THREAD, 800, 801, 800, 800, 0);
	mal(c, 800, 801, 16, HEAP + 0xb00);
	task(c, TB_EV_EXIT_THREAD, 800, 801, 0, 0, 0);
	task(c, TB_EV_THREAD, 800, 801, 800, 800, 0);
	e = fre(c, 800, 801, HEAP + 0xb00);
	CHECK(e.flags == TB_F_CROSS_THREAD, "tid reuse: a new thread, so the free crosses threads");
	CHECK_EQ_U64(proc_of(c, 800)->nthreads, 3, "three thread records: T0, T1, T2");
	CHECK_EQ_U64(proc_of(c, 800)->threads_created, 2, "two threads created");
	correlator__free(c);
}

/*
 * Threads whose events interleave row by row, two of them with tids that
 * share a slot among the recently seen, and a tid reused while its old
 * thread is still remembered: each event lands on the thread it came from.
 */
static void test_interleaved_threads(void)
{
	static const uint32_t tids[] = { 301, 309, 302 };	/* 301 and 309 alike modulo 8 */
	struct correlator *c = correlator__new();
	struct tb_thread *old;
	struct tb_event e = { 0 };

	start_proc(c, 300);
	for (int i = 0; i < 3; i++)
		task(c, TB_EV_THREAD, 300, tids[i], 300, 300, 0);
	for (uint64_t n = 0; n < 30; n++) {
		uint32_t tid = tids[n % 3];

		mal(c, 300, tid, 16 + n, HEAP + 0x1000 + n * 0x40);
		if (n % 3 != 2)	/* 302 keeps its blocks */
			e = fre(c, 300, tid, HEAP + 0x1000 + n * 0x40);
	}
	CHECK(e.flags == 0 && e.origin_tid == 309, "each free is its own thread's (flags 0x%x)",
	      e.flags);
	for (int i = 0; i < 3; i++)
		CHECK(thread_of(c, 300, tids[i])->allocs == 10 &&
		      thread_of(c, 300, tids[i])->frees == (i < 2 ? 10 : 0),
		      "tid %u: 10 allocations, %d frees", tids[i], i < 2 ? 10 : 0);
	old = thread_of(c, 300, 302);
	task(c, TB_EV_THREAD, 300, 302, 300, 300, 0);	/* its exit went unseen */
	e = fre(c, 300, 302, HEAP + 0x1000 + 2 * 0x40);
	CHECK(e.flags == TB_F_CROSS_THREAD && thread_of(c, 300, 302) != old,
	      "a reused tid is a new thread: its first free crosses threads");
	CHECK_EQ_U64(old->frees, 0, "the old thread is not charged with it");
	correlator__free(c);
}

static void test_lazy_and_lost(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	e = fre(c, 900, 905, 0x1234560);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN, "never-announced process: unknown origin");
	CHECK(e.region == TB_REG_UNKNOWN, "no mapping known: region unknown");
	CHECK(proc_of(c, 900)->attached, "lazily created process is marked attached");
	CHECK_EQ_U64(proc_of(c, 900)->nthreads, 2, "main thread plus the one seen");
	e = fre(c, 900, 905, 0x1234560);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "unknown pointer freed twice: double free");
	start_proc(c, 950);
	mal(c, 950, 950, 8, HEAP + 0x10);
	fre(c, 950, 950, HEAP + 0x10);
	e = ev(TB_EV_LOST, 0, 0);
	e.size = 3;
	e = run(c, e);
	CHECK(e.region == TB_REG_NONE, "lost row has no region");
	CHECK_EQ_U64(c->lost, 3, "lost events counted");
	e = fre(c, 950, 950, HEAP + 0x20);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN, "after a loss an unknown free is not invalid");
	e = fre(c, 950, 950, HEAP + 0x10);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN, "a loss may hide the malloc between two frees");
	e = ev(TB_EV_COMM, 950, 950);
	run(c, e);
	e = ev((enum tb_event_type)77, 950, 950);
	run(c, e);
	CHECK(1, "unknown event types are ignored");
	correlator__free(c);
}

/* 256 losses after a free, the generation's low 8 bits are back: still no double free. */
static void test_loss_wrap(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 960);
	mal(c, 960, 960, 8, HEAP + 0x10);
	fre(c, 960, 960, HEAP + 0x10);
	for (int i = 0; i < 256; i++) {
		e = ev(TB_EV_LOST, 0, 0);
		e.size = 1;
		run(c, e);
	}
	e = fre(c, 960, 960, HEAP + 0x10);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN,
	      "256 losses after a free: a second free of it is of unknown origin, not a double free");
	mal(c, 960, 960, 8, HEAP + 0x10);
	fre(c, 960, 960, HEAP + 0x10);
	e = fre(c, 960, 960, HEAP + 0x10);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "with no loss since, a second free is a double free again");
	correlator__free(c);
}

static void sample_switch(struct correlator *c, enum tb_event_type type, uint64_t on_ns)
{
	struct tb_event e = ev(type, 0, 0);

	e.size = on_ns;
	run(c, e);
}

/*
 * --sample-by time: what a gap may hide is never claimed: a block live across
 * one may be freed unseen (no leak), a free after one is of unknown origin, and
 * so is whatever is recorded between the off row and the probes' real end.
 */
static void test_time_windows(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;
	uint64_t span;
	uint32_t windows;

	start_proc(c, 1000);
	sample_switch(c, TB_EV_SAMPLE_ON, 0);
	mal(c, 1000, 1000, 10, HEAP + 0x10);	/* lives across the gap */
	mal(c, 1000, 1000, 20, HEAP + 0x20);
	fre(c, 1000, 1000, HEAP + 0x20);
	e = fre(c, 1000, 1000, HEAP + 0x20);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "inside one window a second free is double");
	fre(c, 1000, 1000, HEAP + 0x30);	/* freed, not seen allocated: invalid */
	sample_switch(c, TB_EV_SAMPLE_OFF, 5000);
	/* the gap's tail: the links are going, malloc's maybe first */
	e = fre(c, 1000, 1000, HEAP + 0x40);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN, "a free after the off row: unknown, not invalid");
	mal(c, 1000, 1000, 30, HEAP + 0x50);	/* recorded in the tail: its free may go unseen */
	sample_switch(c, TB_EV_SAMPLE_ON, 0);
	e = fre(c, 1000, 1000, HEAP + 0x20);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN, "freed before the gap, freed after: unknown, not double");
	e = fre(c, 1000, 1000, HEAP + 0x40);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN, "freed in the tail, freed in the window: not double");
	e = fre(c, 1000, 1000, HEAP + 0x60);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN, "a free of a block never seen after a gap: not invalid");
	e = fre(c, 1000, 1000, HEAP + 0x60);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "but freed twice in one window it is double");
	mal(c, 1000, 1000, 40, HEAP + 0x70);	/* allocated in the window the process ends in */
	exit_proc(c, 1000, 0, "");
	CHECK_EQ_U64(proc_of(c, 1000)->leak_blocks, 1, "the block of the last window is a leak");
	CHECK_EQ_U64(proc_of(c, 1000)->unseen_blocks, 2, "the gap's blocks are no leaks");
	CHECK_EQ_U64(model_sample_on_ns(c, &span, &windows) > 5000, 1, "open window counted");
	CHECK_EQ_U64(windows, 2, "two windows");
	correlator__free(c);
}

static void test_seeded(void)
{
	static const char maps[] =
		"555555554000-555555556000 r--p 00000000 fe:01 1234 /usr/bin/prog\n"
		"555555559000-55555557a000 rw-p 00000000 00:00 0 [heap]\n"
		"7f2a44000000-7f2a44021000 rw-p 00000000 00:00 0 \n"
		"7f2a44021000-7f2a48000000 ---p 00000000 00:00 0 \n"
		"7f2a50000000-7f2a58000000 rw-p 00000000 00:00 0\n"
		"7ffd0000000-7ffd0021000 rw-p 00000000 00:00 0 [stack]\n"
		"garbage line\n";
	uint32_t tids[] = { 1000, 1001 };
	struct correlator *c = correlator__new();
	FILE *f = fmemopen((void *)maps, sizeof(maps) - 1, "r");
	struct tb_event e;

	CHECK(correlator__seed_process(c, 1000, "seeded", f, tids, 2, now) == 0, "seed parses");
	fclose(f);
	e = fre(c, 1000, 1001, HEAP + 0x100);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN && e.region == TB_REG_HEAP, "seeded: unknown, heap");
	e = fre(c, 1000, 1001, HEAP + 0x100);
	CHECK(e.flags == TB_F_DOUBLE_FREE, "seeded: the same pointer twice is a double free");
	e = mal(c, 1000, 1001, 32, 0x7f2a440008b0ULL);
	CHECK(e.region == TB_REG_ARENA && e.region_base == 0x7f2a44000000ULL, "seeded arena");
	e = vm(c, TB_EV_MADVISE, 1000, 1000, 0x7f2a45000000ULL, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_ARENA && e.region_base == 0x7f2a44000000ULL, "arena tail piece");
	e = vm(c, TB_EV_MADVISE, 1000, 1000, 0x7f2a50001000ULL, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_ANON, "large aligned anon mapping is not an arena");
	e = vm(c, TB_EV_MADVISE, 1000, 1000, 0x555555554000ULL, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_FILE, "file mapping");
	e = vm(c, TB_EV_MADVISE, 1000, 1000, 0x7ffd0010000ULL, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_STACK, "[stack] is the main thread's stack");
	CHECK_EQ_U64(proc_of(c, 1000)->nthreads, 2, "seeded threads");
	correlator__free(c);
}

/* ---- mappings ---------------------------------------------------------------------------- */

static void test_munmap_split_and_brk(void)
{
	struct correlator *c = correlator__new();
	uint64_t m = 0x7f0000000000ULL;
	struct tb_event e;

	start_proc(c, 1100);
	e = vm(c, TB_EV_MMAP, 1100, 1100, m, 0x10000, P_RW, M_PRIVATE | M_ANON);
	CHECK(e.region == TB_REG_ANON && e.region_base == m, "anonymous mmap row");
	e = vm(c, TB_EV_MUNMAP, 1100, 1100, m + 0x4000, 0x4000, 0, 0);
	CHECK(e.region == TB_REG_ANON && e.region_base == m, "munmap row: what it unmapped");
	e = vm(c, TB_EV_MADVISE, 1100, 1100, m + 0x5000, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_UNKNOWN, "the hole is unmapped");
	e = vm(c, TB_EV_MADVISE, 1100, 1100, m + 0x9000, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_ANON && e.region_base == m + 0x8000, "the tail is its own piece");
	e = mal(c, 1100, 1100, 64, m + 0x100);
	CHECK(e.region == TB_REG_ANON, "block in a mapping made outside the call: anon");
	e = vm(c, TB_EV_MMAP, 1100, 1100, m + 0x2000, 0x1000, P_RW, M_PRIVATE | M_FIXED);
	CHECK(e.region == TB_REG_ANON, "MAP_FIXED replaces the overlap");
	CHECK_EQ_U64(proc_of(c, 1100)->maps.n, 4, "head, fixed, rest of head, tail");
	e = vm(c, TB_EV_MPROTECT, 1100, 1100, m + 0x8000, 0x1000, 0, 0);
	CHECK_EQ_U64(proc_of(c, 1100)->maps.n, 5, "mprotect splits");
	brk_to(c, 1100, HEAP + 0x21000, HEAP + 0x10000);
	e = mal(c, 1100, 1100, 64, HEAP + 0x18000);
	CHECK(e.region == TB_REG_UNKNOWN, "beyond a shrunk break: no longer heap");
	e = mal(c, 1100, 1100, 64, HEAP + 0x8000);
	CHECK(e.region == TB_REG_HEAP, "below it: still heap");
	correlator__free(c);
}

/* glibc's new_heap: 128 MiB PROT_NONE, trim to a 64 MiB-aligned base, then open the front. */
static void make_arena(struct correlator *c, uint32_t pid, uint32_t tid, uint64_t base)
{
	uint64_t r = base - 0x2c00000;

	vm(c, TB_EV_MMAP, pid, tid, r, 128 * MiB, 0, M_PRIVATE | M_ANON | M_NORESERVE);
	vm(c, TB_EV_MUNMAP, pid, tid, r, base - r, 0, 0);
	vm(c, TB_EV_MUNMAP, pid, tid, base + 64 * MiB, r + 128 * MiB - base - 64 * MiB, 0, 0);
	vm(c, TB_EV_MPROTECT, pid, tid, base, 0x21000, P_RW, 0);
}

static void test_arena(void)
{
	struct correlator *c = correlator__new();
	uint64_t base = 0x7f2a40000000ULL, start;
	struct tb_event e;
	struct tb_process *p;

	start_proc(c, 1200);
	task(c, TB_EV_THREAD, 1200, 1201, 1200, 1200, 0);
	task(c, TB_EV_THREAD, 1200, 1202, 1200, 1200, 0);
	start = now;
	make_arena(c, 1200, 1201, base);
	e = alloc_lat(c, TB_EV_MALLOC, 1200, 1201, 100, base + 0x8b0, now + 1000 - start);
	CHECK(e.region == TB_REG_ARENA && e.region_base == base, "first block of a new heap");
	CHECK(e.flags == TB_F_NEW_ARENA, "first block of a new arena: new_arena");
	e = mal(c, 1200, 1201, 100, base + 0x920);
	CHECK(e.region == TB_REG_ARENA && e.flags == 0, "next block: arena, no new_arena");
	e = mal(c, 1200, 1202, 200, base + 0x990);
	CHECK(e.region == TB_REG_ARENA && e.region_base == base, "another thread in that arena");
	e = fre(c, 1200, 1202, base + 0x8b0);
	CHECK(e.region == TB_REG_ARENA && e.flags == TB_F_CROSS_THREAD, "arena free crosses");
	e = mal(c, 1200, 1201, 100, base + 0x21000 - 0x100);
	CHECK(e.region == TB_REG_ARENA, "front RW piece");
	e = vm(c, TB_EV_MADVISE, 1200, 1200, base + 32 * MiB, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_ARENA && e.region_base == base, "PROT_NONE rest is the arena's");
	p = proc_of(c, 1200);
	CHECK(p->narenas == 2 && p->arenas[1].owner == thread_of(c, 1200, 1201)->index,
	      "arena owned by the thread whose allocation created it");
	CHECK(p->arenas[1].nusers == 2 && p->arenas[1].bytes == 500, "both users recorded");
	/* The same thread's arena runs out: glibc adds a heap to it, not a new arena. */
	start = now;
	make_arena(c, 1200, 1201, base + 64 * MiB);
	e = alloc_lat(c, TB_EV_MALLOC, 1200, 1201, 100, base + 64 * MiB + 0x20, now + 1000 - start);
	CHECK(e.region == TB_REG_ARENA && !(e.flags & TB_F_NEW_ARENA), "a second heap of it");
	CHECK(p->arenas[2].extends == 1, "recorded as extending the first");
	correlator__free(c);
}

/* glibc makes a thread's arena in its first allocator call, a free or a realloc too. */
static void test_arena_made_in_free(void)
{
	struct correlator *c = correlator__new();
	uint64_t base = 0x7f2a40000000ULL;
	struct tb_event e;
	struct tb_process *p;

	start_proc(c, 1250);
	mal(c, 1250, 1250, 100, HEAP + 0x400);
	task(c, TB_EV_THREAD, 1250, 1251, 1250, 1250, 0);
	task(c, TB_EV_THREAD, 1250, 1252, 1250, 1250, 0);
	make_arena(c, 1250, 1251, base); /* inside the free below: tcache and arena set up */
	fre(c, 1250, 1251, HEAP + 0x400);
	e = mal(c, 1250, 1251, 100, base + 0x8b0);
	CHECK(e.region == TB_REG_ARENA && e.region_base == base && e.flags == TB_F_NEW_ARENA,
	      "arena mapped in an earlier free: arena, new_arena on its first block");
	p = proc_of(c, 1250);
	CHECK(p->arenas[p->narenas - 1].owner == thread_of(c, 1250, 1251)->index,
	      "owned by the thread that mapped it");
	make_arena(c, 1250, 1251, base + 64 * MiB);
	task(c, TB_EV_EXIT_THREAD, 1250, 1251, 0, 0, 0);
	e = mal(c, 1250, 1252, 100, base + 64 * MiB + 0x8b0);
	CHECK(e.region == TB_REG_ARENA && e.flags == TB_F_NEW_ARENA &&
	      p->arenas[p->narenas - 1].owner == thread_of(c, 1250, 1251)->index &&
	      p->arenas[p->narenas - 1].extends == TB_NONE,
	      "an arena first served to a later thread: a new arena of the thread that mapped it");
	correlator__free(c);
}

static void test_mmap_chunk(void)
{
	struct correlator *c = correlator__new();
	uint64_t m = 0x7f1234560000ULL, start;
	struct tb_event e;

	start_proc(c, 1300);
	task(c, TB_EV_THREAD, 1300, 1301, 1300, 1300, 0);
	start = now;
	e = vm(c, TB_EV_MMAP, 1300, 1300, m, 135168, P_RW, M_PRIVATE | M_ANON);
	CHECK(e.region == TB_REG_ANON, "the mmap row itself cannot know yet");
	e = alloc_lat(c, TB_EV_MALLOC, 1300, 1300, 131072, m + 16, now + 1000 - start);
	CHECK(e.region == TB_REG_MMAP_CHUNK && e.region_base == m, "block in its own mapping");
	CHECK(e.flags == 0, "mmap chunk: no flags");
	e = vm(c, TB_EV_MUNMAP, 1300, 1300, m, 135168, 0, 0);
	CHECK(e.region == TB_REG_MMAP_CHUNK, "munmap of the chunk");
	e = fre(c, 1300, 1300, m + 16);
	CHECK(e.region == TB_REG_MMAP_CHUNK && e.region_base == m, "free: from the block record");
	/* A mapping by another thread during the call is not this call's. */
	start = now;
	vm(c, TB_EV_MMAP, 1300, 1301, m, 135168, P_RW, M_PRIVATE | M_ANON);
	e = alloc_lat(c, TB_EV_MALLOC, 1300, 1300, 131072, m + 16, now + 1000 - start);
	CHECK(e.region == TB_REG_ANON, "other thread's mapping: anon");
	CHECK(proc_of(c, 1300)->chunks == 1 && proc_of(c, 1300)->chunk_largest == 135168,
	      "chunk stats");
	correlator__free(c);
}

/* jemalloc maps a 2 MiB extent in a small malloc and carves many blocks from it: not a chunk. */
static void test_region_carved(void)
{
	struct correlator *c = correlator__new();
	uint64_t m = 0x7f5550000000ULL, start;
	struct tb_event e;

	start_proc(c, 1350);
	start = now;
	vm(c, TB_EV_MMAP, 1350, 1350, m, 2 << 20, P_RW, M_PRIVATE | M_ANON);
	e = alloc_lat(c, TB_EV_MALLOC, 1350, 1350, 64, m + 0x1000, now + 1000 - start);
	CHECK(e.region == TB_REG_ANON, "small block in a large mapping made by the call: anon");
	e = alloc_lat(c, TB_EV_MALLOC, 1350, 1350, 64, m + 0x1040, 500);
	CHECK(e.region == TB_REG_ANON, "the next block carved from it: anon");
	CHECK_EQ_U64(proc_of(c, 1350)->chunks, 0, "no mmap chunk counted");
	CHECK_EQ_U64(thread_of(c, 1350, 1350)->spacing[0].delta, 0x40, "spacing within the extent");
	/* a block far away (another region) is no spacing */
	alloc_lat(c, TB_EV_MALLOC, 1350, 1350, 64, HEAP + 0x2a0, 500);
	alloc_lat(c, TB_EV_MALLOC, 1350, 1350, 64, m + 0x1080, 500);
	for (int i = 0; i < TB_SPACING_SLOTS; i++)
		CHECK(thread_of(c, 1350, 1350)->spacing[i].delta < (64ULL << 20),
		      "slot %d: no jump between regions counted as spacing", i);
	correlator__free(c);
}

/* glibc grows a large block with mremap inside realloc: the moved block is still a chunk. */
static void test_mremap(void)
{
	struct correlator *c = correlator__new();
	uint64_t m = 0x7f1234560000ULL, n = 0x7f1300000000ULL, start;
	struct tb_event e;

	start_proc(c, 1350);
	start = now;
	vm(c, TB_EV_MMAP, 1350, 1350, m, 135168, P_RW, M_PRIVATE | M_ANON);
	alloc_lat(c, TB_EV_MALLOC, 1350, 1350, 131072, m + 16, now + 1000 - start);
	e = ev(TB_EV_MREMAP, 1350, 1350);
	e.old_addr = m;
	e.old_size = 135168;
	e.addr = n;
	e.size = 270336;
	e = run(c, e);
	CHECK(e.region == TB_REG_MMAP_CHUNK && e.region_base == n, "mremap row: the moved chunk");
	e = rea(c, 1350, 1350, m + 16, 262144, n + 16, 0);
	CHECK(e.region == TB_REG_MMAP_CHUNK && e.region_base == n && e.flags == 0,
	      "realloc through mremap: still an mmap chunk");
	e = vm(c, TB_EV_MADVISE, 1350, 1350, m, 0x1000, 0, 4);
	CHECK(e.region == TB_REG_UNKNOWN, "the old range is gone");
	e = ev(TB_EV_MMAP, 1350, 1350);
	e.addr = (uint64_t)-12;
	e.size = 4096;
	e.err = -12;
	e = run(c, e);
	CHECK(e.region == TB_REG_NONE && proc_of(c, 1350)->maps.n == 1, "failed mmap maps nothing");
	correlator__free(c);
}

/* Tombstones are bounded: past the bound they go, and unknown frees stop being invalid. */
static void test_tombstone_bound(void)
{
	struct correlator *c = correlator__new();
	struct tb_process *p;
	struct tb_event e;

	start_proc(c, 1700);
	p = proc_of(c, 1700);
	for (uint64_t i = 0; i < 1700000 && !p->forgot_freed; i++) {
		mal(c, 1700, 1700, 16, 0x10000000ULL + i * 32);
		fre(c, 1700, 1700, 0x10000000ULL + i * 32);
	}
	CHECK(p->forgot_freed, "tombstones dropped once they dominate");
	CHECK(p->blocks.cap <= 1024 && p->blocks.live == 0, "the table shrank back");
	e = fre(c, 1700, 1700, 0x10);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN, "after forgetting, unknown rather than invalid");
	correlator__free(c);
}

static void test_stack(void)
{
	struct correlator *c = correlator__new();
	uint64_t s = 0x7f5500000000ULL;
	struct tb_event e;

	start_proc(c, 1400);
	e = vm(c, TB_EV_MMAP, 1400, 1400, s, 8 * MiB + 4096, P_RW, M_PRIVATE | M_ANON | M_STACK);
	vm(c, TB_EV_MPROTECT, 1400, 1400, s, 4096, 0, 0);
	e = task(c, TB_EV_THREAD, 1400, 1401, 1400, 1400, s + 8 * MiB - 0x100);
	CHECK(e.region == TB_REG_STACK && e.region_base == s + 4096, "thread row: its stack");
	CHECK(proc_of(c, 1400)->maps.v[1].owner == thread_of(c, 1400, 1401)->index,
	      "stack owned by the new thread");
	e = task(c, TB_EV_FORK, 1410, 1410, 1400, 1400, 0);
	CHECK(e.region == TB_REG_NONE, "fork row: no region");
	/* the main thread's stack: the kernel mapped it at exec, no event says where */
	vm(c, TB_EV_MMAP, 1400, 1400, 0x7ffd00000000ULL - 200 * MiB, 4 * MiB, P_RW, M_PRIVATE);
	e = fre(c, 1400, 1400, 0x7ffd00000000ULL);
	CHECK(e.region == TB_REG_STACK && (e.flags & TB_F_INVALID_FREE),
	      "a free near the top of user space, far above every mapping: the main stack");
	e = fre(c, 1400, 1400, 0x7ffd00000000ULL - 190 * MiB);
	CHECK(e.region == TB_REG_UNKNOWN, "just above the highest mapping (ld.so's place): unknown");
	e = fre(c, 1400, 1400, 0x7f0000000000ULL);
	CHECK(e.region == TB_REG_UNKNOWN, "below the mappings, in the mmap area: unknown");
	correlator__free(c);
}

/* ---- report ------------------------------------------------------------------------------ */

static char *capture(const struct correlator *c, const struct tb_run_info *run, int json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (json)
		report__json(c, run, f);
	else
		report__text(c, run, f);
	fclose(f);
	return buf;
}

/* Braces and brackets outside strings balance, and strings close. */
static int json_balanced(const char *s)
{
	int depth = 0, in_str = 0;

	for (; *s; s++) {
		if (in_str) {
			if (*s == '\\')
				s++;
			else if (*s == '"')
				in_str = 0;
			else if ((unsigned char)*s < 0x20)
				return 0;
			continue;
		}
		if (*s == '"')
			in_str = 1;
		else if (*s == '{' || *s == '[')
			depth++;
		else if ((*s == '}' || *s == ']') && --depth < 0)
			return 0;
	}
	return depth == 0 && !in_str;
}

static void report_stream(struct correlator *c)
{
	struct tb_event e;

	start_proc(c, 1500);
	task(c, TB_EV_THREAD, 1500, 1501, 1500, 1500, 0);
	mal(c, 1500, 1500, 100, HEAP + 0x100);
	mal(c, 1500, 1501, 64, HEAP + 0x200);
	mal(c, 1500, 1501, 64, HEAP + 0x240);
	mal(c, 1500, 1501, 64, HEAP + 0x280);
	fre(c, 1500, 1500, HEAP + 0x280);
	task(c, TB_EV_FORK, 1510, 1510, 1500, 1500, 0);
	e = ev(TB_EV_MALLOC, 1510, 1510);
	e.size = 8;
	e.addr = HEAP + 0x300;
	memcpy(e.comm, "a\"b\\c\x01\xff\xc3\xa9", 10);
	run(c, e);
	exit_proc(c, 1510, 139, "killed by SIGSEGV");
	e = ev(TB_EV_LOST, 0, 0);
	e.size = 3;
	run(c, e);
	exit_proc(c, 1500, 0, "");
}

static void test_report(void)
{
	struct correlator *c = correlator__new();
	struct tb_run_info run = { .command = "prog \"x\"", .duration_ns = 1500000000 };
	char *text, *json;

	report_stream(c);
	text = capture(c, &run, 0);
	CHECK(strstr(text, "events lost: 3") != NULL, "text: events lost line");
	CHECK(strstr(text, "1 x 100 B") != NULL, "text: leak of one 100-byte block");
	CHECK(strstr(text, "2 x 64 B") != NULL, "text: leaks grouped by size");
	CHECK(strstr(text, "killed by SIGSEGV (status 139)") != NULL, "text: how the child ended");
	CHECK(strstr(text, "\n    process 1510") != NULL, "text: child indented under parent");
	CHECK(strstr(text, "a\"b\\x5cc\\x01\\xff") != NULL, "text: comm escaped");
	CHECK(strstr(text, "  64  ") != NULL, "text: spacing column shows 64");
	json = capture(c, &run, 1);
	CHECK(json_balanced(json), "json: balanced");
	CHECK(strstr(json, "\"events_lost\":3") != NULL, "json: events_lost");
	CHECK(strstr(json, "\"command\":\"prog \\\"x\\\"\"") != NULL, "json: command escaped");
	CHECK(strstr(json, "\"comm\":\"a\\\"b\\\\c\\u0001\\u00ff\xc3\xa9\"") != NULL,
	      "json: quotes, backslash, control, bad byte escaped; valid UTF-8 kept");
	CHECK(strstr(json, "{\"size\":100,\"count\":1}") != NULL, "json: leak");
	CHECK(strstr(json, "\"parent\":0") != NULL, "json: child points at parent");
	CHECK(strstr(json, "\"spacing\":64") != NULL, "json: spacing");
	free(text);
	free(json);
	correlator__free(c);
	c = correlator__new();
	text = capture(c, NULL, 0);
	CHECK(strstr(text, "events lost: 0") != NULL, "text: events lost printed even when 0");
	free(text);
	json = capture(c, NULL, 1);
	CHECK(json_balanced(json) && strstr(json, "\"processes\":[]"), "json: empty run");
	free(json);
	correlator__free(c);
}

/* ---- fork storm and benchmark ------------------------------------------------------------ */

/* A CLONE_VM child's thread was served by its parent's heap: every report names it so. */
static void test_clone_vm_report(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;
	char *text, *json;

	start_proc(c, 370);
	mal(c, 370, 370, 24, HEAP + 0x400);
	e = ev(TB_EV_FORK, 371, 371);
	e.origin_pid = e.origin_tid = 370;
	e.sysflags = 0x100; /* CLONE_VM without CLONE_THREAD */
	run(c, e);
	mal(c, 371, 371, 555, HEAP + 0x800);
	task(c, TB_EV_EXIT, 371, 371, 0, 0, 0);
	text = capture(c, NULL, 0);
	CHECK(text && strstr(text, " 370:heap\n") && strstr(text, "ran in the memory of process 370"),
	      "text: the child's arena is its parent's heap, and it ran in that memory");
	json = capture(c, NULL, 1);
	CHECK(json && json_balanced(json) && strstr(json, "\"arenas\":[\"370:heap\"]") &&
	      strstr(json, "\"ran_in\":0"), "json: the same, and ran_in names the parent");
	free(text);
	free(json);
	task(c, TB_EV_EXIT, 370, 370, 0, 0, 0);
	CHECK_EQ_U64(c->procs[0]->leak_blocks, 2, "the child's block leaks in the parent's memory");
	correlator__free(c);

	/* A CLONE_VM child outliving its parent: the blocks went with the parent's record. */
	c = correlator__new();
	start_proc(c, 380);
	mal(c, 380, 380, 24, HEAP + 0x400);
	e = ev(TB_EV_FORK, 381, 381);
	e.origin_pid = e.origin_tid = 380;
	e.sysflags = 0x100;
	run(c, e);
	task(c, TB_EV_EXIT, 380, 380, 0, 0, 0);
	e = fre(c, 381, 381, HEAP + 0x400);
	CHECK(e.flags == TB_F_UNKNOWN_ORIGIN,
	      "a shared block freed after its owner's record closed: unknown, not invalid");
	correlator__free(c);
}

/* A child whose new allocator was never probed before it ended: the report says so. */
static void test_never_probed(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;
	char *text, *json;

	start_proc(c, 395);
	task(c, TB_EV_FORK, 396, 396, 395, 395, 0);
	e = task(c, TB_EV_EXEC, 396, 396, 0, 0, 0);
	task(c, TB_EV_EXIT, 396, 396, 0, 0, 0);
	correlator__never_probed(c, 396, e.ts_ns - 1);
	text = capture(c, NULL, 0);
	CHECK(text && !strstr(text, "never watched"), "another exec's time: no effect");
	free(text);
	correlator__never_probed(c, 396, e.ts_ns);
	text = capture(c, NULL, 0);
	CHECK(text && strstr(text, "never watched: it ended before") &&
	      strstr(text, "leaks: not known (never watched)"),
	      "text: a process never watched does not read as one that made no call");
	json = capture(c, NULL, 1);
	CHECK(json && strstr(json, "\"pid\":396") && strstr(json, "\"never_probed\":true"),
	      "json: never_probed");
	free(text);
	free(json);
	correlator__free(c);
}

static void test_fork_storm(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;
	int ok = 1;

	start_proc(c, 2000);
	for (uint64_t i = 0; i < 5000; i++)
		mal(c, 2000, 2000, 32, HEAP + 0x10 + i * 48);
	for (uint32_t i = 0; i < 500; i++) {
		task(c, TB_EV_FORK, 3000 + i, 3000 + i, 2000, 2000, 0);
		e = fre(c, 3000 + i, 3000 + i, HEAP + 0x10 + i * 48);
		ok &= e.flags == TB_F_INHERITED;
		exit_proc(c, 3000 + i, 0, "");
	}
	/* how fast is bench/'s business: no clock in a test */
	CHECK(ok, "500 forked children each free an inherited block");
	CHECK_EQ_U64(proc_of(c, 3499)->inherited_leak_blocks, 4999, "child's unfreed inherited");
	correlator__free(c);
}

/* xorshift: the benchmark must not time libc's rand. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define BENCH_THREADS 4
#define BENCH_LIVE 4096
#define BENCH_BATCH 4096

/* Each thread keeps up to BENCH_LIVE blocks; freed addresses go to a LIFO, like tcache. */
struct bench_thread {
	uint64_t live[BENCH_LIVE];
	uint32_t nlive;
	uint64_t freelist[BENCH_LIVE];
	uint32_t nfree;
	uint64_t bump;
};

static void bench_event(struct bench_thread *bt, uint64_t *seed, struct tb_event *e)
{
	uint64_t r = rnd(seed);
	uint32_t t = r % BENCH_THREADS;
	struct bench_thread *me = &bt[t];
	int do_free = me->nlive && (me->nlive == BENCH_LIVE || (r >> 8) % 100 < 48);

	memset(e, 0, offsetof(struct tb_event, comm));
	e->pid = 5000;
	e->tid = 5000 + t;
	e->ts_ns = now += 50;
	if (do_free) {
		/* One free in twenty is of a block another thread allocated. */
		struct bench_thread *owner = (r >> 20) % 20 ? me : &bt[(t + 1) % BENCH_THREADS];
		uint32_t i = owner->nlive ? (r >> 32) % owner->nlive : 0;

		if (!owner->nlive)
			owner = me;
		e->type = TB_EV_FREE;
		e->addr = owner->live[i];
		owner->live[i] = owner->live[--owner->nlive];
		if (me->nfree < BENCH_LIVE)
			me->freelist[me->nfree++] = e->addr;
		return;
	}
	e->type = TB_EV_MALLOC;
	e->size = 16 + ((r >> 40) % 16) * 16;
	e->latency_ns = 40;
	e->addr = me->nfree ? me->freelist[--me->nfree] : (me->bump += 64);
	me->live[me->nlive++] = e->addr;
}

static void bench_setup(struct correlator *c, struct bench_thread *bt)
{
	start_proc(c, 5000);
	brk_to(c, 5000, HEAP + 0x21000, HEAP + 0x4000000);
	bt[0].bump = HEAP;
	for (uint32_t t = 1; t < BENCH_THREADS; t++) {
		uint64_t base = 0x7f0000000000ULL + t * 64 * MiB, start;

		task(c, TB_EV_THREAD, 5000, 5000 + t, 5000, 5000, 0);
		start = now;
		make_arena(c, 5000, 5000 + t, base);
		vm(c, TB_EV_MPROTECT, 5000, 5000 + t, base, 64 * MiB, P_RW, 0);
		alloc_lat(c, TB_EV_MALLOC, 5000, 5000 + t, 16, base + 0x8b0, now + 1000 - start);
		bt[t].bump = base + 0x1000;
	}
}

static int bench(uint64_t n)
{
	struct bench_thread *bt = calloc(BENCH_THREADS, sizeof(*bt));
	struct tb_event *batch = calloc(BENCH_BATCH, sizeof(*batch));
	struct correlator *c = correlator__new();
	struct timespec t0, t1;
	uint64_t seed = 88172645463325252ULL, done = 0;
	double secs = 0;

	if (!bt || !batch || !c)
		return 1;
	bench_setup(c, bt);
	while (done < n) {
		uint64_t k = n - done < BENCH_BATCH ? n - done : BENCH_BATCH;

		for (uint64_t i = 0; i < k; i++)
			bench_event(bt, &seed, &batch[i]);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (uint64_t i = 0; i < k; i++)
			correlator__process(c, &batch[i]);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs += (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		done += k;
	}
	printf("correlator: %" PRIu64 " events in %.3f s = %.2f Mev/s\n", n, secs, n / secs / 1e6);
	correlator__free(c);
	free(batch);
	free(bt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--bench") == 0)
		return bench(strtoull(argv[2], NULL, 0));
	test_heap_same_thread();
	test_cross_thread();
	test_double_and_invalid();
	test_mismatched_free();
	test_internal_free();
	test_vfork_shares_memory();
	test_sample_claims();
	test_reuse();
	test_realloc();
	test_fork();
	test_exec_clears();
	test_pid_tid_reuse();
	test_interleaved_threads();
	test_lazy_and_lost();
	test_loss_wrap();
	test_time_windows();
	test_seeded();
	test_munmap_split_and_brk();
	test_arena();
	test_arena_made_in_free();
	test_mmap_chunk();
	test_region_carved();
	test_mremap();
	test_tombstone_bound();
	test_stack();
	test_report();
	test_clone_vm_report();
	test_never_probed();
	test_fork_storm();
	printf("%d passed, %d failed\n", check_n - check_failed, check_failed);
	return check_done();
}
