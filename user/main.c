// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* main.c: wires options to one of three runs: launch a command, attach to PIDs, or watch all. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "analyze.h"
#include "confine.h"
#include "env.h"
#include "launcher.h"
#include "libc_resolve.h"
#include "session.h"

#define MAX_PIDS 1024

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

static int resolve_command(const char *command, char *path, size_t sz)
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

/* Every --lib, each probed once whatever else found it. */
static int probe_user_libs(struct session *s)
{
	for (int i = 0; i < s->env->nlibs; i++) {
		char real[PATH_MAX];
		struct stat st;
		int err;

		if (!realpath(s->env->libs[i], real) || stat(real, &st)) {
			fprintf(stderr, "tlsbpf: cannot use --lib '%s': %s\n", s->env->libs[i],
				strerror(errno));
			return -ENOENT;
		}
		err = session__probe_file(s, real, true);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Only the private copies are probed; the command and its children load them.
 * 1 when confining cannot apply or failed and --confine was not insisted on:
 * the caller probes the files instead, as -v says.
 */
static int probe_confined(struct session *s, struct confine *cf, const char *provider,
			  const char *libc, enum provider_via via, const char *path)
{
	const char *why = confine__why_not(path, via);
	int err;

	if (!why) {
		err = confine__prepare(cf, provider, libc);
		if (err)
			why = strerror(-err);
	}
	if (why && s->env->confine) {
		fprintf(stderr, "tlsbpf: --confine: '%s' %s: run without --confine\n", path, why);
		return -EINVAL;
	}
	if (why) {
		if (s->env->verbose)
			fprintf(stderr, "tlsbpf: not confined: '%s' %s\n", path, why);
		return 1;
	}
	for (int i = 0; i < cf->ncopies; i++) {
		err = session__probe_file(s, cf->copies[i], i == 0);
		if (err)
			return err;
	}
	session__set_scope(s, TB_SCOPE_CONFINED, cf->ncopies);
	return probe_user_libs(s);
}

/* The command's own allocator, the system C library for its children, and every --lib. */
static int probe_for_command(struct session *s, struct confine *cf, const char *path)
{
	char provider[PATH_MAX] = "", libc[PATH_MAX] = "";
	enum provider_via via = TB_VIA_SELF;	/* not found: only --lib names it */
	int err;

	if (libc_resolve__provider(path, provider, sizeof(provider), &via) && !s->env->nlibs) {
		fprintf(stderr, "tlsbpf: cannot find which library serves malloc to '%s' "
				"(a static binary?): name it with --lib PATH\n", path);
		return -ENOENT;
	}
	if (libc_resolve__system_libc(libc, sizeof(libc)) || !strcmp(libc, provider))
		libc[0] = 0;
	if (!s->env->no_confine) {
		err = probe_confined(s, cf, provider, libc, via, path);
		if (err <= 0)
			return err;
	}
	session__set_scope(s, TB_SCOPE_FILES, 0);
	if (provider[0] && (err = session__probe_file(s, provider, true)))
		return err;
	if (libc[0] && (err = session__probe_file(s, libc, false)))
		return err;
	return probe_user_libs(s);
}

static void join_argv(char **argv, int argc, char *buf, size_t sz)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < argc && off < sz; i++)
		off += snprintf(buf + off, sz - off, "%s%s", i ? " " : "", argv[i]);
}

/* Start the command held at the barrier, watch it, then let it exec. */
static int launch(struct session *s, const struct confine *cf, const char *path)
{
	const struct env *env = s->env;
	struct launch lc = { .stdout_to_stderr = env__stdout_output(env) != NULL,
			     .cf = cf->ncopies ? cf : NULL, .verbose = env->verbose };
	struct tb_cred cred;
	int err;

	if (launcher__cred(env, &cred))
		return 2;
	err = launcher__start(&lc, path, env->argv, &cred);
	if (err) {
		fprintf(stderr, "tlsbpf: cannot start '%s': %s\n", env->argv[0], strerror(-err));
		return 126;
	}
	s->child = lc.pid;
	err = loader__watch(&s->loader, lc.pid, TB_WATCH_PENDING);
	if (!err)
		err = launcher__release(&lc);
	if (err) {
		fprintf(stderr, "tlsbpf: cannot run '%s': %s\n", env->argv[0], strerror(-err));
		waitpid(lc.pid, NULL, 0);
		loader__unwatch(&s->loader, lc.pid);
		s->child = 0;
		return err == -ENOENT ? 127 : 126;
	}
	return 0;
}

static int run_command(const struct env *env)
{
	static struct session s;
	struct confine cf = {};
	char path[PATH_MAX];
	int ret, err;

	ret = resolve_command(env->argv[0], path, sizeof(path));
	if (ret)
		return ret;
	if (session__open(&s, env, TB_MODE_LAUNCH) || probe_for_command(&s, &cf, path) ||
	    session__start_consumer(&s)) {
		session__finish(&s);
		confine__cleanup(&cf);
		return 1;
	}
	join_argv(env->argv, env->argc, s.what, sizeof(s.what));
	/* orphans of the command come to us, so none is left a zombie */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	session__install_signals();
	ret = launch(&s, &cf, path);
	err = ret ? 0 : session__loop(&s);
	if (!ret && (s.stop_signal || !s.child_reaped))
		session__freeze_leftovers(&s);
	err = session__finish(&s) ?: err;
	session__kill_leftovers(&s);
	confine__cleanup(&cf);
	if (ret)
		return ret;
	/* stopped while the command runs on: a shell interrupted the same way would say so */
	if (!s.child_reaped)
		return 128 + (s.stop_signal ? s.stop_signal : SIGINT);
	return s.status ? s.status : err ? 1 : 0;
}

/* -p's processes, each watched; the report's name for them. */
static void watch_pids(struct session *s, const pid_t *pids, int n)
{
	int off = snprintf(s->what, sizeof(s->what), "pid"), err;

	for (int i = 0; i < n; i++) {
		err = attach__watch(&s->loader, s->pipe.corr, pids[i], session__now_ns());
		if (err)
			fprintf(stderr, "tlsbpf: -p %d: %s (it ended?)\n", pids[i], strerror(-err));
		else if (off < (int)sizeof(s->what))
			off += snprintf(s->what + off, sizeof(s->what) - off, "%s%d", i ? "," : " ",
					pids[i]);
	}
}

static int run_pids(const struct env *env)
{
	static pid_t pids[MAX_PIDS];
	static struct session s;
	int n, err = 0;

	if (attach__check_pids(env, pids, &n, MAX_PIDS))
		return 2;
	if (session__open(&s, env, TB_MODE_PIDS))
		goto fail;
	for (int i = 0; i < n && !err; i++)
		err = attach__probe_pid(&s.loader, &s.probed, pids[i], env);
	if (err || probe_user_libs(&s) || session__start_consumer(&s))
		goto fail;
	if (!s.loader.nlibs) {
		fprintf(stderr, "tlsbpf: no file the process maps defines malloc: name it with --lib\n");
		goto fail;
	}
	session__install_signals();
	watch_pids(&s, pids, n);
	session__set_scope(&s, TB_SCOPE_FILES, 0);
	if (env->verbose)
		fprintf(stderr, "tlsbpf: probes live after %.1f ms\n",
			(session__now_ns() - s.start_ns) / 1e6);
	err = session__loop(&s);
	return session__finish(&s) || err ? 1 : 0;
fail:
	session__finish(&s);
	return 1;
}

static int run_all(const struct env *env)
{
	static struct session s;
	char libc[PATH_MAX];
	int n, err;

	if (session__open(&s, env, TB_MODE_ALL))
		goto fail;
	if (!libc_resolve__system_libc(libc, sizeof(libc)) && session__probe_file(&s, libc, false))
		goto fail;
	if (probe_user_libs(&s) || session__start_consumer(&s))
		goto fail;
	session__set_scope(&s, TB_SCOPE_FILES, 0);
	session__install_signals();
	n = attach__all(&s.loader, s.pipe.corr, &s.probed, env, session__now_ns());
	if (n < 0) {
		fprintf(stderr, "tlsbpf: cannot attach to running processes: %s\n", strerror(-n));
		goto fail;
	}
	snprintf(s.what, sizeof(s.what), "all processes%s%s", env->ncomms ? " named " : "",
		 env->ncomms ? env->comms[0] : "");
	if (env->verbose)
		fprintf(stderr, "tlsbpf: %d process%s watched, probes live after %.1f ms\n", n,
			n == 1 ? "" : "es", (session__now_ns() - s.start_ns) / 1e6);
	err = session__loop(&s);
	return session__finish(&s) || err ? 1 : 0;
fail:
	session__finish(&s);
	return 1;
}

int main(int argc, char **argv)
{
	struct env env;
	int err = env__parse(&env, argc, argv);

	if (err)
		return err > 0 ? 0 : 2;
	if (env.analyze)
		return analyze__main(&env);
	if (env.npid_lists)
		return run_pids(&env);
	if (env.all)
		return run_all(&env);
	return run_command(&env);
}
