// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_report.c: the report on synthetic streams: --top cuts, libc-kept blocks, images, names. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "correlate.h"
#include "env.h"
#include "report.h"
#include "model.h"

#define HEAP 0x555555559000ULL	/* initial program break in every test process */

static uint64_t now = 1000000;

/* ---- building events (the truth each check counts from) ---------------------------------- */

static struct tb_event ev(enum tb_event_type type, uint32_t pid, uint32_t tid)
{
	struct tb_event e = { .type = type, .pid = pid, .tid = tid, .fd = -1 };

	now += 1000;
	e.ts_ns = now;
	snprintf(e.comm, sizeof(e.comm), "t%u", tid);
	return e;
}

static void run(struct correlator *c, struct tb_event e)
{
	correlator__process(c, &e);
}

static void alloc_flags(struct correlator *c, uint32_t pid, uint32_t tid, uint64_t size,
			uint64_t addr, uint32_t flags)
{
	struct tb_event e = ev(TB_EV_MALLOC, pid, tid);

	e.size = size;
	e.addr = addr;
	e.latency_ns = 500;
	e.flags = flags;
	run(c, e);
}

/* A row carries the name its thread has then, as the decoder gives it. */
static void mal_as(struct correlator *c, uint32_t pid, const char *comm, uint64_t size,
		   uint64_t addr)
{
	struct tb_event e = ev(TB_EV_MALLOC, pid, pid);

	snprintf(e.comm, sizeof(e.comm), "%s", comm);
	e.size = size;
	e.addr = addr;
	run(c, e);
}

static void mal(struct correlator *c, uint32_t pid, uint32_t tid, uint64_t size, uint64_t addr)
{
	alloc_flags(c, pid, tid, size, addr, 0);
}

static void fre(struct correlator *c, uint32_t pid, uint32_t tid, uint64_t addr)
{
	struct tb_event e = ev(TB_EV_FREE, pid, tid);

	e.addr = addr;
	run(c, e);
}

static void task(struct correlator *c, enum tb_event_type type, uint32_t pid, uint32_t tid,
		 uint32_t opid, uint32_t otid)
{
	struct tb_event e = ev(type, pid, tid);

	e.origin_pid = opid;
	e.origin_tid = otid;
	run(c, e);
}

/* An exec of path as comm, with its arguments (NULL: the BPF side did not give them). */
static void exec_as(struct correlator *c, uint32_t pid, const char *path, const char *comm,
		    const char *args)
{
	struct tb_event e = ev(TB_EV_EXEC, pid, pid);

	snprintf(e.detail, sizeof(e.detail), "%s", path);
	snprintf(e.comm, sizeof(e.comm), "%s", comm);
	e.args = args;
	run(c, e);
}

static void named(struct correlator *c, enum tb_event_type type, uint32_t pid, uint32_t tid,
		  const char *comm)
{
	struct tb_event e = ev(type, pid, tid);

	snprintf(e.comm, sizeof(e.comm), "%s", comm);
	if (type == TB_EV_EXIT)
		e.size = 0;
	run(c, e);
}

static void start_proc(struct correlator *c, uint32_t pid)
{
	struct tb_event e;

	exec_as(c, pid, "/usr/bin/prog", "prog", NULL);
	e = ev(TB_EV_BRK, pid, pid);
	e.old_addr = e.addr = HEAP;
	run(c, e);
	e = ev(TB_EV_BRK, pid, pid);
	e.old_addr = HEAP;
	e.addr = HEAP + (64ULL << 20);
	run(c, e);
}

static void exit_proc(struct correlator *c, uint32_t pid)
{
	struct tb_event e = ev(TB_EV_EXIT, pid, pid);

	run(c, e);
}

static struct tb_process *proc_of(struct correlator *c, uint32_t pid)
{
	for (uint32_t i = c->nprocs; i-- > 0;)
		if (c->procs[i]->pid == pid)
			return c->procs[i];
	return NULL;
}

static char *capture(const struct correlator *c, unsigned top, int fmt)
{
	struct tb_run_info run = { .command = "prog", .top = top };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (fmt == 1)
		report__json(c, &run, f);
	else if (fmt == 2)
		report__markdown(c, &run, f);
	else
		report__text(c, &run, f);
	fclose(f);
	return buf;
}

static unsigned count_of(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ---- libc's own blocks are not the program's leaks --------------------------------------- */

static void test_libc_kept(void)
{
	struct correlator *c = correlator__new();
	struct tb_process *p;
	char *text, *json, *md;

	start_proc(c, 100);
	task(c, TB_EV_THREAD, 100, 101, 100, 100);
	/* what glibc does for a thread and for stdio: the DTV by ld.so, the stdout buffer */
	alloc_flags(c, 100, 100, 272, HEAP + 0x100, TB_F_LIBC);
	alloc_flags(c, 100, 101, 4096, HEAP + 0x1000, TB_F_LIBC);
	/* the program's own three leaks, and a block it frees */
	mal(c, 100, 101, 40, HEAP + 0x3000);
	mal(c, 100, 101, 40, HEAP + 0x3100);
	mal(c, 100, 100, 500, HEAP + 0x3200);
	mal(c, 100, 100, 64, HEAP + 0x4000);
	fre(c, 100, 100, HEAP + 0x4000);
	exit_proc(c, 100);
	p = proc_of(c, 100);
	CHECK_EQ_U64(p->leak_blocks, 3, "the program's leaks are its own 3 blocks");
	CHECK_EQ_U64(p->leak_bytes, 580, "the program's leaked bytes: 40 + 40 + 500");
	CHECK_EQ_U64(p->libc_leak_blocks, 2, "the C library kept 2 blocks");
	CHECK_EQ_U64(p->libc_leak_bytes, 4368, "the C library kept 272 + 4096 B");
	text = capture(c, TB_TOP_DEFAULT, 0);
	CHECK(strstr(text, "leaks: 1 x 500 B, 2 x 40 B (580 B in 3 blocks)") != NULL,
	      "text: leaks are the program's, most bytes first");
	CHECK(strstr(text, "kept by the C library (not leaks of the program): 1 x 4096 B, "
			   "1 x 272 B (4368 B in 2 blocks)") != NULL,
	      "text: the C library's blocks on a line of their own");
	CHECK(strstr(text, "leaks 3 blocks (580 B)") != NULL, "text: totals count only the program's");
	json = capture(c, 0, 1);
	CHECK(strstr(json, "\"leaked_blocks\":3,\"leaked_bytes\":580") != NULL,
	      "json: leaked_blocks and bytes are the program's");
	CHECK(strstr(json, "\"libc_kept\":[{\"size\":4096,\"count\":1},{\"size\":272,\"count\":1}],"
			   "\"libc_kept_blocks\":2,\"libc_kept_bytes\":4368") != NULL,
	      "json: libc_kept is a field of its own");
	md = capture(c, TB_TOP_DEFAULT, 2);
	CHECK(strstr(md, "left 3 blocks (580 B) unfreed: 1 x 500 B, 2 x 40 B; the C library kept 2 "
			 "blocks (4368 B) of its own") != NULL,
	      "markdown: the program's leaks, then the C library's apart");
	free(text);
	free(json);
	free(md);
	correlator__free(c);
	CHECK_STR(tb_flag_name(10), "libc", "flag bit 10 is written 'libc'");
	CHECK_EQ_U64(TB_F_LIBC, 1u << 10, "TB_F_LIBC is bit 10");
	CHECK(TB_F_NBITS > 10, "the libc flag is within TB_F_NBITS");
}

/* ---- --top -------------------------------------------------------------------------------- */

/* "and N more WHAT: A allocations, F frees, B B requested" after `from`; 0 when absent. */
static int more_line(const char *s, const char *what, uint64_t *n, uint64_t *a, uint64_t *f,
		     uint64_t *b)
{
	char fmt[128];
	const char *p = strstr(s, "and ");

	snprintf(fmt, sizeof(fmt), "and %%" SCNu64 " more %s: %%" SCNu64 " allocations, %%"
		 SCNu64 " frees, %%" SCNu64 " B requested", what);
	for (; p; p = strstr(p + 1, "and "))
		if (sscanf(p, fmt, n, a, f, b) == 4)
			return 1;
	return 0;
}

/* 1 main thread and 30 more; thread i (from 1) allocates i blocks of 16*i B and frees one. */
static void many_threads(struct correlator *c, uint32_t pid)
{
	start_proc(c, pid);
	mal(c, pid, pid, 8, HEAP + 0x10);
	for (uint32_t i = 1; i <= 30; i++) {
		task(c, TB_EV_THREAD, pid, pid + i, pid, pid);
		for (uint32_t k = 0; k < i; k++)
			mal(c, pid, pid + i, 16 * i, HEAP + 0x100000 * i + 0x1000 * k);
		fre(c, pid, pid + i, HEAP + 0x100000 * i);
	}
}

static void test_top_threads(void)
{
	struct correlator *c = correlator__new();
	uint64_t n = 0, a = 0, f = 0, b = 0, want_a = 0, want_b = 0;
	char *text;

	many_threads(c, 200);
	/* the 5 with most bytes are threads 26..30; the rest is the main thread and 1..25 */
	want_a = 1;
	want_b = 8;
	for (uint32_t i = 1; i <= 25; i++) {
		want_a += i;
		want_b += (uint64_t)i * 16 * i;
	}
	text = capture(c, 5, 0);
	CHECK(more_line(text, "threads", &n, &a, &f, &b), "top 5: an 'and N more threads' line");
	CHECK_EQ_U64(n, 26, "top 5 of 31 threads: 26 more");
	CHECK_EQ_U64(a, want_a, "the more line sums the hidden threads' allocations");
	CHECK_EQ_U64(f, 25, "the more line sums their frees");
	CHECK_EQ_U64(b, want_b, "the more line sums their bytes");
	CHECK(strstr(text, "\n  T30 ") && strstr(text, "\n  T26 ") && !strstr(text, "\n  T25 ") &&
	      !strstr(text, "\n  T0 "), "the threads shown are the 5 with most bytes");
	free(text);
	text = capture(c, 0, 0);
	CHECK(!strstr(text, " more thread"), "--top 0: no cut");
	CHECK(strstr(text, "\n  T0 ") && strstr(text, "\n  T30 ") && strstr(text, "\n  T15 "),
	      "--top 0: every thread shown");
	free(text);
	text = capture(c, 31, 0);
	CHECK(!strstr(text, " more thread"), "--top as large as the list: no cut");
	free(text);
	correlator__free(c);
}

/* A parent forks 40 children; child k allocates k+1 blocks of 100 B; 5 of them fork again. */
static void test_top_processes(void)
{
	struct correlator *c = correlator__new();
	uint64_t n = 0, a = 0, f = 0, b = 0, want_a = 0, want_n = 0;
	uint32_t shown = 0;
	char *text, *json;

	start_proc(c, 1000);
	mal(c, 1000, 1000, 8, HEAP + 0x10);
	for (uint32_t k = 0; k < 40; k++) {
		uint32_t pid = 2000 + k;

		task(c, TB_EV_FORK, pid, pid, 1000, 1000);
		for (uint32_t i = 0; i <= k; i++)
			mal(c, pid, pid, 100, HEAP + 0x1000 + 0x100 * i);
		if (k < 5) {
			task(c, TB_EV_FORK, 3000 + k, 3000 + k, pid, pid);
			exit_proc(c, 3000 + k);
		}
		exit_proc(c, pid);
	}
	exit_proc(c, 1000);
	/* shown: the 10 with most bytes, children 30..39, and their parent */
	for (uint32_t k = 0; k < 30; k++) {
		want_a += k + 1;
		want_n += 1 + (k < 5);
	}
	text = capture(c, 10, 0);
	shown = count_of(text, "process 20") + count_of(text, "process 1000") +
		count_of(text, "process 30");
	CHECK_EQ_U64(shown, 11, "top 10: the 10 children with most bytes and their parent");
	CHECK(more_line(text, "descendant processes (not shown)", &n, &a, &f, &b),
	      "an 'and N more descendant processes' line under the parent");
	CHECK_EQ_U64(n, want_n, "shown plus more is every process (30 children, 5 grandchildren)");
	CHECK_EQ_U64(n + shown, c->nprocs, "they add up to the processes in the run");
	CHECK_EQ_U64(a, want_a, "the line sums the hidden processes' allocations");
	CHECK_EQ_U64(b, want_a * 100, "and their bytes");
	free(text);
	json = capture(c, 10, 1);
	CHECK_EQ_U64(count_of(json, "{\"id\":"), 46, "json: every process, whatever --top says");
	free(json);
	text = capture(c, 0, 0);
	CHECK_EQ_U64(count_of(text, "process 20"), 40, "--top 0: every child shown");
	free(text);
	correlator__free(c);
}

/* 50 sizes leaked: size 8*(i+1), i+1 blocks each; the cut keeps the 20 with most bytes. */
static void test_top_leaks(void)
{
	struct correlator *c = correlator__new();
	uint64_t addr = HEAP + 0x10, more_blocks = 0, more_bytes = 0, n, b, k;
	char *text, want[128];

	start_proc(c, 300);
	for (uint32_t i = 0; i < 50; i++)
		for (uint32_t j = 0; j <= i; j++, addr += 0x1000)
			mal(c, 300, 300, 8 * (i + 1), addr);
	exit_proc(c, 300);
	for (uint32_t i = 0; i < 30; i++) {
		more_blocks += i + 1;
		more_bytes += (uint64_t)(i + 1) * 8 * (i + 1);
	}
	text = capture(c, 20, 0);
	snprintf(want, sizeof(want), "leaks: 50 x 400 B, 49 x 392 B, ");
	CHECK(strstr(text, want) != NULL, "leaks start with the most bytes: %s", want);
	const char *p = strstr(text, ", and ");

	CHECK(p && sscanf(p, ", and %" SCNu64 " more sizes (%" SCNu64 " B in %" SCNu64 " blocks)",
			  &n, &b, &k) == 3, "an 'and N more sizes' note");
	CHECK(p && n == 30 && b == more_bytes && k == more_blocks,
	      "30 more sizes, %" PRIu64 " B in %" PRIu64 " blocks", more_bytes, more_blocks);
	CHECK(strstr(text, "21 x 168 B") == NULL, "the 21st size is cut");
	free(text);
	text = capture(c, 0, 0);
	CHECK(strstr(text, "1 x 8 B (") != NULL && !strstr(text, "more sizes"),
	      "--top 0: every size, the smallest last");
	free(text);
	correlator__free(c);
}

/* 30 threads share the brk heap: its users column is cut too. */
static void test_top_arena_users(void)
{
	struct correlator *c = correlator__new();
	uint64_t more = 0;
	char *text, want[64];

	start_proc(c, 400);
	for (uint32_t i = 1; i <= 30; i++) {
		task(c, TB_EV_THREAD, 400, 400 + i, 400, 400);
		for (uint32_t k = 0; k < i; k++)
			mal(c, 400, 400 + i, 32, HEAP + 0x10000 * i + 0x40 * k);
	}
	for (uint32_t i = 1; i <= 27; i++)
		more += i;
	text = capture(c, 3, 0);
	snprintf(want, sizeof(want), "  T28:28 T29:29 T30:30 +27 more threads:%" PRIu64 "\n", more);
	CHECK(strstr(text, want) != NULL, "arena users: the 3 with most bytes, then '%s'", want);
	free(text);
	correlator__free(c);
}

/* ---- images ------------------------------------------------------------------------------- */

static void test_images(void)
{
	struct correlator *c = correlator__new();
	struct tb_process *p;
	char *text, *json, *md;

	/* sh -c 'exec prog a b' forked by the launcher: sh runs, then execs prog */
	exec_as(c, 500, "/bin/sh", "sh", "sh -c exec prog a b");
	for (int i = 0; i < 3; i++)
		mal_as(c, 500, "sh", 10, HEAP + 0x10 + 0x100 * i);
	named(c, TB_EV_COMM, 500, 500, "prog");	/* the exec renames before it is seen */
	exec_as(c, 500, "/usr/bin/prog", "prog", "prog a b");
	for (int i = 0; i < 5; i++)
		mal(c, 500, 500, 20, HEAP + 0x10 + 0x100 * i);
	fre(c, 500, 500, HEAP + 0x10);
	/* a child of prog that runs git with its own arguments */
	task(c, TB_EV_FORK, 501, 501, 500, 500);
	exec_as(c, 501, "/usr/bin/git", "git", "git gc --auto");
	mal(c, 501, 501, 7, HEAP + 0x10);
	exit_proc(c, 501);
	exit_proc(c, 500);
	p = proc_of(c, 500);
	CHECK_EQ_U64(p->nimages, 2, "sh then prog: two images of one process");
	CHECK_STR(p->images[0].args, "sh -c exec prog a b", "image 1 keeps its arguments");
	CHECK_STR(p->images[1].args, "prog a b", "image 2 keeps its arguments");
	text = capture(c, TB_TOP_DEFAULT, 0);
	CHECK(strstr(text, "image 1 of 2, exec /bin/sh [sh -c exec prog a b]: sh, 3 allocations, "
			   "0 frees, 30 B requested") != NULL, "text: sh's image with its own counts");
	CHECK(strstr(text, "image 2 of 2, exec /usr/bin/prog [prog a b]: prog, 5 allocations, "
			   "1 frees, 100 B requested") != NULL, "text: prog's image with its own counts");
	CHECK(strstr(text, "  T0      500    sh       3 ") != NULL,
	      "text: sh's thread keeps the name sh though the exec renamed it");
	CHECK(!strstr(text, "heap,heap"), "text: no thread row merges two images' heaps");
	CHECK(strstr(text, ", 2 processes, 2 threads\n") != NULL,
	      "text: a thread that exec'd is one thread, though each image lists it");
	CHECK(strstr(text, "image 2 of 2, exec /usr/bin/git [git gc --auto]: git, 1 allocations")
	      != NULL, "text: the child's git with its arguments");
	CHECK(strstr(text, "image 1 of 2, forked /usr/bin/prog [prog a b]: t501, 0 allocations")
	      != NULL, "text: the child's image before its exec is its parent's program");
	json = capture(c, 0, 1);
	CHECK(strstr(json, "\"images\":[{\"how\":\"exec\",\"exe\":\"/bin/sh\",\"args\":\"sh -c exec "
			   "prog a b\",\"comm\":\"sh\"") != NULL, "json: images with how, exe, args");
	CHECK(strstr(json, "\"args\":\"git gc --auto\"") != NULL, "json: the child's arguments");
	CHECK_EQ_U64(count_of(json, "\"image\":1"), 2, "json: threads name their image (one each)");
	md = capture(c, 0, 2);
	CHECK(strstr(md, "Process 500 ran 2 programs in turn: `sh -c exec prog a b` (exec, 3 "
			 "allocations, 0 frees); `prog a b` (exec, 5 allocations, 1 free)") != NULL,
	      "markdown: each program with its arguments and counts");
	free(text);
	free(json);
	free(md);
	correlator__free(c);
}

/* Arguments unknown (no BPF support yet, or an old CSV): no brackets, nothing invented. */
static void test_images_without_args(void)
{
	struct correlator *c = correlator__new();
	char *text;

	exec_as(c, 600, "/usr/bin/prog", "prog", NULL);
	mal(c, 600, 600, 10, HEAP + 0x10);
	exit_proc(c, 600);
	text = capture(c, TB_TOP_DEFAULT, 0);
	CHECK(!strstr(text, "image 1 of 1"), "one image, no arguments: no image line");
	CHECK_EQ_U64(proc_of(c, 600)->nimages, 1, "a process first seen at its exec: one image");
	free(text);
	correlator__free(c);
}

/* ---- thread names ------------------------------------------------------------------------- */

static void test_names(void)
{
	struct correlator *c = correlator__new();
	struct tb_event e;

	start_proc(c, 700);
	task(c, TB_EV_THREAD, 700, 701, 700, 700);	/* named t701 by its creation */
	task(c, TB_EV_THREAD, 700, 702, 700, 700);
	mal(c, 700, 701, 10, HEAP + 0x10);
	named(c, TB_EV_COMM, 700, 701, "bio_lazy_free");	/* renamed, then only waits */
	named(c, TB_EV_COMM, 700, 702, "worker");
	e = ev(TB_EV_MALLOC, 700, 702);	/* rows after a rename carry the name */
	snprintf(e.comm, sizeof(e.comm), "worker");
	e.size = 10;
	e.addr = HEAP + 0x100;
	run(c, e);
	CHECK_EQ_U64(c->events, 7, "renames are not counted as events (no CSV row)");
	exit_proc(c, 700);
	CHECK_STR(c->threads[proc_of(c, 700)->threads[1]]->comm, "bio_lazy_free",
		  "a thread renamed after its last call is named as it was at the end");
	CHECK_STR(c->threads[proc_of(c, 700)->threads[2]]->comm, "worker", "the other rename");
	correlator__free(c);
	/* -p: threads running before tlsbpf have names of their own */
	c = correlator__new();
	uint32_t tids[] = { 800, 801 };

	correlator__seed_process(c, 800, "redis-server", NULL, tids, 2, now);
	correlator__thread_comm(c, 800, 801, "bio_close_file");
	CHECK_STR(c->threads[proc_of(c, 800)->threads[1]]->comm, "bio_close_file",
		  "-p: a seeded thread takes its own name");
	CHECK_STR(c->threads[proc_of(c, 800)->threads[0]]->comm, "redis-server",
		  "-p: the main thread keeps the process name");
	correlator__free(c);
}

/* ---- --top on the command line ------------------------------------------------------------ */

static void test_top_option(void)
{
	struct env env;
	char *a0[] = { "tlsbpf", "--", "prog", NULL };
	char *a1[] = { "tlsbpf", "--top", "0", "--", "prog", NULL };
	char *a2[] = { "tlsbpf", "--top", "7", "--", "prog", NULL };
	char *a3[] = { "tlsbpf", "--top", "-1", "--", "prog", NULL };
	char *a4[] = { "tlsbpf", "analyze", "--top", "3", "x.csv", NULL };

	CHECK(env__parse(&env, 3, a0) == 0 && env.top == TB_TOP_DEFAULT, "--top defaults to 20");
	CHECK(env__parse(&env, 5, a1) == 0 && env.top == 0, "--top 0: all");
	CHECK(env__parse(&env, 5, a2) == 0 && env.top == 7, "--top 7");
	CHECK(env__parse(&env, 5, a3) < 0, "--top -1 is refused");
	CHECK(env__parse(&env, 5, a4) == 0 && env.top == 3 && env.analyze, "analyze --top 3");
}

int main(void)
{
	test_libc_kept();
	test_top_threads();
	test_top_processes();
	test_top_leaks();
	test_top_arena_users();
	test_images();
	test_images_without_args();
	test_names();
	test_top_option();
	printf("%d passed, %d failed\n", check_n - check_failed, check_failed);
	return check_done();
}
