// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_reuse: one pid or tid given twice in a run, steered through ns_last_pid; prints both uses. */
#include "../../labs/common.h"
#include <fcntl.h>

#define MAX_BLOCKS 4096
#define TRIES 200		/* forks or threads tried before the id comes round again */
#define FIRST_SIZE 1000		/* the first user's blocks */
#define SECOND_SIZE 2000	/* the second user's blocks: a merge shows in the sizes too */

enum mode { MODE_PID, MODE_TID, MODE_CROSS };

/* One user of the id: what it did, for the records printed at the end. */
struct use {
	pid_t pid, tid;
	long allocs, frees;
	size_t size;
};

static struct {
	long blocks;
	enum mode mode;
} cfg = { .blocks = 100 };

/* The blocks live here, not in a malloc'd array: the counted calls are the only ones. */
static void *first_blocks[MAX_BLOCKS], *second_blocks[MAX_BLOCKS];
static struct use first, second;
static pid_t want;		/* the id the second user must get */

static void usage(void)
{
	printf("usage: %s [-n BLOCKS] pid|tid|cross\n"
	       "  pid:   child A makes BLOCKS malloc(%d) and frees all but one; after it is\n"
	       "         reaped, the next fork is steered to A's pid (ns_last_pid, needs root),\n"
	       "         and that child B makes 2*BLOCKS malloc(%d) and frees all but three\n"
	       "  tid:   the same with two threads of one process, the second given the first's tid\n"
	       "  cross: a thread of the main process, then a child process given its tid as pid\n"
	       "  prints 'first ...' and 'second ...' records and a summary; a child or thread that\n"
	       "  missed the id does nothing and another is tried, up to %d times\n",
	       lab_prog, FIRST_SIZE, SECOND_SIZE, TRIES);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":hn:")) != -1) {
		switch (c) {
		case 'n':
			cfg.blocks = lab_num(optarg, c, 4, MAX_BLOCKS / 2);
			break;
		case 'h':
			usage();
			exit(0);
		default:
			lab_opt_error(c, argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		lab_bad_usage("want one mode: pid, tid or cross");
	if (!strcmp(argv[optind], "pid"))
		cfg.mode = MODE_PID;
	else if (!strcmp(argv[optind], "tid"))
		cfg.mode = MODE_TID;
	else if (!strcmp(argv[optind], "cross"))
		cfg.mode = MODE_CROSS;
	else
		lab_bad_usage("unknown mode '%s'", argv[optind]);
}

/* The counted calls: n blocks of size bytes, all freed but keep. No stdio in here. */
static void work(struct use *u, void **blocks, size_t size, long n, long keep)
{
	u->pid = getpid();
	u->tid = lab_tid();
	u->size = size;
	for (long i = 0; i < n; i++) {
		blocks[i] = malloc(size);
		if (!blocks[i])
			_exit(3);
		u->allocs++;
	}
	for (long i = keep; i < n; i++) {
		free(blocks[i]);
		u->frees++;
	}
}

/* The next id the kernel hands out in this namespace will be id. */
static void steer(pid_t id)
{
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	char buf[24];
	int len = snprintf(buf, sizeof(buf), "%d", (int)id - 1);

	if (fd < 0 || write(fd, buf, len) != len)
		lab_die("cannot write /proc/sys/kernel/ns_last_pid: %s (needs root)",
			strerror(errno));
	close(fd);
}

/* A thread's tid is free again only once the kernel has released it, a little after join. */
static void wait_gone(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	for (int i = 0; i < 1000 && access(path, F_OK) == 0; i++)
		lab_sleep_ms(1);
}

static void *first_thread(void *arg)
{
	(void)arg;
	work(&first, first_blocks, FIRST_SIZE, cfg.blocks, 1);
	return NULL;
}

static void *second_thread(void *arg)
{
	(void)arg;
	if (lab_tid() == want)
		work(&second, second_blocks, SECOND_SIZE, 2 * cfg.blocks, 3);
	return NULL;
}

/* The first user: a child process (pid mode) or a thread of this one. */
static void first_use(void)
{
	pthread_t t;
	pid_t pid;

	if (cfg.mode != MODE_PID) {
		lab_thread_start(&t, first_thread, NULL);
		lab_thread_join(t);
		want = first.tid;
		wait_gone(want);
		return;
	}
	pid = lab_fork();
	if (pid == 0) {
		work(&first, first_blocks, FIRST_SIZE, cfg.blocks, 1);
		_exit(0);
	}
	if (lab_wait(pid))
		lab_die("child %d failed", (int)pid);
	/* the child's counts are known: its work is deterministic */
	first = (struct use){ pid, pid, cfg.blocks, cfg.blocks - 1, FIRST_SIZE };
	want = pid;
}

/* One try at the second user; returns 1 when it got the id. */
static int second_try(void)
{
	pthread_t t;
	pid_t pid;

	steer(want);
	if (cfg.mode == MODE_TID) {
		lab_thread_start(&t, second_thread, NULL);
		lab_thread_join(t);
		return second.allocs > 0;
	}
	pid = lab_fork();
	if (pid == 0) {
		if (getpid() == want)
			work(&second, second_blocks, SECOND_SIZE, 2 * cfg.blocks, 3);
		_exit(0);
	}
	if (lab_wait(pid))
		lab_die("child %d failed", (int)pid);
	if (pid != want)
		return 0;
	second = (struct use){ pid, pid, 2 * cfg.blocks, 2 * cfg.blocks - 3, SECOND_SIZE };
	return 1;
}

static void say(const char *which, const struct use *u)
{
	printf("%s pid=%d tid=%d allocs=%ld frees=%ld size=%zu\n", which, (int)u->pid,
	       (int)u->tid, u->allocs, u->frees, u->size);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "pid", "tid", "cross" };
	int tries = 0, got = 0;

	lab_init(argv[0]);
	parse(argc, argv);
	first_use();
	while (!got && tries < TRIES) {
		tries++;
		got = second_try();
		if (!got)
			lab_sleep_ms(1);	/* another process took the id: it may not keep it */
	}
	say("first", &first);
	if (got)
		say("second", &second);
	printf("summary mode=%s id=%d reused=%d tries=%d\n", names[cfg.mode], (int)want, got,
	       tries);
	return lab_exit_code(!got);
}
