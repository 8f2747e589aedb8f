// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* jsonl.c: --json-lines, every CSV row as one JSON object on a line of its own. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "csv.h"
#include "jsonl.h"
#include "numfmt.h"

#define WBUF_SIZE	(1u << 20)
/*
 * Room one object may take: comm, detail and args at 6 bytes a byte at worst
 * (3150), 23 keys (250), 17 numbers (350), every flag name quoted (250).
 */
#define ROW_MAX		6144

/* The keys in the CSV header's order, each with what comes before it: '{' or ','. */
enum col {
	C_SEQ, C_TS, C_PID, C_TID, C_COMM, C_EVENT, C_SIZE, C_ADDR, C_OLD_ADDR, C_LATENCY,
	C_REGION, C_REGION_BASE, C_ORIGIN_PID, C_ORIGIN_TID, C_FLAGS, C_ALIGN, C_PROT,
	C_SYSFLAGS, C_FD, C_OLD_SIZE, C_ERR, C_DETAIL, C_ARGS, C_STACK_ID, NCOLS
};

struct key {
	char s[32];
	unsigned char n;
};

static struct key keys[NCOLS];

struct jsonl_writer {
	int fd;
	int err;	/* the first write error, returned from then on */
	size_t len;
	char buf[WBUF_SIZE];
};

/* The keys are the header's names, so the two formats cannot name a column differently. */
static int keys_init(void)
{
	const char *p = TB_CSV_HEADER, *end;
	unsigned i;

	for (i = 0; *p && i < NCOLS; i++, p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		keys[i].n = snprintf(keys[i].s, sizeof(keys[i].s), "%c\"%.*s\":", i ? ',' : '{',
				     (int)(end - p), p);
	}
	if (i == NCOLS && !*p)
		return 0;
	fprintf(stderr, "tlsbpf: the JSON lines writer does not know the CSV's columns\n");
	return -EINVAL;
}

static char *put_key(char *p, enum col c)
{
	memcpy(p, keys[c].s, keys[c].n);
	return p + keys[c].n;
}

/* One of tlsbpf's own names (events, regions, flags): plain ASCII, nothing to escape. */
static char *put_name(char *p, const char *name)
{
	size_t n = strlen(name);

	*p++ = '"';
	memcpy(p, name, n);
	p += n;
	*p++ = '"';
	return p;
}

static char *put_null(char *p)
{
	memcpy(p, "null", 4);
	return p + 4;
}

/* Each of these writes the key, then the value when cond holds, else null: an empty CSV field. */
static char *dec_key(char *p, enum col c, bool cond, uint64_t v)
{
	p = put_key(p, c);
	return cond ? put_dec(p, v) : put_null(p);
}

static char *sdec_key(char *p, enum col c, bool cond, int32_t v)
{
	p = put_key(p, c);
	if (!cond)
		return put_null(p);
	if (v < 0)
		*p++ = '-';
	return put_dec(p, v < 0 ? -(int64_t)v : v);
}

/* Addresses and flag words stay hex text, as in the CSV: a double cannot hold 64 bits. */
static char *hex_key(char *p, enum col c, bool cond, uint64_t v)
{
	p = put_key(p, c);
	if (!cond)
		return put_null(p);
	*p++ = '"';
	p = put_hex(p, v);	/* its scratch bytes past the digits: the quote overwrites them */
	*p++ = '"';
	return p;
}

static char *str_key(char *p, enum col c, const char *s, size_t len)
{
	p = put_key(p, c);
	return p + json_quote(p, s, len);
}

/* The bytes of the valid sequence led by c, 0 if c leads none; [lo, hi] bounds the next byte. */
static unsigned utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0xc2)	/* a continuation byte, or the lead of an overlong form */
		return 0;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0) {
		*lo = c == 0xe0 ? 0xa0 : 0x80;	/* no overlong forms */
		*hi = c == 0xed ? 0x9f : 0xbf;	/* no UTF-16 surrogates */
		return 3;
	}
	if (c < 0xf5) {
		*lo = c == 0xf0 ? 0x90 : 0x80;
		*hi = c == 0xf4 ? 0x8f : 0xbf;	/* nothing past U+10FFFF */
		return 4;
	}
	return 0;
}

/*
 * The length of the valid sequence at s (n bytes left, s[0] >= 0x80), or
 * minus the length of its longest start that could have begun one: that
 * start becomes one U+FFFD, as Unicode recommends and Python's and
 * browsers' decoders do, so a reader can tell what was replaced.
 */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo, hi;
	unsigned want = utf8_lead(s[0], &lo, &hi), i;

	if (!want)
		return -1;
	for (i = 1; i < want; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return -(int)i;
		lo = 0x80;
		hi = 0xbf;
	}
	return want;
}

/* One byte below 0x80: as it is, or escaped when JSON or a terminal needs it. */
static size_t put_ascii(char *dst, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (c == '"' || c == '\\') {
		dst[0] = '\\';
		dst[1] = c;
		return 2;
	}
	if (c >= 0x20 && c != 0x7f) {
		dst[0] = c;
		return 1;
	}
	memcpy(dst, "\\u00", 4);
	dst[4] = hex[c >> 4];
	dst[5] = hex[c & 15];
	return 6;
}

size_t json_quote(char *dst, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n = 0;
	int k;

	dst[n++] = '"';
	while (i < len) {
		if (u[i] < 0x80) {
			n += put_ascii(dst + n, u[i++]);
			continue;
		}
		k = utf8_seq(u + i, len - i);
		if (k > 0) {
			memcpy(dst + n, u + i, k);
			n += k;
			i += k;
		} else {
			memcpy(dst + n, "\\ufffd", 6);
			n += 6;
			i += -k;
		}
	}
	dst[n++] = '"';
	return n;
}

/* seq .. latency_ns; comm is always a string, "" for a thread with no name. */
static char *put_event_keys(char *p, const struct tb_event *e, unsigned cols)
{
	p = dec_key(p, C_SEQ, true, e->seq);
	p = dec_key(p, C_TS, true, e->ts_ns);
	p = dec_key(p, C_PID, true, e->pid);
	p = dec_key(p, C_TID, true, e->tid);
	p = str_key(p, C_COMM, e->comm, strnlen(e->comm, TB_COMM_LEN - 1));
	p = put_key(p, C_EVENT);
	p = put_name(p, tb_event_name(e->type));
	p = dec_key(p, C_SIZE, cols & TB_COL_SIZE, e->size);
	p = hex_key(p, C_ADDR, cols & TB_COL_ADDR, e->addr);
	p = hex_key(p, C_OLD_ADDR, cols & TB_COL_OLD_ADDR, e->old_addr);
	return dec_key(p, C_LATENCY, cols & TB_COL_LATENCY, e->latency_ns);
}

/* The flags' names in bit order, as the CSV's column joins them with '|'; [] for none. */
static char *put_flags(char *p, uint32_t flags)
{
	p = put_key(p, C_FLAGS);
	*p++ = '[';
	flags &= (1u << TB_F_NBITS) - 1;
	while (flags) {
		p = put_name(p, tb_flag_name(__builtin_ctz(flags)));
		flags &= flags - 1;
		if (flags)
			*p++ = ',';
	}
	*p++ = ']';
	return p;
}

/* region .. flags: what the correlator adds, present when the CSV writes it */
static char *put_correlation_keys(char *p, const struct tb_event *e)
{
	bool placed = e->region != TB_REG_NONE && (unsigned)e->region < TB_REG_MAX;

	p = put_key(p, C_REGION);
	if (placed)
		p = put_name(p, tb_region_name(e->region));
	else
		p = put_null(p);
	p = hex_key(p, C_REGION_BASE, placed && e->region_base, e->region_base);
	p = dec_key(p, C_ORIGIN_PID, e->origin_pid, e->origin_pid);
	p = dec_key(p, C_ORIGIN_TID, e->origin_tid, e->origin_tid);
	return put_flags(p, e->flags);
}

/* align .. stack_id, then the end of the object and of its line */
static char *put_extension_keys(char *p, const struct tb_event *e, unsigned cols)
{
	p = dec_key(p, C_ALIGN, cols & TB_COL_ALIGN, e->align);
	p = dec_key(p, C_PROT, cols & TB_COL_PROT, e->prot);
	p = hex_key(p, C_SYSFLAGS, cols & TB_COL_SYSFLAGS, e->sysflags);
	p = sdec_key(p, C_FD, cols & TB_COL_FD, e->fd);
	p = dec_key(p, C_OLD_SIZE, cols & TB_COL_OLD_SIZE, e->old_size);
	p = sdec_key(p, C_ERR, e->err, e->err);
	if (e->detail[0])
		p = str_key(p, C_DETAIL, e->detail, strnlen(e->detail, TB_PATH_LEN - 1));
	else
		p = put_null(put_key(p, C_DETAIL));
	if (e->args && e->args[0])
		p = str_key(p, C_ARGS, e->args, strnlen(e->args, TB_ARGS_LEN - 1));
	else
		p = put_null(put_key(p, C_ARGS));
	p = dec_key(p, C_STACK_ID, e->stack_id, e->stack_id);
	memcpy(p, "}\n", 2);
	return p + 2;
}

/* After an error the buffered lines are dropped: the output is broken past repair anyway. */
static int jsonl_flush(struct jsonl_writer *w)
{
	if (w->err)
		return w->err;
	w->err = outfile__write_all(w->fd, w->buf, w->len);
	w->len = 0;
	return w->err;
}

static int jsonl_write(void *wp, const struct tb_event *e)
{
	struct jsonl_writer *w = wp;
	unsigned cols;
	char *p;

	if (w->err)
		return w->err;
	if (!tb_ev_is_row(e->type))
		return e->type == TB_EV_COMM ? 0 : -EINVAL;
	if (w->len > WBUF_SIZE - ROW_MAX && jsonl_flush(w))
		return w->err;
	cols = csv_row_cols(e);
	p = w->buf + w->len;
	p = put_event_keys(p, e, cols);
	p = put_correlation_keys(p, e);
	p = put_extension_keys(p, e, cols);
	w->len = p - w->buf;
	return 0;
}

static int jsonl_close(void *wp)
{
	struct jsonl_writer *w = wp;
	int err;

	if (!w)
		return 0;
	err = jsonl_flush(w);
	if (close(w->fd) < 0 && !err)
		err = -errno;
	free(w);
	return err;
}

int jsonl_output__open(struct tb_output *out, const char *path, const struct tb_owner *owner)
{
	struct jsonl_writer *w;
	int fd, err = keys_init();

	if (err)
		return err;
	w = outfile__open_writer(path, owner, sizeof(*w), &fd);
	if (!w)
		return -errno;
	w->fd = fd;
	w->err = 0;
	w->len = 0;
	/* as the CSV: written as the buffer fills, and at the end */
	*out = (struct tb_output){ "the JSON lines", w, jsonl_write, NULL, jsonl_close };
	return 0;
}
