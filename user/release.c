// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* release.c: the kernel's slow release of probes, handed to a process that outlives tlsbpf. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "release.h"

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* In the background process: close every descriptor but the probes' (events and links). */
static void keep_only(int *fds, int n)
{
	int lo = 0;

	qsort(fds, n, sizeof(*fds), cmp_int);
	for (int i = 0; i < n; i++) {
		if (fds[i] > lo)
			syscall(__NR_close_range, lo, fds[i] - 1, 0);
		lo = fds[i] + 1;
	}
	syscall(__NR_close_range, lo, ~0U, 0);
}

/* Wait for the other end of a pipe to close. */
static void await_close(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	close(fd);
}

int release__hand_off(int *fds, int n, void (*finish)(void *), void *arg)
{
	int held[2], dropped[2];
	pid_t pid;

	if (pipe2(held, O_CLOEXEC))
		return -1;
	if (pipe2(dropped, O_CLOEXEC)) {
		close(held[0]);
		close(held[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, "tlsbpf-release");
		/* out of the terminal's session: nothing of the run is left in it, no ^C reaches this */
		setsid();
		fds[n++] = held[1];
		fds[n++] = dropped[0];
		keep_only(fds, n);
		close(held[1]);	/* nothing else of tlsbpf's is held here */
		await_close(dropped[0]);
		if (finish)
			finish(arg);
		_exit(0);	/* the kernel releases what is left as this process ends */
	}
	close(held[1]);
	close(dropped[0]);
	if (pid < 0) {
		close(held[0]);
		close(dropped[1]);
		return -1;
	}
	await_close(held[0]);
	return dropped[1];
}


/* pid's name, "" if it has none to read (it ended). */
static void comm_of(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	comm[0] = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(comm, len, f))
		comm[0] = 0;
	fclose(f);
}

bool release__owner_alive(pid_t pid)
{
	char comm[32];

	if (pid == getpid())	/* a tlsbpf that had our pid before us: what it left is stale */
		return false;
	comm_of(pid, comm, sizeof(comm));
	return strncmp(comm, "tlsbpf", 6) == 0;
}

bool release__others_running(void)
{
	char comm[32];
	struct dirent *de;
	bool found = false;
	DIR *d = opendir("/proc");

	while (d && !found && (de = readdir(d))) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 0 || pid == getpid())
			continue;
		comm_of(pid, comm, sizeof(comm));
		found = strcmp(comm, "tlsbpf-release\n") == 0;
	}
	if (d)
		closedir(d);
	return found;
}
