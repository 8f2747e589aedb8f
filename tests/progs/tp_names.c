// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_names: threads that rename themselves after creation, printed with the names they end with. */
#include "../../labs/common.h"
#include <fcntl.h>
#include <sys/prctl.h>

static int nthreads = 4, wait_mode, last_mode;
static pthread_barrier_t named;	/* every thread has its final name */
static int hold[2];		/* a pipe nobody writes: the threads block on it */

struct worker {
	pthread_t thread;
	pid_t tid;
	int calls;	/* allocator calls it made after its rename */
};

static struct worker w[LAB_MAX_THREADS];

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-w | -l] [ARG...]\n"
	       "  thread i names itself nm-worker-i (prctl for even i, pthread_setname_np\n"
	       "  for odd i); the main thread then renames thread 1 to nm-renamed-1; every\n"
	       "  third thread mallocs and frees once after its rename, the others make\n"
	       "  no call after it. Prints 'thread tid=T name=N calls_after=C' with the name\n"
	       "  /proc gives, then exits while the threads still block (-w: prints 'ready'\n"
	       "  and waits for a signal first). -l: the main thread ends first and thread 1,\n"
	       "  the last one, ends the process with exit(0). ARGs are ignored.\n", lab_prog);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:wl")) != -1) {
		switch (c) {
		case 't':
			nthreads = lab_num(optarg, c, 2, 64);
			break;
		case 'w':
			wait_mode = 1;
			break;
		case 'l':
			last_mode = 1;
			break;
		case 'h':
			usage();
			exit(0);
		default:
			lab_opt_error(c, argv[optind - 1]);
		}
	}
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

/* Threads alive: /proc/self/task lists a finished main thread until the process ends. */
static int others_gone(void)
{
	char path[64], buf[512], *st;
	int fd, n, live = 0;

	for (int i = 0; i < nthreads; i++) {
		if (i == 1)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", w[i].tid);
		fd = open(path, O_RDONLY);
		live += fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", getpid());
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	st = strrchr(buf, ')');
	return !live && (n <= 0 || (st && st[2] == 'Z'));
}

/* -l: thread 1 ends the process once every other thread, main too, has ended */
static void end_last(void)
{
	struct timespec tick = { 0, 1000000 };

	while (!others_gone())
		nanosleep(&tick, NULL);
	exit(0);
}

static void *worker(void *arg)
{
	struct worker *me = arg;
	long i = me - w;
	char name[16], c;

	me->tid = lab_tid();
	snprintf(name, sizeof(name), "nm-worker-%ld", i);
	if (i % 2)
		pthread_setname_np(pthread_self(), name);
	else
		prctl(PR_SET_NAME, name);
	if (i % 3 == 0) {
		free(malloc(100 + i));
		me->calls = 2;
	}
	pthread_barrier_wait(&named);
	/* blocks until main closes the pipe under -l; else the process ends around it */
	if (read(hold[0], &c, 1) == 0 && last_mode && i == 1)
		end_last();
	return NULL;
}

static void proc_name(pid_t tid, char *buf, size_t cap)
{
	char path[64];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, cap - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int main(int argc, char **argv)
{
	char name[32];
	sigset_t set;
	int sig;

	lab_prog = "tp_names";
	parse(argc, argv);
	/* blocked before any thread starts, so that every thread inherits the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (wait_mode)
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(hold) || pthread_barrier_init(&named, NULL, nthreads + 1))
		lab_die("pipe or barrier failed");
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&w[i].thread, NULL, worker, &w[i]))
			lab_die("pthread_create failed");
	pthread_barrier_wait(&named);
	pthread_setname_np(w[1].thread, "nm-renamed-1");
	for (int i = 0; i < nthreads; i++) {
		proc_name(w[i].tid, name, sizeof(name));
		say("thread tid=%d name=%s calls_after=%d\n", w[i].tid, name, w[i].calls);
	}
	if (wait_mode) {
		say("ready pid=%d\n", getpid());
		sigwait(&set, &sig);
	}
	say("summary pid=%d threads=%d\n", getpid(), nthreads);
	if (last_mode) {
		close(hold[1]);
		pthread_exit(NULL);
	}
	exit(0);
}
