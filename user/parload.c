// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * parload.c: one BPF program verified on a thread of its own while libbpf
 * loads the others.
 *
 * The kernel verifies one program per bpf(BPF_PROG_LOAD) call, on the
 * calling CPU, and libbpf loads an object's programs one after another: the
 * two allocator programs took 20 to 25 ms each, back to back, most of
 * start-up. libbpf calls a section's prog_prepare_load_fn with the program's
 * final instructions just before it loads it, the maps already made: there
 * the chosen program's instructions and load options are copied to a thread
 * that loads them, and libbpf is handed a two-instruction stand-in that
 * verifies at once. Once the object is loaded, the real program's fd takes
 * the stand-in's number (dup2), so that bpf_program__fd() and everything
 * holding that number name the real program.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "parload.h"

#define VERIFIER_LOG_SIZE (16u << 20)	/* libbpf's own: the error is at the log's end */

static struct parload {
	const char *name;	/* the program to load aside; NULL: none */
	bool verbose;
	bool started;
	pthread_t thread;
	enum bpf_prog_type type;
	const char *license;	/* the object's: libbpf 1.1 has no getter for it */
	struct bpf_insn *insns;
	size_t cnt;
	struct bpf_prog_load_opts opts;
	int fd;	/* the real program's, or -errno */
	char *log;	/* -v: the verifier's log of a failed load */
} pl;

static void *load_aside(void *arg)
{
	char *log;

	pl.fd = bpf_prog_load(pl.type, pl.name, pl.license, pl.insns, pl.cnt, &pl.opts);
	if (pl.fd >= 0)
		return NULL;
	pl.fd = -errno;
	/* as libbpf does for the programs it loads: the verifier's log under -v */
	if (!pl.verbose || !(log = malloc(VERIFIER_LOG_SIZE)))
		return NULL;
	log[0] = '\0';
	pl.opts.log_buf = log;
	pl.opts.log_size = VERIFIER_LOG_SIZE;
	pl.opts.log_level = 1;
	bpf_prog_load(pl.type, pl.name, pl.license, pl.insns, pl.cnt, &pl.opts);
	pl.log = log;
	return NULL;
}

static int prepare(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie)
{
	static const struct bpf_insn stand_in[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int err;

	if (!pl.name || pl.started || strcmp(bpf_program__name(prog), pl.name))
		return 0;
	pl.cnt = bpf_program__insn_cnt(prog);
	pl.insns = malloc(pl.cnt * sizeof(*pl.insns));
	if (!pl.insns)
		return 0;	/* libbpf loads it itself */
	memcpy(pl.insns, bpf_program__insns(prog), pl.cnt * sizeof(*pl.insns));
	pl.type = bpf_program__type(prog);
	pl.opts = *opts;
	err = pthread_create(&pl.thread, NULL, load_aside, NULL);
	if (err) {
		free(pl.insns);
		pl.insns = NULL;
		return 0;
	}
	pl.started = true;
	/* the stand-in has no subprograms and no lines: their BTF records go with the real one */
	opts->func_info = NULL;
	opts->func_info_cnt = 0;
	opts->line_info = NULL;
	opts->line_info_cnt = 0;
	return bpf_program__set_insns(prog, (struct bpf_insn *)stand_in,
				      sizeof(stand_in) / sizeof(stand_in[0]));
}

int parload__register(const char *sec, enum bpf_prog_type type)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, o, .prog_prepare_load_fn = prepare);
	int id = libbpf_register_prog_handler(sec, type, 0, &o);

	return id < 0 ? id : 0;
}

void parload__arm(const char *name, const char *license, bool verbose)
{
	pl = (struct parload){ .name = name, .license = license, .verbose = verbose, .fd = -1 };
}

int parload__finish(struct bpf_program *prog, bool loaded)
{
	int err = 0;

	if (!pl.started)
		return 0;
	pthread_join(pl.thread, NULL);
	free(pl.insns);
	if (pl.fd < 0) {
		err = pl.fd;
		if (loaded && pl.log)
			fprintf(stderr, "libbpf: prog '%s': BPF program load failed: %s\n"
				"-- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n", pl.name,
				strerror(-err), pl.log);
	} else {
		if (loaded && dup2(pl.fd, bpf_program__fd(prog)) < 0)
			err = -errno;
		close(pl.fd);
	}
	free(pl.log);
	pl = (struct parload){ .fd = -1 };
	return err;
}
