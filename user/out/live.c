// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* live.c: the live view, one line a person can read per event, safe against hostile names. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "live.h"
#include "stacktab.h"

#define LIVE_BUF_SIZE	(64u << 10)
/* A line's worst case: comm and detail escaped at 4 bytes a byte (1084), the rest about 300. */
#define LIVE_LINE_MAX	2048
#define COMM_SHOWN	(TB_COMM_LEN * 4 + 1)
#define DETAIL_SHOWN	(TB_PATH_LEN * 4 + 1)

#ifndef CLONE_VFORK
#define CLONE_VFORK 0x4000
#endif

_Static_assert(TB_EV_MAX <= 32, "struct tb_live_filter has a bit per event type");

struct live_writer {
	int fd;
	int err;	/* the first write error, returned from then on */
	bool tty;
	bool stopped;	/* Ctrl-C on a terminal: nothing more is written */
	const volatile sig_atomic_t *stop_flag;
	uint64_t ts_base_ns;
	struct stacktab *stacks;	/* names each row's call site; NULL: none */
	struct tb_live_filter filter;
	unsigned limit;	/* lines a second, 0 = all */
	uint64_t second;	/* the second of CLOCK_MONOTONIC the lines below were counted in */
	unsigned shown;	/* lines written in that second */
	uint64_t nfolded;	/* events not written in that second, */
	uint64_t folded[TB_EV_MAX];	/* by type */
	size_t len;
	char buf[LIVE_BUF_SIZE];
};

/* One line being built; add() never writes past end, it cuts the line short. */
struct line {
	char *p;
	char *end;
};

/* Parts of an event a type-specific printer already showed, so the tail skips them. */
enum { TB_SHOWN_ERR = 1, TB_SHOWN_DETAIL = 2, TB_SHOWN_ORIGIN = 4 };

struct name_bit {
	uint64_t bit;
	const char *name;
};

static const struct name_bit map_flag_names[] = {
	{ MAP_ANONYMOUS, "anon" },
	{ MAP_FIXED, "fixed" },
	{ MAP_FIXED_NOREPLACE, "fixed_noreplace" },
	{ MAP_NORESERVE, "noreserve" },
	{ MAP_POPULATE, "populate" },
	{ MAP_STACK, "stack" },
	{ MAP_HUGETLB, "hugetlb" },
	{ MAP_GROWSDOWN, "growsdown" },
	{ MAP_LOCKED, "locked" },
	{ MAP_NONBLOCK, "nonblock" },
	{ MAP_SYNC, "sync" },
};

static const struct name_bit mremap_flag_names[] = {
	{ 1, "maymove" },
	{ 2, "fixed" },
	{ 4, "dontunmap" },
};

static const char *const advice_names[] = {
	[0] = "normal",		[1] = "random",		[2] = "sequential",	[3] = "willneed",
	[4] = "dontneed",	[8] = "free",		[9] = "remove",		[10] = "dontfork",
	[11] = "dofork",	[12] = "mergeable",	[13] = "unmergeable",	[14] = "hugepage",
	[15] = "nohugepage",	[16] = "dontdump",	[17] = "dodump",	[18] = "wipeonfork",
	[19] = "keeponfork",	[20] = "cold",		[21] = "pageout",
	[22] = "populate_read",	[23] = "populate_write", [24] = "dontneed_locked",
	[25] = "collapse",
};

size_t live_escape(char *dst, size_t cap, const char *src)
{
	static const char xdigits[] = "0123456789abcdef";
	size_t n = 0;

	if (!cap)
		return 0;
	for (; *src; src++) {
		unsigned char c = *src;

		if (c == '\\' || c < 0x20 || c > 0x7e) {
			if (n + (c == '\\' ? 2 : 4) >= cap)
				break;
			dst[n++] = '\\';
			if (c == '\\') {
				dst[n++] = '\\';
				continue;
			}
			dst[n++] = 'x';
			dst[n++] = xdigits[c >> 4];
			dst[n++] = xdigits[c & 15];
		} else {
			if (n + 1 >= cap)
				break;
			dst[n++] = c;
		}
	}
	dst[n] = '\0';
	return n;
}

/* The event's own strings need not end in NUL: bound them before escaping. */
static const char *escaped(char *dst, size_t cap, const char *src, size_t max)
{
	char tmp[TB_PATH_LEN + 1];
	size_t n = strnlen(src, max < TB_PATH_LEN ? max : TB_PATH_LEN);

	memcpy(tmp, src, n);
	tmp[n] = '\0';
	live_escape(dst, cap, tmp);
	return dst;
}

__attribute__((format(printf, 2, 3))) static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->end - l->p < 2)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->p, l->end - l->p, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->p += (size_t)n < (size_t)(l->end - l->p) ? (size_t)n : (size_t)(l->end - l->p) - 1;
}

static void add_names(struct line *l, uint64_t bits, const struct name_bit *names, size_t n)
{
	const char *sep = "";

	for (size_t i = 0; i < n; i++) {
		if (!(bits & names[i].bit))
			continue;
		add(l, "%s%s", sep, names[i].name);
		bits &= ~names[i].bit;
		sep = "|";
	}
	if (bits)
		add(l, "%s0x%llx", sep, (unsigned long long)bits);
}

/* 850ns, 1.2us, 15.3ms, 2.0s: one decimal is all a person reads in a latency. */
static void add_latency(struct line *l, uint64_t ns)
{
	static const char *const units[] = { "us", "ms", "s" };
	uint64_t scale = 1000;

	if (ns < 1000) {
		add(l, " %lluns", (unsigned long long)ns);
		return;
	}
	for (int i = 0; i < 3; i++, scale *= 1000) {
		if (ns < scale * 1000 || i == 2) {
			add(l, " %llu.%llu%s", (unsigned long long)(ns / scale),
			    (unsigned long long)(ns % scale * 10 / scale), units[i]);
			return;
		}
	}
}

static void add_addr(struct line *l, uint64_t addr)
{
	if (addr)
		add(l, "0x%llx", (unsigned long long)addr);
	else
		add(l, "NULL");
}

static void add_prot(struct line *l, uint32_t prot)
{
	add(l, " %c%c%c", prot & PROT_READ ? 'r' : '-', prot & PROT_WRITE ? 'w' : '-',
	    prot & PROT_EXEC ? 'x' : '-');
}

/* "  0.012345    1234/1240    comm-name        malloc        " */
static void add_prefix(struct line *l, const struct live_writer *w, const struct tb_event *e)
{
	char comm[COMM_SHOWN], when[32];
	int neg = e->ts_ns < w->ts_base_ns;
	uint64_t d = neg ? w->ts_base_ns - e->ts_ns : e->ts_ns - w->ts_base_ns;

	snprintf(when, sizeof(when), "%s%llu.%06llu", neg ? "-" : "",
		 (unsigned long long)(d / 1000000000), (unsigned long long)(d % 1000000000 / 1000));
	escaped(comm, sizeof(comm), e->comm, TB_COMM_LEN);
	add(l, "%10s %7u/%-7u %-16s %-14s", when, e->pid, e->tid, comm, tb_event_name(e->type));
}

/* size, [old ->] block, align, latency */
static int add_alloc(struct line *l, const struct tb_event *e)
{
	add(l, " %10llu ", (unsigned long long)e->size);
	if (e->type == TB_EV_REALLOC || e->type == TB_EV_REALLOCARRAY) {
		add_addr(l, e->old_addr);
		add(l, " -> ");
	}
	add_addr(l, e->addr);
	if (e->align)
		add(l, " align %llu", (unsigned long long)e->align);
	add_latency(l, e->latency_ns);
	return 0;
}

static int add_free(struct line *l, const struct tb_event *e)
{
	add(l, " %10s ", "");
	add_addr(l, e->addr);
	return 0;
}

static int add_mmap(struct line *l, const struct tb_event *e)
{
	add(l, " %10llu 0x%llx", (unsigned long long)e->size, (unsigned long long)e->addr);
	add_prot(l, e->prot);
	add(l, " %s", (e->sysflags & MAP_TYPE) == MAP_PRIVATE ? "private" :
		      (e->sysflags & MAP_TYPE) == MAP_SHARED ? "shared" :
		      (e->sysflags & MAP_TYPE) == MAP_SHARED_VALIDATE ? "shared_validate" : "?");
	if (e->sysflags & ~(uint64_t)MAP_TYPE) {
		add(l, "|");
		add_names(l, e->sysflags & ~(uint64_t)MAP_TYPE, map_flag_names,
			  sizeof(map_flag_names) / sizeof(map_flag_names[0]));
	}
	if (e->fd >= 0)
		add(l, " fd %d off %llu", e->fd, (unsigned long long)e->old_size);
	return 0;
}

static int add_vm(struct line *l, const struct tb_event *e)
{
	uint64_t advice = e->sysflags;

	switch (e->type) {
	case TB_EV_MMAP:
		return add_mmap(l, e);
	case TB_EV_MREMAP:
		add(l, " %10llu 0x%llx -> 0x%llx was %llu ", (unsigned long long)e->size,
		    (unsigned long long)e->old_addr, (unsigned long long)e->addr,
		    (unsigned long long)e->old_size);
		add_names(l, e->sysflags, mremap_flag_names, 3);
		return 0;
	case TB_EV_BRK:
		add(l, " %10s 0x%llx -> 0x%llx", "", (unsigned long long)e->old_addr,
		    (unsigned long long)e->addr);
		return 0;
	default:
		break;
	}
	add(l, " %10llu 0x%llx", (unsigned long long)e->size, (unsigned long long)e->addr);
	if (e->type == TB_EV_MPROTECT)
		add_prot(l, e->prot);
	if (e->type == TB_EV_MADVISE) {
		if (advice < sizeof(advice_names) / sizeof(advice_names[0]) && advice_names[advice])
			add(l, " %s", advice_names[advice]);
		else
			add(l, " advice %llu", (unsigned long long)advice);
	}
	return 0;
}

/* --pages: the faulting address, and the block it fell in */
static int add_page(struct line *l, const struct tb_event *e)
{
	add(l, " %10llu ", (unsigned long long)e->size);
	if (e->type == TB_EV_RSS)
		return 0;	/* detail names the kind */
	add_addr(l, e->addr);
	if (e->old_addr) {
		add(l, " in block ");
		add_addr(l, e->old_addr);
	}
	return 0;
}

/* "killed by SIGSEGV (139)" when the decoder gave no words for it: 128+N is signal N. */
static int add_exit(struct line *l, const struct tb_event *e)
{
	char detail[DETAIL_SHOWN];
	const char *sig;

	if (e->detail[0]) {
		add(l, " %s (%llu)", escaped(detail, sizeof(detail), e->detail, TB_PATH_LEN),
		    (unsigned long long)e->size);
		return TB_SHOWN_DETAIL;
	}
	if (e->size > 128 && e->size < 128 + 65) {
		sig = sigabbrev_np(e->size - 128);
		if (sig)
			add(l, " killed by SIG%s (%llu)", sig, (unsigned long long)e->size);
		else
			add(l, " killed by signal %llu (%llu)", (unsigned long long)e->size - 128,
			    (unsigned long long)e->size);
		return 0;
	}
	add(l, " status %llu", (unsigned long long)e->size);
	return 0;
}

static int add_task(struct line *l, const struct tb_event *e)
{
	char detail[DETAIL_SHOWN];

	switch (e->type) {
	case TB_EV_FORK:
		add(l, " child %u of %u/%u%s", e->pid, e->origin_pid, e->origin_tid,
		    e->sysflags & CLONE_VFORK ? " (vfork)" : "");
		return TB_SHOWN_ORIGIN;
	case TB_EV_THREAD:
		add(l, " new thread %u by %u stack 0x%llx", e->tid, e->origin_tid,
		    (unsigned long long)e->addr);
		return TB_SHOWN_ORIGIN;
	case TB_EV_EXEC:
		add(l, " %s", escaped(detail, sizeof(detail), e->detail, TB_PATH_LEN));
		return TB_SHOWN_DETAIL;
	case TB_EV_EXIT:
		return add_exit(l, e);
	case TB_EV_LOST:
		add(l, " *** LOST %llu events ***", (unsigned long long)e->size);
		return 0;
	case TB_EV_SAMPLE_OFF:
		add(l, " --- allocator probes off (on for %.1f ms) ---", e->size / 1e6);
		return 0;
	case TB_EV_SAMPLE_ON:
		add(l, " --- allocator probes on ---");
		return 0;
	case TB_EV_COMM:
		add(l, " renamed");
		return 0;
	default:
		return 0;
	}
}

/* What any event may carry: where it lies, what the correlator noticed, whose block it was. */
static void add_tail(struct line *l, const struct tb_event *e, int shown)
{
	char detail[DETAIL_SHOWN];
	const char *sep = " [";

	if (e->region != TB_REG_NONE && (unsigned)e->region < TB_REG_MAX) {
		add(l, " %s", tb_region_name(e->region));
		if (e->region_base)
			add(l, "@0x%llx", (unsigned long long)e->region_base);
	}
	for (unsigned i = 0; i < TB_F_NBITS; i++) {
		if (e->flags & (1u << i)) {
			add(l, "%s%s", sep, tb_flag_name(i));
			sep = "|";
		}
	}
	if (sep[0] == '|')
		add(l, "]");
	if (e->origin_pid && !(shown & TB_SHOWN_ORIGIN))
		add(l, " from %u/%u", e->origin_pid, e->origin_tid);
	if (e->err && !(shown & TB_SHOWN_ERR))
		add(l, " error %d (%s)", e->err, strerror(-e->err));
	if (e->detail[0] && !(shown & TB_SHOWN_DETAIL))
		add(l, " %s", escaped(detail, sizeof(detail), e->detail, TB_PATH_LEN));
}

/* Where the call was made: what a reader looks for first in a row of the allocator's. */
static void add_site(struct line *l, const struct live_writer *w, const struct tb_event *e)
{
	char name[256], shown[sizeof(name) * 4 + 1];

	if (!w->stacks || !e->stack_id || !tb_ev_is_alloc(e->type))
		return;
	stacktab__site_name(w->stacks, e->stack_id, name, sizeof(name));
	/* names come from the watched program's files: escaped like its comm */
	add(l, " at %s", escaped(shown, sizeof(shown), name, sizeof(name)));
}

static size_t format_line(const struct live_writer *w, const struct tb_event *e, char *buf)
{
	struct line l = { buf, buf + LIVE_LINE_MAX - 1 };
	int shown;

	add_prefix(&l, w, e);
	if (tb_ev_allocates(e->type))
		shown = add_alloc(&l, e);
	else if (e->type == TB_EV_FREE)
		shown = add_free(&l, e);
	else if (tb_ev_is_vm(e->type))
		shown = add_vm(&l, e);
	else if (tb_ev_is_page(e->type))
		shown = add_page(&l, e);
	else
		shown = add_task(&l, e);
	add_tail(&l, e, shown);
	add_site(&l, w, e);
	while (l.p > buf && l.p[-1] == ' ')
		l.p--;
	*l.p++ = '\n';
	return l.p - buf;
}


/* The columns of add_prefix and of the size that follows it, named over them. */
static size_t format_header(char *buf)
{
	return sprintf(buf, "%10s %7s/%-7s %-16s %-14s %10s %s\n", "seconds", "pid", "tid", "comm",
		       "event", "size", "block or details, region [flags] from pid/tid");
}

/* 12,345: a count a person reads at a glance. */
static void add_count(struct line *l, uint64_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);

	for (int i = 0; i < len; i++)
		add(l, "%s%c", i && (len - i) % 3 == 0 ? "," : "", digits[i]);
}

/* "... 12,345 more events (malloc 6,000, free 6,000) this second; ..." in the order of counts */
static size_t format_fold(const struct live_writer *w, char *buf)
{
	struct line l = { buf, buf + LIVE_LINE_MAX - 1 };
	bool done[TB_EV_MAX] = {};
	const char *sep = " (";

	add(&l, "... ");
	add_count(&l, w->nfolded);
	add(&l, " more event%s", w->nfolded == 1 ? "" : "s");
	for (;;) {
		int best = -1;

		for (int t = 0; t < TB_EV_MAX; t++)
			if (!done[t] && w->folded[t] && (best < 0 || w->folded[t] > w->folded[best]))
				best = t;
		if (best < 0)
			break;
		done[best] = true;
		add(&l, "%s%s ", sep, tb_event_name(best));
		add_count(&l, w->folded[best]);
		sep = ", ";
	}
	add(&l, ") this second; -o FILE or --live for every line");
	*l.p++ = '\n';
	return l.p - buf;
}

static uint64_t now_second(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The second is over: what did not fit in it becomes one line. */
static void end_second(struct live_writer *w, uint64_t second)
{
	char line[LIVE_LINE_MAX];
	size_t n = w->nfolded ? format_fold(w, line) : 0;

	w->second = second;
	w->shown = 0;
	w->nfolded = 0;
	memset(w->folded, 0, sizeof(w->folded));
	if (!n)
		return;
	if (w->len > LIVE_BUF_SIZE - LIVE_LINE_MAX)
		live_writer__flush(w);
	memcpy(w->buf + w->len, line, n);
	w->len += n;
}

/* Under a rate limit: is there room for e's line in this second, or does it fold? */
static bool admit(struct live_writer *w, const struct tb_event *e)
{
	uint64_t second;

	if (!w->limit)
		return true;
	second = now_second();
	if (second != w->second)
		end_second(w, second);
	if (w->shown < w->limit) {
		w->shown++;
		return true;
	}
	w->nfolded++;
	w->folded[(unsigned)e->type < TB_EV_MAX ? e->type : TB_EV_NONE]++;
	return false;
}

static bool has_id(const uint32_t *ids, int n, uint32_t id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Lost events are never filtered away: the view must not hide that it is incomplete. */
static bool wanted(const struct tb_live_filter *f, const struct tb_event *e)
{
	if (e->type == TB_EV_LOST || e->type == TB_EV_SAMPLE_OFF || e->type == TB_EV_SAMPLE_ON)
		return true;
	if (f->events && ((unsigned)e->type >= TB_EV_MAX || !(f->events & (1u << e->type))))
		return false;
	if (f->npids && !has_id(f->pids, f->npids, e->pid))
		return false;
	return !f->ntids || has_id(f->tids, f->ntids, e->tid);
}

struct live_writer *live_writer__open(const char *path, const struct tb_owner *owner,
				      uint64_t ts_base_ns)
{
	struct live_writer *w;
	int fd;

	if (!path)
		path = "-";
	w = outfile__open_writer(path, owner, sizeof(*w), &fd);
	if (!w)
		return NULL;
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->ts_base_ns = ts_base_ns;
	/* a person reads a terminal: a flood there folds; a file or a pipe gets every line */
	w->tty = isatty(fd);
	w->limit = w->tty ? LIVE_TTY_LINES : 0;
	w->second = now_second();
	w->len = format_header(w->buf);
	return w;
}

void live_writer__set_filter(struct live_writer *w, const struct tb_live_filter *f)
{
	w->filter = *f;
}

void live_writer__set_stacks(struct live_writer *w, struct stacktab *stacks)
{
	w->stacks = stacks;
}

void live_writer__set_limit(struct live_writer *w, unsigned lines_per_s)
{
	w->limit = lines_per_s;
}

void live_writer__stop(struct live_writer *w)
{
	if (!w->tty)
		return;
	w->stopped = true;
	w->len = 0;
	w->nfolded = 0;
}

void live_writer__stop_on(struct live_writer *w, const volatile sig_atomic_t *flag)
{
	w->stop_flag = flag;
}

/* Whether a signal stopped the view since it was last looked at. */
static bool stopped(struct live_writer *w)
{
	if (!w->stopped && w->stop_flag && *w->stop_flag)
		live_writer__stop(w);
	return w->stopped;
}

int live_writer__write(struct live_writer *w, const struct tb_event *e)
{
	if (w->err || stopped(w) || !wanted(&w->filter, e) || !admit(w, e))
		return w->err;
	if (w->len > LIVE_BUF_SIZE - LIVE_LINE_MAX && live_writer__flush(w))
		return w->err;
	w->len += format_line(w, e, w->buf + w->len);
	return 0;
}

/*
 * A terminal: a signal cuts a write short (no SA_RESTART); if it stopped the
 * view, the rest is dropped rather than written after the user's Ctrl-C.
 */
static int write_tty(struct live_writer *w)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
	size_t off = 0;
	ssize_t n;

	while (off < w->len && !stopped(w)) {
		n = write(w->fd, w->buf + off, w->len - off);
		if (n > 0)
			off += n;
		else if (n == 0)
			return -EIO;
		else if (errno == EAGAIN)
			poll(&pfd, 1, -1);
		else if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int live_writer__flush(struct live_writer *w)
{
	uint64_t second;
	int err;

	if (stopped(w))
		return w->err;
	if (w->limit && w->nfolded && (second = now_second()) != w->second)
		end_second(w, second);
	if (w->err || !w->len)
		return w->err;
	err = w->tty ? write_tty(w) : outfile__write_all(w->fd, w->buf, w->len);
	w->len = 0;
	w->err = err;
	return err;
}

int live_writer__close(struct live_writer *w)
{
	int err;

	if (!w)
		return 0;
	/* the last second's fold, however short that second was */
	if (w->nfolded && !stopped(w))
		end_second(w, w->second);
	err = live_writer__flush(w);
	if (close(w->fd) < 0 && !err)
		err = -errno;
	free(w);
	return err;
}
