// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_entries: calls an allocator's own entry points (mallocx, tc_new...), then prints them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include "../../labs/common.h"

/*
 * The functions are looked up at run time in whatever allocator is loaded
 * (preloaded), so only the allocators' runtime libraries are needed.
 */
typedef void *(*alloc1_fn)(size_t);
typedef void *(*alloc2_fn)(size_t, size_t);	     /* mallocx(size, flags), mi_malloc_aligned */
typedef void *(*realloc_fn)(void *, size_t, size_t); /* rallocx(p, size, flags) */
typedef void (*free1_fn)(void *);
typedef void (*free2_fn)(void *, size_t);	  /* dallocx(p, flags), tc_free_sized(p, size) */
typedef void (*free3_fn)(void *, size_t, size_t); /* sdallocx(p, size, flags) */

#define MAX_CALLS 4096
#define SIZE	  200
#define SIZE2	  300

/* One call the program made: what it called, what the standard event is, the block. */
struct rec {
	const char *fn;
	const char *event;
	void *addr;
	void *old;
	size_t size;
};

static struct rec recs[MAX_CALLS];
static int nrecs;

static void *sym(const char *name)
{
	void *f = dlsym(RTLD_DEFAULT, name);

	if (!f)
		lab_die("%s: no such function in the loaded allocator", name);
	return f;
}

static void note(const char *fn, const char *event, void *addr, void *old, size_t size)
{
	if (nrecs == MAX_CALLS)
		lab_die("more than %d calls", MAX_CALLS);
	if (!addr && strcmp(event, "free"))
		lab_die("%s failed", fn);
	recs[nrecs++] = (struct rec){fn, event, addr, old, size};
}

/* jemalloc: mallocx, rallocx, sdallocx; mallocx, dallocx */
static void run_je(long n)
{
	alloc2_fn mallocx = sym("mallocx");
	realloc_fn rallocx = sym("rallocx");
	free3_fn sdallocx = sym("sdallocx");
	free2_fn dallocx = sym("dallocx");

	for (long i = 0; i < n; i++) {
		void *p = mallocx(SIZE, 0), *q;

		note("mallocx", "malloc", p, NULL, SIZE);
		q = rallocx(p, SIZE2, 0);
		note("rallocx", "realloc", q, p, SIZE2);
		sdallocx(q, SIZE2, 0);
		note("sdallocx", "free", q, NULL, 0);
		p = mallocx(SIZE, 0);
		note("mallocx", "malloc", p, NULL, SIZE);
		dallocx(p, 0);
		note("dallocx", "free", p, NULL, 0);
	}
}

/* tcmalloc: tc_malloc and tc_free (malloc and free themselves), tc_new, tc_free_sized */
static void run_tc(long n)
{
	alloc1_fn tc_malloc = sym("tc_malloc"), tc_new = sym("tc_new");
	free1_fn tc_free = sym("tc_free");
	free2_fn tc_free_sized = sym("tc_free_sized");

	for (long i = 0; i < n; i++) {
		void *p = tc_malloc(SIZE);

		note("tc_malloc", "malloc", p, NULL, SIZE);
		tc_free(p);
		note("tc_free", "free", p, NULL, 0);
		p = tc_new(SIZE);
		note("tc_new", "malloc", p, NULL, SIZE);
		tc_free_sized(p, SIZE);
		note("tc_free_sized", "free", p, NULL, 0);
	}
}

/*
 * mimalloc: mi_malloc and mi_free (malloc and free themselves), mi_zalloc,
 * mi_malloc_aligned; mi_posix_memalign, which calls mi_malloc_aligned, and
 * mi_free_size, which jumps to mi_free
 */
static void run_mi(long n)
{
	alloc1_fn mi_malloc = sym("mi_malloc"), mi_zalloc = sym("mi_zalloc");
	alloc2_fn mi_malloc_aligned = sym("mi_malloc_aligned");
	int (*mi_posix_memalign)(void **, size_t, size_t) = sym("mi_posix_memalign");
	free1_fn mi_free = sym("mi_free");
	free2_fn mi_free_size = sym("mi_free_size");

	for (long i = 0; i < n; i++) {
		void *p = mi_malloc(SIZE);

		note("mi_malloc", "malloc", p, NULL, SIZE);
		mi_free(p);
		note("mi_free", "free", p, NULL, 0);
		p = mi_zalloc(SIZE);
		note("mi_zalloc", "malloc", p, NULL, SIZE);
		mi_free(p);
		note("mi_free", "free", p, NULL, 0);
		p = mi_malloc_aligned(SIZE, 64);
		note("mi_malloc_aligned", "malloc", p, NULL, SIZE);
		mi_free(p);
		note("mi_free", "free", p, NULL, 0);
		if (mi_posix_memalign(&p, 64, SIZE))
			p = NULL;
		note("mi_posix_memalign", "posix_memalign", p, NULL, SIZE);
		mi_free_size(p, SIZE);
		note("mi_free_size", "free", p, NULL, 0);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;
	int pid = getpid(), tid = lab_tid();

	if (argc < 3 || argc > 4 || n <= 0 || n > 200) {
		printf("usage: %s je|tc|mi N [GO]\n  N rounds of the allocator's own entry points, "
		       "under LD_PRELOAD of that allocator; then one line per call.\n"
		       "  GO: first wait until that file exists (a tracer attached)\n",
		       argv[0]);
		return 2;
	}
	while (argc == 4 && access(argv[3], F_OK))
		usleep(10000);
	if (strcmp(argv[1], "je") == 0)
		run_je(n);
	else if (strcmp(argv[1], "tc") == 0)
		run_tc(n);
	else if (strcmp(argv[1], "mi") == 0)
		run_mi(n);
	else
		lab_die("%s: not je, tc or mi", argv[1]);
	/* alias=1: the function is the standard one under another name (the same address) */
	for (int i = 0; i < nrecs; i++) {
		const struct rec *r = &recs[i];

		printf("call pid=%d tid=%d fn=%s event=%s alias=%d addr=0x%lx old=0x%lx size=%zu\n",
		       pid, tid, r->fn, r->event, sym(r->fn) == sym(r->event), LAB_ADDR(r->addr),
		       LAB_ADDR(r->old), r->size);
	}
	return 0;
}
