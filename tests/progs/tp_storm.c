// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_storm: many short threads and a tree of processes, some exec'ing, each with counted work. */
#include "../../labs/common.h"
#include <fcntl.h>

#define WAVE 32		/* threads alive at once */
#define EXEC_EVERY 5	/* process ids that are multiples of this exec /bin/true */

/* What one process reports up the pipe: its own work and the children it reaped. */
struct tally {
	long allocs, frees, processes, execs;
};

static struct {
	long threads, per, forks;
} cfg = { .threads = 1000, .per = 10 };

static long thread_allocs, thread_frees;	/* summed by the threads, atomically */

static void usage(void)
{
	printf("usage: %s [-T THREADS] [-n PER] [-F FORKS]\n"
	       "  creates and joins THREADS threads, at most %d alive at once, each making PER\n"
	       "  malloc+free pairs; then grows a tree of FORKS processes that each make PER\n"
	       "  pairs, every %dth of which then execs /bin/true. exit status 1 on a miscount\n",
	       lab_prog, WAVE, EXEC_EVERY);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":hT:n:F:")) != -1) {
		switch (c) {
		case 'T':
			cfg.threads = lab_num(optarg, c, 0, 10000000);
			break;
		case 'n':
			cfg.per = lab_num(optarg, c, 0, 10000000);
			break;
		case 'F':
			cfg.forks = lab_num(optarg, c, 0, 100000);
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

static void churn(long *allocs, long *frees)
{
	for (long i = 0; i < cfg.per; i++) {
		void *p = malloc(16 << (i % 8));

		if (!p)
			lab_die("malloc failed");
		++*allocs;
		free(p);
		++*frees;
	}
}

static void *thread_run(void *arg)
{
	long allocs = 0, frees = 0;

	(void)arg;
	churn(&allocs, &frees);
	__atomic_add_fetch(&thread_allocs, allocs, __ATOMIC_RELAXED);
	__atomic_add_fetch(&thread_frees, frees, __ATOMIC_RELAXED);
	return NULL;
}

static long run_threads(void)
{
	pthread_t t[WAVE];
	long joined = 0;

	while (joined < cfg.threads) {
		int wave = cfg.threads - joined < WAVE ? (int)(cfg.threads - joined) : WAVE;

		for (int i = 0; i < wave; i++)
			lab_thread_start(&t[i], thread_run, NULL);
		for (int i = 0; i < wave; i++)
			lab_thread_join(t[i]);
		joined += wave;
	}
	return joined;
}

static void process_run(long id, long budget, int fd);

/*
 * Fork the `budget` processes below process id as at most two subtrees; ids are handed out in
 * preorder, so the tree numbers its processes 1..forks. Returns the children's count.
 */
static int spawn(long id, long budget, int fd, pid_t pids[2], long ids[2])
{
	int n = 0;

	for (long next = id + 1; budget > 0 && n < 2; n++) {
		long give = n == 0 ? (budget + 1) / 2 : budget;	/* the child and its subtree */

		pids[n] = lab_fork();
		if (pids[n] == 0)
			process_run(next, give - 1, fd);
		ids[n] = next;
		next += give;
		budget -= give;
	}
	return n;
}

/* A child counts as a process once reaped; an exec'ing one as an exec once /bin/true said 0. */
static void reap(int n, const pid_t pids[2], const long ids[2], struct tally *t)
{
	for (int k = 0; k < n; k++) {
		int status = lab_wait(pids[k]);

		t->processes++;
		if (ids[k] % EXEC_EVERY == 0 && status == 0)
			t->execs++;
		else if (status)
			fprintf(stderr, "%s: process %ld ended with status %d\n", lab_prog, ids[k],
				status);
	}
}

__attribute__((noreturn)) static void process_run(long id, long budget, int fd)
{
	struct tally t = { 0 };
	pid_t pids[2];
	long ids[2];
	int n;

	churn(&t.allocs, &t.frees);
	n = spawn(id, budget, fd, pids, ids);
	reap(n, pids, ids, &t);
	if (write(fd, &t, sizeof(t)) != sizeof(t))
		_exit(1);
	if (id % EXEC_EVERY == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	_exit(0);
}

/* The root reads while the tree runs: a full pipe would otherwise stall the writers. */
static void run_tree(struct tally *sum)
{
	struct tally t;
	pid_t pids[2];
	long ids[2];
	int fd[2], n;
	ssize_t got;

	if (pipe2(fd, O_CLOEXEC))
		lab_die("cannot make a pipe: %s", strerror(errno));
	n = spawn(0, cfg.forks, fd[1], pids, ids);
	close(fd[1]);
	while ((got = read(fd[0], &t, sizeof(t))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			lab_die("cannot read from the tree: %s", strerror(errno));
		/* writes of a tally are atomic and reads ask for one: a part means a bug */
		if (got != sizeof(t))
			lab_die("read %zd bytes of a tally", got);
		sum->allocs += t.allocs, sum->frees += t.frees;
		sum->processes += t.processes, sum->execs += t.execs;
	}
	close(fd[0]);
	reap(n, pids, ids, sum);
}

int main(int argc, char **argv)
{
	struct tally sum = { 0 };
	long threads, want_pairs;

	lab_init(argv[0]);
	parse(argc, argv);
	threads = run_threads();
	run_tree(&sum);
	sum.allocs += thread_allocs;
	sum.frees += thread_frees;
	want_pairs = (cfg.threads + cfg.forks) * cfg.per;

	printf("summary threads=%ld allocs=%ld frees=%ld processes=%ld execs=%ld\n", threads,
	       sum.allocs, sum.frees, sum.processes, sum.execs);
	return lab_exit_code(threads != cfg.threads || sum.allocs != want_pairs ||
			     sum.frees != want_pairs || sum.processes != cfg.forks ||
			     sum.execs != cfg.forks / EXEC_EVERY);
}
