// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_stacks: allocations and frees at known sites, each reporting the stack
 * it was made from, found without tlsbpf: the call instruction's return
 * address from the program's own code (built -fno-plt, the call is
 * `call *GOT(%rip)`, whose GOT slot holds the function called), and the
 * callers from glibc's backtrace(), which unwinds with DWARF CFI and so works
 * without frame pointers. Sites at depths 1, 5 and 30, through recursion, in
 * threads, in a forked child and in a dlopen'd library (this same file built
 * with -DTP_STACKS_LIB).
 *
 * Each event is a line: "malloc|free PID SIZE ADDR RET0 OFF0 K BT1 .. BTK LLINE":
 * OFF0 is RET0 in its file (its distance from the file's load address), BT1..
 * the callers of the site up to and including the first frame in the C
 * library (main's or the thread's caller), then "L" and the source line of
 * the site's call (its __LINE__); written with write(2), so that
 * printing allocates nothing. Sizes are 1000 and up: the C library's own
 * calls are told apart by them.
 *
 * usage: tp_stacks LIB.so [LINGER_MS]   (LINGER_MS: alive that long after the last call)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXBT 64

/* The return address of the one `call *slot(%rip)` in fn's first bytes whose slot holds target. */
static uintptr_t call_site(const void *fn, const void *target)
{
	const unsigned char *p = fn;

	for (int i = 0; i < 4096; i++) {
		int32_t disp;

		if (p[i] != 0xff || p[i + 1] != 0x15)
			continue;
		memcpy(&disp, p + i + 2, 4);
		if (*(const void *const *)(p + i + 6 + disp) == target)
			return (uintptr_t)(p + i + 6);
	}
	return 0;
}

static int in_libc(const void *addr)
{
	Dl_info di;

	return dladdr(addr, &di) && di.dli_fname && strstr(di.dli_fname, "libc.so");
}

/* One line: the event, the block, the call site, and the site's callers from backtrace. */
__attribute__((noinline)) static void emit(const char *ev, size_t n, void *p, const void *fn,
					   const void *target, void **bt, int nbt, int site_line)
{
	uintptr_t ret0 = call_site(fn, target);
	char line[64 * 24];
	int len, k = 0;
	Dl_info di = { 0 };

	while (1 + k < nbt && !in_libc(bt[k]))
		k++;	/* bt[1..k]: up to the first frame in the C library, included */
	dladdr((void *)ret0, &di);
	len = snprintf(line, sizeof(line), "%s %d %zu %p %#lx %#lx %d", ev, (int)getpid(), n, p,
		       (unsigned long)ret0, (unsigned long)(ret0 - (uintptr_t)di.dli_fbase), k);
	for (int i = 1; i <= k && len < (int)sizeof(line) - 24; i++)
		len += snprintf(line + len, sizeof(line) - len, " %p", bt[i]);
	len += snprintf(line + len, sizeof(line) - len, " L%d", site_line);
	line[len++] = '\n';
	if (write(1, line, len) != len)
		_exit(3);
}

#ifdef TP_STACKS_LIB
/* The library's site: its own call of malloc, through its own GOT. */
__attribute__((noinline)) void *lib_site_malloc(size_t n)
{
	void *bt[MAXBT];
	void *p = malloc(n); const int site_line = __LINE__;
	int k = backtrace(bt, MAXBT);

	emit("malloc", n, p, (const void *)lib_site_malloc, (const void *)malloc, bt, k, site_line);
	return p;
}
#else

__attribute__((noinline)) static void *site_malloc(size_t n)
{
	void *bt[MAXBT];
	void *p = malloc(n); const int site_line = __LINE__;
	int k = backtrace(bt, MAXBT);

	emit("malloc", n, p, (const void *)site_malloc, (const void *)malloc, bt, k, site_line);
	return p;
}

__attribute__((noinline)) static void site_free(void *p)
{
	void *bt[MAXBT];
	int k, site_line;

	free(p); site_line = __LINE__;
	k = backtrace(bt, MAXBT);
	emit("free", 0, p, (const void *)site_free, (const void *)free, bt, k, site_line);
}

static void *(*lib_malloc)(size_t);

/* d - 1 frames of recursion above the site; not a tail call, so each frame stays. */
__attribute__((noinline)) static void *alloc_at(int d, size_t n, int in_lib)
{
	void *p;

	if (d > 1) {
		p = alloc_at(d - 1, n, in_lib);
		__asm__ volatile("" : : "r"(p) : "memory");
		return p;
	}
	return in_lib ? lib_malloc(n) : site_malloc(n);
}

__attribute__((noinline)) static void free_at(int d, void *p)
{
	if (d > 1) {
		free_at(d - 1, p);
		__asm__ volatile("" ::: "memory");
		return;
	}
	site_free(p);
}

/* Blocks at depths 1, 5 and 30, freed at other depths. */
static void rounds(void)
{
	static const int depth[] = { 1, 5, 30 };
	void *p[3];

	for (int i = 0; i < 3; i++)
		p[i] = alloc_at(depth[i], 1000 + i, 0);
	for (int i = 0; i < 3; i++)
		free_at(depth[2 - i], p[i]);
	if (lib_malloc)
		free_at(2, alloc_at(3, 1040, 1));
}

static void *thread_main(void *arg)
{
	rounds();
	return arg;
}

int main(int argc, char **argv)
{
	void *lib = argc > 1 ? dlopen(argv[1], RTLD_NOW) : NULL;
	pthread_t t;
	pid_t child;

	if (argc > 1 && !lib) {
		fprintf(stderr, "tp_stacks: %s\n", dlerror());
		return 2;
	}
	if (lib)
		lib_malloc = (void *(*)(size_t))dlsym(lib, "lib_site_malloc");
	rounds();
	if (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL))
		return 1;
	child = fork();
	if (child == 0) {
		rounds();
		_exit(0);
	}
	if (child < 0 || waitpid(child, NULL, 0) != child)
		return 1;
	if (argc > 2)
		usleep(atoi(argv[2]) * 1000);
	return 0;
}
#endif
