// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_static_one: one malloc, printed, then exit: built static by the test that runs it. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *p = malloc(4321);

	printf("malloc 4321 %p\n", p);
	return 0;
}
