// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_signals: allocator calls from signal handlers that interrupt malloc and
 * free, and handlers that jump out of them; prints every call it made itself.
 *
 *   tp_signals jump N    a timer interrupts a free(malloc(40)) loop; its handler
 *                        siglongjmps out N times; then 100 malloc(12345) + free
 *   tp_signals keep N    the handler keeps up to 7 blocks from malloc(7), which
 *                        the main loop frees; N handler runs
 *   tp_signals pair N    the handler does free(malloc(7)); N handler runs
 *   add "alt" to run the handler on an alternate signal stack
 *
 * Output: "made SIZE COUNT" per size it allocated, and "addr 0x..." for every
 * block of 12345 bytes.
 *
 * Calling malloc from a handler, or jumping out of malloc, is undefined in C:
 * in the middle of glibc's bookkeeping it corrupts the heap or leaves a lock
 * held. So the handler acts only when the signal came in the first bytes of
 * malloc or free, before they touch anything: under tlsbpf that is where most
 * signals land (at the return from the entry probe's trap), and it is the
 * case that matters, a call tlsbpf has seen begin.
 */
#define _GNU_SOURCE	/* REG_RIP, RTLD_DEFAULT */
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "at_entry.h"

static sigjmp_buf env;
static volatile sig_atomic_t runs, handler_allocs;
static void *volatile kept[7];
static volatile sig_atomic_t nkept;
static int mode;	/* 'j', 'k', 'p' */
static volatile long pairs;	/* malloc(40) calls that returned: survives a jump */

static void on_alarm(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	(void)si;
	if (!at_entry(uctx))
		return;
	runs++;
	if (mode == 'j') {
		siglongjmp(env, 1);
	} else if (mode == 'k') {
		if (nkept < 7) {
			kept[nkept] = malloc(7);
			handler_allocs++;
			nkept++;
		}
	} else {
		free(malloc(7));
		handler_allocs++;
	}
}

static void timer(long usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void alt_stack(void)
{
	static char stack[1 << 16];
	stack_t ss = { .ss_sp = stack, .ss_size = sizeof(stack) };

	sigaltstack(&ss, NULL);
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 50;
	struct sigaction sa = { .sa_sigaction = on_alarm, .sa_flags = SA_SIGINFO };
	volatile long jumps = 0;

	if (argc < 2 || !strchr("jkp", argv[1][0])) {
		fprintf(stderr, "usage: tp_signals jump|keep|pair N [alt]\n");
		return 2;
	}
	mode = argv[1][0];
	at_entry_init();
	if (argc > 3 && strcmp(argv[3], "alt") == 0) {
		alt_stack();
		sa.sa_flags |= SA_ONSTACK;
	}
	sigaction(SIGALRM, &sa, NULL);
	if (sigsetjmp(env, 1))
		jumps++;
	if (jumps < n && !(mode != 'j' && runs >= n)) {
		timer(100);
		while (mode == 'j' || runs < n) {
			void *p = malloc(40);

			pairs++;
			free(p);
			if (mode == 'k' && nkept == 7) {
				sigset_t s, old;

				sigemptyset(&s);
				sigaddset(&s, SIGALRM);
				sigprocmask(SIG_BLOCK, &s, &old);
				for (int i = 0; i < 7; i++)
					free(kept[i]);
				nkept = 0;
				sigprocmask(SIG_SETMASK, &old, NULL);
			}
		}
	}
	timer(0);
	for (int i = 0; i < nkept; i++)
		free(kept[i]);
	for (int i = 0; i < 100; i++) {
		void *p = malloc(12345);

		printf("addr %p\n", p);
		free(p);
	}
	printf("jumps %ld\n", (long)jumps);
	printf("made 40 %ld\n", pairs);
	printf("made 7 %ld\n", (long)handler_allocs);
	printf("made 12345 100\n");
	return 0;
}
