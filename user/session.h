/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* session.h: one run, whatever is watched: outputs, probes, the event loop and the end. */
#ifndef TB_SESSION_H
#define TB_SESSION_H

#include <signal.h>
#include "attach.h"
#include "consumer.h"
#include "loader.h"
#include "pipeline.h"
#include "timesample.h"

enum session_mode { TB_MODE_LAUNCH, TB_MODE_PIDS, TB_MODE_ALL };

/* Who pays the probes' trap: what -v and the report say. */
enum session_scope {
	TB_SCOPE_FILES,		/* the library files: every process that maps one */
	TB_SCOPE_CONFINED,	/* private copies only the command and its descendants load */
	TB_SCOPE_PROCESSES,	/* -p: breakpoints placed in the watched processes alone */
};

struct session {
	const struct env *env;
	enum session_mode mode;
	struct tb_owner owner;
	struct loader loader;
	struct consumer cons;
	struct pipeline pipe;
	struct probed_set probed;
	pid_t child;		/* TB_MODE_LAUNCH: the command */
	int status;		/* TB_MODE_LAUNCH: its exit status, shell style, once reaped */
	bool child_reaped;	/* TB_MODE_LAUNCH: the command ended before tlsbpf did */
	int stop_signal;	/* the signal that asked tlsbpf to stop (SIGINT for --duration) */
	uint64_t start_ns;
	uint64_t live_ns;	/* when the probes were live and watching began: --duration counts from it */
	uint64_t drops;
	bool watching;		/* the loop ran: there is something to report */
	char what[1024];	/* the report's name for what was watched */
	enum session_scope scope;
	int ncopies;		/* TB_SCOPE_CONFINED: private copies probed */
	char scope_text[256];	/* the report's line on who pays */
	uint64_t taxed_seen;	/* -a's status line: bystander calls at the last line */
	pid_t closing[256];	/* exit row seen, some thread may still be on its way out */
	int nclosing;
	bool sweep_exits;	/* an exit row may have been lost: look for such processes in the map */
	struct time_sampler sampler;	/* --sample-by time */
	struct stacks *stacks;	/* the probes' stack table, read in place; NULL under --no-stacks */
};

uint64_t session__now_ns(void);
/* Root and kernel checks, outputs, BPF loaded and the kernel hooks attached; 0 or -errno (reported). */
int session__open(struct session *s, const struct env *env, enum session_mode mode);
/* Probe the allocator functions of one file; required: a file without malloc is an error. */
int session__probe_file(struct session *s, const char *path, bool required);
int session__start_consumer(struct session *s);
/* Who pays from now on; -v says it. */
void session__set_scope(struct session *s, enum session_scope scope, int ncopies);
/* Until what the mode watches has ended, --duration passed, or a signal says stop. */
int session__loop(struct session *s);
/*
 * Launch mode, tlsbpf stopping while the command or what it started still runs
 * (it ignored the signal for the grace, or a second signal came): freeze them
 * (SIGSTOP) so the report shows them as they were, then, after it, kill them
 * (SIGKILL) as timeout -k does, naming their pids: nothing runs on unwatched.
 */
void session__freeze_leftovers(struct session *s);
void session__kill_leftovers(struct session *s);
/* Drain, detach, write the report, close outputs; 0 or the first output error. */
int session__finish(struct session *s);

#endif
