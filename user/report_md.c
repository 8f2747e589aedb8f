// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report_md.c: the lab report skeleton `--report FILE.md` writes, from the correlator's model. */
#include <stdio.h>
#include <sys/utsname.h>
#include "report.h"

int report__markdown(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	struct utsname u;

	fprintf(out, "# Lab report: `%s`\n\n", run->command ? run->command : "?");
	if (uname(&u) == 0)
		fprintf(out, "Observed by tlsbpf on Linux %s (%s).\n\n", u.release, u.machine);
	fprintf(out, "## What tlsbpf saw\n\n```\n");
	report__text(c, run, out);
	fprintf(out, "```\n");
	return ferror(out) ? -5 : 0;
}
