// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_cxx: C++'s operator new, new[] and delete, delete[] in their plain,
 * sized, nothrow and aligned forms, each called at a site of its own, with
 * three deliberate mismatches (new[] freed by delete, malloc's block by delete,
 * new's by free: undefined behaviour, harmless with glibc for these trivially
 * destructible types), in the main thread, a second thread and a forked child.
 *
 * Each call is a line, found without tlsbpf: the call instruction's return
 * address in the program's own code (built -fno-plt, a call is
 * `call *GOT(%rip)`, whose slot holds the operator called) and its distance
 * from the program's load address, the site's __LINE__, whether valgrind
 * calls it a mismatch, and what tlsbpf reports it as (the event and the
 * operator's name):
 *   "call pid=P tid=T event=E addr=A ret=R off=O line=L mismatch=M size=S detail=D"
 * written with write(2) once the calls are made, so that printing allocates
 * nothing. Sizes are 1000 and up.
 *
 * usage: tp_cxx ROUNDS [GO]: with GO, a FIFO, the calls begin once a byte is read from it
 * (so that tlsbpf -p can attach first)
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <new>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 1000
#define ALIGN 64
#define MAX_CALLS 4096

struct Big {
	char b[SIZE];
};

struct alignas(ALIGN) Aligned {
	char b[SIZE + 24];	/* 1024: a multiple of its alignment */
};

struct call {
	const char *event, *detail;
	void *addr;
	uintptr_t ret;
	size_t size;
	int line, mismatch, tid;
};

static struct call calls[MAX_CALLS];
static int ncalls;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The return address of the one `call *slot(%rip)` in fn's first bytes whose slot holds target. */
static uintptr_t call_site(const void *fn, const void *target)
{
	const unsigned char *p = (const unsigned char *)fn;

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

__attribute__((noinline)) static void note(const char *event, const char *detail, void *addr,
					   size_t size, const void *fn, const void *target,
					   int line, int mismatch)
{
	pthread_mutex_lock(&lock);
	if (ncalls < MAX_CALLS)
		calls[ncalls++] = (struct call){ event, detail, addr, call_site(fn, target), size,
						 line, mismatch, (int)syscall(SYS_gettid) };
	pthread_mutex_unlock(&lock);
}

/* The operators' addresses, as the program's GOT holds them. */
#define OP(type, name) ((const void *)static_cast<type>(&name))
#define NEW OP(void *(*)(std::size_t), ::operator new)
#define NEW_NT OP(void *(*)(std::size_t, const std::nothrow_t &) noexcept, ::operator new)
#define NEW_AL OP(void *(*)(std::size_t, std::align_val_t), ::operator new)
#define NEW_AL_NT \
	OP(void *(*)(std::size_t, std::align_val_t, const std::nothrow_t &) noexcept, ::operator new)
#define NEWA OP(void *(*)(std::size_t), ::operator new[])
#define NEWA_NT OP(void *(*)(std::size_t, const std::nothrow_t &) noexcept, ::operator new[])
#define NEWA_AL OP(void *(*)(std::size_t, std::align_val_t), ::operator new[])
#define DEL OP(void (*)(void *) noexcept, ::operator delete)
#define DEL_SZ OP(void (*)(void *, std::size_t) noexcept, ::operator delete)
#define DEL_NT OP(void (*)(void *, const std::nothrow_t &) noexcept, ::operator delete)
#define DEL_AL OP(void (*)(void *, std::align_val_t) noexcept, ::operator delete)
#define DEL_SZ_AL OP(void (*)(void *, std::size_t, std::align_val_t) noexcept, ::operator delete)
#define DELA OP(void (*)(void *) noexcept, ::operator delete[])
#define DELA_SZ OP(void (*)(void *, std::size_t) noexcept, ::operator delete[])
#define DELA_AL_NT \
	OP(void (*)(void *, std::align_val_t, const std::nothrow_t &) noexcept, ::operator delete[])

/* A new-expression: the line that says new is the call site. */
__attribute__((noinline)) static Big *site_new(void)
{
	Big *p = new Big; const int line = __LINE__;

	note("malloc", "new", p, SIZE, (const void *)site_new, NEW, line, 0);
	return p;
}

/* A delete-expression of a complete type: the sized delete (-fsized-deallocation). */
__attribute__((noinline)) static void site_delete(Big *p)
{
	int line;

	delete p; line = __LINE__;
	note("free", "delete sized", p, 0, (const void *)site_delete, DEL_SZ, line, 0);
}

__attribute__((noinline)) static Big *site_new_array(int n)
{
	Big *p = new Big[n]; const int line = __LINE__;

	note("malloc", "new[]", p, SIZE * n, (const void *)site_new_array, NEWA, line, 0);
	return p;
}

/* delete[] of a trivially destructible type: no cookie, so no size, the unsized delete[]. */
__attribute__((noinline)) static void site_delete_array(Big *p)
{
	int line;

	delete[] p; line = __LINE__;
	note("free", "delete[]", p, 0, (const void *)site_delete_array, DELA, line, 0);
}

__attribute__((noinline)) static Aligned *site_new_aligned(void)
{
	Aligned *p = new Aligned; const int line = __LINE__;

	note("memalign", "new aligned", p, sizeof(Aligned), (const void *)site_new_aligned, NEW_AL,
	     line, 0);
	return p;
}

__attribute__((noinline)) static void site_delete_aligned(Aligned *p)
{
	int line;

	delete p; line = __LINE__;
	note("free", "delete sized aligned", p, 0, (const void *)site_delete_aligned, DEL_SZ_AL,
	     line, 0);
}

__attribute__((noinline)) static void *site_new_nothrow(void)
{
	void *p = ::operator new(SIZE + 1, std::nothrow); const int line = __LINE__;

	note("malloc", "new nothrow", p, SIZE + 1, (const void *)site_new_nothrow, NEW_NT, line, 0);
	return p;
}

__attribute__((noinline)) static void site_delete_nothrow(void *p)
{
	int line;

	::operator delete(p, std::nothrow); line = __LINE__;
	note("free", "delete nothrow", p, 0, (const void *)site_delete_nothrow, DEL_NT, line, 0);
}

__attribute__((noinline)) static void *site_new_aligned_nothrow(void)
{
	void *p = ::operator new(SIZE + 2 + 22, std::align_val_t(ALIGN), std::nothrow);
	const int line = __LINE__ - 1;

	note("memalign", "new aligned nothrow", p, SIZE + 24, (const void *)site_new_aligned_nothrow,
	     NEW_AL_NT, line, 0);
	return p;
}

__attribute__((noinline)) static void site_delete_aligned_plain(void *p)
{
	int line;

	::operator delete(p, std::align_val_t(ALIGN)); line = __LINE__;
	note("free", "delete aligned", p, 0, (const void *)site_delete_aligned_plain, DEL_AL, line,
	     0);
}

__attribute__((noinline)) static void *site_new_array_nothrow(void)
{
	void *p = ::operator new[](SIZE + 3, std::nothrow); const int line = __LINE__;

	note("malloc", "new[] nothrow", p, SIZE + 3, (const void *)site_new_array_nothrow, NEWA_NT,
	     line, 0);
	return p;
}

__attribute__((noinline)) static void site_delete_array_sized(void *p)
{
	int line;

	::operator delete[](p, SIZE + 3); line = __LINE__;
	note("free", "delete[] sized", p, 0, (const void *)site_delete_array_sized, DELA_SZ, line, 0);
}

__attribute__((noinline)) static void *site_new_array_aligned(void)
{
	void *p = ::operator new[](SIZE + 24, std::align_val_t(ALIGN)); const int line = __LINE__;

	note("memalign", "new[] aligned", p, SIZE + 24, (const void *)site_new_array_aligned,
	     NEWA_AL, line, 0);
	return p;
}

__attribute__((noinline)) static void site_delete_array_aligned_nothrow(void *p)
{
	int line;

	::operator delete[](p, std::align_val_t(ALIGN), std::nothrow); line = __LINE__;
	note("free", "delete[] aligned nothrow", p, 0,
	     (const void *)site_delete_array_aligned_nothrow, DELA_AL_NT, line, 0);
}

/* The mismatches: new[] freed by delete, malloc's block by delete, new's by free. */
__attribute__((noinline)) static void site_delete_of_array(void *p)
{
	int line;

	::operator delete(p); line = __LINE__;
	note("free", "delete", p, 0, (const void *)site_delete_of_array, DEL, line, 1);
}

__attribute__((noinline)) static void *site_malloc(void)
{
	void *p = malloc(SIZE + 4); const int line = __LINE__;

	note("malloc", "", p, SIZE + 4, (const void *)site_malloc, (const void *)malloc, line, 0);
	return p;
}

__attribute__((noinline)) static void site_delete_of_malloc(void *p)
{
	int line;

	::operator delete(p); line = __LINE__;
	note("free", "delete", p, 0, (const void *)site_delete_of_malloc, DEL, line, 1);
}

__attribute__((noinline)) static void site_free_of_new(void *p)
{
	int line;

	free(p); line = __LINE__;
	note("free", "", p, 0, (const void *)site_free_of_new, (const void *)free, line, 1);
}

/* Every form once, and each mismatch once. */
static void round(void)
{
	site_delete(site_new());
	site_delete_array(site_new_array(3));
	site_delete_aligned(site_new_aligned());
	site_delete_nothrow(site_new_nothrow());
	site_delete_aligned_plain(site_new_aligned_nothrow());
	site_delete_array_sized(site_new_array_nothrow());
	site_delete_array_aligned_nothrow(site_new_array_aligned());
	site_delete_of_array(site_new_array(2));
	site_delete_of_malloc(site_malloc());
	site_free_of_new(site_new());
}

static long rounds;

static void *thread_main(void *arg)
{
	for (long i = 0; i < rounds; i++)
		round();
	return arg;
}

static void print_calls(void)
{
	Dl_info di = {};
	char line[512];

	dladdr((const void *)round, &di);
	for (int i = 0; i < ncalls; i++) {
		const struct call *c = &calls[i];
		int len = snprintf(line, sizeof(line), "call pid=%d tid=%d event=%s addr=%p ret=%#lx "
				   "off=%#lx line=%d mismatch=%d size=%zu detail=%s\n", (int)getpid(),
				   c->tid, c->event, c->addr, (unsigned long)c->ret,
				   (unsigned long)(c->ret - (uintptr_t)di.dli_fbase), c->line,
				   c->mismatch, c->size, c->detail);

		if (write(1, line, len) != len)
			_exit(3);
	}
}

int main(int argc, char **argv)
{
	pthread_t t;
	pid_t child;
	int status;

	rounds = argc > 1 ? atol(argv[1]) : 0;
	if (rounds <= 0 || rounds > 50) {
		fprintf(stderr, "usage: %s ROUNDS (1 to 50) [GO]\n", argv[0]);
		return 2;
	}
	if (argc > 2) {
		int fd = open(argv[2], O_RDONLY);
		char go;

		if (fd < 0 || read(fd, &go, 1) != 1)
			return 1;
		close(fd);
	}
	if (pthread_create(&t, NULL, thread_main, NULL))
		return 1;
	pthread_join(t, NULL);
	thread_main(NULL);
	child = fork();
	if (child == 0) {
		ncalls = 0;
		thread_main(NULL);
		print_calls();
		_exit(0);
	}
	if (child < 0 || waitpid(child, &status, 0) != child || status)
		return 1;
	print_calls();
	return 0;
}
