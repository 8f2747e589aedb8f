// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* consumer.c: the ring buffer's reader; records are decoded and handed down the pipeline in order. */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "consumer.h"

static int on_record(void *ctx, void *data, size_t size)
{
	struct consumer *c = ctx;
	struct tb_event e;
	int n = decoder__record(c->dec, data, size, &e);

	c->records++;
	if (n > 0)
		pipeline__event(c->pipe, &e);
	else if (n < 0)
		c->malformed++;
	return 0;
}

int consumer__open(struct consumer *c, int ringbuf_fd, struct pipeline *pipe)
{
	memset(c, 0, sizeof(*c));
	c->pipe = pipe;
	c->dec = decoder__new();
	if (!c->dec)
		return -ENOMEM;
	c->rb = ring_buffer__new(ringbuf_fd, on_record, c, NULL);
	if (!c->rb)
		return -errno;
	return 0;
}

int consumer__poll(struct consumer *c, int timeout_ms)
{
	int err;

	/* records submitted without a wakeup are only seen by consume, never by poll alone */
	err = ring_buffer__poll(c->rb, timeout_ms);
	if (err < 0 && err != -EINTR)
		return err;
	err = ring_buffer__consume(c->rb);
	return err < 0 && err != -EINTR ? err : 0;
}

void consumer__close(struct consumer *c)
{
	ring_buffer__free(c->rb);
	decoder__free(c->dec);
	memset(c, 0, sizeof(*c));
}
