// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_outfile.c: outfile__open refuses a file it could open but never write, before any run. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "outfile.h"

static char tmpdir[] = "/tmp/tlsbpf-test-outfile.XXXXXX";
static char path_buf[4096];

static const char *tmp_path(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", tmpdir, name);
	return path_buf;
}

/* outfile__open with stderr captured: its result, and what it printed in msg. */
static int open_capturing(const char *path, char *msg, size_t len)
{
	char log[4096];
	int saved = dup(2), fd, ret;
	ssize_t n;

	snprintf(log, sizeof(log), "%s", tmp_path("stderr.txt"));
	fd = open(log, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	ret = outfile__open(path, NULL);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, msg, len - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(log);
	if (ret >= 0)
		close(ret);
	return ret;
}

static int one_line(const char *msg)
{
	const char *nl = strchr(msg, '\n');

	return nl && nl[1] == '\0';
}

/*
 * Root opens /proc/version for writing (the DAC check is overridden), and the
 * first write fails with EIO: that must be found at open, not after the run.
 */
static void test_proc_file(void)
{
	char msg[512];
	int ret = open_capturing("/proc/version", msg, sizeof(msg));

	CHECK(ret < 0, "/proc/version refused (got %d)", ret);
	CHECK(one_line(msg) && strstr(msg, "tlsbpf: cannot open '/proc/version': "),
	      "one line naming it: %.*s", (int)strcspn(msg, "\n"), msg);
	if (getuid() == 0)
		CHECK(ret == -EIO && strstr(msg, "not writable: Input/output error"),
		      "as root: refused because writes fail, not by permission");
}

/* The empty write that finds pseudo files changes nothing for an ordinary file. */
static void test_regular_file(void)
{
	char msg[512] = "", path[4096], buf[16];
	int fd, ret;

	snprintf(path, sizeof(path), "%s", tmp_path("old.csv"));

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "old contents\n", 13) == 13, "an existing file with contents");
	close(fd);
	ret = open_capturing(path, msg, sizeof(msg));
	CHECK(ret >= 0 && msg[0] == '\0', "an existing regular file is accepted quietly");
	fd = open(path, O_RDONLY);
	CHECK(read(fd, buf, sizeof(buf)) == 0, "and truncated");
	close(fd);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_proc_file();
	test_regular_file();
	rmdir(tmpdir);
	printf("%d passed, %d failed\n", check_n - check_failed, check_failed);
	return check_done();
}
