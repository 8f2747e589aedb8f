// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_replaced: takes its own executable away from its path, then allocates:
 * "unlink" deletes it, a file name moves that file over it (as a rebuild
 * does). Then it prints "malloc PID ADDR LINE" for its allocation, LINE the
 * source line of the call, in after_removal().
 *
 * usage: tp_replaced unlink|FILE   (run by its absolute path)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) static void after_removal(void)
{
	int line = __LINE__ + 1;
	char *p = malloc(4321);

	printf("malloc %d %p %d\n", getpid(), (void *)p, line);
	free(p);
}

int main(int argc, char **argv)
{
	int err;

	if (argc != 2 || argv[0][0] != '/') {
		fprintf(stderr, "usage: /path/to/tp_replaced unlink|FILE\n");
		return 2;
	}
	err = !strcmp(argv[1], "unlink") ? unlink(argv[0]) : rename(argv[1], argv[0]);
	if (err) {
		perror(argv[1]);
		return 1;
	}
	after_removal();
	return 0;
}
