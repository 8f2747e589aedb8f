/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* consumer.h: draining the ring buffer into the pipeline. */
#ifndef TB_CONSUMER_H
#define TB_CONSUMER_H

#include "decode.h"
#include "pipeline.h"

struct ring_buffer;

struct consumer {
	struct ring_buffer *rb;
	struct decoder *dec;
	struct pipeline *pipe;
	uint64_t records;	/* ring-buffer records taken, names included */
	uint64_t malformed;
};

int consumer__open(struct consumer *c, int ringbuf_fd, struct pipeline *pipe);
/* Wait up to timeout_ms for a wakeup, then take everything there is; <0 on error. */
int consumer__poll(struct consumer *c, int timeout_ms);
void consumer__close(struct consumer *c);

#endif
