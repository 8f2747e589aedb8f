// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_exit: ends exactly the way its command line says, after a little allocator traffic. */
#include "../../labs/common.h"
#include <strings.h>

enum ending { END_CODE, END_SIGNAL, END_ABORT, END_THREAD_EXIT };

struct plan {
	enum ending how;
	int value;	/* exit code or signal number */
	int idle;	/* thread-exit: threads that wait, to die with the process */
	long sleep_ms;
};

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "SYS", SIGSYS },
};

static void usage(void)
{
	printf("usage: %s [sleep MS then] ENDING\n"
	       "  ENDING: code N | signal NAME|N | abort | thread-exit N [among K]\n"
	       "  prints pid=P, allocates and frees a few blocks, then ends that way;\n"
	       "  signal SEGV is a real NULL dereference, thread-exit N is exit(N) called by a\n"
	       "  second thread while the main thread waits for it (and K more threads wait\n"
	       "  in pause(), so that all die together)\n",
	       lab_prog);
}

static int signal_number(const char *arg)
{
	const char *name = strncasecmp(arg, "SIG", 3) ? arg : arg + 3;

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (!strcasecmp(name, signals[i].name))
			return signals[i].sig;
	return lab_num_for(arg, "signal", 1, 64);
}

static struct plan parse(int argc, char **argv)
{
	struct plan p = { 0 };
	int i = 1;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage();
		exit(0);
	}
	if (argc > 3 && !strcmp(argv[1], "sleep") && !strcmp(argv[3], "then")) {
		p.sleep_ms = lab_num_for(argv[2], "sleep", 0, 3600000);
		i = 4;
	}
	if (argc - i == 1 && !strcmp(argv[i], "abort"))
		p.how = END_ABORT;
	else if (argc - i == 2 && !strcmp(argv[i], "code"))
		p.how = END_CODE, p.value = lab_num_for(argv[i + 1], argv[i], 0, 255);
	else if ((argc - i == 2 || (argc - i == 4 && !strcmp(argv[i + 2], "among"))) &&
		 !strcmp(argv[i], "thread-exit")) {
		p.how = END_THREAD_EXIT, p.value = lab_num_for(argv[i + 1], argv[i], 0, 255);
		p.idle = argc - i == 4 ? lab_num_for(argv[i + 3], "among", 0, 1000) : 0;
	}
	else if (argc - i == 2 && !strcmp(argv[i], "signal"))
		p.how = END_SIGNAL, p.value = signal_number(argv[i + 1]);
	else
		lab_bad_usage("no ending given, or one not understood");
	return p;
}

/* Something for a tracer to see in the thread that ends the process. */
static void churn(void)
{
	void *a = malloc(100), *b = malloc(200);

	if (!a || !b)
		lab_die("malloc failed");
	free(a);
	free(b);
}

__attribute__((noreturn)) static void die_by(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t set;

	/* an inherited ignore or block would leave the process running; KILL has neither */
	sigemptyset(&dfl.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (sig != SIGKILL && sigaction(sig, &dfl, NULL))
		lab_die("cannot reset signal %d: %s", sig, strerror(errno));
	if (sigprocmask(SIG_UNBLOCK, &set, NULL))
		lab_die("cannot unblock signal %d: %s", sig, strerror(errno));
	if (sig == SIGSEGV) {
		/* a volatile pointer: the compiler cannot prove it NULL and trap instead */
		int *volatile p = NULL;

		*p = 1;
	}
	raise(sig);
	lab_die("signal %d did not end the process", sig);
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *exit_from_thread(void *arg)
{
	churn();
	exit(*(int *)arg);
}

int main(int argc, char **argv)
{
	struct plan p;
	pthread_t t;

	lab_init(argv[0]);
	p = parse(argc, argv);
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	lab_sleep_ms(p.sleep_ms);
	switch (p.how) {
	case END_CODE:
		churn();
		exit(p.value);
	case END_SIGNAL:
		churn();
		die_by(p.value);
	case END_ABORT:
		churn();
		abort();
	case END_THREAD_EXIT:
		for (int k = 0; k < p.idle; k++)
			lab_thread_start(&t, idle_thread, NULL);
		lab_thread_start(&t, exit_from_thread, &p.value);
		lab_thread_join(t);
		break;
	}
	lab_die("still running after the ending");
}
