// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_random: a random program, from a seed, that records every allocator call
 * it makes, for the property test (tests/e2e/32-random.sh).
 *
 *   tp_random SEED OPS LOGDIR [jumps]
 *
 * The main thread makes OPS random calls (malloc, calloc, realloc chains, free,
 * posix_memalign, memalign), starts threads and forks children that do the
 * same, while a timer's handler does free(malloc(7)) in whichever thread it
 * interrupts. With "jumps" there are no threads, and the handler siglongjmps
 * out of the main thread's calls now and then.
 *
 * Each process appends to LOGDIR/log.PID lines "TID EVENT SIZE ADDR OLD_ADDR",
 * one per call that returned (a free is written before it is made), and
 * "TID ambiguous N": jumps that left an allocating call of the program before
 * its line was written (from the call's first instruction: see at_entry()).
 * Nothing here uses stdio or any allocator call of its own beyond those.
 */
#define _GNU_SOURCE	/* REG_RIP, RTLD_DEFAULT */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "at_entry.h"

#define HELD 64
#define MAX_JUMPS 20	/* jumps out of the main thread's calls, then it runs to its end */
#define LOG_MAX (1 << 20)

struct log {
	char buf[LOG_MAX];
	volatile size_t len;	/* a line counts once this moves past it */
};

static __thread struct log *main_log, *handler_log;
static __thread uint64_t rng;
static const char *logdir;
static int jumps_mode;
static pid_t main_tid;
static sigjmp_buf env;
static volatile sig_atomic_t jump_ready, in_call;
static volatile size_t call_len;	/* the main log's length when the call began */
static volatile long ambiguous;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *put_num(char *p, uint64_t v, int hex)
{
	char tmp[24];
	int n = 0;

	if (hex) {
		*p++ = '0';
		*p++ = 'x';
	}
	do
		tmp[n++] = "0123456789abcdef"[v % (hex ? 16 : 10)];
	while ((v /= hex ? 16 : 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* One line, made whole before the length moves: a jump in the middle leaves no half line. */
static void record(struct log *l, const char *ev, uint64_t size, void *addr, void *old)
{
	char line[128], *p = line;
	size_t n;

	if (!l)
		return;
	p = put_num(p, syscall(SYS_gettid), 0);
	*p++ = ' ';
	memcpy(p, ev, strlen(ev));
	p += strlen(ev);
	*p++ = ' ';
	p = put_num(p, size, 0);
	*p++ = ' ';
	p = put_num(p, (uintptr_t)addr, 1);
	*p++ = ' ';
	p = put_num(p, (uintptr_t)old, 1);
	*p++ = '\n';
	n = p - line;
	if (l->len + n > LOG_MAX)
		return;
	memcpy(l->buf + l->len, line, n);
	l->len += n;
}

static void flush(struct log *l)
{
	char path[512], *p;
	int fd;

	if (!l || !l->len)
		return;
	p = path + strlen(strcpy(path, logdir));
	memcpy(p, "/log.", 5);
	*put_num(p + 5, getpid(), 0) = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		write(fd, l->buf, l->len);
		close(fd);
	}
	l->len = 0;
}

/* mmap, not malloc: the program's own records must not be calls of the program */
static struct log *log_new(void)
{
	struct log *l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return l == MAP_FAILED ? NULL : l;
}

static void logs_open(void)
{
	main_log = log_new();
	handler_log = log_new();
}

/* With the timer's signal held: a jump out of a write would leave its lines to be written again. */
static void logs_flush(void)
{
	sigset_t s, old;

	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	flush(main_log);
	flush(handler_log);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void on_alarm(int sig, siginfo_t *si, void *uctx)
{
	void *p;

	(void)sig;
	(void)si;
	if (!at_entry(uctx))
		return;
	p = malloc(7);
	record(handler_log, "malloc", 7, p, NULL);
	record(handler_log, "free", 0, p, NULL);
	free(p);
	if (jumps_mode && jump_ready && syscall(SYS_gettid) == main_tid) {
		if (in_call && main_log->len == call_len)
			ambiguous++;	/* its line is not written: it may or may not have returned */
		siglongjmp(env, 1);
	}
}

struct held {
	void *p[HELD];
};

static size_t rnd_size(void)
{
	uint64_t r = next() % 100;

	return r < 3 ? 150000 + next() % 100000 : r < 10 ? 1 + next() % 20000 : next() % 600;
}

/* One random call on a random slot; in_call spans the call and its record. */
static void one_op(struct held *h)
{
	int i = next() % HELD, op = next() % 6;
	size_t n = rnd_size(), align = (size_t)16 << (next() % 8);
	void *p = NULL, *old = h->p[i];

	if (old && (op == 0 || op == 1 || op == 4 || op == 5))
		op = 3;	/* the slot's block is freed first: nothing is leaked by chance */
	call_len = main_log->len;
	in_call = op != 3;	/* a free is recorded before it is made */
	switch (op) {
	case 0:
		p = malloc(n);
		record(main_log, "malloc", n, p, NULL);
		break;
	case 1:
		p = calloc(n % 50 + 1, 4);
		record(main_log, "calloc", (n % 50 + 1) * 4, p, NULL);
		break;
	case 2:
		p = realloc(old, n);
		record(main_log, "realloc", n, p, old);
		if (!p && n)
			p = old;	/* failed: the block is still there */
		break;
	case 3:
		if (old) {
			record(main_log, "free", 0, old, NULL);
			free(old);
		}
		break;
	case 4:
		if (posix_memalign(&p, align, n))
			p = NULL;
		record(main_log, "posix_memalign", n, p, NULL);
		break;
	default:
		p = memalign(align, n);
		record(main_log, "memalign", n, p, NULL);
	}
	in_call = 0;
	h->p[i] = p;
}

static void ops(long n)
{
	struct held h = { { 0 } };

	for (long k = 0; k < n; k++)
		one_op(&h);
	for (int i = 0; i < HELD; i++) {
		if (!h.p[i])
			continue;
		record(main_log, "free", 0, h.p[i], NULL);
		free(h.p[i]);
	}
}

static void alarm_mask(int how)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(how, &s, NULL);
}

/* Starts with the timer's signal blocked, and blocks it again before its last record. */
static void *thread_main(void *arg)
{
	rng = (uintptr_t)arg * 0x9E3779B97F4A7C15ULL | 1;
	logs_open();
	alarm_mask(SIG_UNBLOCK);
	ops(50 + next() % 200);
	alarm_mask(SIG_BLOCK);
	logs_flush();
	return NULL;
}

static void child(long n)
{
	rng = rng * 31 + 7;
	main_log->len = handler_log->len = 0;	/* the parent's, flushed before the fork */
	main_tid = syscall(SYS_gettid);
	ops(n);
	logs_flush();
	_exit(0);
}

static void timer(long usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void record_ambiguous(void)
{
	char line[64], *p = line;

	p = put_num(p, syscall(SYS_gettid), 0);
	memcpy(p, " ambiguous ", 11);
	p = put_num(p + 11, ambiguous, 0);
	*p++ = '\n';
	memcpy(main_log->buf + main_log->len, line, p - line);
	main_log->len += p - line;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_alarm, .sa_flags = SA_SIGINFO };
	pthread_t t[4];
	volatile int nt = 0;
	sigset_t alarm_set, old;
	long n;
	volatile long round = 0, jumped = 0;

	if (argc < 4) {
		write(2, "usage: tp_random SEED OPS LOGDIR [jumps]\n", 41);
		return 2;
	}
	rng = strtoull(argv[1], NULL, 10) * 0x9E3779B97F4A7C15ULL | 1;
	n = atol(argv[2]);
	logdir = argv[3];
	jumps_mode = argc > 4;
	main_tid = syscall(SYS_gettid);
	at_entry_init();
	logs_open();
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	sigaction(SIGALRM, &sa, NULL);
	timer(jumps_mode ? 100 : 200 + next() % 800);
	if (sigsetjmp(env, 1)) {
		in_call = 0;
		jumped++;
	}
	jump_ready = jumped < MAX_JUMPS;
	while (round < 4) {
		ops(n / 4);
		round++;
		if (!jumps_mode && nt < 4) {
			/* a thread takes the timer's signal only once it has somewhere to record */
			pthread_sigmask(SIG_BLOCK, &alarm_set, &old);
			pthread_create(&t[nt], NULL, thread_main, (void *)(uintptr_t)(next() | 1));
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			nt++;
		}
		if (next() % 2) {
			pid_t pid;

			logs_flush();
			pid = fork();
			if (pid == 0)
				child(n / 4);
			waitpid(pid, NULL, 0);
		}
	}
	jump_ready = 0;
	timer(0);
	alarm_mask(SIG_BLOCK);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	record_ambiguous();
	logs_flush();
	return 0;
}
