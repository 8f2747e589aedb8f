/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* analyze.h: `tlsbpf analyze FILE.csv`, the report rebuilt from a CSV with no BPF. */
#ifndef TB_ANALYZE_H
#define TB_ANALYZE_H

#include "env.h"

/* The process exit status: 0, or 1 with one line on stderr naming the bad line. */
int analyze__main(const struct env *env);

#endif
