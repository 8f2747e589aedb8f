/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* forkexec.h: fork and exec in the model: a child's copy of its parent, a new image's reset. */
#ifndef TB_FORKEXEC_H
#define TB_FORKEXEC_H

#include "registry.h"

/* A new process (e->origin_pid its parent): a copy of its parent's memory, or a share of it. */
void on_fork(struct correlator *c, struct tb_event *e);
/* A new image: the old one's memory and threads are gone. */
void on_exec(struct correlator *c, struct tb_event *e);

#endif
