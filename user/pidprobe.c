// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pidprobe.c: uprobes that trap in the watched processes and their descendants, nowhere else. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include "pidprobe.h"

#define TRACEFS "/sys/kernel/tracing"
#define GROUP "tlsbpf"
#define MAX_TIDS 65536

/* One line into uprobe_events: O_APPEND, for a plain open would empty the whole list. */
static int write_events(const char *line)
{
	int fd = open(TRACEFS "/uprobe_events", O_WRONLY | O_APPEND | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, line, strlen(line)) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* A live tlsbpf made it: its events are its own to remove. */
static bool owner_alive(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return pid != getpid() && strncmp(comm, "tlsbpf", 6) == 0;
}

/* Events of a tlsbpf that ended without removing them (killed, crashed): nobody else's. */
static void remove_stale(void)
{
	char line[4096], name[128], cmd[160];
	FILE *f = fopen(TRACEFS "/uprobe_events", "re");
	int pid, n;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*c:" GROUP "/%127s", name) != 1 ||
		    sscanf(name, GROUP "_%d_%d", &pid, &n) != 2 || owner_alive(pid))
			continue;
		snprintf(cmd, sizeof(cmd), "-:" GROUP "/%s\n", name);
		write_events(cmd);
	}
	fclose(f);
}

/* Each perf event is a file descriptor: a thread per event and per thread of the process. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int pidprobe__init(struct pidprobe *pp, const char **why)
{
	memset(pp, 0, sizeof(*pp));
	if (access(TRACEFS "/uprobe_events", W_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		*why = "tracefs is not mounted and cannot be";
		return -errno;
	}
	if (access(TRACEFS "/uprobe_events", W_OK)) {
		*why = "no " TRACEFS "/uprobe_events (a kernel without CONFIG_UPROBE_EVENTS?)";
		return -errno;
	}
	remove_stale();
	raise_fd_limit();
	return 0;
}

static int event_id(int n)
{
	char path[128], buf[32];
	int fd, len;

	snprintf(path, sizeof(path), TRACEFS "/events/" GROUP "/" GROUP "_%d_%d/id", getpid(), n);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -EIO;
	buf[len] = 0;
	return atoi(buf);
}

int pidprobe__add(struct pidprobe *pp, int prog_fd, const char *path, const uint64_t *offsets,
		  const uint64_t *cookies, unsigned cnt, bool ret)
{
	char line[4200];

	/* a space in the path would end it: tracefs has no quoting */
	if (strchr(path, ' '))
		return -EINVAL;
	for (unsigned i = 0; i < cnt; i++) {
		struct pp_event *e = &pp->ev[pp->nevents];
		int err;

		if (pp->nevents == TB_PP_MAX_EVENTS)
			return -E2BIG;
		e->n = pp->next_n++;
		snprintf(line, sizeof(line), "%c:" GROUP "/" GROUP "_%d_%d %s:%#llx\n",
			 ret ? 'r' : 'p', getpid(), e->n, path, (unsigned long long)offsets[i]);
		err = write_events(line);
		if (err) {
			fprintf(stderr, "tlsbpf: cannot make a tracefs uprobe on %s at %#llx: %s\n",
				path, (unsigned long long)offsets[i], strerror(-err));
			return err;
		}
		e->id = event_id(e->n);
		e->prog_fd = prog_fd;
		e->cookie = cookies[i];
		e->link_fd = -1;
		pp->nevents++;
		if (e->id < 0)
			return e->id;
	}
	return 0;
}

static int keep_fd(struct pidprobe *pp, int fd)
{
	if (pp->nperf == pp->cap_perf) {
		int cap = pp->cap_perf ? 2 * pp->cap_perf : 256, *v;

		v = realloc(pp->perf_fds, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pp->perf_fds = v;
		pp->cap_perf = cap;
	}
	pp->perf_fds[pp->nperf++] = fd;
	return 0;
}

/*
 * A perf event on e for thread tid, inherited by every thread and child it
 * starts from now on. The first one of an event carries the BPF program.
 * -ESRCH: the thread ended meanwhile.
 */
static int open_on(struct pidprobe *pp, struct pp_event *e, pid_t tid)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = e->id,
		.sample_period = 1,
		.inherit = 1,
	};
	int fd = syscall(__NR_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = keep_fd(pp, fd);
	if (err) {
		close(fd);
		return err;
	}
	if (e->link_fd < 0) {
		LIBBPF_OPTS(bpf_link_create_opts, opts, .perf_event.bpf_cookie = e->cookie);

		e->link_fd = bpf_link_create(e->prog_fd, fd, BPF_PERF_EVENT, &opts);
		if (e->link_fd < 0)
			return -errno;
	}
	return 0;
}

static bool seen(const pid_t *tids, int n, pid_t tid)
{
	for (int i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

/* Threads of pid not placed yet get every event; how many there were, or -errno. */
static int place_new_threads(struct pidprobe *pp, pid_t pid, pid_t *tids, int *ntids)
{
	char path[64];
	struct dirent *de;
	int added = 0, err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		pid_t tid = atoi(de->d_name);

		if (tid <= 0 || seen(tids, *ntids, tid) || *ntids == MAX_TIDS)
			continue;
		tids[(*ntids)++] = tid;
		added++;
		for (int i = 0; i < pp->nevents && !err; i++)
			err = open_on(pp, &pp->ev[i], tid);
		if (err == -ESRCH)
			err = 0;	/* it ended: nothing of it to watch */
	}
	closedir(d);
	return err ? err : added;
}

int pidprobe__place(struct pidprobe *pp, pid_t pid)
{
	pid_t *tids = malloc(MAX_TIDS * sizeof(*tids));
	int ntids = 0, n;

	if (!tids)
		return -ENOMEM;
	/*
	 * A thread started by one already placed inherits its events; one started
	 * by a thread not placed yet does not: look again until none is new.
	 */
	do
		n = place_new_threads(pp, pid, tids, &ntids);
	while (n > 0);
	free(tids);
	if (n < 0)
		return n;
	pp->nprocs++;
	return 0;
}

struct closer {
	int *fds;
	int n;
	pthread_t tid;
	bool started;
};

static void *close_fds(void *arg)
{
	struct closer *c = arg;

	for (int i = 0; i < c->n; i++)
		close(c->fds[i]);
	return NULL;
}

/*
 * The last perf event of a tracefs event to close unregisters its uprobe,
 * which waits out the probes in flight: in several threads the waits overlap.
 */
static void close_perf_events(struct pidprobe *pp)
{
	struct closer c[8] = {};
	int per = (pp->nperf + 7) / 8;

	for (int i = 0; i < 8 && per; i++) {
		int from = i * per;

		c[i].fds = pp->perf_fds + from;
		c[i].n = from >= pp->nperf ? 0 : pp->nperf - from < per ? pp->nperf - from : per;
		c[i].started = !pthread_create(&c[i].tid, NULL, close_fds, &c[i]);
		if (!c[i].started)
			close_fds(&c[i]);
	}
	for (int i = 0; i < 8; i++)
		if (c[i].started)
			pthread_join(c[i].tid, NULL);
	free(pp->perf_fds);
	pp->perf_fds = NULL;
	pp->nperf = pp->cap_perf = 0;
}

void pidprobe__destroy(struct pidprobe *pp)
{
	char cmd[128];

	for (int i = 0; i < pp->nevents; i++)
		if (pp->ev[i].link_fd >= 0)
			close(pp->ev[i].link_fd);
	close_perf_events(pp);
	for (int i = 0; i < pp->nevents; i++) {
		snprintf(cmd, sizeof(cmd), "-:" GROUP "/" GROUP "_%d_%d\n", getpid(), pp->ev[i].n);
		/* busy while a closed event's last users drain: a few tries */
		for (int tries = 0; write_events(cmd) == -EBUSY && tries < 50; tries++)
			usleep(10000);
	}
	pp->nevents = 0;
}
