// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* session.c: the parts of a run every mode shares, from the first check to the last flush. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include "html_sites.h"
#include "model.h"
#include "placement.h"
#include "procstat.h"
#include "session.h"
#include "signals.h"
#include "unwind.h"

#define POLL_MS 10
#define GRACE_NS 2000000000ULL	/* after a forwarded signal, how long the command may take to end */
#define STATUS_NS 1000000000ULL
#define MAX_LEFTOVERS 4096	/* processes the command left running that tlsbpf ends */

uint64_t session__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool has_cap(unsigned cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* What this machine must allow before anything is started. */
static int check_system(void)
{
	if (geteuid() != 0 && !(has_cap(CAP_BPF) && has_cap(CAP_PERFMON))) {
		fprintf(stderr, "tlsbpf: needs root to load BPF programs: run it with sudo "
				"(or grant CAP_BPF and CAP_PERFMON)\n");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "tlsbpf: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
				"tlsbpf needs a kernel built with CONFIG_DEBUG_INFO_BTF=y\n");
		return -ENOTSUP;
	}
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		fprintf(stderr, "tlsbpf: this kernel has no uprobes: "
				"tlsbpf needs a kernel built with CONFIG_UPROBES=y\n");
		return -ENOTSUP;
	}
	return 0;
}

/* The probes' stack table, read in place by the stacks file's writer. */
static int open_stacks(struct session *s)
{
	if (!s->env->stack_depth || s->env->empty_probes)
		return 0;
	/* --stacks=dwarf: the probes keep no stacks of their own, the tables have one entry */
	bool dwarf = s->env->stacks_mode == TB_STACKS_DWARF;

	s->stacks = stacks__open(loader__stacks_fd(&s->loader), dwarf ? 1 : TB_MAX_STACKS,
				 loader__files_fd(&s->loader), dwarf ? 1 : TB_MAX_FILES);
	if (!s->stacks) {
		fprintf(stderr, "tlsbpf: cannot read the stack table: %s\n", strerror(errno));
		return -errno;
	}
	pipeline__set_stacks(&s->pipe, s->stacks);
	return 0;
}

/* --stacks=dwarf: calls whose sample gave no stack. */
static uint64_t say_samples(struct session *s, const uint64_t count[TB_STC_MAX])
{
	uint64_t samples, failed, none = count[TB_STC_NO_SAMPLE] + s->pipe.sample_failed +
					 s->pipe.sample_unmatched;

	if (!s->pipe.unwind)
		return 0;
	unwind__counts(s->pipe.unwind, &samples, &failed);
	if (none)
		fprintf(stderr, "tlsbpf: %" PRIu64 " rows have no stack_id: the ring had no room "
			"for the stack's sample for %" PRIu64 " (see --ringbuf-mb, --sample), its "
			"process's mappings were not read before it ended for %" PRIu64 ", the sample "
			"came too long before its call's row for %" PRIu64 "\n", none,
			count[TB_STC_NO_SAMPLE], s->pipe.sample_failed, s->pipe.sample_unmatched);
	if (s->env->verbose)
		fprintf(stderr, "tlsbpf: stack samples unwound: %" PRIu64 ", %" PRIu64
			" of them to no frame\n", samples, failed);
	return none;
}

/* Stacks not kept are no lost events (their rows are whole), but they are said, never hidden. */
static void say_stacks(struct session *s, struct tb_run_info *info)
{
	uint64_t count[TB_STC_MAX], gone = stacks__unplaced(s->stacks);

	loader__stack_counts(&s->loader, count);
	info->stacks.on = 1;
	info->stacks.depth = s->env->stack_depth;
	/* the run's own stacks: one for each code path, whichever processes took it */
	stacktab__counts(s->pipe.stab, &info->stacks.kept, &info->stacks.truncated);
	info->stacks.missing = count[TB_STC_FULL] + count[TB_STC_UNREAD] +
			       stacktab__missing(s->pipe.stab) + say_samples(s, count);
	if (count[TB_STC_FULL] || count[TB_STC_UNREAD])
		fprintf(stderr, "tlsbpf: %" PRIu64 " rows have no stack_id: the stack table was "
			"full (%u stacks) for %" PRIu64 ", the stack could not be read for %" PRIu64
			"\n", count[TB_STC_FULL] + count[TB_STC_UNREAD], TB_MAX_STACKS - 1,
			count[TB_STC_FULL], count[TB_STC_UNREAD]);
	if (sites__nomem(s->pipe.sites))
		fprintf(stderr, "tlsbpf: %" PRIu64 " allocator rows are missing from the sites: "
			"out of memory\n", sites__nomem(s->pipe.sites));
	if (gone)
		fprintf(stderr, "tlsbpf: %" PRIu64 " stacks are in the stacks file without their "
			"modules: their process had ended before its mappings were read\n", gone);
	if (s->env->verbose)
		fprintf(stderr, "tlsbpf: stacks whose hash another stack had, kept apart: %" PRIu64
			"; stacks with frames the probes could not place in their files: %" PRIu64
			"; stacks the probes kept per process image: %" PRIu64 "\n",
			count[TB_STC_COLLIDED], count[TB_STC_UNPLACED], count[TB_STC_KEPT]);
}

int session__open(struct session *s, const struct env *env, enum session_mode mode)
{
	/* -a makes events fast: a status line a second, unless asked for every event */
	bool live_view = !env->quiet && (mode != TB_MODE_ALL || env->live || env->live_path);
	int err;

	/* stdout holds another output: the live view only goes to a file of its own */
	if (!env->live_path && env__stdout_output(env))
		live_view = false;

	memset(s, 0, sizeof(*s));
	s->env = env;
	s->mode = mode;
	s->start_ns = session__now_ns();
	s->owner = outfile__caller();
	err = check_system();
	if (!err)
		err = pipeline__open(&s->pipe, env, &s->owner, live_view, s->start_ns);
	if (err)
		return err;
	pipeline__stop_view_on(&s->pipe, &signals_interrupted);
	err = loader__open_load(&s->loader, env);
	if (!err && env->sample_by_time && !s->loader.kf.uprobe_multi) {
		fprintf(stderr, "tlsbpf: --sample-by time needs uprobe_multi links (Linux 6.6 or "
				"later), which this kernel lacks: use --sample N by calls, or trace "
				"in full\n");
		err = -EOPNOTSUPP;
	}
	if (!err)
		err = open_stacks(s);
	if (!err)
		err = loader__attach_kernel(&s->loader);
	return err;
}

int session__probe_file(struct session *s, const char *path, bool required)
{
	struct alloc_lib lib;
	int err;

	/* the same file named twice (--lib and found) would report every call twice */
	if (!attach__first_probe(&s->probed, path))
		return 0;
	err = libc_resolve__functions(path, &lib);
	if (err) {
		if (required)
			fprintf(stderr, "tlsbpf: no malloc in '%s': %s\n", path,
				err == -ENOENT ? "give an allocator library or a binary with its own"
					       : strerror(-err));
		return required ? err : 0;
	}
	if (!s->env->probe_at_entry)
		placement__apply(&lib);
	if (lib.cxx && s->env->verbose)
		fprintf(stderr, "tlsbpf: C++ operators in %s: probed at entry, the malloc or free each "
			"calls reports it with the program's stack; %s\n", path,
			s->scope == TB_SCOPE_CONFINED ? "a private copy, no other process pays"
			: "on the file: every C++ program that maps it pays a trap per new and delete");
	return loader__attach_lib(&s->loader, &lib, s->env->verbose);
}

/* Processes the model knows: those given and what they started while watched. */
static unsigned watched_count(const struct session *s)
{
	return s->pipe.corr ? s->pipe.corr->nprocs : 0;
}

/* Who pays for probes on files, and how many calls and processes of others have paid so far. */
static void files_text(struct session *s)
{
	uint64_t taxed = s->loader.skel ? loader__bystander_calls(&s->loader) : 0;
	size_t payers = 0;
	int n = snprintf(s->scope_text, sizeof(s->scope_text), "on the library file%s: every "
			 "process that maps it pays the trap%s",
			 s->loader.nlibs - s->loader.ncxx > 1 ? "s" : "",
			 s->loader.ncxx ? ", C++ programs for new and delete too" : "");

	if (taxed)
		loader__bystanders(&s->loader, 0, &payers);
	if (taxed && n < (int)sizeof(s->scope_text))
		snprintf(s->scope_text + n, sizeof(s->scope_text) - n, " (%" PRIu64 " calls of "
			 "%s%zu process%s not watched did)", taxed,
			 payers >= TB_MAX_BYSTANDERS ? "at least " : "", payers, payers == 1 ? "" : "es");
}

static const char *scope_text(struct session *s)
{
	bool libs = s->env->nlibs > 0;

	if (s->scope == TB_SCOPE_PROCESSES)
		snprintf(s->scope_text, sizeof(s->scope_text), "placed in the %u process%s watched "
			 "alone (what they start gets them at birth): no other process pays the trap",
			 watched_count(s), watched_count(s) == 1 ? "" : "es");
	else if (s->scope == TB_SCOPE_FILES)
		files_text(s);
	else if (s->ncopies == 1)
		snprintf(s->scope_text, sizeof(s->scope_text), "on a private copy of the C "
			 "library that only the command and what it starts load: no other process "
			 "pays the trap%s", libs ? " (the files given with --lib excepted)" : "");
	else	/* the C library's and another allocator's (jemalloc linked by the program) */
		snprintf(s->scope_text, sizeof(s->scope_text), "on private copies of the %d "
			 "allocator libraries that only the command and what it starts load: no other "
			 "process pays the trap%s", s->ncopies,
			 libs ? " (the files given with --lib excepted)" : "");
	return s->scope_text;
}

void session__set_scope(struct session *s, enum session_scope scope, int ncopies)
{
	s->scope = scope;
	s->ncopies = ncopies;
	if (s->env->verbose)
		fprintf(stderr, "tlsbpf: probes %s\n", scope_text(s));
}

int session__start_consumer(struct session *s)
{
	struct tb_ring_set set;
	int err;

	loader__ring_set(&s->loader, &set);
	err = consumer__open(&s->cons, &set, &s->pipe);

	if (err)
		fprintf(stderr, "tlsbpf: cannot read the ring buffers: %s\n", strerror(-err));
	return err;
}

/* True if records were lost since the last look. */
static bool account_drops(struct session *s)
{
	uint64_t d = loader__drops(&s->loader);

	if (d <= s->drops)
		return false;
	pipeline__lost(&s->pipe, d - s->drops);
	s->drops = d;
	return true;
}

/*
 * A process's exit row comes from the first of its last threads to see the
 * group empty; a sibling dying at the same moment can pass the exit
 * tracepoint after it. So the kernel side keeps the process watched until
 * the loader sees the whole thread group gone, and no sibling's row is lost.
 */
static void close_exits(struct session *s, bool dropped)
{
	struct pipeline *p = &s->pipe;
	int cap = sizeof(s->closing) / sizeof(s->closing[0]);

	for (uint32_t i = 0; i < p->nexits; i++)
		if (s->nclosing < cap)
			s->closing[s->nclosing++] = p->exits[i];
		else
			s->sweep_exits = true;
	s->sweep_exits |= dropped || p->exits_unlisted;
	p->nexits = 0;
	p->exits_unlisted = false;
	if (s->nclosing || s->sweep_exits)
		s->nclosing = loader__close_exits(&s->loader, s->closing, s->nclosing, cap,
						  &s->sweep_exits);
}

static int wait_status(int ws)
{
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

/* Reap the command and any orphan that came to us as subreaper; true once the command is done. */
static bool reap(struct session *s)
{
	bool done = false;
	pid_t pid;
	int ws;

	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
		if (pid == s->child) {
			s->status = wait_status(ws);
			s->child_reaped = done = true;
		}
	return done || (pid < 0 && errno == ECHILD);
}

/*
 * -a: a line a second on stderr instead of a line per event. Who pays the
 * probes' trap without being watched: the processes the bystanders table saw
 * in this epoch or the one before (the last 1 to 2 s), and their calls.
 */
static void status_line(struct session *s, uint64_t now, uint64_t *next, uint64_t *seen)
{
	uint64_t taxed;
	size_t procs, payers, all;

	if (s->mode != TB_MODE_ALL || s->env->quiet || s->env->live || now < *next)
		return;
	procs = correlator__live_processes(s->pipe.corr);
	taxed = loader__bystander_calls(&s->loader);
	payers = loader__bystanders(&s->loader, (uint32_t)(now >> TB_EPOCH_SHIFT) - 1, &all);
	fprintf(stderr, "tlsbpf: %llu events/s, %zu process%s, %llu lost; %zu process%s not "
		"watched paid the probes' trap (%llu calls/s)\n",
		(unsigned long long)(s->pipe.seq - *seen), procs, procs == 1 ? "" : "es",
		(unsigned long long)s->pipe.lost, payers, payers == 1 ? "" : "es",
		(unsigned long long)(taxed - s->taxed_seen));
	*seen = s->pipe.seq;
	s->taxed_seen = taxed;
	*next = now + STATUS_NS;
}

/* Has what this mode watches ended? Launch: the command and all it started; -p: all of them. */
static bool watched_ended(struct session *s, bool *child_done)
{
	if (s->mode == TB_MODE_ALL)
		return false;
	if (s->mode == TB_MODE_LAUNCH) {
		if (!*child_done)
			*child_done = reap(s);
		else
			reap(s);
		if (!*child_done)
			return false;
	}
	return !loader__watching(&s->loader);
}

/* A signal: the launched command gets it once, as from a shell; anything else stops now. */
static bool stop_requested(struct session *s, uint64_t now, uint64_t *grace)
{
	uint64_t limit = s->env->duration_s * 1000000000ULL;
	int sig = signals_stop;

	/* --duration is time watched: attaching can wait on another tracer's probes */
	if (limit && now - s->live_ns >= limit && !sig && !*grace)
		sig = SIGINT;
	if (*grace)
		return signals_stop || now > *grace;
	if (!sig)
		return false;
	s->stop_signal = sig;
	if (s->mode != TB_MODE_LAUNCH)
		return true;
	/* a reaped command's pid may be another process's by now */
	if ((!signals_from_tty || !signals_stop) && !s->child_reaped)
		kill(s->child, sig);
	signals_stop = 0;
	*grace = now + GRACE_NS;
	return false;
}

/*
 * A watched process exec'd: its new image may bring an allocator nobody has
 * probed yet (a musl or static program started by a glibc shell, under -a a
 * program that did not run when tlsbpf started). Probe it now; what it did in
 * between was not seen, and the model is told so. Under --confine only the
 * private copy may be probed, or every process on the machine would pay.
 */
static void follow_execs(struct session *s)
{
	struct pipeline *p = &s->pipe;

	for (uint32_t i = 0; i < p->nexecs && !s->env->confine; i++) {
		int newly = 0, err;

		/* an error after some file was probed still leaves a late probe to report */
		err = attach__probe_process(&s->loader, &s->probed, p->execs[i].pid, s->env,
					    &newly);
		if ((err == -ENOENT || err == -ESRCH) && p->execs[i].file) {
			/* gone already: what its exec brought was never watched in it */
			attach__probe_exec(&s->loader, &s->probed, p->execs[i].file, s->env, &newly);
			if (newly)
				correlator__never_probed(p->corr, p->execs[i].pid, p->execs[i].ts_ns);
		} else if (newly) {
			correlator__probed_late(p->corr, p->execs[i].pid,
						session__now_ns() - p->execs[i].ts_ns);
		}
		if (newly && s->scope != TB_SCOPE_FILES) {
			if (s->env->verbose)
				fprintf(stderr, "tlsbpf: pid %d exec'd a program that %s: its "
					"allocator's file is probed\n", p->execs[i].pid,
					s->scope == TB_SCOPE_PROCESSES ? "brings an allocator not "
					"probed yet" : "does not load the private copy");
			session__set_scope(s, TB_SCOPE_FILES, 0);
		}
	}
	for (uint32_t i = 0; i < p->nexecs; i++) {
		free(p->execs[i].file);
		p->execs[i].file = NULL;
	}
	/* over a thousand execs in one poll: rare enough to say every time, never silently */
	if (p->execs_unchecked && !s->env->confine)
		fprintf(stderr, "tlsbpf: %" PRIu64 " execs came too fast to look for new allocators "
			"in them\n", p->execs_unchecked);
	p->nexecs = 0;
	p->execs_unchecked = 0;
}

/*
 * --sample-by time: the probes go off or on when the sampler says. The row
 * goes through the consumer, in time order with the records. A window is only
 * the time every probe was on: a free probed while malloc's link is not yet
 * made would see a block freed twice. So off is stamped before the first link
 * goes and on after the last one came back; what is recorded outside is in
 * the gap, and the model knows its frees may be unseen.
 */
static int sample_switch(struct session *s, uint64_t now)
{
	uint64_t since = s->sampler.since_ns;
	struct tb_event e;
	int err;

	if (!s->env->sample_by_time)
		return 0;
	/* the last window's links may take a while to go (grace periods): a gap lasts that long */
	if (!s->sampler.on && !loader__probes_released(&s->loader))
		return 0;
	if (!time_sampler__due(&s->sampler, now))
		return 0;
	if (s->sampler.on) {
		err = loader__probes_on(&s->loader);
		time_sampler__opened(&s->sampler, session__now_ns());
		tb_event_sample(&e, TB_EV_SAMPLE_ON, s->sampler.since_ns, 0);
		consumer__mark(&s->cons, &e);
		return err;
	}
	tb_event_sample(&e, TB_EV_SAMPLE_OFF, now, now - since);
	consumer__mark(&s->cons, &e);
	return loader__probes_off(&s->loader);
}

static void sample_start(struct session *s)
{
	struct tb_event e;

	if (!s->env->sample_by_time)
		return;
	time_sampler__init(&s->sampler, s->env->sample,
			   s->env->sample_window_ms ? s->env->sample_window_ms : 20, s->live_ns);
	/*
	 * The first window opened as the probes were attached. A launched command
	 * is let run only then: stamped at the session's start, no record precedes
	 * it. Processes already running (-p, -a) ran unwatched while the programs
	 * loaded and the probes went in: their first window opens when the probes
	 * are live, or the share of time stated would count that wait as watched.
	 */
	s->sampler.since_ns = s->mode == TB_MODE_LAUNCH ? s->start_ns : s->live_ns;
	tb_event_sample(&e, TB_EV_SAMPLE_ON, s->sampler.since_ns, 0);
	consumer__mark(&s->cons, &e);
}

int session__loop(struct session *s)
{
	uint64_t grace = 0, next_status = 0, seen = 0, now;
	bool child_done = false, was_done = false, dropped;
	int err;

	s->watching = true;
	s->live_ns = session__now_ns();
	sample_start(s);
	for (;;) {
		now = session__now_ns();
		/* the command reaped just now: its last records, exit row and all, are read at
		 * once, not after a poll's wait, and its exit closes */
		err = consumer__poll(&s->cons, child_done != was_done ? 0 : s->env->sample_by_time
							? time_sampler__wait_ms(&s->sampler, now, POLL_MS)
							: POLL_MS);
		was_done = child_done;
		if (err) {
			fprintf(stderr, "tlsbpf: reading the ring buffers failed: %s\n", strerror(-err));
			return err;
		}
		err = sample_switch(s, session__now_ns());
		if (err) {
			fprintf(stderr, "tlsbpf: --sample-by time: cannot %s the allocator probes: "
					"%s\n", s->sampler.on ? "put back" : "take off", strerror(-err));
			return err;
		}
		dropped = account_drops(s);
		follow_execs(s);
		close_exits(s, dropped);
		pipeline__flush(&s->pipe);
		now = session__now_ns();
		status_line(s, now, &next_status, &seen);
		if (watched_ended(s, &child_done) || stop_requested(s, now, &grace))
			return 0;
	}
}

static double cpu_seconds(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void say_drops(const uint64_t cause[TB_DROP_MAX])
{
	static const char *const phrase[TB_DROP_MAX] = {
#define TB_X_PHRASE(cause, words) [TB_DROP_##cause] = words,
		TB_DROP_CAUSES(TB_X_PHRASE)
#undef TB_X_PHRASE
	};

	fprintf(stderr, "tlsbpf: records lost:");
	for (int i = 0; i < TB_DROP_MAX; i++)
		fprintf(stderr, "%s %" PRIu64 " %s", i ? "," : "", cause[i], phrase[i]);
	fprintf(stderr, "\n");
}

/* -v: what watching cost tlsbpf, and how its rings were drained. */
static void say_costs(struct session *s)
{
	struct tb_wake w = { 0 };
	uint64_t cause[TB_DROP_MAX] = { 0 };

	if (s->loader.skel) {
		w = loader__wake_totals(&s->loader);
		loader__drops_by_cause(&s->loader, cause);
	}
	say_drops(cause);
	fprintf(stderr, "tlsbpf: cpu time: tlsbpf %.3f s, the processes it reaped %.3f s\n",
		cpu_seconds(RUSAGE_SELF), cpu_seconds(RUSAGE_CHILDREN));
	fprintf(stderr, "tlsbpf: consumer rounds: %" PRIu64 ", %" PRIu64 " of them woken by a ring; "
		"wakeups forced by the probes: %" PRIu64 "\n", s->cons.rounds, s->cons.woken,
		(uint64_t)w.forced);
	fprintf(stderr, "tlsbpf: allocation-ring slots another program on the same CPU took "
		"first: %" PRIu64 "\n", (uint64_t)w.raced);
	if (s->env->sample_by_time)
		fprintf(stderr, "tlsbpf: sampling windows opened: %" PRIu64 ", each %.2f ms on "
			"average after its gap was to end (the last links' release, then the new "
			"ones')\n", s->sampler.windows, s->sampler.attach_ns / 1e6);
}

/* The last execs, seen after the watched processes ended: too late to probe what they brought. */
static void unfollowed_execs(struct session *s)
{
	struct pipeline *p = &s->pipe;

	for (uint32_t i = 0; i < p->nexecs && !s->env->confine; i++)
		if (p->execs[i].file && attach__exec_unprobed(&s->probed, p->execs[i].file))
			correlator__never_probed(p->corr, p->execs[i].pid, p->execs[i].ts_ns);
}

/* The pictures' frame labels, from the run's stack table; NULL: no picture, or no stacks. */
static struct tb_sites *live_labels(struct session *s)
{
	struct tb_sites *labels;

	if ((!s->env->html_path && !s->env->perfetto_path && !s->env->report_md_path) ||
	    !s->pipe.stab || !s->pipe.history)
		return NULL;
	labels = html_sites__new();
	if (labels && html_sites__from_tab(labels, s->pipe.stab)) {
		html_sites__free(labels);
		labels = NULL;
	}
	if (!labels)
		fprintf(stderr, "tlsbpf: the pictures' sites are left unnamed: %s\n", strerror(ENOMEM));
	return labels;
}

int session__finish(struct session *s)
{
	struct tb_run_info info = {};
	uint64_t page_counts[TB_PC_MAX];
	int err;

	if (s->cons.rings)
		consumer__drain(&s->cons);
	/* the merge relies on every CPU's clock agreeing: say so if they did not */
	if (s->cons.out_of_order)
		fprintf(stderr, "tlsbpf: %" PRIu64 " records arrived out of time order; frees among "
			"them may show as unknown_origin\n", s->cons.out_of_order);
	if (s->cons.malformed)
		fprintf(stderr, "tlsbpf: %" PRIu64 " records could not be decoded; they count as lost\n",
			s->cons.malformed);
	if (s->loader.skel)
		account_drops(s);
	if (s->loader.skel && s->stacks)
		say_stacks(s, &info);
	unfollowed_execs(s);
	if (s->env->verbose && s->watching)
		say_costs(s);
	info.probes = scope_text(s);	/* it reads the loader's count of bystanders' calls */
	if (s->loader.skel && s->env->pages && s->loader.kf.page_faults &&
	    !loader__page_counts(&s->loader, page_counts))
		info.page_counts = page_counts;
	loader__destroy(&s->loader);
	attach__probed_free(&s->probed);
	info.command = s->what;
	info.duration_ns = session__now_ns() - s->start_ns;
	info.events = s->pipe.seq;
	info.lost = s->pipe.lost;
	info.attached = s->mode != TB_MODE_LAUNCH;
	info.have_status = s->mode == TB_MODE_LAUNCH && s->child_reaped;
	info.exit_status = s->status;
	info.sample_every = s->env->sample > 1 && !s->env->sample_by_time ? s->env->sample : 0;
	info.out_of_order = s->cons.out_of_order;
	consumer__close(&s->cons);
	err = pipeline__close_outputs(&s->pipe);
	/* a run that failed before watching anything said why in one line already */
	if (s->watching) {
		struct tb_sites *labels = live_labels(s);

		info.labels = labels;
		err = pipeline__report(&s->pipe, s->env, &info) ?: err;
		html_sites__free(labels);
	}
	pipeline__close(&s->pipe);
	stacks__close(s->stacks);
	s->stacks = NULL;
	return err;
}

/* Parent of pid from /proc/PID/stat, or 0 for a process gone or a zombie (nothing to end). */
static pid_t live_parent(pid_t pid)
{
	struct procstat st;

	return procstat__read(pid, 0, &st) || st.state == 'Z' ? 0 : st.ppid;
}

static bool listed(const pid_t *pids, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/*
 * Stop every descendant of tlsbpf not stopped yet: the command, what it started,
 * and orphans that came to us as subreaper. Stopped, none can fork past the scan.
 * Returns how many were added.
 */
static int stop_descendants(pid_t *pids, int *n)
{
	int added = 0, found;
	DIR *d;

	do {
		struct dirent *de;

		found = 0;
		d = opendir("/proc");
		if (!d)
			return added;
		while ((de = readdir(d)) && *n < MAX_LEFTOVERS) {
			pid_t pid = atoi(de->d_name), ppid;

			if (pid <= 0 || listed(pids, *n, pid) || !(ppid = live_parent(pid)))
				continue;
			if (ppid != getpid() && !listed(pids, *n, ppid))
				continue;
			kill(pid, SIGSTOP);
			pids[(*n)++] = pid;
			found++;
		}
		closedir(d);
		added += found;
	} while (found && *n < MAX_LEFTOVERS);
	return added;
}

static pid_t leftovers[MAX_LEFTOVERS];
static int nleftovers;

void session__freeze_leftovers(struct session *s)
{
	if (s->mode == TB_MODE_LAUNCH)
		stop_descendants(leftovers, &nleftovers);
}

void session__kill_leftovers(struct session *s)
{
	char pids[256] = "";
	int off = 0, ws;

	if (!nleftovers)
		return;
	for (int i = 0; i < nleftovers; i++) {
		kill(leftovers[i], SIGKILL);
		if (off < (int)sizeof(pids) - 16)
			off += snprintf(pids + off, sizeof(pids) - off, "%s%d", i ? "," : "",
					leftovers[i]);
	}
	fprintf(stderr, "tlsbpf: stopped while '%s' or what it started still ran: killed pid %s "
		"with SIGKILL\n", s->env->argv[0], pids);
	while (waitpid(-1, &ws, WNOHANG) > 0)
		;
	nleftovers = 0;
}
