/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* output.h: what every per-event output (the CSV, the JSON lines, the live view) offers the pipeline. */
#ifndef TB_OUTPUT_H
#define TB_OUTPUT_H

#include "event.h"

struct tb_output {
	const char *what;	/* "the CSV": the one line a failure gets names it */
	void *w;
	int (*write)(void *w, const struct tb_event *e);
	int (*flush)(void *w);	/* each consumer round; NULL: written as its buffer fills */
	int (*close)(void *w);	/* flushes, closes, frees; 0 or the first error as -errno */
};

#define TB_MAX_SINKS 4	/* the CSV, its stacks file, the JSON lines, the live view */

#endif
