// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_newdelete: N operator new / delete pairs, plain, sized and aligned, printed afterwards. */
#include <cstdio>
#include <cstdlib>
#include <new>
#include <unistd.h>
#include <sys/syscall.h>

#define MAX_PAIRS 1000
#define SIZE 200

int main(int argc, char **argv)
{
	static void *plain[MAX_PAIRS], *sized[MAX_PAIRS], *aligned[MAX_PAIRS];
	long n = argc > 1 ? atol(argv[1]) : 0;
	int pid = getpid(), tid = (int)syscall(SYS_gettid);

	if (n <= 0 || n > MAX_PAIRS) {
		printf("usage: %s N\n  N pairs of operator new(size) and operator delete(p), and N of "
		       "operator delete(p, size), N aligned; then one line per call\n", argv[0]);
		return 2;
	}
	/* the operators called as functions: a new-expression's pair may be elided */
	for (long i = 0; i < n; i++) {
		plain[i] = ::operator new(SIZE);
		::operator delete(plain[i]);
		sized[i] = ::operator new(SIZE);
		::operator delete(sized[i], SIZE);
		aligned[i] = ::operator new(SIZE, std::align_val_t(64));
		::operator delete(aligned[i], std::align_val_t(64));
	}
	for (long i = 0; i < n; i++) {
		printf("call pid=%d tid=%d event=malloc addr=%p size=%d\n", pid, tid, plain[i], SIZE);
		printf("call pid=%d tid=%d event=free addr=%p size=\n", pid, tid, plain[i]);
		printf("call pid=%d tid=%d event=malloc addr=%p size=%d\n", pid, tid, sized[i], SIZE);
		printf("call pid=%d tid=%d event=free addr=%p size=\n", pid, tid, sized[i]);
		printf("call pid=%d tid=%d event=malloc addr=%p size=%d\n", pid, tid, aligned[i], SIZE);
		printf("call pid=%d tid=%d event=free addr=%p size=\n", pid, tid, aligned[i]);
	}
	return 0;
}
