// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_frees: the program's own frees, told from the allocator's; built static too.
 * Two threads each free what they allocated and exit (glibc flushes their caches
 * then); main frees blocks of its own, prints "free ADDR" for each, and last frees
 * an address on its stack, which glibc answers with abort(): "invalid ADDR" first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *work(void *arg)
{
	void *v[16];

	(void)arg;
	for (int i = 0; i < 16; i++)
		v[i] = malloc(32 + i * 16);
	for (int i = 0; i < 16; i++)
		free(v[i]);
	return NULL;
}

int main(void)
{
	pthread_t t[2];
	char b[64];
	void *p;

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, work, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 8; i++) {
		p = malloc(100 + i);
		printf("free %p\n", p);
		free(p);
	}
	printf("invalid %p\n", (void *)(b + 16));
	fflush(stdout);
	free(b + 16);
	return 0;
}
