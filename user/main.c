// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* main.c: wires options, outputs, probes and the launched command into one run. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include "analyze.h"
#include "consumer.h"
#include "env.h"
#include "launcher.h"
#include "libc_resolve.h"
#include "loader.h"
#include "pipeline.h"

#define POLL_MS 10
#define GRACE_NS 2000000000ULL	/* after a forwarded signal, how long the command may take to end */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t now_ns(void)
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

static int resolve_command(const char *command, char *path, size_t sz)
{
	int err = libc_resolve__command(command, path, sz);

	if (err == -ENOENT)
		fprintf(stderr, "tlsbpf: command not found: %s\n", command);
	else if (err == -EISDIR)
		fprintf(stderr, "tlsbpf: cannot run '%s': it is a directory\n", command);
	else if (err)
		fprintf(stderr, "tlsbpf: cannot run '%s': %s\n", command, strerror(-err));
	return err == -ENOENT ? 127 : err ? 126 : 0;
}

static int attach_one(struct loader *l, const char *path, const struct env *env, bool required)
{
	struct alloc_lib lib;
	int err = libc_resolve__functions(path, &lib);

	if (err) {
		if (required)
			fprintf(stderr, "tlsbpf: no malloc in '%s': %s\n", path,
				err == -ENOENT ? "give an allocator library or a binary with its own"
					       : strerror(-err));
		return required ? err : 0;
	}
	return loader__attach_lib(l, &lib, env->verbose);
}

/* The command's own allocator, the system C library for its children, and every --lib. */
static int attach_allocators(struct loader *l, const struct env *env, const char *path)
{
	char provider[PATH_MAX] = "", libc[PATH_MAX] = "";
	int err;

	if (libc_resolve__provider(path, provider, sizeof(provider)) && !env->nlibs) {
		fprintf(stderr, "tlsbpf: cannot find which library serves malloc to '%s' "
				"(a static binary?): name it with --lib PATH\n", path);
		return -ENOENT;
	}
	if (provider[0] && (err = attach_one(l, provider, env, true)))
		return err;
	if (!libc_resolve__system_libc(libc, sizeof(libc)) && strcmp(libc, provider) &&
	    (err = attach_one(l, libc, env, false)))
		return err;
	for (int i = 0; i < env->nlibs; i++) {
		char real[PATH_MAX];

		if (!realpath(env->libs[i], real)) {
			fprintf(stderr, "tlsbpf: cannot use --lib '%s': %s\n", env->libs[i],
				strerror(errno));
			return -ENOENT;
		}
		if (strcmp(real, provider) && strcmp(real, libc) && (err = attach_one(l, real, env, true)))
			return err;
	}
	return 0;
}

static struct tb_owner output_owner(void)
{
	struct tb_owner o = {};
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");

	if (geteuid() == 0 && uid && gid && *uid && *gid) {
		o.set = 1;
		o.uid = strtoul(uid, NULL, 10);
		o.gid = strtoul(gid, NULL, 10);
	}
	return o;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed output pipe is an error to report, not a death */
}

static int wait_status(int ws)
{
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

/* Reap the command and any orphan that came to us as subreaper; true once the command is done. */
static bool reap(pid_t child, int *status)
{
	int ws;
	pid_t pid;
	bool done = false;

	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
		if (pid == child) {
			*status = wait_status(ws);
			done = true;
		}
	if (pid < 0 && errno == ECHILD)
		done = true;
	return done;
}

struct run {
	struct loader loader;
	struct consumer cons;
	struct pipeline pipe;
	struct launch launch;
	uint64_t drops;
	int status;
};

static void account_drops(struct run *r)
{
	uint64_t d = loader__drops(&r->loader);

	if (d > r->drops) {
		pipeline__lost(&r->pipe, d - r->drops);
		r->drops = d;
	}
}

/* Until the command and every process it started have ended, or a signal says stop. */
static int event_loop(struct run *r)
{
	bool child_done = false, forwarded = false;
	uint64_t deadline = 0;
	int err;

	for (;;) {
		err = consumer__poll(&r->cons, POLL_MS);
		if (err) {
			fprintf(stderr, "tlsbpf: reading the ring buffer failed: %s\n", strerror(-err));
			return err;
		}
		account_drops(r);
		pipeline__flush(&r->pipe);
		if (!child_done)
			child_done = reap(r->launch.pid, &r->status);
		else
			reap(-1, &r->status);
		if (child_done && !loader__watching(&r->loader))
			break;
		if (stop_signal && !forwarded) {
			/* as a shell would: the command gets the signal and may clean up */
			kill(r->launch.pid, stop_signal);
			forwarded = true;
			stop_signal = 0;
			deadline = now_ns() + GRACE_NS;
		} else if ((stop_signal && forwarded) || (deadline && now_ns() > deadline)) {
			break;
		}
	}
	return 0;
}

static void join_argv(char **argv, int argc, char *buf, size_t sz)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < argc && off < sz; i++)
		off += snprintf(buf + off, sz - off, "%s%s", i ? " " : "", argv[i]);
}

static int launch(struct run *r, const struct env *env, const char *path)
{
	struct tb_cred cred;
	int err;

	err = launcher__cred(env, &cred);
	if (err)
		return 2;
	err = launcher__start(&r->launch, path, env->argv, &cred);
	if (err) {
		fprintf(stderr, "tlsbpf: cannot start '%s': %s\n", env->argv[0], strerror(-err));
		return 126;
	}
	err = loader__watch(&r->loader, r->launch.pid, TB_WATCH_PENDING);
	if (!err)
		err = launcher__release(&r->launch);
	if (err) {
		fprintf(stderr, "tlsbpf: cannot run '%s': %s\n", env->argv[0], strerror(-err));
		waitpid(r->launch.pid, NULL, 0);
		loader__unwatch(&r->loader, r->launch.pid);
		return err == -ENOENT ? 127 : 126;
	}
	return 0;
}

static int finish(struct run *r, const struct env *env, const struct tb_owner *owner,
		  uint64_t start_ns)
{
	struct tb_run_info info = {};
	char cmd[1024];
	int err;

	consumer__poll(&r->cons, 0);
	account_drops(r);
	loader__destroy(&r->loader);
	join_argv(env->argv, env->argc, cmd, sizeof(cmd));
	info.command = cmd;
	info.duration_ns = now_ns() - start_ns;
	info.events = r->pipe.seq;
	info.lost = r->pipe.lost;
	info.have_status = 1;
	info.exit_status = r->status;
	consumer__close(&r->cons);
	err = pipeline__close_outputs(&r->pipe);
	err = pipeline__report(&r->pipe, env, owner, &info) ?: err;
	pipeline__close(&r->pipe);
	return err;
}

static int run_command(const struct env *env)
{
	static struct run r;
	struct tb_owner owner = output_owner();
	char path[PATH_MAX];
	uint64_t start_ns = now_ns();
	int ret, err;

	if (check_system())
		return 1;
	ret = resolve_command(env->argv[0], path, sizeof(path));
	if (ret)
		return ret;
	if (pipeline__open(&r.pipe, env, &owner, start_ns))
		return 1;
	if (loader__open_load(&r.loader, env) || loader__attach_kernel(&r.loader) ||
	    attach_allocators(&r.loader, env, path) ||
	    consumer__open(&r.cons, loader__ringbuf_fd(&r.loader), &r.pipe)) {
		pipeline__close(&r.pipe);
		return 1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	install_signals();
	ret = launch(&r, env, path);
	if (ret) {
		finish(&r, env, &owner, start_ns);
		return ret;
	}
	err = event_loop(&r);
	err = finish(&r, env, &owner, start_ns) ?: err;
	return r.status ? r.status : err ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct env env;
	int err = env__parse(&env, argc, argv);

	if (err)
		return err > 0 ? 0 : 2;
	if (env.analyze)
		return analyze__main(&env);
	return run_command(&env);
}
