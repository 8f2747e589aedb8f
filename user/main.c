// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* main.c: wires options to one of three runs: launch a command, attach to PIDs, or watch all. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include "analyze.h"
#include "confine.h"
#include "env.h"
#include "launcher.h"
#include "probe_policy.h"
#include "session.h"
#include "signals.h"
#include "stacks.h"

#define MAX_PIDS 1024

/*
 * A stop signal that came while tlsbpf started: what was set up is taken down
 * as at any end, and nothing more starts. A command was never run.
 */
static int stopped_starting(int sig, const char *what)
{
	fprintf(stderr, "tlsbpf: SIG%s while starting: %s\n", sigabbrev_np(sig), what);
	return 128 + sig;
}

static int run_command(const struct env *env)
{
	static struct session s;
	struct confine cf = {};
	char path[PATH_MAX];
	int ret, err, sig;

	ret = launcher__resolve(env->argv[0], path, sizeof(path));
	if (ret)
		return ret;
	signals__hold();
	if (session__open(&s, env, TB_MODE_LAUNCH) || probe_policy__command(&s, &cf, path) ||
	    session__start_consumer(&s) || signals__release()) {
		session__finish(&s);
		confine__cleanup(&cf);
		/* a signal (which also stops the classic probes' placement), or an error said already */
		return (sig = signals__release()) ? stopped_starting(sig, "the command was not run") : 1;
	}
	launcher__command_line(env->argv, env->argc, s.what, sizeof(s.what));
	/*
	 * held from before it runs: a command that deletes or replaces its file keeps its
	 * names, and frames in a private copy of a library (bound over the library's path in
	 * the command's mount namespace, so that is the path they show) are read from the copy
	 */
	stacks__hold_path(s.stacks, path);
	for (int i = 0; i < cf.ncopies; i++)
		stacks__hold_path(s.stacks, cf.copies[i]);
	/* orphans of the command come to us, so none is left a zombie */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ret = launcher__run(env, &cf, path, &s.loader, &s.child);
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

static int run_pids(struct env *env)
{
	static pid_t pids[MAX_PIDS];
	static struct pidprobe probes, *pp = &probes;
	static struct session s;
	int n, err, sig;

	if (attach__check_pids(env, pids, &n, MAX_PIDS))
		return 2;
	signals__hold();
	if (probe_policy__pid_scope(env, pp, pids, n))
		return 1;
	/* stopped while waiting on an earlier run's releases: nothing opened yet */
	if (signals__pending()) {
		pidprobe__destroy(pp);
		return stopped_starting(signals__release(), "nothing was watched");
	}
	if (session__open(&s, env, TB_MODE_PIDS))
		goto fail;
	s.loader.pp = env->per_process ? pp : NULL;
	if (probe_policy__pids(&s, pids, n) || session__start_consumer(&s) ||
	    probe_policy__check_found(&s) || signals__release())
		goto fail;
	attach__pids(&s.loader, s.pipe.corr, pids, n, session__now_ns, s.what, sizeof(s.what));
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
	return (sig = signals__release()) ? stopped_starting(sig, "nothing was watched") : 1;
}

static int run_all(const struct env *env)
{
	static struct session s;
	int n, err, sig;

	signals__hold();
	if (session__open(&s, env, TB_MODE_ALL) || probe_policy__all(&s) ||
	    session__start_consumer(&s) || signals__release())
		goto fail;
	session__set_scope(&s, TB_SCOPE_FILES, 0);
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
	return (sig = signals__release()) ? stopped_starting(sig, "nothing was watched") : 1;
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
