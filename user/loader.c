// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* loader.c: the BPF object's life, from open to detach; every failure says what to do about it. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "parload.h"
#include "release.h"
#include "tlsbpf.skel.h"
#include "tlsbpf.h"

/* Newer than this system's UAPI headers: the kernel's uprobe_multi link, and its sessions. */
#define TB_TRACE_UPROBE_MULTI 48
#define TB_TRACE_UPROBE_SESSION 57
#define TB_F_UPROBE_MULTI_RETURN 1

struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 pad;
};

static bool verbose_log;
static bool guessing;	/* a load on the kernel's likely features: its failures are no news */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || !verbose_log || guessing)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/*
 * Each CPU's share of --ringbuf-mb, a power of two, 1 MiB at least: its
 * allocation ring. Its ring buffer, for the rarer rest, gets a quarter more.
 */
static size_t ring_share(unsigned total_mb, int cpus)
{
	size_t share = ((size_t)total_mb << 20) / (cpus > 0 ? cpus : 1), ring = 1 << 20;

	while (ring * 2 <= share)
		ring *= 2;
	return ring;
}

/* CPUs listed in a sysfs range list such as "0-3,6"; false for each one not listed. */
static void parse_cpu_list(const char *path, bool *set, int n)
{
	char buf[4096], *p = buf;
	FILE *f = fopen(path, "r");
	long a, b;

	if (!f || !fgets(buf, sizeof(buf), f)) {
		/* unreadable: take every possible CPU as online */
		for (int i = 0; i < n; i++)
			set[i] = true;
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	while (*p && *p != '\n') {
		a = b = strtol(p, &p, 10);
		if (*p == '-')
			b = strtol(p + 1, &p, 10);
		for (long i = a; i <= b && i < n; i++)
			if (i >= 0)
				set[i] = true;
		if (*p != ',')
			break;
		p++;
	}
}

/*
 * Every update of a map of maps waits for a grace period (5 ms and more
 * here), so the slots go in as one batch: one wait, not one per CPU.
 */
static int fill_rings(struct loader *l, int outer, const bool *online)
{
	__u32 *keys = calloc(l->nr_cpus, sizeof(*keys)), n = 0;
	__u32 *vals = calloc(l->nr_cpus, sizeof(*vals));
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (int cpu = 0; cpu < l->nr_cpus; cpu++) {
		if (!online[cpu])
			continue;
		keys[n] = cpu;
		vals[n++] = l->ring_fds[cpu];
	}
	if (!bpf_map_update_batch(outer, keys, vals, &n, NULL))
		goto out;
	/* a kernel without batches for this map type: one slot at a time */
	for (__u32 i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(outer, &keys[i], &vals[i], BPF_ANY))
			err = -errno;
out:
	free(keys);
	free(vals);
	return err;
}

static int n_online(const bool *online, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += online[i];
	return k;
}

static void *fill_thread(void *arg)
{
	struct loader *l = arg;

	l->fill_err = fill_rings(l, l->rings_fd, l->online);
	return NULL;
}

/*
 * A ring for each online CPU. A CPU brought online later has none: what its
 * threads do there is counted lost, never dropped unseen. The map of them is
 * made here, before the BPF object, and filled on a thread while the verifier
 * runs: each fill waits out a grace period, which then costs start-up nothing.
 */
static int make_rings(struct loader *l)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	const bool *online = l->online;
	int err;

	l->rings_fd = -1;
	l->ring_fds = malloc(l->nr_cpus * sizeof(*l->ring_fds));
	if (!l->ring_fds) {
		fprintf(stderr, "tlsbpf: cannot make the ring buffers: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (int i = 0; i < l->nr_cpus; i++)
		l->ring_fds[i] = -1;
	for (__u32 cpu = 0; cpu < (__u32)l->nr_cpus; cpu++) {
		if (!online[cpu])
			continue;
		l->ring_fds[cpu] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "tlsbpf_ring", 0, 0,
						  l->ring_bytes, NULL);
		if (l->ring_fds[cpu] < 0) {
			err = -errno;
			fprintf(stderr, "tlsbpf: cannot make CPU %u's ring buffer of %zu KiB: %s\n",
				cpu, l->ring_bytes >> 10, strerror(-err));
			return err;
		}
		if (opts.inner_map_fd <= 0)
			opts.inner_map_fd = l->ring_fds[cpu];
	}
	l->rings_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "rings", sizeof(__u32),
				     sizeof(__u32), l->nr_cpus, &opts);
	if (l->rings_fd < 0) {
		err = -errno;
		fprintf(stderr, "tlsbpf: cannot make the map of the ring buffers: %s\n",
			strerror(-err));
		return err;
	}
	if (pthread_create(&l->filler, NULL, fill_thread, l))
		fill_thread(l);	/* no thread: fill it now */
	else
		l->filling = true;
	return 0;
}

/* The rings in their map, once the filler is done. */
static int rings_filled(struct loader *l)
{
	if (l->filling)
		pthread_join(l->filler, NULL);
	l->filling = false;
	if (l->fill_err) {
		fprintf(stderr, "tlsbpf: cannot install the ring buffers: %s\n",
			strerror(-l->fill_err));
		return l->fill_err;
	}
	if (verbose_log)
		fprintf(stderr, "tlsbpf: a ring buffer of %zu KiB and an allocation ring of %zu KiB "
			"for each of %d online CPUs\n", l->ring_bytes >> 10,
			(size_t)l->slot_count * TB_SLOT_SIZE >> 10, n_online(l->online, l->nr_cpus));
	return 0;
}

/* CPUs, and each one's rings: sized once, whatever the BPF object is loaded as. */
static int plan_rings(struct loader *l, const struct env *env)
{
	size_t share;

	l->nr_cpus = libbpf_num_possible_cpus();
	if (l->nr_cpus <= 0) {
		fprintf(stderr, "tlsbpf: cannot count the CPUs: %s\n", strerror(-l->nr_cpus));
		return l->nr_cpus ?: -EINVAL;
	}
	l->online = calloc(l->nr_cpus, sizeof(*l->online));
	if (!l->online) {
		fprintf(stderr, "tlsbpf: cannot plan the ring buffers: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	parse_cpu_list("/sys/devices/system/cpu/online", l->online, l->nr_cpus);
	share = ring_share(env->ringbuf_mb, n_online(l->online, l->nr_cpus));
	l->ring_bytes = share / 4;
	l->slot_count = share / TB_SLOT_SIZE;
	/* up to the last CPU online: possible CPUs can be many more, each would cost its slots */
	for (int cpu = 0; cpu < l->nr_cpus; cpu++)
		if (l->online[cpu])
			l->slot_cpus = cpu + 1;
	if ((uint64_t)l->slot_cpus * l->slot_count > INT32_MAX) {
		fprintf(stderr, "tlsbpf: --ringbuf-mb %u is too much for CPUs numbered up to %d: "
			"ask for less\n", env->ringbuf_mb, l->slot_cpus - 1);
		return -E2BIG;
	}
	return 0;
}

/*
 * --pages: the fault programs load only when asked for and when this kernel
 * has their tracepoints, so that a kernel without them runs the rest.
 */
static void configure_pages(struct loader *l, const struct env *env)
{
	struct tlsbpf_bpf *skel = l->skel;
	bool on = env->pages != TB_PAGES_OFF && l->kf.page_faults;

	skel->rodata->pages_mode = on ? env->pages : TB_PAGES_OFF;
	bpf_program__set_autoload(skel->progs.page_fault_user, on);
	bpf_program__set_autoload(skel->progs.mm_page_alloc, on);
	/* --pages=cow keeps a fault that is no copy at its cheapest: no resident series */
	bpf_program__set_autoload(skel->progs.rss_stat, on && env->pages == TB_PAGES_ON);
	if (!on) {
		bpf_map__set_max_entries(skel->maps.page_counts, 1);
		bpf_map__set_max_entries(skel->maps.rss_last, 1);
	}
}

static void configure(struct loader *l, const struct env *env)
{
	struct tlsbpf_bpf *skel = l->skel;

	bpf_map__reuse_fd(skel->maps.rings, l->rings_fd);
	bpf_map__set_max_entries(skel->maps.slots, l->slot_cpus * l->slot_count);
	bpf_map__set_max_entries(skel->maps.slot_pos, l->slot_cpus);
	skel->rodata->slot_count = l->slot_count;
	/* the table's buckets are allocated whole (16 MiB for --sample's million): only when used */
	if (env->sample <= 1 || env->sample_by_time)
		bpf_map__set_max_entries(skel->maps.sampled, 1);
	/* a forced wakeup every eighth of a ring keeps a busy consumer fed */
	skel->rodata->wakeup_bytes = l->ring_bytes / 8;
	skel->rodata->slot_wakeup_bytes = (uint64_t)l->slot_count * TB_SLOT_SIZE / 8;
	skel->rodata->empty_probes = env->empty_probes;
	skel->rodata->watch_all = env->all;
	skel->rodata->sample_every = env->sample_by_time ? 0 : env->sample;
	skel->rodata->filter_comm = env->ncomms > 0;
	skel->rodata->self_tgid = getpid();
	configure_pages(l, env);
	skel->rodata->stack_depth = env->empty_probes ? 0 : env->stack_depth;
	skel->rodata->stack_mode = env->stacks_mode;
	skel->rodata->free_stacks = !env->no_free_stacks;
	/*
	 * 17 MiB of stack table and 1.5 MiB of files, zeroed at load: only when the
	 * probes keep stacks (--stacks=dwarf's are unwound in user space)
	 */
	if (!skel->rodata->stack_depth || env->stacks_mode == TB_STACKS_DWARF) {
		bpf_map__set_max_entries(skel->maps.stacks, 1);
		bpf_map__set_max_entries(skel->maps.stack_index, 1);
		bpf_map__set_max_entries(skel->maps.files, 1);
		bpf_map__set_max_entries(skel->maps.file_index, 1);
	}
	/*
	 * libbpf 1.1 predates uprobe_multi: one program serves every allocator
	 * function through cookies, and one link per file carries all its offsets,
	 * which detaches in one step instead of one slow unregister per probe.
	 * Without it the same programs go on classic uprobes, one per offset.
	 */
	if (l->kf.uprobe_multi)
		bpf_program__set_expected_attach_type(skel->progs.alloc_enter,
						      TB_TRACE_UPROBE_MULTI);
	skel->rodata->uprobe_sessions = l->session_type != 0;
	if (l->session_type) {
		bpf_program__set_expected_attach_type(skel->progs.alloc_call, l->session_type);
		bpf_program__set_autoload(skel->progs.alloc_exit, false);
	} else {
		if (l->kf.uprobe_multi)
			bpf_program__set_expected_attach_type(skel->progs.alloc_exit,
							      TB_TRACE_UPROBE_MULTI);
		bpf_program__set_autoload(skel->progs.alloc_call, false);
	}
}

/* Opens and loads the BPF object, with uprobe sessions or without; quiet: the caller retries. */
static int open_and_load(struct loader *l, const struct env *env, __u32 session_type, bool quiet)
{
	int err, aside;

	l->skel = tlsbpf_bpf__open();
	if (!l->skel) {
		err = -errno;
		fprintf(stderr, "tlsbpf: cannot open the BPF object: %s\n", strerror(-err));
		return err;
	}
	l->session_type = session_type;
	configure(l, env);
	/* the entry program verifies on a thread beside the others: on 2 CPUs, 20 ms of start-up */
	parload__arm("alloc_enter", TB_LICENSE, env->verbose && !guessing);
	err = tlsbpf_bpf__load(l->skel);
	/* a failed load closed the maps the program aside names: libbpf's error is the one */
	aside = parload__finish(l->skel->progs.alloc_enter, !err);
	if (!err)
		err = aside;
	if (err && !quiet)
		fprintf(stderr, "tlsbpf: cannot load the BPF programs: %s%s\n", strerror(-err),
			env->verbose ? "" : " (run with -v for the verifier's log)");
	return err;
}

/* What -v says of the return probes and of how the probes are linked. */
static void say_probes(const struct loader *l, const struct env *env)
{
	if (env->per_process) {
		fprintf(stderr, "tlsbpf: probes: a tracefs uprobe per function and direction, "
			"its breakpoints placed in the watched processes' threads and copied into "
			"what they start; return probes: uretprobes\n");
		return;
	}
	fprintf(stderr, "tlsbpf: probes: %s\n", l->kf.uprobe_multi ?
		"one uprobe_multi link per library and direction" : getenv("TLSBPF_OLDEST") ?
		"a classic uprobe per function and direction (TLSBPF_OLDEST is set)" :
		"a classic uprobe per function and direction (this kernel has no uprobe_multi "
		"links)");
	fprintf(stderr, "tlsbpf: return probes: %s\n", l->session_type ?
		"a uprobe session with each allocating function's entry (a process not "
		"watched skips the return)" : getenv("TLSBPF_NO_SESSIONS") ?
		"uretprobes (TLSBPF_NO_SESSIONS is set)" : getenv("TLSBPF_OLDEST") ?
		"uretprobes (TLSBPF_OLDEST is set)" : "uretprobes (this kernel has no uprobe sessions)");
}

/*
 * The object loaded as l->kf says. The BTF says sessions are there; should the load still
 * refuse them, uretprobes.
 */
static int load_as_told(struct loader *l, const struct env *env)
{
	bool sessions = l->kf.sessions;
	int err = open_and_load(l, env, sessions ? TB_TRACE_UPROBE_SESSION : 0, sessions);

	if (err && sessions) {
		if (env->verbose)
			fprintf(stderr, "tlsbpf: no uprobe sessions here (%s): uretprobes instead\n",
				strerror(-err));
		tlsbpf_bpf__destroy(l->skel);
		err = open_and_load(l, env, 0, false);
	}
	return err;
}

/* kfeatures__probe on a thread of its own */
struct feature_probe {
	struct kfeatures kf;
	int err;
};

static void *probe_features(void *arg)
{
	struct feature_probe *fp = arg;

	fp->err = kfeatures__probe(&fp->kf);
	return NULL;
}

/*
 * What configure() asks of the kernel; probes in chosen processes are perf events
 * (pidprobe.c): programs loaded for those.
 */
static void features_for(struct kfeatures *kf, const struct env *env)
{
	if (env->per_process)
		kf->uprobe_multi = kf->sessions = false;
	if (env->pages == TB_PAGES_OFF)
		kf->page_faults = false;
}

/* What this kernel most likely offers, by its release; the BTF has the last word. */
static void likely_features(struct kfeatures *kf, const struct env *env)
{
	struct utsname u = {};
	int major = 0, minor = 0, v;

	uname(&u);
	sscanf(u.release, "%d.%d", &major, &minor);
	v = major * 1000 + minor;
	memset(kf, 0, sizeof(*kf));
	kf->uprobe_multi = v >= 6006 && !getenv("TLSBPF_OLDEST");
	kf->sessions = kf->uprobe_multi && v >= 6013 && !getenv("TLSBPF_NO_SESSIONS");
#if defined(__x86_64__)
	kf->page_faults = true;
#endif
	features_for(kf, env);
}

static bool same_features(const struct kfeatures *a, const struct kfeatures *b)
{
	return a->uprobe_multi == b->uprobe_multi && a->sessions == b->sessions &&
	       a->page_faults == b->page_faults;
}

/*
 * Reading the kernel's features from its BTF takes 10 to 15 ms of start-up: the object is
 * loaded on the likely ones meanwhile, and loaded again should the BTF say otherwise (a
 * backported feature, a TLSBPF_* variable) or that load fail.
 */
static int load_beside_features(struct loader *l, const struct env *env)
{
	struct feature_probe fp = {};
	struct kfeatures likely;
	pthread_t thread;
	bool threaded = !pthread_create(&thread, NULL, probe_features, &fp);
	int err = plan_rings(l, env) ?: make_rings(l), guessed = -EAGAIN;

	likely_features(&likely, env);
	if (!err && threaded) {
		l->kf = likely;
		guessing = true;
		guessed = open_and_load(l, env, likely.sessions ? TB_TRACE_UPROBE_SESSION : 0, true);
		guessing = false;
	}
	if (threaded)
		pthread_join(thread, NULL);
	else
		probe_features(&fp);
	features_for(&fp.kf, env);
	l->kf = fp.kf;
	/* the guess stands if it loaded and the BTF agrees with it */
	if (!guessed && (err || fp.err || !same_features(&likely, &fp.kf)))
		guessed = -EAGAIN;
	if (guessed && l->skel) {
		tlsbpf_bpf__destroy(l->skel);
		l->skel = NULL;
	}
	if (fp.err) {
		fprintf(stderr, "tlsbpf: this kernel lacks %s: tlsbpf needs Linux 5.15 or later "
			"with BTF and uprobes (see docs/kernels.md)\n", l->kf.missing);
		return fp.err;
	}
	if (env->pages != TB_PAGES_OFF && !l->kf.page_faults)
		fprintf(stderr, "tlsbpf: --pages: this kernel has no page_fault_user, "
			"mm_page_alloc, rss_stat tracepoints (x86 only): running without page faults\n");
	if (err)
		return err;
	return guessed ? load_as_told(l, env) : 0;
}

int loader__open_load(struct loader *l, const struct env *env)
{
	static bool registered;
	int err;

	memset(l, 0, sizeof(*l));
	verbose_log = env->verbose;
	libbpf_set_print(libbpf_print);
	/* without the handler libbpf loads every program itself, one after another */
	if (!registered)
		registered = !parload__register("uprobe", BPF_PROG_TYPE_KPROBE);
	err = load_beside_features(l, env);
	if (err)
		return err;
	if (env->verbose)
		say_probes(l, env);
	for (int i = 0; i < env->ncomms; i++) {
		char key[TB_COMM_LEN] = {};
		__u8 one = 1;

		strncpy(key, env->comms[i], sizeof(key) - 1);
		if (bpf_map__update_elem(l->skel->maps.comms, key, sizeof(key), &one, 1, 0)) {
			err = -errno;
			fprintf(stderr, "tlsbpf: --comm '%s': cannot add it to the BPF map: %s\n",
				env->comms[i], strerror(-err));
			return err;
		}
	}
	l->percpu = calloc(l->nr_cpus, sizeof(struct tb_bystander));
	if (!l->percpu) {
		fprintf(stderr, "tlsbpf: cannot count the drops: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	return rings_filled(l);
}

int loader__attach_kernel(struct loader *l)
{
	struct bpf_program *progs[] = {
		l->skel->progs.sys_enter,	   l->skel->progs.sys_exit,
		l->skel->progs.task_newtask,	   l->skel->progs.task_rename,
		l->skel->progs.sched_process_exec, l->skel->progs.sched_process_exit,
		l->skel->progs.signal_deliver,	   l->skel->progs.page_fault_user,
		l->skel->progs.mm_page_alloc,	   l->skel->progs.rss_stat,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_link *link;

		if (!bpf_program__autoload(progs[i]))
			continue;	/* --pages off, or no tracepoint for it here */
		link = bpf_program__attach(progs[i]);

		if (!link) {
			int err = -errno;

			fprintf(stderr, "tlsbpf: cannot attach %s: %s\n", bpf_program__name(progs[i]),
				strerror(-err));
			return err;
		}
		l->links[l->nlinks++] = link;
	}
	return 0;
}

/* How a link's probes fire: at entry, at return, or both as one session. */
enum probe_kind { TB_AT_ENTRY, TB_AT_RETURN, TB_AS_SESSION };

static int uprobe_multi(const struct loader *l, struct bpf_program *prog, const char *path,
			const uint64_t *offsets, const uint64_t *cookies, unsigned cnt,
			enum probe_kind kind)
{
	struct link_create_uprobe_multi attr = {
		.prog_fd = bpf_program__fd(prog),
		.attach_type = kind == TB_AS_SESSION ? l->session_type : TB_TRACE_UPROBE_MULTI,
		.path = (uintptr_t)path,
		.offsets = (uintptr_t)offsets,
		.cookies = (uintptr_t)cookies,
		.cnt = cnt,
		.multi_flags = kind == TB_AT_RETURN ? TB_F_UPROBE_MULTI_RETURN : 0,
	};
	int fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

/* A uprobe_multi link's making, kept so that --sample-by time can make it again. */
struct multi_spec {
	struct bpf_program *prog;
	char *path;
	uint64_t *offsets, *cookies;
	unsigned cnt;
	enum probe_kind kind;
};

static void spec_free(struct multi_spec *s)
{
	free(s->path);
	free(s->offsets);
	free(s->cookies);
	*s = (struct multi_spec){ 0 };
}

static int keep_spec(struct loader *l, struct bpf_program *prog, const char *path,
		     const uint64_t *offsets, const uint64_t *cookies, unsigned cnt,
		     enum probe_kind kind)
{
	struct multi_spec *s;

	if (!l->multi_specs)
		l->multi_specs = calloc(2 * TB_MAX_LIBS, sizeof(*l->multi_specs));
	if (!l->multi_specs)
		return -ENOMEM;
	s = &l->multi_specs[l->nmulti];
	*s = (struct multi_spec){ .prog = prog, .path = strdup(path), .cnt = cnt, .kind = kind,
				  .offsets = malloc(cnt * sizeof(*offsets)),
				  .cookies = malloc(cnt * sizeof(*cookies)) };
	if (!s->path || !s->offsets || !s->cookies) {
		spec_free(s);
		return -ENOMEM;
	}
	memcpy(s->offsets, offsets, cnt * sizeof(*offsets));
	memcpy(s->cookies, cookies, cnt * sizeof(*cookies));
	return 0;
}

static void specs_free(struct loader *l)
{
	for (int i = 0; l->multi_specs && i < l->nmulti; i++)
		spec_free(&l->multi_specs[i]);
	free(l->multi_specs);
	l->multi_specs = NULL;
}

static int add_multi(struct loader *l, struct bpf_program *prog, const struct alloc_lib *lib,
		     const uint64_t *offsets, const uint64_t *cookies, unsigned cnt,
		     enum probe_kind kind)
{
	int fd;

	if (!cnt)
		return 0;
	if (l->nmulti == (int)(sizeof(l->multi_fds) / sizeof(l->multi_fds[0])))
		fd = -E2BIG;
	else
		fd = keep_spec(l, prog, lib->path, offsets, cookies, cnt, kind);
	if (fd < 0) {
		fprintf(stderr, "tlsbpf: cannot probe %s: %s\n", lib->path, strerror(-fd));
		return fd;
	}
	/* a library found while --sample-by time has the probes off: made with the next window */
	fd = l->probes_off ? -1 : uprobe_multi(l, prog, lib->path, offsets, cookies, cnt, kind);
	if (fd < 0 && !l->probes_off) {
		spec_free(&l->multi_specs[l->nmulti]);
		fprintf(stderr, "tlsbpf: cannot probe %s: %s%s\n", lib->path, strerror(-fd),
			fd == -EINVAL || fd == -EOPNOTSUPP
				? " (this kernel lacks uprobe_multi links, Linux 6.6 or later needed)"
				: "");
		return fd;
	}
	l->multi_fds[l->nmulti++] = fd;
	return 0;
}

/* lib's offsets for prog: one uprobe_multi link where the kernel has them, else one each. */
static int add_probes(struct loader *l, struct bpf_program *prog, const struct alloc_lib *lib,
		      const uint64_t *offsets, const uint64_t *cookies, unsigned cnt,
		      enum probe_kind kind)
{
	if (l->pp && !l->pp->sealed)
		return pidprobe__add(l->pp, bpf_program__fd(prog), lib->path, offsets, cookies, cnt,
				     kind == TB_AT_RETURN);
	if (l->kf.uprobe_multi)
		return add_multi(l, prog, lib, offsets, cookies, cnt, kind);
	return perfprobes__attach(&l->classic, bpf_program__fd(prog), lib->path, offsets, cookies,
				  cnt, kind == TB_AT_RETURN);
}

static int set_lib_info(struct loader *l, const struct alloc_lib *lib, __u32 idx)
{
	struct tb_lib info = {
		.free_vaddr = lib->free_vaddr,
		.text_lo = lib->text_lo,
		/* a caller in a program's own text may be the program: only an exit window tells */
		.text_hi = lib->in_program && !lib->exit_off ? 0 : lib->text_hi,
		/* no probe is placed past a write to rsp: the return address is on top */
		.sp_adjust = 0,
		.exit_gated = lib->exit_off != 0,
		/* allocations from the library's own text: not when that text is a program's */
		.text_off_lo = lib->in_program ? 0 : lib->text_off_lo,
		.text_off_hi = lib->in_program ? 0 : lib->text_off_hi,
		.ldso_lo = lib->ldso_lo,
		.ldso_hi = lib->ldso_hi,
	};

	/* the standard functions only: ranges_init finds the library's base by them */
	for (int i = 0; i < lib->n; i++)
		if (tb_ev_is_alloc(lib->cookies[i]) && !lib->entries[i])
			info.probe_off[lib->cookies[i]] = lib->offsets[i];
	if (bpf_map__update_elem(l->skel->maps.libs, &idx, sizeof(idx), &info, sizeof(info), 0))
		return -errno;
	return 0;
}

static void say_dispatch(uint32_t page_off)
{
	if (page_off == TB_NO_PAGE_OFF)
		fprintf(stderr, "their attach cookie");
	else
		fprintf(stderr, "their page offset %#x", page_off);
}

/*
 * Before lib's entry probes go in: which of free's and malloc's probes the
 * entry program can tell by their page offset, now that lib's are among them.
 */
static void set_fast_dispatch(struct loader *l, const uint64_t *offs, const uint64_t *cookies,
			      unsigned n, bool gated, bool verbose)
{
	struct tlsbpf_bpf *skel = l->skel;
	bool room = l->npages + n <= sizeof(l->pages) / sizeof(l->pages[0]);

	/* a probe left out of the table could share a page offset unseen: cookies from then on */
	l->pages_full |= !room;
	/*
	 * a probe whose arguments moved needs its cookie: its page offset must tell none apart;
	 * nor may an own entry point's (tc_free_sized): its type keeps the entry's bits
	 */
	for (unsigned i = 0; room && i < n; i++)
		l->pages[l->npages++] = (struct probe_page){
			offs[i] & 0xfff,
			cookies[i] >> 32 ? TB_PROBE_MOVED_ARGS : cookies[i] & 0xffff,
		};
	skel->data->fast_free_off = l->pages_full ? TB_NO_PAGE_OFF :
		placement__sole_page_off(l->pages, l->npages, TB_EV_FREE);
	skel->data->fast_malloc_off = l->pages_full ? TB_NO_PAGE_OFF :
		placement__sole_page_off(l->pages, l->npages, TB_EV_MALLOC);
	skel->bss->all_libs_gated = (l->nlibs == 0 || skel->bss->all_libs_gated) && gated;
	if (verbose) {
		fprintf(stderr, "tlsbpf: entry probes: free's known by ");
		say_dispatch(skel->data->fast_free_off);
		fprintf(stderr, ", malloc's by ");
		say_dispatch(skel->data->fast_malloc_off);
		fprintf(stderr, ", the others by their attach cookie\n");
	}
}

/*
 * free returns nothing worth waiting for, the exit mark is no call of the
 * program's, and a C++ operator's return probe would break the unwinding of
 * its exceptions: the malloc it calls returns for it
 */
static bool has_return(__u32 type)
{
	return type != TB_EV_FREE && type != TB_PROBE_EXITING && type != TB_PROBE_CXX_NEW &&
	       type != TB_PROBE_CXX_DELETE;
}

/* Keeps the probes that have no return to wait for. */
static unsigned entry_only(uint64_t *offs, uint64_t *cookies, unsigned n)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < n; i++) {
		if (has_return(TB_COOKIE_TYPE(cookies[i])))
			continue;
		offs[kept] = offs[i];
		cookies[kept++] = cookies[i];
	}
	return kept;
}

/*
 * lib's probes: free's and the exit mark's at entry only; the allocating
 * functions' as sessions where the kernel has them, else at entry and return.
 */
int loader__attach_lib(struct loader *l, const struct alloc_lib *lib, bool verbose)
{
	uint64_t offs[TB_NPROBES + 1], cookies[TB_NPROBES + 1];
	uint64_t call_offs[TB_NPROBES], call_cookies[TB_NPROBES];
	__u32 idx = l->nlibs;
	unsigned n = 0, ncalls = 0;
	int err;

	if (idx >= TB_MAX_LIBS) {
		fprintf(stderr, "tlsbpf: cannot probe %s: %d allocator libraries are probed already\n",
			lib->path, TB_MAX_LIBS);
		return -E2BIG;
	}
	err = set_lib_info(l, lib, idx);
	for (int i = 0; i < lib->n; i++) {
		offs[i] = lib->offsets[i];
		cookies[i] = TB_COOKIE(lib->cookies[i] | lib->entries[i] << 8, idx);
		cookies[i] |= lib->argregs[i];
		if (!has_return(lib->cookies[i]))
			continue;
		call_offs[ncalls] = offs[i];
		call_cookies[ncalls++] = cookies[i];
	}
	n = lib->n;
	if (lib->exit_off) {
		offs[n] = lib->exit_off;
		cookies[n++] = TB_COOKIE(TB_PROBE_EXITING, idx);
		if (verbose)
			fprintf(stderr, "tlsbpf: probing %s in %s at offset %#llx (exits begin: "
				"frees from inside the library are looked for after it)\n",
				lib->exit_name, lib->path, (unsigned long long)lib->exit_off);
	}
	if (err) {
		fprintf(stderr, "tlsbpf: cannot probe %s: cannot tell the probes about it: %s\n",
			lib->path, strerror(-err));
		return err;
	}
	/* every probe that reads its page offset, whichever link carries it; no free in C++'s */
	set_fast_dispatch(l, offs, cookies, n, lib->exit_off != 0 || lib->cxx, verbose);
	if (l->session_type)
		n = entry_only(offs, cookies, n);
	err = add_probes(l, l->skel->progs.alloc_enter, lib, offs, cookies, n, TB_AT_ENTRY);
	if (err)
		return err;
	l->nlibs++;
	l->ncxx += lib->cxx;
	for (int i = 0; verbose && i < lib->n; i++)
		fprintf(stderr, "tlsbpf: probing %s in %s at offset %#llx (entry+%llu%s%s)\n",
			lib->names[i], lib->path, (unsigned long long)lib->offsets[i],
			(unsigned long long)lib->skipped[i], lib->placed[i][0] ? ": " : "",
			lib->placed[i]);
	for (int i = 0; verbose && i < lib->nforwarders; i++)
		fprintf(stderr, "tlsbpf: not probing %s in %s: it jumps on at once, so its calls "
			"are seen if the function it jumps to is probed\n", lib->forwarders[i],
			lib->path);
	if (l->session_type)
		return add_multi(l, l->skel->progs.alloc_call, lib, call_offs, call_cookies, ncalls,
				 TB_AS_SESSION);
	return add_probes(l, l->skel->progs.alloc_exit, lib, call_offs, call_cookies, ncalls,
			  TB_AT_RETURN);
}

int loader__watch(struct loader *l, pid_t pid, uint32_t state)
{
	__u32 key = pid;

	if (bpf_map__update_elem(l->skel->maps.watched, &key, sizeof(key), &state, sizeof(state),
				 BPF_ANY))
		return -errno;
	return 0;
}

void loader__unwatch(struct loader *l, pid_t pid)
{
	__u32 key = pid;

	bpf_map__delete_elem(l->skel->maps.watched, &key, sizeof(key), 0);
}

bool loader__watching(struct loader *l)
{
	__u32 key;

	return bpf_map_get_next_key(bpf_map__fd(l->skel->maps.watched), NULL, &key) == 0;
}

/*
 * Gone: the leader is a zombie or reaped and no other thread is left, so
 * every thread has passed the exit tracepoint and written its row. A pidfd
 * polls readable exactly then; ESRCH: reaped already.
 */
static bool group_gone(pid_t pid)
{
	struct pollfd pfd = { .events = POLLIN };
	bool gone;

	pfd.fd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd.fd < 0)
		return errno == ESRCH;
	gone = poll(&pfd, 1, 0) == 1;
	close(pfd.fd);
	return gone;
}

static bool exiting(struct loader *l, pid_t pid)
{
	__u32 key = pid, state;

	return bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.watched), &key, &state) == 0 &&
	       state == TB_WATCH_EXITING;
}

/* Another pid in the map whose exit row was written, or 0. */
static pid_t next_exiting(struct loader *l, __u32 *key, bool *first)
{
	int fd = bpf_map__fd(l->skel->maps.watched);

	while (bpf_map_get_next_key(fd, *first ? NULL : key, key) == 0) {
		*first = false;
		if (exiting(l, *key))
			return *key;
	}
	return 0;
}

static bool listed(const pid_t *pids, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

int loader__close_exits(struct loader *l, pid_t *pids, int n, int cap, bool *sweep)
{
	bool first = true, full = false;
	int left = 0;
	__u32 key;
	pid_t pid;

	for (int i = 0; i < n; i++) {
		if (!exiting(l, pids[i]))
			continue;	/* closed already, or the pid is another process's now */
		if (group_gone(pids[i]))
			loader__unwatch(l, pids[i]);
		else
			pids[left++] = pids[i];
	}
	while (*sweep && (pid = next_exiting(l, &key, &first))) {
		if (group_gone(pid))
			loader__unwatch(l, pid);
		else if (left < cap && !listed(pids, left, pid))
			pids[left++] = pid;
		else if (left == cap)
			full = true;
	}
	*sweep = full;
	return left;
}

uint64_t loader__drops_by_cause(struct loader *l, uint64_t cause[TB_DROP_MAX])
{
	uint64_t total = 0;

	for (__u32 key = 0; key < TB_DROP_MAX; key++) {
		cause[key] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.drops), &key, l->percpu))
			continue;
		for (int cpu = 0; cpu < l->nr_cpus; cpu++)
			cause[key] += l->percpu[cpu];
		total += cause[key];
	}
	return total;
}

void loader__stack_counts(struct loader *l, uint64_t count[TB_STC_MAX])
{
	for (__u32 key = 0; key < TB_STC_MAX; key++) {
		count[key] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.stack_counts), &key, l->percpu))
			continue;
		for (int cpu = 0; cpu < l->nr_cpus; cpu++)
			count[key] += l->percpu[cpu];
	}
}

int loader__stacks_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.stacks);
}

int loader__files_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.files);
}

uint64_t loader__bystander_calls(struct loader *l)
{
	struct tb_bystander *b = (struct tb_bystander *)l->percpu;
	uint64_t sum = 0;
	__u32 key = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.bystander_calls), &key, b))
		return 0;
	for (int cpu = 0; cpu < l->nr_cpus; cpu++)
		sum += b[cpu].calls;
	return sum;
}

/*
 * Processes not watched that trapped in epoch since_epoch or later, and in
 * *all those the table holds (it drops the least recent past TB_MAX_BYSTANDERS).
 */
size_t loader__bystanders(struct loader *l, uint32_t since_epoch, size_t *all)
{
	int fd = bpf_map__fd(l->skel->maps.bystanders);
	__u32 key, next, epoch;
	size_t recent = 0;
	void *prev = NULL;

	*all = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &epoch))
			continue;	/* dropped since the key was read */
		++*all;
		recent += (int32_t)(epoch - since_epoch) >= 0;
	}
	return recent;
}

int loader__page_counts(struct loader *l, uint64_t count[TB_PC_MAX])
{
	int fd = bpf_map__fd(l->skel->maps.page_counts);
	__u32 key, next, *prev = NULL;
	__u64 v[8];

	_Static_assert(TB_PC_MAX <= 8, "page_counts' value has 8 counters");
	memset(count, 0, TB_PC_MAX * sizeof(*count));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, v) == 0)
			for (int i = 0; i < TB_PC_MAX; i++)
				count[i] += v[i];
		key = next;
		prev = &key;
	}
	return 0;
}

uint64_t loader__drops(struct loader *l)
{
	uint64_t cause[TB_DROP_MAX];

	return loader__drops_by_cause(l, cause);
}

void loader__ring_set(const struct loader *l, struct tb_ring_set *set)
{
	*set = (struct tb_ring_set){
		.ring_fds = l->ring_fds,
		.nr_cpus = l->nr_cpus,
		.ring_bytes = l->ring_bytes,
		.slots_fd = bpf_map__fd(l->skel->maps.slots),
		.slot_pos_fd = bpf_map__fd(l->skel->maps.slot_pos),
		.slot_cpus = l->slot_cpus,
		.slot_count = l->slot_count,
	};
}

struct tb_wake loader__wake_totals(struct loader *l)
{
	struct tb_wake *w = calloc(l->nr_cpus, sizeof(*w)), sum = { 0 };
	__u32 zero = 0;

	if (w && !bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.wake), &zero, w)) {
		for (int cpu = 0; cpu < l->nr_cpus; cpu++) {
			sum.forced += w[cpu].forced;
			sum.raced += w[cpu].raced;
		}
	}
	free(w);
	return sum;
}

/* One link to release: a uprobe_multi fd, or a libbpf link (kernel tracepoints). */
struct link_ref {
	int fd;
	struct bpf_link *link;
	pthread_t tid;
	bool started;
};

static void *release_link(void *arg)
{
	struct link_ref *r = arg;

	if (r->link)
		bpf_link__destroy(r->link);
	else
		close(r->fd);
	return NULL;
}

/*
 * Each link's release waits out a grace period (tens of ms here, more for
 * uprobes): release them side by side, so that all take one wait.
 */
static void release_side_by_side(struct link_ref *refs, int n)
{
	for (int i = 0; i < n; i++)
		refs[i].started = !pthread_create(&refs[i].tid, NULL, release_link, &refs[i]);
	for (int i = 0; i < n; i++) {
		if (refs[i].started)
			pthread_join(refs[i].tid, NULL);
		else
			release_link(&refs[i]);
	}
}

/* The links taken off, released on a thread of their own. */
struct off_batch {
	int *releasing;
	int n;
	struct link_ref refs[];
};

static void *release_batch(void *arg)
{
	struct off_batch *b = arg;

	release_side_by_side(b->refs, b->n);
	__atomic_sub_fetch(b->releasing, 1, __ATOMIC_RELEASE);
	free(b);
	return NULL;
}

int loader__probes_off(struct loader *l)
{
	struct off_batch *b;
	pthread_t tid;

	if (!l->kf.uprobe_multi)
		return -EOPNOTSUPP;
	if (l->probes_off)
		return 0;
	b = calloc(1, sizeof(*b) + l->nmulti * sizeof(b->refs[0]));
	if (!b)
		return -ENOMEM;
	for (int i = 0; i < l->nmulti; i++) {
		b->refs[b->n++] = (struct link_ref){ .fd = l->multi_fds[i] };
		l->multi_fds[i] = -1;
	}
	b->releasing = &l->releasing;
	__atomic_add_fetch(&l->releasing, 1, __ATOMIC_ACQUIRE);
	l->probes_off = true;
	l->skel->bss->sample_window++;	/* odd: a call whose return is lost now is no loss */
	if (pthread_create(&tid, NULL, release_batch, b))
		release_batch(b);	/* no thread: wait for them here */
	else
		pthread_detach(tid);
	return 0;
}

bool loader__probes_released(struct loader *l)
{
	return __atomic_load_n(&l->releasing, __ATOMIC_ACQUIRE) == 0;
}

/* The links of one kind (returns or the rest) made again. */
static int links_back(struct loader *l, bool returns)
{
	for (int i = 0; i < l->nmulti; i++) {
		struct multi_spec *s = &l->multi_specs[i];
		int fd;

		if (l->multi_fds[i] >= 0 || (s->kind == TB_AT_RETURN) != returns)
			continue;
		fd = uprobe_multi(l, s->prog, s->path, s->offsets, s->cookies, s->cnt, s->kind);
		if (fd < 0)
			return fd;
		l->multi_fds[i] = fd;
	}
	return 0;
}

/*
 * The return probes go back before the entry probes: an entry seen while its
 * return was not yet probed would leave the call open, and the thread's next
 * calls from the same depth would look like tail calls inside it (realloc(NULL,
 * n) jumps to malloc), unreported for the whole window.
 */
int loader__probes_on(struct loader *l)
{
	int err;

	if (!l->probes_off)
		return 0;
	/* before any probe fires again: a call still open from the last window is cut */
	l->skel->bss->sample_window++;
	err = links_back(l, true);
	if (!err)
		err = links_back(l, false);
	l->probes_off = false;	/* on error, what was made is released at the end */
	return err;
}

/*
 * Every link at the end handed to a process that outlives tlsbpf (release.h), whose closes are
 * the last and wait out the grace period there: tlsbpf ends without it. True if handed.
 */
static bool hand_links_off(struct loader *l)
{
	int n = 0, handed = -1, *fds = calloc(l->nmulti + l->nlinks + 2, sizeof(*fds));

	for (int i = 0; fds && i < l->nmulti; i++)
		if (l->multi_fds[i] >= 0)
			fds[n++] = l->multi_fds[i];
	for (int i = 0; fds && i < l->nlinks; i++)
		if (l->links[i] && bpf_link__fd(l->links[i]) >= 0)
			fds[n++] = bpf_link__fd(l->links[i]);
	if (n)
		handed = release__hand_off(fds, n, NULL, NULL);
	free(fds);
	if (handed < 0)
		return false;
	/* not the last copies: these closes are quick */
	for (int i = 0; i < l->nmulti; i++)
		if (l->multi_fds[i] >= 0)
			close(l->multi_fds[i]);
	for (int i = 0; i < l->nlinks; i++)
		bpf_link__destroy(l->links[i]);
	close(handed);
	return true;
}

/* Every link here, side by side, so that tlsbpf's exit takes one wait: without a release process. */
static void release_links_here(struct loader *l)
{
	int n = 0, max = l->nmulti + l->nlinks;
	struct link_ref one, *refs = calloc(max ? max : 1, sizeof(*refs));

	for (int i = 0; i < max; i++) {
		struct link_ref *r = refs ? &refs[n++] : &one;	/* out of memory: one at a time */

		if (i < l->nmulti)
			*r = (struct link_ref){ .fd = l->multi_fds[i] };	/* -1 while off: no-op */
		else
			*r = (struct link_ref){ .fd = -1, .link = l->links[i - l->nmulti] };
		if (!refs)
			release_link(r);
	}
	release_side_by_side(refs, n);
	free(refs);
}

static void release_links(struct loader *l)
{
	if (!hand_links_off(l))
		release_links_here(l);
	specs_free(l);
	l->nmulti = l->nlinks = 0;
	perfprobes__release(&l->classic);
}

void loader__destroy(struct loader *l)
{
	if (l->filling)
		pthread_join(l->filler, NULL);
	release_links(l);
	tlsbpf_bpf__destroy(l->skel);
	if (l->ring_fds && l->rings_fd >= 0)
		close(l->rings_fd);
	for (int i = 0; l->ring_fds && i < l->nr_cpus; i++)
		if (l->ring_fds[i] >= 0)
			close(l->ring_fds[i]);
	free(l->ring_fds);
	free(l->online);
	free(l->percpu);
	memset(l, 0, sizeof(*l));
}
