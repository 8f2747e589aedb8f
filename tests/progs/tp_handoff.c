// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_handoff: blocks malloc'd on one CPU and freed on another, microseconds
 * apart; each CPU's events travel in that CPU's ring buffer, so only a right
 * merge puts every malloc before its free. Prints what it did as the truth.
 */
#include "../../labs/common.h"
#include <sched.h>
#include <stdatomic.h>

#define QLEN 256	/* a power of two */

/* One producer, one consumer: the blocks one thread made, for the other to free. */
struct queue {
	_Atomic unsigned long head, tail;
	void *slot[QLEN];
};

struct side {
	pthread_t thread;
	int cpu;
	pid_t tid;
	struct queue *out, *in;
	long made, freed;
};

static struct {
	long count;
	int migrate;
} cfg = { .count = 10000 };

static int cpus[2] = { -1, -1 };

static void usage(void)
{
	printf("usage: %s [-n COUNT] [-m]\n"
	       "  two threads on two CPUs each malloc COUNT blocks and hand them to the\n"
	       "  other, which frees each as it arrives; then prints what each did.\n"
	       "  -m: one thread instead, moving to the other CPU between each malloc and\n"
	       "      its free, and counting the moves that really happened\n",
	       lab_prog);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":hn:m")) != -1) {
		switch (c) {
		case 'n':
			cfg.count = lab_num(optarg, c, 1, 100000000);
			break;
		case 'm':
			cfg.migrate = 1;
			break;
		case 'h':
			usage();
			exit(0);
		default:
			lab_opt_error(c, argv[optind - 1]);
		}
	}
	if (optind < argc)
		lab_bad_usage("unexpected argument '%s'", argv[optind]);
}

/* The first two CPUs this process may run on; -1 where there is no second. */
static void pick_cpus(void)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		lab_die("sched_getaffinity: %s", strerror(errno));
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
}

static int pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int push(struct queue *q, void *p)
{
	unsigned long t = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (t - atomic_load_explicit(&q->head, memory_order_acquire) == QLEN)
		return 0;
	q->slot[t % QLEN] = p;
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	return 1;
}

static void *pop(struct queue *q)
{
	unsigned long h = atomic_load_explicit(&q->head, memory_order_relaxed);
	void *p;

	if (h == atomic_load_explicit(&q->tail, memory_order_acquire))
		return NULL;
	p = q->slot[h % QLEN];
	atomic_store_explicit(&q->head, h + 1, memory_order_release);
	return p;
}

/* No stdio in here: it would allocate among the counted calls. */
static void *side_run(void *arg)
{
	struct side *s = arg;
	void *pending = NULL, *p;

	s->tid = lab_tid();
	if (pin(s->cpu))
		lab_die("cannot move to CPU %d: %s", s->cpu, strerror(errno));
	while (s->made < cfg.count || pending || s->freed < cfg.count) {
		if (!pending && s->made < cfg.count) {
			pending = malloc(24 + s->made % 64);
			if (!pending)
				lab_die("malloc failed");
			s->made++;
		}
		if (pending && push(s->out, pending))
			pending = NULL;
		if ((p = pop(s->in)) != NULL) {
			free(p);
			s->freed++;
		}
	}
	return NULL;
}

static void run_handoff(void)
{
	static struct queue q[2];
	struct side s[2] = {
		{ .cpu = cpus[0], .out = &q[0], .in = &q[1] },
		{ .cpu = cpus[1], .out = &q[1], .in = &q[0] },
	};

	for (int i = 0; i < 2; i++)
		lab_thread_start(&s[i].thread, side_run, &s[i]);
	for (int i = 0; i < 2; i++)
		lab_thread_join(s[i].thread);
	for (int i = 0; i < 2; i++)
		printf("side tid=%d cpu=%d made=%ld freed_of_other=%ld\n", (int)s[i].tid, s[i].cpu,
		       s[i].made, s[i].freed);
}

static void run_migrate(void)
{
	long moves = 0;

	for (long i = 0; i < cfg.count; i++) {
		void *p = malloc(24 + i % 64);
		int before = sched_getcpu();

		if (!p || pin(cpus[(i + 1) % 2]))
			lab_die("malloc or move failed: %s", strerror(errno));
		moves += sched_getcpu() != before;
		free(p);
	}
	printf("migrate tid=%d count=%ld moves=%ld\n", (int)lab_tid(), cfg.count, moves);
}

int main(int argc, char **argv)
{
	lab_init(argv[0]);
	parse(argc, argv);
	pick_cpus();
	printf("cpus first=%d second=%d\n", cpus[0], cpus[1]);
	if (cfg.migrate)
		run_migrate();
	else
		run_handoff();
	return 0;
}
