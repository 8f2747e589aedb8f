// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_forkburst: children that allocate at once. Waits until GOFILE exists (tlsbpf attached),
 * then forks CHILDREN children in a burst; each calls malloc as the first thing after fork
 * returns, KEEP blocks of distinct sizes, frees them, and (every other one) forks a grandchild
 * that does the same. With AGAIN 1, a child that forked a grandchild allocates as much again
 * once it has reaped it (a parent's probes must outlive its child's). Every process writes
 * one line per call it made to LOGDIR/log.PID: "malloc SIZE ADDR" or "free ADDR", the truth a
 * trace is checked against.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEEP_MAX 256

static const char *logdir;

/* One process's record: written with write(2) from a stack buffer, so it allocates nothing. */
static void record(void **blocks, const size_t *sizes, int n)
{
	char path[4096], line[96];
	int fd;

	snprintf(path, sizeof(path), "%s/log.%d", logdir, getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		_exit(3);
	for (int i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "malloc %zu %#lx\nfree %#lx\n", sizes[i],
				   (unsigned long)blocks[i], (unsigned long)blocks[i]);

		if (write(fd, line, len) != len)
			_exit(3);
	}
	close(fd);
}

/* The child's work: its first call after fork is this malloc. */
static void allocate(int who, int keep)
{
	void *blocks[KEEP_MAX];
	size_t sizes[KEEP_MAX];

	for (int i = 0; i < keep; i++) {
		sizes[i] = 1000 + who * KEEP_MAX + i;
		blocks[i] = malloc(sizes[i]);
	}
	for (int i = 0; i < keep; i++)
		free(blocks[i]);
	record(blocks, sizes, keep);
}

int main(int argc, char **argv)
{
	int children, keep, again;
	pid_t pids[512];

	if (argc < 5 || argc > 6 || (children = atoi(argv[3])) < 1 || children > 256 ||
	    (keep = atoi(argv[4])) < 1 || keep > KEEP_MAX) {
		fprintf(stderr, "usage: tp_forkburst GOFILE LOGDIR CHILDREN(1-256) KEEP(1-%d) "
			"[AGAIN]\n", KEEP_MAX);
		return 2;
	}
	logdir = argv[2];
	again = argc == 6 && atoi(argv[5]);
	while (access(argv[1], F_OK))
		usleep(10000);
	for (int c = 0; c < children; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			allocate(c + 1, keep);
			if (c % 2 == 0 && fork() == 0) {
				allocate(children + c + 1, keep);
				_exit(0);
			}
			if (wait(NULL) > 0 && again)
				allocate(2 * children + c + 1, keep);
			_exit(0);
		}
	}
	for (int c = 0; c < children; c++)
		waitpid(pids[c], NULL, 0);
	allocate(0, keep);
	return 0;
}
