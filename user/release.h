/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* release.h: the kernel's slow release of probes, handed to a process that outlives tlsbpf. */
#ifndef TB_RELEASE_H
#define TB_RELEASE_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * The kernel releases a uprobe at its descriptors' last close, one at a time under a global
 * lock, each release waiting out RCU grace periods (on Linux 6.18, 20 to 45 ms for a BPF link
 * and 70 to 300 ms for a perf event): 20 probes would hold tlsbpf's exit for seconds. A child
 * takes fds (n of them, with room for 2 more) over, keeps nothing else of tlsbpf's, and once
 * tlsbpf's own copies are gone runs finish(arg) if given and ends, so that its closes are the
 * last ones and tlsbpf goes on at once. Returns the pipe end to close when tlsbpf's copies
 * are, or -1 if no child could take them.
 */
int release__hand_off(int *fds, int n, void (*finish)(void *), void *arg);
/*
 * Is a tlsbpf other than this one running as pid? What a tlsbpf leaves behind when killed
 * (private copies, tracefs events) carries its pid: the next one removes it unless this says
 * its owner still runs.
 */
bool release__owner_alive(pid_t pid);

/*
 * Is an earlier tlsbpf's release still running? While it closes probes the kernel holds a
 * lock that every ending thread of a process carrying perf events of ours would wait on.
 */
bool release__others_running(void);

#endif
