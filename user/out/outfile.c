// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* outfile.c: opening output files safely when tlsbpf runs as root on behalf of a sudo user. */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "outfile.h"

#define OPEN_FLAGS (O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
#define OPEN_TRIES 4	/* the path may appear and vanish between our two opens */

static int report(const char *path, int err, const char *why)
{
	fprintf(stderr, "tlsbpf: cannot open '%s': %s\n", path, why ? why : strerror(-err));
	return err;
}

/*
 * ELOOP from O_NOFOLLOW means a symlink sits at PATH, but it also comes from a
 * symlink loop in a directory on the way: only say "symbolic link" when it is.
 */
static int report_open_error(const char *path, int err)
{
	struct stat st;

	if (err == -ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return report(path, err, "refusing to follow a symbolic link");
	return report(path, err, NULL);
}

/*
 * O_EXCL tells whether we created the file, which decides whether it is ours
 * to chown. An existing file is reopened without O_TRUNC: it is truncated only
 * after fstat proved it is something we may write over.
 */
static int open_or_create(const char *path, int *created)
{
	int fd, err = -ENOENT;

	for (int i = 0; i < OPEN_TRIES; i++) {
		fd = open(path, OPEN_FLAGS | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			*created = 1;
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
		fd = open(path, OPEN_FLAGS);
		if (fd >= 0) {
			*created = 0;
			return fd;
		}
		err = -errno;
		if (err != -ENOENT)
			return err;
	}
	return err;
}

/*
 * A regular file, a FIFO or a character device such as /dev/null is fine. A
 * regular file with other hard links is refused: truncating it would destroy
 * the data under its other name, which is what a planted link aims at. Root
 * may open a read-only pseudo file such as /proc/version for writing and only
 * fail at the first write, after the command ran: an empty write finds out now.
 */
static int check_target(const char *path, int fd, int created)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return report(path, -errno, NULL);
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
		return 0;
	if (!S_ISREG(st.st_mode))
		return report(path, -EINVAL, "not a regular file, FIFO or character device");
	if (created)
		return 0;
	if (st.st_nlink > 1)
		return report(path, -EPERM, "refusing to truncate a file with several hard links");
	if (write(fd, "", 0) < 0) {
		char why[128];
		int err = -errno;

		snprintf(why, sizeof(why), "not writable: %s", strerror(-err));
		return report(path, err, why);
	}
	if (ftruncate(fd, 0) < 0)
		return report(path, -errno, NULL);
	return 0;
}

/* Only a file we created changes hands: an existing one keeps the owner it had. */
static int give_to_owner(const char *path, int fd, const struct tb_owner *owner)
{
	int err;

	if (fchown(fd, owner->uid, owner->gid) == 0)
		return 0;
	err = -errno;
	fprintf(stderr, "tlsbpf: cannot give '%s' to uid %u: %s\n", path, (unsigned)owner->uid,
		strerror(-err));
	return err;
}

/* "-" is a duplicate of stdout, so every caller may close what it gets. */
static int open_stdout(void)
{
	int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return report("-", -errno, NULL);
	return fd;
}

int outfile__open(const char *path, const struct tb_owner *owner)
{
	int fd, err, created = 0;

	if (strcmp(path, "-") == 0)
		return open_stdout();
	fd = open_or_create(path, &created);
	if (fd < 0)
		return report_open_error(path, fd);
	err = check_target(path, fd, created);
	if (!err && created && owner && owner->set)
		err = give_to_owner(path, fd, owner);
	if (err) {
		close(fd);
		if (created)
			unlink(path);
		return err;
	}
	return fd;
}

int outfile__write_all(int fd, const char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n > 0) {
			buf += n;
			len -= n;
		} else if (n == 0) {
			return -EIO;
		} else if (errno == EAGAIN) {
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

struct tb_owner outfile__caller(void)
{
	struct tb_owner o = {};
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");

	if (geteuid() == 0 && uid && gid && *uid && *gid) {
		o.set = 1;
		o.uid = strtoul(uid, NULL, 10);
		o.gid = strtoul(gid, NULL, 10);
	}
	return o;
}

void *outfile__open_writer(const char *path, const struct tb_owner *owner, size_t size, int *fd)
{
	void *w = malloc(size);

	if (!w) {
		fprintf(stderr, "tlsbpf: cannot open '%s': %s\n", path, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	*fd = outfile__open(path, owner);
	if (*fd < 0) {
		free(w);
		errno = -*fd;
		return NULL;
	}
	return w;
}
