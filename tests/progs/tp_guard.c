// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_guard: a crash on a guard page inside a live block. It writes a 1 MiB
 * block (an mmap chunk), takes all access away from one page in its middle (mprotect
 * PROT_NONE, as a program guarding a buffer would), prints
 *   guard PID ADDR BLOCK
 * and writes to ADDR: the kernel refuses the fault and SIGSEGV ends it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

int main(void)
{
	char *b = malloc(1 << 20);	/* an mmap chunk: its own mapping */
	char *page;

	if (!b)
		return 2;
	memset(b, 1, 1 << 20);
	page = (char *)(((uintptr_t)b & ~(PAGE - 1)) + 4 * PAGE);
	if (mprotect(page, PAGE, PROT_NONE))
		return 2;
	dprintf(1, "guard %d %p %p\n", (int)getpid(), (void *)(page + 8), (void *)b);
	*(volatile char *)(page + 8) = 7;
	return 0;
}
