// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_stackfree: the main thread frees an address on its own stack, dressed as
 * a chunk so that glibc takes it without aborting (its size word says 64
 * bytes, in use; glibc puts it in the thread's cache and never hands it out
 * here). Prints the address freed:
 *   free pid=P tid=T addr=0x... region=stack
 */
#include "../../labs/common.h"

static void free_on_stack(void)
{
	size_t fake[8] __attribute__((aligned(16))) = { 0, 0x41 };
	void *p = &fake[2];

	/* hide where p points from the compiler, which would warn of a non-heap free */
	__asm__("" : "+r"(p));
	printf("free pid=%d tid=%d addr=%#lx region=stack\n", getpid(), lab_tid(), LAB_ADDR(p));
	fflush(stdout);
	free(p);
}

int main(int argc, char **argv)
{
	lab_init(argv[0]);
	if (argc > 1) {
		printf("usage: %s\n", lab_prog);
		return 2;
	}
	free(malloc(1));	/* glibc's cache exists before the fake chunk goes in */
	free_on_stack();
	return 0;
}
