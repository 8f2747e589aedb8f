// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* signals.c: SIGINT, SIGTERM and SIGHUP, held while tlsbpf starts, then the run's to handle. */
#include <signal.h>
#include "signals.h"

volatile sig_atomic_t signals_stop;
volatile sig_atomic_t signals_from_tty;
volatile sig_atomic_t signals_interrupted;

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void on_signal(int sig, siginfo_t *info, void *ucontext)
{
	signals_stop = sig;
	signals_interrupted = 1;
	signals_from_tty = info && info->si_code == SI_KERNEL;
}

static void stop_set(sigset_t *set)
{
	sigemptyset(set);
	for (unsigned i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(set, stop_signals[i]);
}

void signals__hold(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	sigset_t set;

	stop_set(&set);
	/* blocked first: threads started from here on keep them blocked, the main thread takes them */
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (unsigned i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaction(stop_signals[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed output pipe is an error to report, not a death */
}

bool signals__pending(void)
{
	sigset_t pending;

	if (sigpending(&pending))
		return false;
	for (unsigned i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (sigismember(&pending, stop_signals[i]))
			return true;
	return false;
}

int signals__release(void)
{
	sigset_t set;

	stop_set(&set);
	/* a pending signal's handler runs before this returns */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return signals_stop;
}
