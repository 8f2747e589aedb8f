// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* probe_policy.c: which files each mode probes, decided before the probes attach. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "probe_policy.h"

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
			  const char *libc, const char *cxx, enum provider_via via,
			  const char *path)
{
	const char *why = confine__why_not(path, via);
	int err;

	if (!why) {
		err = confine__prepare(cf, provider, libc, cxx);
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
	session__set_scope(s, TB_SCOPE_CONFINED, cf->nalloc);
	for (int i = 0; i < cf->ncopies; i++) {
		err = session__probe_file(s, cf->copies[i], i == 0);
		if (err)
			return err;
	}
	return probe_user_libs(s);
}

/* The command's own allocator, the system C library for its children, and every --lib. */
int probe_policy__command(struct session *s, struct confine *cf, const char *path)
{
	char provider[PATH_MAX] = "", libc[PATH_MAX] = "", cxx[PATH_MAX] = "";
	enum provider_via via = TB_VIA_SELF;	/* not found: only --lib names it */
	int err;

	if (libc_resolve__provider(path, provider, sizeof(provider), &via) && !s->env->nlibs) {
		fprintf(stderr, "tlsbpf: cannot find which library serves malloc to '%s' "
				"(a static binary?): name it with --lib PATH\n", path);
		return -ENOENT;
	}
	if (libc_resolve__system_libc(libc, sizeof(libc)) || !strcmp(libc, provider))
		libc[0] = 0;
	if (libc_resolve__system_cxx(cxx, sizeof(cxx)))
		cxx[0] = 0;
	if (!s->env->no_confine) {
		err = probe_confined(s, cf, provider, libc, cxx, via, path);
		if (err <= 0)
			return err;
	}
	session__set_scope(s, TB_SCOPE_FILES, 0);
	if (provider[0] && (err = session__probe_file(s, provider, true)))
		return err;
	if (libc[0] && (err = session__probe_file(s, libc, false)))
		return err;
	/* as the C library's file: every C++ program on the machine pays for new, as for malloc */
	if (cxx[0] && (err = session__probe_file(s, cxx, false)))
		return err;
	return probe_user_libs(s);
}

int probe_policy__pids(struct session *s, const pid_t *pids, int n)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = attach__probe_pid(&s->loader, &s->probed, pids[i], s->env);
	return err ?: probe_user_libs(s);
}

int probe_policy__pid_scope(struct env *env, struct pidprobe *pp, const pid_t *pids, int n)
{
	const char *why = NULL;
	int err = 0;

	if (env->no_confine)
		return 0;
	if (env->sample_by_time)
		why = "--sample-by time takes the probes off and puts them back, which only "
		      "uprobe_multi links on the files can do";
	else if ((err = pidprobe__init(pp, pids, n, &why)))
		why = why ? why : strerror(-err);
	if (why && env->confine) {
		fprintf(stderr, "tlsbpf: --confine: cannot keep the probes to the watched processes: "
			"%s: run without --confine\n", why);
		return -EINVAL;
	}
	if (why && env->verbose)
		fprintf(stderr, "tlsbpf: probes on the library files, not in the processes alone: "
			"%s\n", why);
	if (!why && pp->wait_gave_up)
		fprintf(stderr, "tlsbpf: an earlier tlsbpf still releases its probes after %d s: "
			"until it ends, threads of the watched processes may wait as they end\n",
			pp->waited_ms / 1000);
	else if (!why && pp->waited_ms && env->verbose)
		fprintf(stderr, "tlsbpf: waited %d ms for an earlier tlsbpf's probes to be released "
			"(ending threads of processes with ours would have waited on it)\n",
			pp->waited_ms);
	env->per_process = !why;
	return 0;
}

int probe_policy__check_found(const struct session *s)
{
	if (s->loader.nlibs > s->loader.ncxx)
		return 0;
	fprintf(stderr, "tlsbpf: no file the process maps defines malloc: name it with --lib\n");
	return -ENOENT;
}

int probe_policy__all(struct session *s)
{
	char libc[PATH_MAX], cxx[PATH_MAX];
	int err = 0;

	if (!libc_resolve__system_libc(libc, sizeof(libc)))
		err = session__probe_file(s, libc, false);
	/* the file, as the C library's: every C++ program already pays for malloc's probes */
	if (!err && !libc_resolve__system_cxx(cxx, sizeof(cxx)))
		err = session__probe_file(s, cxx, false);
	return err ?: probe_user_libs(s);
}
