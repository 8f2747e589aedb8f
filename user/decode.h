/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* decode.h: ring-buffer records into events, with each thread's name remembered from its task records. */
#ifndef TB_DECODE_H
#define TB_DECODE_H

#include <stddef.h>
#include "event.h"

struct decoder;

struct decoder *decoder__new(void);
void decoder__free(struct decoder *d);
/* 1: e holds an event for the pipeline (a rename too, though it is no row); -EINVAL: malformed. */
int decoder__record(struct decoder *d, const void *data, size_t size, struct tb_event *e);

#endif
