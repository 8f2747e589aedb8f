// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_libc: threads and stdio, whose blocks glibc keeps, around K leaks of the program's own. */
#include "../../labs/common.h"

static int nthreads = 4, leaks = 5;
static void *kept[LAB_MAX_THREADS + 64];

static void usage(void)
{
	printf("usage: %s [-t THREADS] [-k LEAKS]\n"
	       "  starts THREADS threads (glibc keeps each one's DTV) and prints with stdio\n"
	       "  (glibc keeps stdout's buffer); thread i leaks one block of 1000+8*i B for\n"
	       "  i < LEAKS, the main thread the rest, of 3000+8*i B. Prints 'leak size=S'\n"
	       "  for each, then 'summary pid=P threads=T leaks=K'.\n", lab_prog);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":ht:k:")) != -1) {
		switch (c) {
		case 't':
			nthreads = lab_num(optarg, c, 1, LAB_MAX_THREADS);
			break;
		case 'k':
			leaks = lab_num(optarg, c, 0, 64);
			break;
		case 'h':
			usage();
			exit(0);
		default:
			lab_opt_error(c, argv[optind - 1]);
		}
	}
}

static void *worker(void *arg)
{
	long i = (long)arg;

	if (i < leaks) {
		kept[i] = malloc(1000 + 8 * i);
		if (!kept[i])
			lab_die("malloc failed");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[LAB_MAX_THREADS];
	int i;

	lab_prog = "tp_libc";
	parse(argc, argv);
	for (long k = 0; k < nthreads; k++)
		if (pthread_create(&t[k], NULL, worker, (void *)k))
			lab_die("pthread_create failed");
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (i = nthreads; i < leaks; i++) {
		kept[i] = malloc(3000 + 8 * i);
		if (!kept[i])
			lab_die("malloc failed");
	}
	for (i = 0; i < leaks; i++)
		printf("leak size=%d\n", i < nthreads ? 1000 + 8 * i : 3000 + 8 * i);
	printf("summary pid=%d threads=%d leaks=%d\n", getpid(), nthreads, leaks);
	return 0;
}
