// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* main.c: wires options to one of three runs: launch a command, attach to PIDs, or watch all. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "analyze.h"
#include "confine.h"
#include "env.h"
#include "launcher.h"
#include "libc_resolve.h"
#include "probe_policy.h"
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
	if (session__open(&s, env, TB_MODE_LAUNCH) || probe_policy__command(&s, &cf, path) ||
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

/* -p's processes, each watched once its probes are placed; the report's name for them. */
static void watch_pids(struct session *s, struct pidprobe *pp, const pid_t *pids, int n)
{
	int off = snprintf(s->what, sizeof(s->what), "pid"), err;

	for (int i = 0; i < n; i++) {
		err = pp ? pidprobe__place(pp, pids[i]) : 0;
		if (err)
			fprintf(stderr, "tlsbpf: -p %d: cannot place probes in it: %s\n", pids[i],
				strerror(-err));
		else
			err = attach__watch(&s->loader, s->pipe.corr, pids[i], session__now_ns());
		if (err)
			fprintf(stderr, "tlsbpf: -p %d: %s (it ended?)\n", pids[i], strerror(-err));
		else if (off < (int)sizeof(s->what))
			off += snprintf(s->what + off, sizeof(s->what) - off, "%s%d", i ? "," : " ",
					pids[i]);
	}
	/* a library found later (an exec) goes on its file: these processes' events are set */
	if (pp)
		pp->sealed = true;
}

static int run_pids(struct env *env)
{
	static pid_t pids[MAX_PIDS];
	static struct pidprobe probes, *pp = &probes;
	static struct session s;
	int n, err;

	if (attach__check_pids(env, pids, &n, MAX_PIDS))
		return 2;
	if (probe_policy__pid_scope(env, pp, pids, n))
		return 1;
	if (session__open(&s, env, TB_MODE_PIDS))
		goto fail;
	s.loader.pp = env->per_process ? pp : NULL;
	if (probe_policy__pids(&s, pids, n) || session__start_consumer(&s) ||
	    probe_policy__check_found(&s))
		goto fail;
	session__install_signals();
	watch_pids(&s, s.loader.pp, pids, n);
	session__set_scope(&s, env->per_process ? TB_SCOPE_PROCESSES : TB_SCOPE_FILES, 0);
	if (env->verbose)
		fprintf(stderr, "tlsbpf: probes live after %.1f ms\n",
			(session__now_ns() - s.start_ns) / 1e6);
	err = session__loop(&s);
	err = session__finish(&s) || err ? 1 : 0;
	pidprobe__destroy(pp);
	return err;
fail:
	session__finish(&s);
	pidprobe__destroy(pp);
	return 1;
}

static int run_all(const struct env *env)
{
	static struct session s;
	int n, err;

	if (session__open(&s, env, TB_MODE_ALL) || probe_policy__all(&s) ||
	    session__start_consumer(&s))
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
