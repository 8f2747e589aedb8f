// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_ids: prints the credentials it runs with, the truth for tests that drop privileges. */
#include "../../labs/common.h"

static void usage(void)
{
	printf("usage: %s\n"
	       "  prints uid=U gid=G euid=E egid=G2 groups=G3,G4,... on one line\n",
	       lab_prog);
}

int main(int argc, char **argv)
{
	gid_t *groups;
	int n;

	lab_init(argv[0]);
	if (argc > 1) {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			usage();
			return 0;
		}
		lab_bad_usage("unexpected argument '%s'", argv[1]);
	}
	n = getgroups(0, NULL);
	if (n < 0)
		lab_die("cannot count supplementary groups: %s", strerror(errno));
	groups = lab_zalloc(n, sizeof(*groups));
	n = getgroups(n, groups);
	if (n < 0)
		lab_die("cannot read supplementary groups: %s", strerror(errno));

	printf("uid=%u gid=%u euid=%u egid=%u groups=", (unsigned)getuid(), (unsigned)getgid(),
	       (unsigned)geteuid(), (unsigned)getegid());
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", (unsigned)groups[i]);
	putchar('\n');
	free(groups);
	return lab_exit_code(0);
}
