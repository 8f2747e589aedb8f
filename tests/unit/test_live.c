// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_live.c: the live view's escaping, buffering, and the line each event type makes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "live.h"

#define TS_BASE 1000000000000ULL

static char tmpdir[] = "/tmp/tlsbpf-test-live.XXXXXX";
static char path[4096];

static char *slurp(const char *file)
{
	FILE *f = fopen(file, "rb");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (fread(buf, 1, n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static void check_escape(const char *in, const char *want, const char *what)
{
	char out[256];
	size_t n = live_escape(out, sizeof(out), in);

	CHECK(strcmp(out, want) == 0 && n == strlen(want), "escape %s: '%s'", what, out);
}

static void test_escape(void)
{
	char out[256], name[TB_COMM_LEN * 4 + 1], longer[300];
	size_t n;

	check_escape("\x1b[2J", "\\x1b[2J", "ESC [ 2 J");
	check_escape("evil\nforged line", "evil\\x0aforged line", "newline");
	check_escape("cr\rtab\t", "cr\\x0dtab\\x09", "CR and tab");
	check_escape("\xff\xfe\xc3\x28", "\\xff\\xfe\\xc3(", "non-UTF-8");
	check_escape("caf\xc3\xa9", "caf\\xc3\\xa9", "UTF-8 is escaped too");
	check_escape("a\\x1b", "a\\\\x1b", "a backslash cannot forge an escape");
	check_escape("\x7f~ ", "\\x7f~ ", "DEL, tilde, space");
	check_escape("", "", "empty");

	n = live_escape(out, 6, "ab\x1b");	/* room for "ab" and NUL, not for "\x1b" */
	CHECK(n == 2 && strcmp(out, "ab") == 0, "escape never cut in half: '%s'", out);
	n = live_escape(out, 1, "abc");
	CHECK(n == 0 && out[0] == '\0', "escape with room for NUL only");
	CHECK(live_escape(NULL, 0, "abc") == 0, "escape with no room");

	memset(longer, '\x9b', sizeof(longer) - 1);	/* 0x9b is CSI for 8-bit terminals */
	longer[sizeof(longer) - 1] = '\0';
	n = live_escape(name, sizeof(name), longer);
	CHECK(n == sizeof(name) - 1 && strchr(name, '\x9b') == NULL,
	      "long hostile name fits its buffer: %zu bytes", n);
}

static struct tb_event ev(enum tb_event_type type)
{
	struct tb_event e;

	memset(&e, 0, sizeof(e));
	e.seq = 1;
	e.ts_ns = TS_BASE + 12345678;
	e.pid = 1234;
	e.tid = 1240;
	e.fd = -1;
	e.type = type;
	strcpy(e.comm, "comm-name");
	return e;
}

/* The one line the live view prints for e, after its column header. */
static char *line_of(const struct tb_event *e)
{
	struct live_writer *w = live_writer__open(path, NULL, TS_BASE);
	char *text, *line;

	live_writer__write(w, e);
	live_writer__close(w);
	text = slurp(path);
	line = strdup(strchr(text, '\n') ? strchr(text, '\n') + 1 : "");
	free(text);
	return line;
}

/* The line holds every piece, in order, and is one line. */
static void check_line(const struct tb_event *e, const char *const *pieces, const char *what)
{
	char *line = line_of(e), *at = line;
	int ok = strchr(line, '\n') == line + strlen(line) - 1;

	for (; *pieces && ok; pieces++) {
		at = strstr(at, *pieces);
		ok = at != NULL;
		if (!ok)
			printf("# missing '%s'\n", *pieces);
		else
			at += strlen(*pieces);
	}
	line[strcspn(line, "\n")] = '\0';
	CHECK(ok, "%s: %s", what, line);
	free(line);
}

#define PIECES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_alloc_lines(void)
{
	struct tb_event e = ev(TB_EV_MALLOC);

	e.size = 123;
	e.addr = 0x5581c3a2b2a0;
	e.latency_ns = 1234;
	e.region = TB_REG_HEAP;
	e.region_base = 0x5581c3a00000;
	check_line(&e, PIECES("  0.012345    1234/1240    comm-name        malloc        ",
			      " 123 0x5581c3a2b2a0 1.2us heap@0x5581c3a00000"), "malloc");

	e = ev(TB_EV_REALLOC);
	e.size = 4096;
	e.old_addr = 0x5581c3a2b2a0;
	e.addr = 0x7f5ec0000b60;
	e.latency_ns = 15300000;
	e.region = TB_REG_ARENA;
	e.region_base = 0x7f5ec0000000;
	e.flags = TB_F_CROSS_THREAD | TB_F_INHERITED;
	e.origin_pid = 1234;
	e.origin_tid = 1236;
	check_line(&e, PIECES("realloc", " 4096 0x5581c3a2b2a0 -> 0x7f5ec0000b60 15.3ms",
			      " arena@0x7f5ec0000000 [cross_thread|inherited] from 1234/1236"),
		   "realloc");

	e = ev(TB_EV_MALLOC);
	e.size = 1ULL << 50;
	e.latency_ns = 850;
	e.flags = TB_F_FAILED;
	check_line(&e, PIECES(" 1125899906842624 NULL 850ns [failed]"), "failed malloc");

	e = ev(TB_EV_POSIX_MEMALIGN);
	e.size = 64;
	e.align = 4096;
	e.addr = 0x1000;
	e.latency_ns = 2500000000ULL;
	check_line(&e, PIECES("posix_memalign", " 64 0x1000 align 4096 2.5s"), "posix_memalign");

	e = ev(TB_EV_FREE);
	e.addr = 0x5581c3a2b2a0;
	e.region = TB_REG_UNKNOWN;
	e.flags = TB_F_DOUBLE_FREE;
	e.origin_pid = 1234;
	e.origin_tid = 1234;
	check_line(&e, PIECES("free", "            0x5581c3a2b2a0",
			      " unknown [double_free] from 1234/1234"), "free");
}

static void test_vm_lines(void)
{
	struct tb_event e = ev(TB_EV_MMAP);

	e.size = 135168;
	e.addr = 0x7f5ec2e00000;
	e.prot = 3;
	e.sysflags = 0x22;
	check_line(&e, PIECES("mmap", " 135168 0x7f5ec2e00000 rw- private|anon"), "anonymous mmap");
	e.prot = 5;
	e.sysflags = 0x812;
	e.fd = 3;
	e.old_size = 8192;
	strcpy(e.detail, "/usr/lib/libc.so.6");
	check_line(&e, PIECES(" r-x private|fixed|0x800 fd 3 off 8192 /usr/lib/libc.so.6"),
		   "file mmap");
	e.err = -12;
	check_line(&e, PIECES(" error -12 (Cannot allocate memory)"), "failed mmap");

	e = ev(TB_EV_MREMAP);
	e.size = 8192;
	e.old_size = 4096;
	e.old_addr = 0x7f0000001000;
	e.addr = 0x7f0000100000;
	e.sysflags = 1;
	check_line(&e, PIECES(" 8192 0x7f0000001000 -> 0x7f0000100000 was 4096 maymove"), "mremap");

	e = ev(TB_EV_MPROTECT);
	e.size = 4096;
	e.addr = 0x7f0000001000;
	check_line(&e, PIECES(" 4096 0x7f0000001000 ---"), "mprotect");

	e = ev(TB_EV_MADVISE);
	e.size = 4096;
	e.addr = 0x7f0000001000;
	e.sysflags = 4;
	check_line(&e, PIECES(" 4096 0x7f0000001000 dontneed"), "madvise");
	e.sysflags = 999;
	check_line(&e, PIECES(" advice 999"), "madvise, unknown advice");

	e = ev(TB_EV_MUNMAP);
	e.size = 4096;
	e.addr = 0x7f0000001000;
	check_line(&e, PIECES("munmap", " 4096 0x7f0000001000"), "munmap");

	e = ev(TB_EV_BRK);
	e.old_addr = 0x555555558000;
	e.addr = 0x555555579000;
	check_line(&e, PIECES("brk", " 0x555555558000 -> 0x555555579000"), "brk");
}

static void test_task_lines(void)
{
	struct tb_event e = ev(TB_EV_FORK);

	e.pid = e.tid = 1250;
	e.origin_pid = 1234;
	e.origin_tid = 1240;
	check_line(&e, PIECES("1250/1250", "fork", " child 1250 of 1234/1240"), "fork");
	e.sysflags = 0x4000 | 0x100;
	check_line(&e, PIECES(" child 1250 of 1234/1240 (vfork)"), "vfork");

	e = ev(TB_EV_THREAD);
	e.tid = 1241;
	e.origin_pid = 1234;
	e.origin_tid = 1240;
	e.addr = 0x7f5ec2dfe910;
	check_line(&e, PIECES("thread", " new thread 1241 by 1240 stack 0x7f5ec2dfe910"), "thread");

	e = ev(TB_EV_EXEC);
	strcpy(e.detail, "/usr/bin/evil\x1b]0;owned\x07");
	check_line(&e, PIECES("exec", " /usr/bin/evil\\x1b]0;owned\\x07"), "exec");

	e = ev(TB_EV_EXIT);
	e.size = 3;
	check_line(&e, PIECES("exit", " status 3"), "exit status");
	e.size = 139;
	check_line(&e, PIECES(" killed by SIGSEGV (139)"), "exit by signal");
	strcpy(e.detail, "core dumped");
	check_line(&e, PIECES(" core dumped (139)"), "exit with words from the decoder");

	e = ev(TB_EV_EXIT_THREAD);
	check_line(&e, PIECES("comm-name        exit_thread\n"), "exit_thread, no trailing blanks");

	e = ev(TB_EV_LOST);
	e.size = 4242;
	check_line(&e, PIECES("*** LOST 4242 events ***"), "lost");
}

static void test_prefix(void)
{
	struct tb_event e = ev(TB_EV_EXIT_THREAD);
	char *line;

	strcpy(e.comm, "\x1b[2J\nfake");
	e.ts_ns = TS_BASE + 3723000000000ULL + 999999;
	line = line_of(&e);
	CHECK(strncmp(line, "3723.000999", 11) == 0, "hours of seconds: %.11s", line);
	CHECK(strstr(line, "\\x1b[2J\\x0afake ") && !strchr(line, '\x1b') &&
		      strchr(line, '\n') == line + strlen(line) - 1,
	      "hostile comm escaped, one line");
	free(line);

	memset(e.comm, 'x', sizeof(e.comm));	/* no NUL: the view must stop at 16 bytes */
	memset(e.detail, '\x1b', sizeof(e.detail));
	e.ts_ns = TS_BASE - 1500;
	line = line_of(&e);
	CHECK(strstr(line, "xxxxxxxxxxxxxxxx exit") && !strstr(line, "xxxxxxxxxxxxxxxxx"),
	      "comm without NUL cut at 16 bytes");
	CHECK(strstr(line, "-0.000001 ") != NULL, "event before the base: %.12s", line);
	CHECK(!strchr(line, '\x1b') && strlen(line) < 2048, "detail without NUL escaped: %zu bytes",
	      strlen(line));
	free(line);
}

/* Nothing reaches the file before a flush, until 64 KiB are waiting. */
static void test_buffering(void)
{
	struct live_writer *w = live_writer__open(path, NULL, TS_BASE);
	struct tb_event e = ev(TB_EV_MALLOC);
	struct stat st;
	int n = 0;

	live_writer__write(w, &e);
	stat(path, &st);
	CHECK(st.st_size == 0, "a line waits in the buffer");
	CHECK(live_writer__flush(w) == 0 && stat(path, &st) == 0 && st.st_size > 0,
	      "flush writes it: %lld bytes", (long long)st.st_size);
	live_writer__flush(w);
	for (off_t before = st.st_size; st.st_size == before && n < 10000; n++) {
		live_writer__write(w, &e);
		stat(path, &st);
	}
	CHECK(st.st_size > 60000 && st.st_size <= 65536 + 100, "a full buffer is written: %lld",
	      (long long)st.st_size);
	CHECK(live_writer__close(w) == 0, "close");
	w = live_writer__open("/dev/full", NULL, 0);
	live_writer__write(w, &e);
	CHECK(live_writer__flush(w) == -ENOSPC && live_writer__write(w, &e) == -ENOSPC,
	      "a write error is kept");
	CHECK(live_writer__close(w) == -ENOSPC, "and returned by close");
}


/* The header names the columns right above what they hold. */
static void test_header(void)
{
	struct tb_event e = ev(TB_EV_MALLOC);
	struct live_writer *w = live_writer__open(path, NULL, TS_BASE);
	char *text, *line;
	size_t ev_col, size_end;

	e.size = 4242;
	e.addr = 0x1000;
	live_writer__write(w, &e);
	live_writer__close(w);
	text = slurp(path);
	line = strchr(text, '\n') + 1;
	ev_col = strstr(text, "event") - text;
	size_end = strstr(text, "size") + 4 - text;
	CHECK(strncmp(text + strspn(text, " "), "seconds", 7) == 0 && strstr(text, "pid/tid") &&
		      strstr(text, "comm"), "the first line names the columns: %.60s", text);
	CHECK(strncmp(line + ev_col, "malloc", 6) == 0, "'event' is above the event name");
	CHECK(strncmp(line + size_end - 4, "4242", 4) == 0, "'size' ends where the size does");
	free(text);
}

/* Lines that are events, and the sum of the fold lines' counts, by event name. */
struct tally {
	int lines, folds;
	long shown[TB_EV_MAX], folded[TB_EV_MAX], folded_total;
};

/* "... 1,234 more events (malloc 1,000, free 234) this second; ...": the counts by name */
static void count_fold(struct tally *t, const char *p)
{
	char copy[2048], *item, *save = NULL;
	const char *open = strchr(p, '('), *close = open ? strchr(open, ')') : NULL;

	t->folds++;
	if (!close || close - open >= (long)sizeof(copy))
		return;
	memcpy(copy, open + 1, close - open - 1);
	copy[close - open - 1] = '\0';
	/* items are ", "-separated; a count's own commas have no space after them */
	for (item = copy; item; item = save) {
		char *sp = strstr(item, ", "), digits[32];
		int k = 0;

		save = sp ? sp + 2 : NULL;
		if (sp)
			*sp = '\0';
		for (char *c = strchr(item, ' '); c && *c; c++)
			if (*c >= '0' && *c <= '9' && k < 31)
				digits[k++] = *c;
		digits[k] = '\0';
		*strchrnul(item, ' ') = '\0';
		for (int ty = 0; ty < TB_EV_MAX; ty++)
			if (tb_event_name(ty) && strcmp(tb_event_name(ty), item) == 0)
				t->folded[ty] += atol(digits);
		t->folded_total += atol(digits);
	}
}

static void tally_text(struct tally *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	for (const char *p = strchr(text, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
		char name[32];
		unsigned a, b;

		if (strncmp(p + 1, "... ", 4) == 0) {
			count_fold(t, p + 1);
			continue;
		}
		if (sscanf(p + 1, "%*s %u/%u %*s %31s", &a, &b, name) != 3)
			continue;
		t->lines++;
		for (int ty = 0; ty < TB_EV_MAX; ty++)
			if (tb_event_name(ty) && strcmp(tb_event_name(ty), name) == 0)
				t->shown[ty]++;
	}
}

/* --events and --filter-pid/--filter-tid: only what they name, and a loss always. */
static void test_filter(void)
{
	static const enum tb_event_type types[] = { TB_EV_MALLOC, TB_EV_FREE, TB_EV_FORK,
						    TB_EV_MMAP };
	struct tb_live_filter f = { .events = 1u << TB_EV_MALLOC | 1u << TB_EV_FORK,
				    .pids = { 7 }, .npids = 1 };
	struct live_writer *w = live_writer__open(path, NULL, TS_BASE);
	struct tb_event e;
	struct tally t;
	char *text;

	live_writer__set_filter(w, &f);
	for (int pid = 6; pid <= 8; pid++) {
		for (int i = 0; i < 4; i++) {
			e = ev(types[i]);
			e.pid = e.tid = pid;
			live_writer__write(w, &e);
		}
	}
	e = ev(TB_EV_LOST);
	e.pid = e.tid = 0;
	live_writer__write(w, &e);
	live_writer__close(w);
	text = slurp(path);
	tally_text(&t, text);
	CHECK(t.lines == 3 && t.shown[TB_EV_MALLOC] == 1 && t.shown[TB_EV_FORK] == 1 &&
		      t.shown[TB_EV_LOST] == 1, "events malloc,fork of pid 7, and the loss: %d lines",
	      t.lines);
	CHECK(strstr(text, "      7/7 ") && !strstr(text, "      6/6 ") && !strstr(text, "      8/8 "),
	      "no other pid shows");
	free(text);

	w = live_writer__open(path, NULL, TS_BASE);
	f = (struct tb_live_filter){ .tids = { 8, 6 }, .ntids = 2 };
	live_writer__set_filter(w, &f);
	for (int tid = 5; tid <= 9; tid++) {
		e = ev(TB_EV_FREE);
		e.tid = tid;
		live_writer__write(w, &e);
	}
	live_writer__close(w);
	text = slurp(path);
	tally_text(&t, text);
	CHECK(t.lines == 2 && strstr(text, "/6 ") && strstr(text, "/8 "), "tids 6 and 8: %d lines",
	      t.lines);
	free(text);
}

/* Under a limit, every event is a line or counted on a fold line, by its name. */
static void test_fold(void)
{
	struct live_writer *w = live_writer__open(path, NULL, TS_BASE);
	struct tb_event e;
	struct tally t;
	time_t t0 = time(NULL), t1;
	char *text;
	int ok = 1;

	live_writer__set_limit(w, 5);
	for (int i = 0; i < 3000; i++) {
		e = ev(i % 3 == 2 ? TB_EV_FREE : TB_EV_MALLOC);
		live_writer__write(w, &e);
		if (i % 500 == 0)
			live_writer__flush(w);
	}
	live_writer__close(w);
	t1 = time(NULL);
	text = slurp(path);
	tally_text(&t, text);
	for (int ty = 0; ty < TB_EV_MAX; ty++)
		ok &= t.shown[ty] + t.folded[ty] == (ty == TB_EV_MALLOC ? 2000 : ty == TB_EV_FREE ? 1000 : 0);
	CHECK(ok && t.lines + t.folded_total == 3000,
	      "3000 written: %d lines + %ld folded (malloc %ld+%ld, free %ld+%ld)", t.lines,
	      t.folded_total, t.shown[TB_EV_MALLOC], t.folded[TB_EV_MALLOC], t.shown[TB_EV_FREE],
	      t.folded[TB_EV_FREE]);
	CHECK(t.lines <= 5 * (t1 - t0 + 2) && t.folds >= 1 && t.folds <= t1 - t0 + 2,
	      "at most 5 lines and one fold a second: %d lines, %d fold lines", t.lines, t.folds);
	CHECK(strstr(text, "-o FILE or --live for every line") != NULL, "the fold says how to see all");
	free(text);
}

/* A pseudo-terminal's master; *slave gets the path of the other end. */
static int open_pty(char *slave, size_t cap)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, slave, cap))
		return -1;
	fcntl(m, F_SETFL, O_NONBLOCK);
	return m;
}

static int pty_lines(int m)
{
	char buf[65536];
	int lines = 0;
	ssize_t n;

	while ((n = read(m, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	return lines;
}

/* On a terminal: 40 lines a second at most, and nothing at all once stopped. */
static void test_tty(void)
{
	static volatile sig_atomic_t flag;
	struct tb_event e = ev(TB_EV_MALLOC);
	struct live_writer *w;
	char slave[128];
	int m = open_pty(slave, sizeof(slave)), lines;
	time_t t0 = time(NULL);

	if (m < 0) {
		CHECK(1, "# SKIP no pseudo-terminal");
		return;
	}
	w = live_writer__open(slave, NULL, TS_BASE);
	for (int i = 0; i < 1000; i++)
		live_writer__write(w, &e);
	live_writer__flush(w);
	lines = pty_lines(m);
	CHECK(lines >= 1 + LIVE_TTY_LINES && lines <= 1 + (LIVE_TTY_LINES + 1) * (time(NULL) - t0 + 1),
	      "1000 events on a terminal: %d lines", lines);
	live_writer__stop_on(w, &flag);
	live_writer__write(w, &e);
	flag = 1;
	for (int i = 0; i < 1000; i++)
		live_writer__write(w, &e);
	live_writer__flush(w);
	live_writer__close(w);
	lines = pty_lines(m);
	CHECK(lines == 0, "stopped: nothing more reaches the terminal (%d lines)", lines);
	close(m);

	w = live_writer__open(path, NULL, TS_BASE);
	live_writer__write(w, &e);
	live_writer__stop(w);
	live_writer__write(w, &e);
	live_writer__close(w);
	m = open(path, O_RDONLY);
	lines = pty_lines(m);
	close(m);
	CHECK(lines == 3, "a file is not stopped: header and both lines (%d lines)", lines);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/live.txt", tmpdir);
	test_escape();
	test_alloc_lines();
	test_vm_lines();
	test_task_lines();
	test_prefix();
	test_buffering();
	test_header();
	test_filter();
	test_fold();
	test_tty();
	unlink(path);
	rmdir(tmpdir);
	return check_done();
}
