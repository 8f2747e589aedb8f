// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procstat.c: a stat file's state, parent and flags. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "procstat.h"

int procstat__read(pid_t pid, pid_t tid, struct procstat *st)
{
	char path[64], buf[1024], *p;
	int fd, n;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	/* the name in parentheses may hold anything, ')' included: the last one ends it */
	p = strrchr(buf, ')');
	return p && sscanf(p + 1, " %c %d %*d %*d %*d %*d %lu", &st->state, &st->ppid,
			   &st->flags) == 3 ? 0 : -1;
}

bool procstat__alive(const struct procstat *st)
{
	return st->state != 'Z' && st->state != 'X' && !(st->flags & TB_PF_EXITING);
}
