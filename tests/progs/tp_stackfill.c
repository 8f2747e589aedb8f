// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_stackfill: more distinct call stacks than tlsbpf's stack table holds. Each of -c
 * children (a process of its own, so stacks of its own) calls malloc and free at -d
 * depths of recursion. Prints "calls N": the mallocs and frees the children made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* frame pointers, so that each depth is a stack of its own */
__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void at_depth(int d)
{
	if (d > 1) {
		at_depth(d - 1);
		__asm__ volatile("" ::: "memory");
		return;
	}
	free(malloc(24));
}

int main(int argc, char **argv)
{
	int children = 300, depths = 60, opt;

	while ((opt = getopt(argc, argv, "c:d:")) != -1) {
		switch (opt) {
		case 'c': children = atoi(optarg); break;
		case 'd': depths = atoi(optarg); break;
		default: return 2;
		}
	}
	for (int c = 0; c < children; c++) {
		pid_t pid = fork();

		if (pid == 0) {
			for (int d = 1; d <= depths; d++)
				at_depth(d);
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 1;
	}
	printf("calls %d\n", 2 * children * depths);
	return 0;
}
