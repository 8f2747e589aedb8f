/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TLSBPF_SIGNALS_H
#define TLSBPF_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

/* The last SIGINT, SIGTERM or SIGHUP received; the run clears it once handled. */
extern volatile sig_atomic_t signals_stop;
/* That signal came from a terminal (Ctrl-C), which reaches the command's process group too. */
extern volatile sig_atomic_t signals_from_tty;
/* Set at the first stop signal and never cleared. */
extern volatile sig_atomic_t signals_interrupted;

/*
 * From tlsbpf's first step: the stop signals are caught, and held (blocked)
 * until signals__release(). Start-up then never ends halfway through its
 * probes, which a signal's default action would do, leaving the kernel to
 * release them one grace period after another as the process ends.
 */
void signals__hold(void);
/* A stop signal is waiting to be released: start-up stops waiting on others. */
bool signals__pending(void);
/* Signals from now on reach the run; the one that came during start-up, or 0. */
int signals__release(void);

#endif
