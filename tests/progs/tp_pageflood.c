// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_pageflood: a flood of page faults: one block of MiB mebibytes (argv[1],
 * default 1024), each of its pages first touched by one write. Prints
 * "block ADDR PAGES": the block and how many of its pages it touched.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024, len = mib << 20, n = 0;
	char *b = malloc(len);
	/* the first page holds glibc's chunk header, written by malloc itself */
	char *p = (char *)(((unsigned long)b + 4095) & ~4095UL);

	if (!b)
		return 2;
	for (; p + 4096 <= b + len; p += 4096, n++)
		*(volatile char *)p = 1;
	printf("block %p %zu\n", (void *)b, n);
	return 0;
}
