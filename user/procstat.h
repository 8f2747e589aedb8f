/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procstat.h: the few fields tlsbpf reads from a process's or thread's /proc stat file. */
#ifndef TB_PROCSTAT_H
#define TB_PROCSTAT_H

#include <stdbool.h>
#include <sys/types.h>

#define TB_PF_EXITING 0x00000004	/* the kernel's PF_EXITING: on its way out */
#define TB_PF_KTHREAD 0x00200000	/* PF_KTHREAD: a kernel thread */

struct procstat {
	char state;		/* R, S, D, Z, X, ... */
	pid_t ppid;
	unsigned long flags;	/* the kernel's PF_* flags */
};

/* From /proc/PID/stat (tid 0) or /proc/PID/task/TID/stat; 0, or -1 when it cannot be read. */
int procstat__read(pid_t pid, pid_t tid, struct procstat *st);
/* Neither a zombie nor on its way out. */
bool procstat__alive(const struct procstat *st);

#endif
