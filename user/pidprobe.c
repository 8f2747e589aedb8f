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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include "pidprobe.h"
#include "release.h"
#include "signals.h"

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
		    sscanf(name, GROUP "_%d_%d", &pid, &n) != 2 || release__owner_alive(pid))
			continue;
		snprintf(cmd, sizeof(cmd), "-:" GROUP "/%s\n", name);
		write_events(cmd);
	}
	fclose(f);
}

/* Each perf event is a file descriptor: a thread per event and per thread of the process. */
static rlim_t raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

static int count_threads(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += atoi(de->d_name) > 0;
	closedir(d);
	return n;
}

/*
 * Every thread there is at the start takes a perf event per probe (those started later get
 * copies, which cost no descriptor): refuse rather than fail half-way at the limit.
 */
static int check_fd_budget(const pid_t *pids, int n, const char **why)
{
	static char text[160];
	rlim_t limit = raise_fd_limit();
	unsigned long threads = 0, need;

	for (int i = 0; i < n; i++)
		threads += count_threads(pids[i]);
	need = threads * TB_PP_EVENTS_PER_THREAD + 256;
	if (limit == RLIM_INFINITY || need <= limit)
		return 0;
	snprintf(text, sizeof(text), "the %lu thread%s given would take about %lu file descriptors, "
		 "more than the limit of %lu", threads, threads == 1 ? "" : "s", need,
		 (unsigned long)limit);
	*why = text;
	return -EMFILE;
}

/*
 * The holder: out of the terminal's process group (a Ctrl-C is tlsbpf's to
 * handle) and killed with tlsbpf. It only sleeps: it never allocates, so its
 * breakpoints never fire.
 */
static pid_t start_holder(void)
{
	pid_t parent = getpid(), pid = fork();
	int null;

	if (pid)
		return pid < 0 ? -errno : pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	if (getppid() != parent)
		_exit(0);
	/* nothing of tlsbpf's held open: a pipe tlsbpf writes to closes when tlsbpf does */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	syscall(__NR_close_range, 3, ~0U, 0);
	for (;;)
		pause();
}

static int perf_open(struct perf_event_attr *attr, pid_t pid)
{
	int fd = syscall(__NR_perf_event_open, attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* An inherited event that forbids swapping contexts (see pidprobe.h): Linux 6.12 on. */
static void inherit_attr(struct perf_event_attr *attr, __u32 type, __u64 config)
{
	memset(attr, 0, sizeof(*attr));
	attr->type = type;
	attr->size = sizeof(*attr);
	attr->config = config;
	attr->inherit = 1;
	attr->sample_type = PERF_SAMPLE_READ | PERF_SAMPLE_TID;
}

static int check_no_swap(pid_t holder)
{
	struct perf_event_attr attr;
	int fd;

	inherit_attr(&attr, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY);
	fd = perf_open(&attr, holder);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

/*
 * Until no earlier tlsbpf is releasing probes, at most a minute: each close of an event's last
 * perf event holds the kernel's event lock through a grace period, and a thread of a watched
 * process that ends with copies of our events takes that lock too, so placing ours while an
 * earlier run's release goes on (20 probes, seconds under load) would stall those exits.
 */
static void wait_for_releases(struct pidprobe *pp)
{
	/* a signal meanwhile ends start-up: no need to wait for what it will not attach */
	while (release__others_running() && !signals__pending()) {
		if (pp->waited_ms >= 60000) {
			pp->wait_gave_up = true;
			return;
		}
		usleep(20000);
		pp->waited_ms += 20;
	}
}

int pidprobe__init(struct pidprobe *pp, const pid_t *pids, int n, const char **why)
{
	int err;

	memset(pp, 0, sizeof(*pp));
	err = check_fd_budget(pids, n, why);
	if (err)
		return err;
	pp->owner = getpid();
	if (access(TRACEFS "/uprobe_events", W_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		*why = "tracefs is not mounted and cannot be";
		return -errno;
	}
	if (access(TRACEFS "/uprobe_events", W_OK)) {
		*why = "no " TRACEFS "/uprobe_events (a kernel without CONFIG_UPROBE_EVENTS?)";
		return -errno;
	}
	pp->holder = start_holder();
	if (pp->holder < 0) {
		*why = "cannot start the process that holds the programs";
		return pp->holder;
	}
	err = check_no_swap(pp->holder);
	if (err) {
		*why = err == -EINVAL ? "this kernel lets a child's inherited probes swap places "
			"with its parent's and lose them (Linux 6.12 or later keeps them apart)" :
			"cannot open a perf event";
		pidprobe__destroy(pp);
		return err;
	}
	remove_stale();
	wait_for_releases(pp);
	return 0;
}

static int event_id(pid_t owner, int n)
{
	char path[128], buf[32];
	int fd, len;

	snprintf(path, sizeof(path), TRACEFS "/events/" GROUP "/" GROUP "_%d_%d/id", owner, n);
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

/* The program on e, through a perf event on the holder that nothing inherits. */
static int carry(struct pidprobe *pp, struct pp_event *e, int prog_fd, uint64_t cookie)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = e->id,
	};
	LIBBPF_OPTS(bpf_link_create_opts, opts, .perf_event.bpf_cookie = cookie);

	e->carrier_fd = perf_open(&attr, pp->holder);
	if (e->carrier_fd < 0)
		return e->carrier_fd;
	e->link_fd = bpf_link_create(prog_fd, e->carrier_fd, BPF_PERF_EVENT, &opts);
	return e->link_fd < 0 ? -errno : 0;
}

int pidprobe__add(struct pidprobe *pp, int prog_fd, const char *path, const uint64_t *offsets,
		  const uint64_t *cookies, unsigned cnt, bool ret)
{
	char line[4200];

	/* a space in the path would end it: tracefs has no quoting */
	if (strchr(path, ' ') || strchr(path, '\n')) {
		fprintf(stderr, "tlsbpf: '%s': tracefs cannot take a path with a space: run with "
			"--no-confine to probe the file\n", path);
		return -EINVAL;
	}
	for (unsigned i = 0; i < cnt; i++) {
		struct pp_event *e = &pp->ev[pp->nevents];
		int err;

		if (pp->nevents == TB_PP_MAX_EVENTS) {
			fprintf(stderr, "tlsbpf: more than %d probes to place in the processes: run "
				"with --no-confine to probe the files\n", TB_PP_MAX_EVENTS);
			return -E2BIG;
		}
		e->n = pp->next_n++;
		snprintf(line, sizeof(line), "%c:" GROUP "/" GROUP "_%d_%d %s:%#llx\n", ret ? 'r' : 'p',
			 pp->owner, e->n, path, (unsigned long long)offsets[i]);
		err = write_events(line);
		if (err) {
			fprintf(stderr, "tlsbpf: cannot make a tracefs uprobe on %s at %#llx: %s\n",
				path, (unsigned long long)offsets[i], strerror(-err));
			return err;
		}
		e->carrier_fd = e->link_fd = -1;
		pp->nevents++;
		e->id = event_id(pp->owner, e->n);
		err = e->id < 0 ? e->id : carry(pp, e, prog_fd, cookies[i]);
		if (err) {
			fprintf(stderr, "tlsbpf: cannot attach the programs to the tracefs uprobe on %s "
				"at %#llx: %s\n", path, (unsigned long long)offsets[i], strerror(-err));
			return err;
		}
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

/* A perf event on e for thread tid, copied into every thread and child it starts from now on. */
static int open_on(struct pidprobe *pp, struct pp_event *e, pid_t tid)
{
	struct perf_event_attr attr;
	int fd, err;

	inherit_attr(&attr, PERF_TYPE_TRACEPOINT, e->id);
	fd = perf_open(&attr, tid);
	if (fd < 0)
		return fd;
	err = keep_fd(pp, fd);
	if (err)
		close(fd);
	return err;
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

#define CLOSERS 16

struct closer {
	const int *fds;
	int from, n;
	pthread_t tid;
	bool started;
};

static void *close_fds(void *arg)
{
	struct closer *c = arg;

	for (int i = c->from; i < c->n; i += CLOSERS)
		close(c->fds[i]);
	return NULL;
}

/* fds[0..n) closed in CLOSERS threads, each taking every CLOSERS-th one */
static void close_side_by_side(const int *fds, int n)
{
	struct closer c[CLOSERS] = {};

	for (int i = 0; i < CLOSERS && i < n; i++) {
		c[i] = (struct closer){ .fds = fds, .from = i, .n = n };
		c[i].started = !pthread_create(&c[i].tid, NULL, close_fds, &c[i]);
		if (!c[i].started)
			close_fds(&c[i]);
	}
	for (int i = 0; i < CLOSERS; i++)
		if (c[i].started)
			pthread_join(c[i].tid, NULL);
}

/*
 * A link's release and the close of a tracefs event's last perf event (which
 * unregisters its uprobe) each wait out a grace period holding the kernel's
 * event lock, which a thread that ends with a copy of our events also takes:
 * the threads' events go first, their closes quick as the holder's carriers
 * keep each event registered, and only then the carriers, whose slow closes
 * overlap in threads. A watched process's ending threads never wait on them.
 */
static void close_perf_events(struct pidprobe *pp)
{
	int nthreads = pp->ncarried ? pp->ncarried : pp->nperf;

	close_side_by_side(pp->perf_fds, nthreads);
	close_side_by_side(pp->perf_fds + nthreads, pp->nperf - nthreads);
	free(pp->perf_fds);
	pp->perf_fds = NULL;
	pp->nperf = pp->cap_perf = pp->ncarried = 0;
}

/* Every tracefs event of ours, once nothing holds it; busy while its last users drain. */
static void remove_events(struct pidprobe *pp)
{
	char cmd[128];

	for (int i = 0; i < pp->nevents; i++) {
		snprintf(cmd, sizeof(cmd), "-:" GROUP "/" GROUP "_%d_%d\n", pp->owner, pp->ev[i].n);
		for (int tries = 0; write_events(cmd) == -EBUSY && tries < 50; tries++)
			usleep(10000);
	}
}

/* In the release process, or here without one: the slow closes, then the events' removal. */
static void release_events(void *arg)
{
	struct pidprobe *pp = arg;

	close_perf_events(pp);
	remove_events(pp);
}

/* The links first, side by side: the programs stop at once. */
static void close_links(struct pidprobe *pp)
{
	int *saved = pp->perf_fds, nsaved = pp->nperf, cap = pp->cap_perf;

	pp->perf_fds = NULL;
	pp->nperf = pp->cap_perf = 0;
	for (int i = 0; i < pp->nevents; i++)
		if (pp->ev[i].link_fd >= 0 && keep_fd(pp, pp->ev[i].link_fd))
			close(pp->ev[i].link_fd);
	close_perf_events(pp);
	pp->perf_fds = saved;
	pp->nperf = nsaved;
	pp->cap_perf = cap;
}

void pidprobe__destroy(struct pidprobe *pp)
{
	int handed = -1, *fds;

	close_links(pp);
	pp->ncarried = pp->nperf;
	for (int i = 0; i < pp->nevents; i++)
		if (pp->ev[i].carrier_fd >= 0 && keep_fd(pp, pp->ev[i].carrier_fd))
			close(pp->ev[i].carrier_fd);
	fds = calloc(pp->nperf + 2, sizeof(*fds));
	if (fds && pp->nperf) {
		memcpy(fds, pp->perf_fds, pp->nperf * sizeof(*fds));
		handed = release__hand_off(fds, pp->nperf, release_events, pp);
	}
	free(fds);
	if (handed >= 0) {
		/* not the last copies: these closes are quick */
		for (int i = 0; i < pp->nperf; i++)
			close(pp->perf_fds[i]);
		close(handed);
	} else {
		release_events(pp);
	}
	free(pp->perf_fds);
	pp->perf_fds = NULL;
	pp->nperf = pp->cap_perf = pp->nevents = 0;
	if (pp->holder > 0) {
		kill(pp->holder, SIGKILL);
		waitpid(pp->holder, NULL, 0);
		pp->holder = 0;
	}
}
