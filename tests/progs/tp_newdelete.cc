// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_newdelete: N operator new / delete pairs, plain and sized, printed afterwards (C++). */
#include <cstdio>
#include <cstdlib>
#include <new>
#include <unistd.h>
#include <sys/syscall.h>

#define MAX_PAIRS 1000
#define SIZE 200

int main(int argc, char **argv)
{
	static void *plain[MAX_PAIRS], *sized[MAX_PAIRS];
	long n = argc > 1 ? atol(argv[1]) : 0;
	int pid = getpid(), tid = (int)syscall(SYS_gettid);

	if (n <= 0 || n > MAX_PAIRS) {
		printf("usage: %s N\n  N pairs of operator new(size) and operator delete(p), and N of "
		       "operator delete(p, size); then one line per call\n", argv[0]);
		return 2;
	}
	/* the operators called as functions: a new-expression's pair may be elided */
	for (long i = 0; i < n; i++) {
		plain[i] = ::operator new(SIZE);
		::operator delete(plain[i]);
		sized[i] = ::operator new(SIZE);
		::operator delete(sized[i], SIZE);
	}
	for (long i = 0; i < n; i++) {
		printf("call pid=%d tid=%d event=malloc addr=%p size=%d\n", pid, tid, plain[i], SIZE);
		printf("call pid=%d tid=%d event=free addr=%p size=\n", pid, tid, plain[i]);
		printf("call pid=%d tid=%d event=malloc addr=%p size=%d\n", pid, tid, sized[i], SIZE);
		printf("call pid=%d tid=%d event=free addr=%p size=\n", pid, tid, sized[i]);
	}
	return 0;
}
