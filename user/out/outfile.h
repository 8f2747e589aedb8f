/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* outfile.h: opening output files safely on behalf of the user who ran sudo. */
#ifndef TB_OUTFILE_H
#define TB_OUTFILE_H

#include <sys/types.h>

/* Who should own files tlsbpf creates: the sudo caller, or nobody in particular. */
struct tb_owner {
	int set;
	uid_t uid;
	gid_t gid;
};

/* The user who ran tlsbpf through sudo (SUDO_UID/SUDO_GID, when root), or nobody in particular. */
struct tb_owner outfile__caller(void);

/*
 * Open PATH for writing ("-" is stdout): truncate, never follow a symlink at
 * PATH, create mode 0644, and chown to owner when owner->set. Returns an fd or
 * a negative errno; on failure prints one line "tlsbpf: cannot open 'PATH': why".
 */
int outfile__open(const char *path, const struct tb_owner *owner);

/*
 * A writer's record of size bytes, not cleared, and PATH opened into *fd as
 * outfile__open does. NULL with errno set on failure, after one line about it.
 */
void *outfile__open_writer(const char *path, const struct tb_owner *owner, size_t size, int *fd);

/* The whole buffer, through EINTR, short writes and a non-blocking descriptor; 0 or -errno. */
int outfile__write_all(int fd, const char *buf, size_t len);

#endif
