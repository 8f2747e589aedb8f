/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * at_entry.h: whether a signal came in the first bytes of malloc or free, for
 * the test programs whose handlers allocate or jump out. Doing either in the
 * middle of glibc's bookkeeping is undefined and corrupts the heap or
 * deadlocks on an arena lock; in the first bytes nothing is half done. Under
 * tlsbpf that is where most signals land: at the return from the entry
 * probe's trap, in a call tlsbpf has seen begin. Define _GNU_SOURCE first.
 */
#ifndef TP_AT_ENTRY_H
#define TP_AT_ENTRY_H

#include <dlfcn.h>
#include <stdint.h>
#include <ucontext.h>

#define ENTRY_BYTES 16	/* glibc 2.36's malloc and free change nothing in these */

static uintptr_t entries[2];	/* malloc's and free's first instruction */

static void at_entry_init(void)
{
	entries[0] = (uintptr_t)dlsym(RTLD_DEFAULT, "malloc");
	entries[1] = (uintptr_t)dlsym(RTLD_DEFAULT, "free");
}

/* uctx: a SA_SIGINFO handler's third argument */
static int at_entry(void *uctx)
{
#if defined(__x86_64__)
	uintptr_t pc = ((ucontext_t *)uctx)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	uintptr_t pc = ((ucontext_t *)uctx)->uc_mcontext.pc;
#else
	uintptr_t pc = 0;
#endif
	/*
	 * Not at the first byte: the call has not begun there, and tlsbpf may
	 * probe further in (free past its first test), so a jump from there
	 * leaves a call the program recorded that was never made.
	 */
	return (pc - entries[0] - 1 < ENTRY_BYTES - 1) || (pc - entries[1] - 1 < ENTRY_BYTES - 1);
}

#endif
