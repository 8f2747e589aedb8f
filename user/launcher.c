// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* launcher.c: find the command, fork it as the invoking user, hold it at a barrier until watched, exec. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "confine.h"
#include "launcher.h"
#include "libc_resolve.h"
#include "loader.h"

/* Who the command runs as. */
struct tb_cred {
	bool drop;	/* false: keep tlsbpf's own (root) identity */
	uid_t uid;
	gid_t gid;
	char user[64];	/* for its supplementary groups; "" uses only gid */
};

struct launch {
	bool stdout_to_stderr;	/* in: an output of tlsbpf's holds stdout, so the command's goes to stderr */
	const struct confine *cf;	/* in: the private copies to bind in its namespace, or NULL */
	bool verbose;		/* in: -v, to say when the copies cannot be bound */
	pid_t pid;
	int go_fd;	/* closing or writing it releases the child */
	int err_fd;	/* the child's exec errno, or EOF once exec succeeded */
};

/* A script whose interpreter is missing fails at exec: say so now, as a shell would. */
static int check_interpreter(const char *command, const char *path)
{
	char interp[PATH_MAX];

	if (libc_resolve__interpreter(path, interp, sizeof(interp)) || access(interp, X_OK) == 0)
		return 0;
	fprintf(stderr, "tlsbpf: cannot run '%s': its interpreter '%s': %s\n", command, interp,
		strerror(errno));
	return 126;
}

int launcher__resolve(const char *command, char *path, size_t sz)
{
	int err = libc_resolve__command(command, path, sz);

	if (err == -ENOENT)
		fprintf(stderr, "tlsbpf: command not found: %s\n", command);
	else if (err == -EISDIR)
		fprintf(stderr, "tlsbpf: cannot run '%s': it is a directory\n", command);
	else if (err)
		fprintf(stderr, "tlsbpf: cannot run '%s': %s\n", command, strerror(-err));
	if (!err)
		return check_interpreter(command, path);
	return err == -ENOENT ? 127 : 126;
}

void launcher__command_line(char **argv, int argc, char *buf, size_t sz)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < argc && off < sz; i++)
		off += snprintf(buf + off, sz - off, "%s%s", i ? " " : "", argv[i]);
}

static int parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > 0xfffffffeUL)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cred_from_user(const char *user, struct tb_cred *cred)
{
	struct passwd *pw = getpwnam(user);
	unsigned id;

	if (!pw && parse_id(user, &id) == 0)
		pw = getpwuid(id);
	if (!pw) {
		fprintf(stderr, "tlsbpf: no such user '%s' (for -u)\n", user);
		return -ENOENT;
	}
	cred->drop = true;
	cred->uid = pw->pw_uid;
	cred->gid = pw->pw_gid;
	snprintf(cred->user, sizeof(cred->user), "%s", pw->pw_name);
	return 0;
}

/* From -u, --as-root and SUDO_UID/SUDO_GID; 0 or -errno (already reported). */
static int choose_cred(const struct env *env, struct tb_cred *cred)
{
	const char *suid = getenv("SUDO_UID"), *sgid = getenv("SUDO_GID");
	const char *suser = getenv("SUDO_USER");
	unsigned uid, gid;

	memset(cred, 0, sizeof(*cred));
	if (env->user)
		return cred_from_user(env->user, cred);
	if (env->as_root || !suid || geteuid() != 0)
		return 0;
	if (parse_id(suid, &uid) || !sgid || parse_id(sgid, &gid)) {
		fprintf(stderr, "tlsbpf: SUDO_UID/SUDO_GID are not numbers: use -u USER or --as-root\n");
		return -EINVAL;
	}
	cred->drop = uid != 0 || gid != 0;
	cred->uid = uid;
	cred->gid = gid;
	if (suser && getpwnam(suser))
		snprintf(cred->user, sizeof(cred->user), "%s", suser);
	return 0;
}

static int drop_privileges(const struct tb_cred *cred)
{
	if (!cred->drop)
		return 0;
	if (cred->user[0] ? initgroups(cred->user, cred->gid) : setgroups(1, &cred->gid))
		return -errno;
	if (setgid(cred->gid) || setuid(cred->uid))
		return -errno;
	/* a dropped identity that could be taken back would be no drop at all */
	if (cred->uid != 0 && setuid(0) == 0)
		return -EPERM;
	return 0;
}

static void child_main(struct launch *lc, int go_rd, int err_wr, const char *path, char **argv,
		       const struct tb_cred *cred)
{
	char go;
	int err = lc->cf ? confine__enter(lc->cf) : 0;

	/* the search path still leads to the copies, only descendants that drop it escape */
	if (err && lc->verbose)
		fprintf(stderr, "tlsbpf: cannot bind the private copy in a mount namespace (%s): "
			"a descendant that drops LD_LIBRARY_PATH loads the library file\n",
			strerror(-err));
	err = drop_privileges(cred);

	/* `tlsbpf --csv - -- prog | tlsbpf analyze -`: the command's output must not land in the CSV */
	if (!err && lc->stdout_to_stderr && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		err = -errno;
	if (!err && read(go_rd, &go, 1) != 1)
		_exit(127);	/* tlsbpf went away before the probes were live */
	if (!err) {
		execv(path, argv);
		err = -errno;
	}
	if (write(err_wr, &err, sizeof(err)) != sizeof(err))
		_exit(127);
	_exit(err == -ENOENT ? 127 : 126);
}

/* Fork the child, which drops privileges and waits; 0 or -errno. */
static int start_held(struct launch *lc, const char *path, char **argv,
			  const struct tb_cred *cred)
{
	int go[2], errp[2];

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(errp, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	fflush(NULL);
	lc->pid = fork();
	if (lc->pid < 0) {
		int err = -errno;

		close(go[0]), close(go[1]), close(errp[0]), close(errp[1]);
		return err;
	}
	if (lc->pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_main(lc, go[0], errp[1], path, argv, cred);
	}
	close(go[0]);
	close(errp[1]);
	lc->go_fd = go[1];
	lc->err_fd = errp[0];
	return 0;
}

/* Let the child exec; 0 once it did, or the -errno its exec failed with. */
static int let_exec(struct launch *lc)
{
	char go = 1;
	int err = 0;
	ssize_t n;

	if (write(lc->go_fd, &go, 1) != 1)
		err = -errno;
	close(lc->go_fd);
	lc->go_fd = -1;
	/* EOF: the pipe closed on exec; a number: why exec (or the privilege drop) failed */
	do
		n = read(lc->err_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(lc->err_fd);
	lc->err_fd = -1;
	return n == sizeof(err) ? err : 0;
}

int launcher__run(const struct env *env, const struct confine *cf, const char *path,
		  struct loader *l, pid_t *pid)
{
	struct launch lc = { .stdout_to_stderr = env__stdout_output(env) != NULL,
			     .cf = cf->ncopies ? cf : NULL, .verbose = env->verbose };
	struct tb_cred cred;
	int err;

	if (choose_cred(env, &cred))
		return 2;
	err = start_held(&lc, path, env->argv, &cred);
	if (err) {
		fprintf(stderr, "tlsbpf: cannot start '%s': %s\n", env->argv[0], strerror(-err));
		return 126;
	}
	err = loader__watch(l, lc.pid, TB_WATCH_PENDING);
	if (!err)
		err = let_exec(&lc);
	if (err) {
		fprintf(stderr, "tlsbpf: cannot run '%s': %s\n", env->argv[0], strerror(-err));
		if (lc.go_fd >= 0) {	/* never let go: the pipe's end makes it exit unrun */
			close(lc.go_fd);
			close(lc.err_fd);
		}
		waitpid(lc.pid, NULL, 0);
		loader__unwatch(l, lc.pid);
		return err == -ENOENT ? 127 : 126;
	}
	*pid = lc.pid;
	return 0;
}
