/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* protoenc.h: the few protocol-buffer wire encodings the Perfetto writer needs, into one growing buffer. */
#ifndef TB_PROTOENC_H
#define TB_PROTOENC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PB_VARINT 0
#define PB_FIXED64 1
#define PB_LEN 2
#define PB_LEN_BYTES 4	/* the longest nested message's length: 4 varint bytes, 256 MiB */

struct pb_buf {
	uint8_t *b;
	size_t n, cap;
	int err;	/* -ENOMEM once a write did not fit: the rest are dropped */
};

static inline uint8_t *pb_room(struct pb_buf *p, size_t more)
{
	if (p->n + more > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4096;
		uint8_t *nb;

		while (cap < p->n + more)
			cap *= 2;
		nb = p->err ? NULL : realloc(p->b, cap);
		if (!nb) {
			p->err = -12;	/* ENOMEM */
			return NULL;
		}
		p->b = nb;
		p->cap = cap;
	}
	return p->b + p->n;
}

static inline void pb_varint(struct pb_buf *p, uint64_t v)
{
	uint8_t *o = pb_room(p, 10);

	if (!o)
		return;
	do {
		*o++ = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
		p->n++;
	} while (v);
}

static inline void pb_tag(struct pb_buf *p, uint32_t field, uint32_t wire)
{
	pb_varint(p, (uint64_t)field << 3 | wire);
}

static inline void pb_uint(struct pb_buf *p, uint32_t field, uint64_t v)
{
	pb_tag(p, field, PB_VARINT);
	pb_varint(p, v);
}

/* int64 fields take a negative number as its two's complement, ten bytes long. */
static inline void pb_int(struct pb_buf *p, uint32_t field, int64_t v)
{
	pb_uint(p, field, (uint64_t)v);
}

static inline void pb_fixed64(struct pb_buf *p, uint32_t field, uint64_t v)
{
	uint8_t *o;

	pb_tag(p, field, PB_FIXED64);
	o = pb_room(p, 8);
	if (!o)
		return;
	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)(v >> (8 * i));
	p->n += 8;
}

static inline void pb_bytes(struct pb_buf *p, uint32_t field, const void *s, size_t len)
{
	uint8_t *o;

	pb_tag(p, field, PB_LEN);
	pb_varint(p, len);
	o = pb_room(p, len);
	if (!o)
		return;
	memcpy(o, s, len);
	p->n += len;
}

static inline void pb_str(struct pb_buf *p, uint32_t field, const char *s)
{
	pb_bytes(p, field, s, strlen(s));
}

/*
 * A nested message whose length is known only at its end: room for the
 * longest length is kept, and pb_close moves the message back over what the
 * length did not need. Opens and closes nest. Returns where the length goes.
 */
static inline size_t pb_open(struct pb_buf *p, uint32_t field)
{
	size_t at;

	pb_tag(p, field, PB_LEN);
	at = p->n;
	if (pb_room(p, PB_LEN_BYTES))
		p->n += PB_LEN_BYTES;
	return at;
}

static inline void pb_close(struct pb_buf *p, size_t at)
{
	size_t len = p->n - at - PB_LEN_BYTES, k = 0;
	uint8_t v[PB_LEN_BYTES];

	if (p->err)
		return;
	do {
		v[k] = (uint8_t)(len & 0x7f) | (len > 0x7f ? 0x80 : 0);
		len >>= 7;
		k++;
	} while (len && k < PB_LEN_BYTES);
	memmove(p->b + at + k, p->b + at + PB_LEN_BYTES, p->n - at - PB_LEN_BYTES);
	memcpy(p->b + at, v, k);
	p->n -= PB_LEN_BYTES - k;
}

#endif
