// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_replay.c: many random traces, heavy in children that share their
 * parent's memory (vfork, CLONE_VM), written as CSV and read back by
 * `tlsbpf analyze` into every report format. None may crash (the sanitizer
 * build turns a stray read into a failure), and the model's cross-process
 * references must resolve. `test_replay N SEED` runs N traces from SEED;
 * REPLAY_KEEP=FILE keeps the first trace the model gets wrong.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
/* analyze.c is not one of the core objects the unit tests link: take it whole. */
#include "../../user/analyze.c"
#include "model.h"

#define HEAP 0x555555559000ULL
#define ARENA 0x7f0000000000ULL
#define MAXP 6
#define NADDR 24

static uint64_t rng;
static uint64_t now;
static char dir[] = "/tmp/tlsbpf-test-replay.XXXXXX";

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

struct gen {
	struct csv_writer *w;
	uint32_t pids[MAXP], tids[MAXP][3];
	int np;
	uint32_t next_id;
};

static void emit(struct gen *g, struct tb_event *e)
{
	now += 1 + rnd(1000);
	e->ts_ns = now;
	snprintf(e->comm, sizeof(e->comm), "p%u", e->pid);
	if (csv_writer__write(g->w, e))
		abort();
}

/* An address from a small pool, so frees, reuses and double frees are common. */
static uint64_t addr(void)
{
	uint64_t i = rnd(NADDR);

	return i < NADDR / 2 ? HEAP + 0x100 * (i + 1) : ARENA + 0x1000 * i;
}

static void gen_fork(struct gen *g, int from)
{
	static const uint64_t flags[] = { 0x4111, 0x100, 0x11, 0x4100 };
	struct tb_event e = { .type = TB_EV_FORK, .fd = -1 };

	if (g->np == MAXP)
		return;
	e.pid = e.tid = g->next_id++;
	e.origin_pid = g->pids[from];
	e.origin_tid = g->tids[from][rnd(3)] ? g->tids[from][rnd(3)] : g->pids[from];
	e.sysflags = flags[rnd(4)];
	g->pids[g->np] = e.pid;
	memset(g->tids[g->np], 0, sizeof(g->tids[g->np]));
	g->tids[g->np][0] = e.pid;
	g->np++;
	emit(g, &e);
}

static void gen_task(struct gen *g, int i, uint32_t tid)
{
	struct tb_event e = { .pid = g->pids[i], .tid = tid, .fd = -1 };
	uint32_t k = rnd(3);

	switch (rnd(4)) {
	case 0:
		e.type = TB_EV_THREAD;
		e.tid = g->next_id++;
		e.origin_pid = e.pid;
		e.origin_tid = tid;
		e.sysflags = 0x3d0f00;
		g->tids[i][1 + rnd(2)] = e.tid;
		break;
	case 1:
		e.type = TB_EV_EXEC;
		e.tid = e.pid;
		snprintf(e.detail, sizeof(e.detail), "/bin/p%u", e.pid);
		break;
	case 2:
		if (!g->tids[i][k] || k == 0)
			return;
		e.type = TB_EV_EXIT_THREAD;
		e.tid = g->tids[i][k];
		g->tids[i][k] = 0;
		break;
	default:
		e.type = TB_EV_EXIT;
		e.size = rnd(3);
		g->pids[i] = g->pids[--g->np];
		memcpy(g->tids[i], g->tids[g->np], sizeof(g->tids[i]));
		break;
	}
	emit(g, &e);
}

/* A reservation the next allocation may turn into a thread arena, or a big block's mapping. */
static void gen_mapping(struct gen *g, struct tb_event *e)
{
	e->type = rnd(4) ? TB_EV_MMAP : TB_EV_MUNMAP;
	e->addr = ARENA + (rnd(2) ? 0 : 64ULL << 20);
	e->size = rnd(2) ? 64ULL << 20 : 132 * 1024;
	e->prot = rnd(2) ? 0 : 3;
	e->sysflags = 0x22 | (e->prot ? 0 : 0x4000);
	emit(g, e);
}

static void gen_memory(struct gen *g, int i, uint32_t tid)
{
	struct tb_event e = { .pid = g->pids[i], .tid = tid, .fd = -1, .latency_ns = 2000 };

	switch (rnd(8)) {
	case 0:
		gen_mapping(g, &e);
		return;
	case 1:
		e.type = TB_EV_BRK;
		e.old_addr = HEAP;
		e.addr = HEAP + 0x21000;
		break;
	case 2:
		e.type = TB_EV_REALLOC;
		e.old_addr = rnd(4) ? addr() : 0;
		e.addr = rnd(5) ? addr() : 0;
		e.size = rnd(3) ? 100 : 0;
		break;
	case 3:
	case 4:
		e.type = TB_EV_FREE;
		e.addr = addr();
		break;
	case 5:
		e.type = TB_EV_LOST;
		e.size = rnd(2);
		if (!e.size)
			e.type = TB_EV_MPROTECT;
		break;
	default:
		e.type = rnd(2) ? TB_EV_MALLOC : TB_EV_CALLOC;
		e.addr = addr();
		e.size = 1 + rnd(4096);
		break;
	}
	if (rnd(8) == 0)
		e.flags |= TB_F_SAMPLED;
	emit(g, &e);
}

static int gen_trace(const char *path, int rows)
{
	struct gen g = { .np = 1, .next_id = 100 };
	struct tb_event e = { .type = TB_EV_EXEC, .pid = 99, .tid = 99, .fd = -1 };

	g.w = csv_writer__open(path, NULL);
	if (!g.w)
		return -1;
	g.pids[0] = g.tids[0][0] = 99;
	strcpy(e.detail, "/bin/root");
	emit(&g, &e);
	for (int r = 0; r < rows && g.np; r++) {
		int i = rnd(g.np);
		uint32_t k = rnd(3), tid = g.tids[i][k] ? g.tids[i][k] : g.pids[i];

		if (rnd(10) == 0)
			gen_fork(&g, i);
		else if (rnd(12) == 0)
			gen_task(&g, i, tid);
		else
			gen_memory(&g, i, tid);
	}
	return csv_writer__close(g.w);
}

/* Every thread's arenas and every arena's users point at records that exist. */
static int model_sound(const struct correlator *c)
{
	for (uint32_t i = 0; i < c->nthreads; i++) {
		const struct tb_thread *t = c->threads[i];

		for (uint32_t k = 0; k < t->narenas; k++)
			if (!model_thread_arena(c, t, k, NULL))
				return 0;
		/* a count gone below zero wraps round: more live than ever requested */
		if (t->live_bytes > t->bytes)
			return 0;
	}
	for (uint32_t i = 0; i < c->nprocs; i++) {
		const struct tb_process *p = c->procs[i];

		for (uint32_t a = 0; a < p->narenas; a++)
			for (uint32_t u = 0; u < p->arenas[a].nusers; u++)
				if (p->arenas[a].users[u].thread >= c->nthreads)
					return 0;
	}
	return 1;
}

static int replay_model(const char *path)
{
	struct csv_reader *r = csv_reader__open(path);
	struct correlator *c = correlator__new();
	struct tb_event e;
	int n, sound;

	while ((n = csv_reader__next(r, &e)) == 1)
		correlator__process(c, &e);
	sound = n == 0 && model_sound(c);
	correlator__free(c);
	csv_reader__close(r);
	return sound;
}

static int analyze_all(const char *csv)
{
	char text[256], json[256], md[256], *argv[] = { (char *)csv, NULL };
	struct env env = { .analyze = true, .argv = argv, .argc = 1 };

	snprintf(text, sizeof(text), "%s/r.txt", dir);
	snprintf(json, sizeof(json), "%s/r.json", dir);
	snprintf(md, sizeof(md), "%s/r.md", dir);
	env.summary_path = text;
	env.summary_json_path = json;
	env.report_md_path = md;
	return analyze__main(&env);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 300, bad_model = 0, bad_report = 0;
	char csv[256];

	rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x9e3779b97f4a7c15ULL;
	if (!mkdtemp(dir))
		return 2;
	snprintf(csv, sizeof(csv), "%s/t.csv", dir);
	for (int i = 0; i < runs; i++) {
		if (gen_trace(csv, 50 + rnd(400)))
			return 2;
		if (!replay_model(csv) && !bad_model++ && getenv("REPLAY_KEEP"))
			rename(csv, getenv("REPLAY_KEEP"));	/* the first bad trace, to look at */
		if (access(csv, F_OK))
			continue;
		bad_report += analyze_all(csv) != 0;
	}
	CHECK(bad_model == 0, "%d random traces with CLONE_VM children: %d left a thread's arena or "
	      "an arena's user pointing nowhere, or live bytes below zero", runs, bad_model);
	CHECK(bad_report == 0, "%d random traces: %d failed to give text, JSON and markdown",
	      runs, bad_report);
	unlink(csv);
	snprintf(csv, sizeof(csv), "%s/r.txt", dir);
	unlink(csv);
	snprintf(csv, sizeof(csv), "%s/r.json", dir);
	unlink(csv);
	snprintf(csv, sizeof(csv), "%s/r.md", dir);
	unlink(csv);
	rmdir(dir);
	printf("%d passed, %d failed\n", check_n - check_failed, check_failed);
	return check_done();
}
