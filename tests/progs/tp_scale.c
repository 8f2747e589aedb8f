// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_scale: many children, threads or leak sizes, each printed with its calls: --top's truth. */
#include "../../labs/common.h"

#define MAX_CHILDREN 4096
#define MAX_SIZES 4096
#define BIG (8L << 20)	/* the main thread's one large block: it always ranks first */

static int children, threads, sizes;
static void *kept[MAX_SIZES * 4];	/* not malloc'd: the leaked blocks are the only ones */

static void usage(void)
{
	printf("usage: %s [-c CHILDREN] [-t THREADS] [-s SIZES]\n"
	       "  the main thread mallocs and frees one %ld-byte block, then:\n"
	       "  -c: forks CHILDREN; child i mallocs and frees i%%5+1 blocks of 64*(i+1) B\n"
	       "      and prints 'child pid=P allocs=N bytes=B'\n"
	       "  -t: starts THREADS; thread i mallocs and frees i+1 blocks of 1024 B and\n"
	       "      prints 'thread tid=T allocs=N bytes=B'\n"
	       "  -s: leaks i%%4+1 blocks of 2000+64*i B for i < SIZES; prints\n"
	       "      'leak size=S count=N'\n"
	       "  Output is written with write(2): stdio and dprintf malloc a buffer.\n",
	       lab_prog, BIG);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":hc:t:s:")) != -1) {
		switch (c) {
		case 'c':
			children = lab_num(optarg, c, 0, MAX_CHILDREN);
			break;
		case 't':
			threads = lab_num(optarg, c, 0, LAB_MAX_THREADS);
			break;
		case 's':
			sizes = lab_num(optarg, c, 0, MAX_SIZES);
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

/* snprintf into the stack and write(2): no allocator call of its own */
__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, line, n) != n)
		_exit(3);
}

static void churn(long n, size_t size)
{
	for (long i = 0; i < n; i++) {
		void *p = malloc(size);

		if (!p)
			lab_die("malloc(%zu) failed", size);
		free(p);
	}
}

static void fork_children(void)
{
	for (int i = 0; i < children; i++) {
		pid_t pid = fork();

		if (pid < 0)
			lab_die("fork: %s", strerror(errno));
		if (pid == 0) {
			churn(i % 5 + 1, 64 * (i + 1));
			say("child pid=%d allocs=%d bytes=%d\n", getpid(), i % 5 + 1,
				(i % 5 + 1) * 64 * (i + 1));
			_exit(0);
		}
		if (waitpid(pid, NULL, 0) != pid)
			lab_die("waitpid: %s", strerror(errno));
	}
}

static void *worker(void *arg)
{
	long i = (long)arg;

	churn(i + 1, 1024);
	say("thread tid=%d allocs=%ld bytes=%ld\n", lab_tid(), i + 1, (i + 1) * 1024);
	return NULL;
}

static void start_threads(void)
{
	pthread_t t[LAB_MAX_THREADS];

	for (long i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			lab_die("pthread_create failed");
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
}

static void leak_sizes(void)
{
	int n = 0;

	for (int i = 0; i < sizes; i++) {
		for (int k = 0; k <= i % 4; k++) {
			kept[n] = malloc(2000 + 64 * i);
			if (!kept[n++])
				lab_die("malloc failed");
		}
		say("leak size=%d count=%d\n", 2000 + 64 * i, i % 4 + 1);
	}
}

int main(int argc, char **argv)
{
	lab_prog = "tp_scale";
	parse(argc, argv);
	churn(1, BIG);
	fork_children();
	start_threads();
	leak_sizes();
	say("summary pid=%d children=%d threads=%d sizes=%d\n", getpid(), children,
		threads, sizes);
	return 0;
}
