// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_execkeep: two children inherit live blocks; one execs them away, the other leaves them. */
#include "../../labs/common.h"

#define MAX_BLOCKS 4096
#define SIZE 300

static long blocks = 50;
static void *kept[MAX_BLOCKS];	/* not a malloc'd array: the counted calls are the only ones */

static void usage(void)
{
	printf("usage: %s [-n BLOCKS]\n"
	       "  keeps BLOCKS malloc(%d) blocks, then forks two children that inherit them:\n"
	       "  the first execs /bin/true at once, the second _exits without freeing; the\n"
	       "  parent then frees its copies and prints\n"
	       "  'summary pid=P kept=N exec_child=C1 plain_child=C2'\n",
	       lab_prog, SIZE);
}

static void parse(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":hn:")) != -1) {
		switch (c) {
		case 'n':
			blocks = lab_num(optarg, c, 1, MAX_BLOCKS);
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

int main(int argc, char **argv)
{
	pid_t execer, plain;
	int bad;

	lab_init(argv[0]);
	parse(argc, argv);
	for (long i = 0; i < blocks; i++) {
		kept[i] = malloc(SIZE);
		if (!kept[i])
			lab_die("malloc(%d) failed", SIZE);
	}
	execer = lab_fork();
	if (execer == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	plain = lab_fork();
	if (plain == 0)
		_exit(0);
	bad = lab_wait(execer) != 0;
	bad |= lab_wait(plain) != 0;
	for (long i = 0; i < blocks; i++)
		free(kept[i]);
	printf("summary pid=%d kept=%ld exec_child=%d plain_child=%d\n", (int)getpid(), blocks,
	       (int)execer, (int)plain);
	return lab_exit_code(bad);
}
