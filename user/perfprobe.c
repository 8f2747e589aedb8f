// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* perfprobe.c: classic uprobes, a perf event per offset, for kernels without uprobe_multi links. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "perfprobe.h"
#include "release.h"
#include "signals.h"

#define PMU_DIR "/sys/bus/event_source/devices/uprobe"

static int read_pmu(struct perfprobes *ps)
{
	FILE *f;
	int ok;

	if (ps->uprobe_type > 0)
		return 0;
	f = fopen(PMU_DIR "/type", "r");
	if (!f)
		return -errno;
	ok = fscanf(f, "%d", &ps->uprobe_type) == 1;
	fclose(f);
	f = fopen(PMU_DIR "/format/retprobe", "r");
	if (!f)
		return -errno;
	ok = ok && fscanf(f, "config:%d", &ps->retprobe_bit) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* One uprobe to make, on a thread of its own. */
struct job {
	const struct perfprobes *ps;
	int prog_fd;
	const char *path;
	uint64_t offset, cookie;
	bool ret;
	struct perfprobe probe;
	int err;
	pthread_t tid;
	bool started;
};

static void *make_probe(void *arg)
{
	struct job *j = arg;
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = j->ps->uprobe_type,
		.config = j->ret ? 1ULL << j->ps->retprobe_bit : 0,
		.config1 = (uintptr_t)j->path,
		.config2 = j->offset,
	};
	LIBBPF_OPTS(bpf_link_create_opts, opts, .perf_event.bpf_cookie = j->cookie);

	j->probe = (struct perfprobe){ .pfd = -1, .link_fd = -1 };
	/*
	 * Stopped while starting: place no more. Behind an earlier run's release each one
	 * can wait seconds for the kernel's event lock, and each placed is one more to release.
	 */
	if (signals__pending()) {
		j->err = -EINTR;
		return NULL;
	}
	/* every process that maps the file: pid -1 needs a CPU, any one will do */
	j->probe.pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (j->probe.pfd < 0) {
		j->err = -errno;
		return NULL;
	}
	j->probe.link_fd = bpf_link_create(j->prog_fd, j->probe.pfd, BPF_PERF_EVENT, &opts);
	if (j->probe.link_fd < 0)
		j->err = j->probe.link_fd;
	else if (ioctl(j->probe.pfd, PERF_EVENT_IOC_ENABLE, 0))
		j->err = -errno;
	return NULL;
}

static int keep(struct perfprobes *ps, const struct perfprobe *p)
{
	if (ps->n == ps->cap) {
		int cap = ps->cap ? 2 * ps->cap : 32;
		struct perfprobe *v = realloc(ps->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	ps->v[ps->n++] = *p;
	return 0;
}

/*
 * Registering a uprobe walks every process that maps the file (about 10 ms each here): side
 * by side, the waits overlap.
 */
int perfprobes__attach(struct perfprobes *ps, int prog_fd, const char *path,
		       const uint64_t *offsets, const uint64_t *cookies, unsigned cnt, bool ret)
{
	struct job *jobs = calloc(cnt ? cnt : 1, sizeof(*jobs));
	int err = read_pmu(ps);

	if (!jobs || err) {
		free(jobs);
		err = err ?: -ENOMEM;
		fprintf(stderr, "tlsbpf: cannot probe %s: %s\n", path, strerror(-err));
		return err;
	}
	for (unsigned i = 0; i < cnt; i++) {
		jobs[i] = (struct job){ .ps = ps, .prog_fd = prog_fd, .path = path,
					.offset = offsets[i], .cookie = cookies[i], .ret = ret };
		jobs[i].started = !pthread_create(&jobs[i].tid, NULL, make_probe, &jobs[i]);
		if (!jobs[i].started)
			make_probe(&jobs[i]);
	}
	for (unsigned i = 0; i < cnt; i++) {
		if (jobs[i].started)
			pthread_join(jobs[i].tid, NULL);
		if (jobs[i].err && !err) {
			err = jobs[i].err;
			if (err != -EINTR)	/* a signal stopped it: the caller says so */
				fprintf(stderr, "tlsbpf: cannot probe %s at offset %#llx: %s\n",
					path, (unsigned long long)offsets[i], strerror(-err));
		}
		if (jobs[i].probe.pfd >= 0 && keep(ps, &jobs[i].probe) && !err) {
			err = -ENOMEM;
			fprintf(stderr, "tlsbpf: cannot probe %s: %s\n", path, strerror(ENOMEM));
		}
	}
	free(jobs);
	return err;
}

void perfprobes__release(struct perfprobes *ps)
{
	int *fds = calloc(2 * ps->n + 2, sizeof(*fds)), n = 0, handed = -1;

	for (int i = 0; fds && i < ps->n; i++) {
		fds[n++] = ps->v[i].pfd;
		if (ps->v[i].link_fd >= 0)
			fds[n++] = ps->v[i].link_fd;
	}
	if (n)
		handed = release__hand_off(fds, n, NULL, NULL);
	/* without a child to take them, the slow way: links first, so the programs stop at once */
	for (int i = 0; i < ps->n; i++)
		if (ps->v[i].link_fd >= 0)
			close(ps->v[i].link_fd);
	for (int i = 0; i < ps->n; i++)
		close(ps->v[i].pfd);
	if (handed >= 0)
		close(handed);
	free(fds);
	free(ps->v);
	*ps = (struct perfprobes){ 0 };
}
