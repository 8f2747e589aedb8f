// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_requests: requests whose arguments the trace once wrote wrong; prints each one as made.
 *   "memalign ALIGN SIZE PTR", "posix_memalign ALIGN SIZE RET PTR", "calloc NMEMB SIZE PTR",
 *   "aligned_alloc ALIGN SIZE PTR", "brk BEFORE AFTER" (after each sbrk)
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void one_memalign(size_t align, size_t size)
{
	void *p = memalign(align, size);

	printf("memalign %zu %zu %p\n", align, size, p);
	free(p);
}

static void one_posix_memalign(size_t align, size_t size)
{
	void *p = NULL;
	int ret = posix_memalign(&p, align, size);

	printf("posix_memalign %zu %zu %d %p\n", align, size, ret, ret ? NULL : p);
	if (!ret)
		free(p);
}

static void one_sbrk(intptr_t delta)
{
	char *before = sbrk(0);

	sbrk(delta);
	printf("brk %p %p\n", (void *)before, sbrk(0));
}

int main(void)
{
	size_t nmemb = SIZE_MAX / 4;
	volatile size_t elem = 16;	/* gcc would warn of what this test wants */
	void *p;

	one_memalign(0, 100);
	one_memalign(1UL << 31, 100);
	one_memalign(1UL << 32, 100);
	one_memalign((1UL << 32) + 64, 100);
	one_memalign(1UL << 40, 100);
	one_memalign(1UL << 62, 100);
	one_memalign(1UL << 63, 100);
	one_posix_memalign(1UL << 32, 100);
	one_posix_memalign(3, 100);		/* not a power of two: EINVAL */
	one_posix_memalign(64, SIZE_MAX - 4096);	/* ENOMEM */
	p = calloc(nmemb, elem);	/* the overflow is the point */
	printf("calloc %zu %d %p\n", nmemb, 16, p);
	free(p);
	p = calloc(3, 40);
	printf("calloc %d %d %p\n", 3, 40, p);
	free(p);
	p = aligned_alloc(64, 128);
	printf("aligned_alloc %d %d %p\n", 64, 128, p);
	free(p);
	one_sbrk(65536);
	one_sbrk(-4096);
	fflush(stdout);
	return 0;
}
