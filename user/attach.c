// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* attach.c: finding, probing and describing processes that were running before tlsbpf. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "attach.h"
#include "libc_resolve.h"
#include "placement.h"
#include "procstat.h"

#define MAX_TIDS 65536

static int read_small(const char *path, char *buf, size_t sz)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sz - 1, f);
	buf[n] = 0;
	fclose(f);
	return 0;
}

/* The process a pid belongs to: a thread id given to -p means its whole process. */
static pid_t tgid_of(pid_t pid)
{
	char path[64], buf[4096], *s;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_small(path, buf, sizeof(buf)))
		return -ESRCH;
	s = strstr(buf, "\nTgid:");
	return s ? (pid_t)strtol(s + 6, NULL, 10) : -ESRCH;
}

/* A kernel thread (PF_KTHREAD in its flags): nothing to watch. */
static bool is_kthread(pid_t pid)
{
	struct procstat st;

	return !procstat__read(pid, 0, &st) && (st.flags & TB_PF_KTHREAD);
}

/*
 * A thread of the process neither a zombie nor on its way out, 0 if none. The main thread
 * may have called pthread_exit while the others run on: a zombie, its maps empty.
 */
static pid_t live_task(pid_t pid)
{
	struct procstat st;
	struct dirent *de;
	char dir[48];
	pid_t live = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	while (d && !live && (de = readdir(d))) {
		long tid = strtol(de->d_name, NULL, 10);

		if (tid > 0 && !procstat__read(pid, tid, &st) && procstat__alive(&st))
			live = tid;
	}
	if (d)
		closedir(d);
	return live;
}

/* Every thread of the process gone, a zombie or on its way out. */
static bool has_ended(pid_t pid)
{
	return !live_task(pid);
}

static int check_one(const char *word, pid_t *out)
{
	char *end;
	long v;
	pid_t tgid;

	errno = 0;
	v = strtol(word, &end, 10);
	if (errno || *end || end == word || v <= 0 || v > 0x3fffffff) {
		fprintf(stderr, "tlsbpf: -p wants process ids, not '%s'\n", word);
		return -EINVAL;
	}
	tgid = tgid_of(v);
	if (tgid < 0 || (kill(tgid, 0) && errno == ESRCH) || has_ended(tgid)) {
		fprintf(stderr, "tlsbpf: -p %ld: no such process (has it ended?)\n", v);
		return -ESRCH;
	}
	if (tgid == getpid()) {
		fprintf(stderr, "tlsbpf: -p %ld: that is tlsbpf itself, which never watches itself\n", v);
		return -EINVAL;
	}
	/* said here, before any wait for an earlier run's probes to be released */
	if (is_kthread(tgid)) {
		fprintf(stderr, "tlsbpf: -p %ld: a kernel thread, with no allocator to watch\n", v);
		return -EINVAL;
	}
	*out = tgid;
	return 0;
}

int attach__check_pids(const struct env *env, pid_t *pids, int *npids, int max)
{
	*npids = 0;
	for (int i = 0; i < env->npid_lists; i++) {
		char buf[4096], *save = NULL, *w;

		snprintf(buf, sizeof(buf), "%s", env->pid_lists[i]);
		for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			pid_t p;
			bool dup = false;
			int err = check_one(w, &p);

			if (err)
				return err;
			for (int j = 0; j < *npids; j++)
				dup |= pids[j] == p;
			if (dup)
				continue;
			if (*npids == max) {
				fprintf(stderr, "tlsbpf: -p: at most %d processes\n", max);
				return -E2BIG;
			}
			pids[(*npids)++] = p;
		}
	}
	return 0;
}

static bool probed_has(struct probed_set *set, const struct stat *st)
{
	for (int i = 0; i < set->n; i++)
		if (set->v[i].dev == st->st_dev && set->v[i].ino == st->st_ino)
			return true;
	return false;
}

/* False when the file cannot be remembered, and so must not be probed. */
static bool probed_add(struct probed_set *set, const struct stat *st)
{
	if (set->n == set->cap) {
		int cap = set->cap ? set->cap * 2 : 64;
		struct probed_file *v;

		if (cap > TB_MAX_PROBED_FILES || !(v = realloc(set->v, cap * sizeof(*v))))
			return false;
		set->v = v;
		set->cap = cap;
	}
	set->v[set->n].dev = st->st_dev;
	set->v[set->n++].ino = st->st_ino;
	return true;
}

bool attach__first_probe(struct probed_set *set, const char *path)
{
	struct stat st;

	return !stat(path, &st) && !probed_has(set, &st) && probed_add(set, &st);
}

void attach__probed_free(struct probed_set *set)
{
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/* One mapped file: seen through the process's own root, so containers resolve too. */
static int probe_file(struct loader *l, struct probed_set *set, pid_t pid, const char *file,
		      const struct env *env, int *newly)
{
	char path[PATH_MAX + 32];
	struct alloc_lib lib;
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, file);
	/* remembered before parsing: a file without malloc is not parsed again either */
	if (stat(path, &st) || !S_ISREG(st.st_mode) || probed_has(set, &st) ||
	    !probed_add(set, &st))
		return 0;
	if (libc_resolve__functions(path, &lib))
		return 0;
	if (!env->probe_at_entry)
		placement__apply(&lib);
	if (lib.cxx && env->verbose)
		fprintf(stderr, "tlsbpf: C++ operators in %s: probed at entry, the malloc or free each "
			"calls reports it with the program's stack; %s\n", file,
			l->pp && !l->pp->sealed ? "in the watched processes alone"
			: "on the file: every C++ program that maps it pays a trap per new and delete");
	(*newly)++;
	return loader__attach_lib(l, &lib, env->verbose);
}

bool attach__exec_unprobed(struct probed_set *set, const char *file)
{
	char provider[PATH_MAX];
	enum provider_via via;
	struct stat st;

	return !libc_resolve__provider(file, provider, sizeof(provider), &via) &&
	       !stat(provider, &st) && !probed_has(set, &st);
}

int attach__probe_exec(struct loader *l, struct probed_set *set, const char *file,
		       const struct env *env, int *newly)
{
	char provider[PATH_MAX];
	enum provider_via via;
	struct alloc_lib lib;

	if (libc_resolve__provider(file, provider, sizeof(provider), &via) ||
	    !attach__first_probe(set, provider) || libc_resolve__functions(provider, &lib))
		return 0;
	if (!env->probe_at_entry)
		placement__apply(&lib);
	(*newly)++;
	return loader__attach_lib(l, &lib, env->verbose);
}

/* The mappings of pid, a process or one of its threads (a live one, when the main one ended) */
static FILE *open_maps(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	return fopen(path, "re");
}

/* 0, -errno (the loader said why), or 1: nothing mapped (a kernel thread) */
static int probe_maps(struct loader *l, struct probed_set *set, pid_t pid, FILE *f,
		      const struct env *env, int *newly)
{
	char line[PATH_MAX + 128];
	bool mapped = false;
	int err = 0;

	while (!err && fgets(line, sizeof(line), f)) {
		mapped = true;
		char perms[8], *file = strchr(line, '/');

		/* every executable file mapping defining malloc: wrappers nest, calls count once */
		if (!file || sscanf(line, "%*s %7s", perms) != 1 || perms[2] != 'x')
			continue;
		file[strcspn(file, "\n")] = 0;
		if (strstr(file, " (deleted)"))
			continue;
		err = probe_file(l, set, pid, file, env, newly);
	}
	return err ? err : !mapped;
}

int attach__probe_process(struct loader *l, struct probed_set *set, pid_t pid,
			  const struct env *env, int *newly)
{
	pid_t t = live_task(pid) ?: pid;	/* its maps and root: a live thread's */
	FILE *f = open_maps(t);
	int err, none;

	if (!f)
		return -errno;
	err = probe_maps(l, set, t, f, env, newly ? newly : &none);
	fclose(f);
	return err == 1 ? -ENOENT : err;
}

int attach__probe_pid(struct loader *l, struct probed_set *set, pid_t pid, const struct env *env)
{
	pid_t t = live_task(pid) ?: pid;	/* its maps and root: a live thread's */
	FILE *f = open_maps(t);
	int err, none;

	if (!f) {
		err = -errno;
		if (err != -ENOENT) {
			fprintf(stderr, "tlsbpf: -p %d: cannot read its mappings: %s\n", pid,
				strerror(-err));
			return err;
		}
	} else {
		err = probe_maps(l, set, t, f, env, &none);
		fclose(f);
		/* probed, or a loader's error; unless it ended meanwhile, which is then the why */
		if (err <= 0 && !has_ended(pid))
			return err;
	}
	/* nothing mapped: a kernel thread, or a process that ended (or is ending, its memory
	 * already let go) while tlsbpf started */
	if (is_kthread(pid)) {
		fprintf(stderr, "tlsbpf: -p %d: a kernel thread, with no allocator to watch\n", pid);
		return -ENOENT;
	}
	fprintf(stderr, "tlsbpf: -p %d: the process ended before tlsbpf could watch it\n", pid);
	return -ESRCH;
}

static int cmp_tid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Threads in tid order, the main thread first: the order the model numbers them. */
static size_t list_threads(pid_t pid, uint32_t *tids, size_t max)
{
	char path[64];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	tids[n++] = pid;
	while ((de = readdir(d)) && n < max) {
		uint32_t tid = strtoul(de->d_name, NULL, 10);

		if (tid && tid != (uint32_t)pid)
			tids[n++] = tid;
	}
	closedir(d);
	qsort(tids + 1, n - 1, sizeof(*tids), cmp_tid);
	return n;
}

/* Each thread's own name: a worker that renamed itself is not its process. */
static void name_threads(struct correlator *c, pid_t pid, const uint32_t *tids, size_t ntids)
{
	char path[64], comm[TB_COMM_LEN];

	for (size_t i = 0; i < ntids; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", pid, tids[i]);
		if (read_small(path, comm, sizeof(comm)))
			continue;
		comm[strcspn(comm, "\n")] = 0;
		correlator__thread_comm(c, pid, tids[i], comm);
	}
}

int attach__watch(struct loader *l, struct correlator *c, pid_t pid, uint64_t ts_ns)
{
	static uint32_t tids[MAX_TIDS];
	char path[64], comm[TB_COMM_LEN] = "";
	size_t ntids = list_threads(pid, tids, MAX_TIDS);
	FILE *maps;
	int err;

	if (!ntids)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	read_small(path, comm, sizeof(comm));
	comm[strcspn(comm, "\n")] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	if (!maps)
		return -errno;
	/* the model first: no event of this process may arrive before it is described */
	err = correlator__seed_process(c, pid, comm, maps, tids, ntids, ts_ns);
	fclose(maps);
	if (!err)
		name_threads(c, pid, tids, ntids);
	if (!err)
		err = loader__watch(l, pid, TB_WATCH_ACTIVE);
	return err;
}

void attach__pids(struct loader *l, struct correlator *c, const pid_t *pids, int n,
		  uint64_t (*now_ns)(void), char *what, size_t cap)
{
	int off = snprintf(what, cap, "pid"), err;

	for (int i = 0; i < n; i++) {
		err = l->pp ? pidprobe__place(l->pp, pids[i]) : 0;
		if (err)
			fprintf(stderr, "tlsbpf: -p %d: cannot place probes in it: %s\n", pids[i],
				strerror(-err));
		else
			err = attach__watch(l, c, pids[i], now_ns());
		if (err)
			fprintf(stderr, "tlsbpf: -p %d: %s (it ended?)\n", pids[i], strerror(-err));
		else if (off < (int)cap)
			off += snprintf(what + off, cap - off, "%s%d", i ? "," : " ", pids[i]);
	}
	/* a library found later (an exec) goes on its file: these processes' events are set */
	if (l->pp)
		l->pp->sealed = true;
}

static bool comm_matches(const struct env *env, pid_t pid)
{
	char path[64], comm[TB_COMM_LEN + 1] = "";

	if (!env->ncomms)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, comm, sizeof(comm)))
		return false;
	comm[strcspn(comm, "\n")] = 0;
	for (int i = 0; i < env->ncomms; i++)
		if (strncmp(comm, env->comms[i], TB_COMM_LEN - 1) == 0)
			return true;
	return false;
}

int attach__all(struct loader *l, struct correlator *c, struct probed_set *set,
		const struct env *env, uint64_t ts_ns)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0, err;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid = strtol(de->d_name, NULL, 10);

		if (pid <= 0 || pid == getpid() || !comm_matches(env, pid))
			continue;
		err = attach__probe_process(l, set, pid, env, NULL);
		if (err == -ENOENT || err == -ESRCH || err == -EACCES)
			continue;
		if (err) {
			closedir(d);
			return err;
		}
		if (attach__watch(l, c, pid, ts_ns) == 0)
			n++;
	}
	closedir(d);
	return n;
}
