/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* common.h: what the labs and test programs share: options, ids, loop mode, glibc chunk truth. */
#ifndef LAB_COMMON_H
#define LAB_COMMON_H

/* include first: the feature macro must precede every system header */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAB_MAX_THREADS 1024

/* Addresses print as 0x%lx everywhere: %p spells NULL differently in glibc and musl. */
#define LAB_ADDR(p) ((unsigned long)(uintptr_t)(p))

/* glibc's size word flags (malloc/malloc.c) */
#define LAB_IS_MMAPPED 0x2UL
#define LAB_NON_MAIN_ARENA 0x4UL

static const char *lab_prog = "lab";
static int lab_hdr_ok;			/* the malloc in use is glibc's: chunk headers are real */
static int lab_quiet;			/* loop mode: keep stdout for the final summary */
static volatile sig_atomic_t lab_stop;	/* SIGINT or SIGTERM asked a loop to end */
static struct timespec lab_deadline;	/* when a timed loop ends */
static int lab_forever;			/* loop until a signal instead */

static inline void lab_vwarn(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", lab_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* A failure of the program itself, not of what it checks; the exit status is still 1. */
__attribute__((format(printf, 1, 2), noreturn))
static inline void lab_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lab_vwarn(fmt, ap);
	va_end(ap);
	exit(1);
}

__attribute__((format(printf, 1, 2), noreturn))
static inline void lab_bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lab_vwarn(fmt, ap);
	va_end(ap);
	fprintf(stderr, "try '%s -h'\n", lab_prog);
	exit(2);
}

/* getopt's complaint, in our words: call with getopt's return and argv[optind - 1]. */
__attribute__((noreturn))
static inline void lab_opt_error(int c, const char *arg)
{
	if (c == ':')
		lab_bad_usage("option '%s' needs a value", arg);
	lab_bad_usage("unknown option '%s'", arg);
}

/* Records go through here so loop mode can silence them in one place. */
__attribute__((format(printf, 1, 2)))
static inline void lab_say(const char *fmt, ...)
{
	va_list ap;

	if (lab_quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* A number in [min, max] for what (an option or argument); a k or m suffix: KiB or MiB. */
static inline long lab_num_for(const char *arg, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (end != arg && v >= 0 && (*end == 'k' || *end == 'K') && v <= LONG_MAX / 1024)
		v *= 1024, end++;
	else if (end != arg && v >= 0 && (*end == 'm' || *end == 'M') &&
		 v <= LONG_MAX / (1024 * 1024))
		v *= 1024 * 1024, end++;
	if (errno || end == arg || *end || v < min || v > max)
		lab_bad_usage("%s wants a number from %ld to %ld, not '%s'", what, min, max, arg);
	return v;
}

static inline long lab_num(const char *arg, int opt, long min, long max)
{
	char what[3] = { '-', (char)opt, 0 };

	return lab_num_for(arg, what, min, max);
}

static inline pid_t lab_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The address the program's malloc calls bind to must lie in glibc's libc.so. */
static inline int lab_glibc_malloc(void)
{
#ifdef __GLIBC__
	void *sym = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info info;

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return 0;
	return strstr(info.dli_fname, "libc.so") != NULL;
#else
	return 0;
#endif
}

static inline void lab_init(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	lab_prog = slash ? slash + 1 : argv0;
	lab_hdr_ok = lab_glibc_malloc();
}

/* glibc's size word of a live block; 0 when the allocator is not glibc's. */
static inline size_t lab_size_word(const void *p)
{
#ifdef __GLIBC__
	const char *q = p;

	if (lab_hdr_ok) {
		/* the header lies before the block on purpose: hide the block's bounds */
		__asm__("" : "+r"(q));
		return *(const size_t *)(q - sizeof(size_t));
	}
#endif
	(void)p;
	return 0;
}

/* Where glibc placed a live block, by the flags in its size word. */
static inline const char *lab_region(const void *p)
{
	size_t word = lab_size_word(p);

	if (!word)
		return "na";
	if (word & LAB_IS_MMAPPED)
		return "mmap_chunk";
	return word & LAB_NON_MAIN_ARENA ? "arena" : "heap";
}

static inline size_t lab_chunk(const void *p)
{
	return lab_size_word(p) & ~(size_t)7;
}

/* A size as a field value: the number, or na for 0 (unknown). */
static inline const char *lab_fmt_size(size_t v, char buf[24])
{
	if (!v)
		return "na";
	snprintf(buf, 24, "%zu", v);
	return buf;
}

static inline void *lab_zalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		lab_die("cannot allocate %zu x %zu bytes: %s", n, size, strerror(errno));
	return p;
}

static inline int lab_all_bytes(const void *p, int byte, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != (unsigned char)byte)
			return 0;
	return 1;
}

static inline void lab_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(t, NULL, fn, arg);

	if (err)
		lab_die("cannot create thread: %s", strerror(err));
}

static inline void lab_thread_join(pthread_t t)
{
	int err = pthread_join(t, NULL);

	if (err)
		lab_die("cannot join thread: %s", strerror(err));
}

static inline void lab_barrier_init(pthread_barrier_t *b, unsigned int count)
{
	int err = pthread_barrier_init(b, NULL, count);

	if (err)
		lab_die("cannot init barrier: %s", strerror(err));
}

static inline void lab_barrier_wait(pthread_barrier_t *b)
{
	int err = pthread_barrier_wait(b);

	if (err && err != PTHREAD_BARRIER_SERIAL_THREAD)
		lab_die("barrier wait failed: %s", strerror(err));
}

static inline void lab_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !lab_stop)
		;
}

/* fork with stdio flushed first, so the child does not print the parent's pending output again. */
static inline pid_t lab_fork(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		lab_die("cannot fork: %s", strerror(errno));
	return pid;
}

/* Reap a child; its status the shell way: the exit code, or 128 + the signal that ended it. */
static inline int lab_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			lab_die("cannot wait for child %d: %s", (int)pid, strerror(errno));
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* A child's last words: its records must leave before _exit skips stdio's cleanup. */
__attribute__((noreturn))
static inline void lab_child_exit(int code)
{
	if (fflush(stdout) == EOF)
		code = 1;
	_exit(code);
}

static void lab_on_stop(int sig)
{
	(void)sig;
	lab_stop = 1;
}

/* Loop mode: silence records and run until seconds pass (0: until SIGINT or SIGTERM). */
static inline void lab_loop_start(long seconds)
{
	struct sigaction sa = { .sa_handler = lab_on_stop };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		lab_die("cannot install signal handlers: %s", strerror(errno));
	if (clock_gettime(CLOCK_MONOTONIC, &lab_deadline))
		lab_die("cannot read the clock: %s", strerror(errno));
	lab_deadline.tv_sec += seconds;
	lab_forever = !seconds;
	lab_quiet = 1;
}

static inline int lab_loop_again(void)
{
	struct timespec now;

	if (lab_stop)
		return 0;
	if (lab_forever)
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &now))
		lab_die("cannot read the clock: %s", strerror(errno));
	return now.tv_sec < lab_deadline.tv_sec ||
	       (now.tv_sec == lab_deadline.tv_sec && now.tv_nsec < lab_deadline.tv_nsec);
}

/* Ends a summary record: loop mode adds how many times the experiment ran. */
static inline void lab_summary_end(unsigned long iterations)
{
	if (lab_quiet)
		printf(" iterations=%lu", iterations);
	putchar('\n');
}

/* The exit status: 1 when a check failed or stdout could not take the records. */
static inline int lab_exit_code(int failed)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write output: %s\n", lab_prog, strerror(errno));
		return 1;
	}
	return failed ? 1 : 0;
}

#endif /* LAB_COMMON_H */
