// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* csv_write.c: the CSV schema v1 writer, buffered for the hot path. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "csv.h"
#include "numfmt.h"

#define WBUF_SIZE	(1u << 20)
/*
 * Room one row may take: 17 numbers of at most 20 digits, comm, detail and
 * args with every byte a doubled quote, every flag name, commas. About 1600.
 */
#define ROW_MAX		2048

static const unsigned short type_cols[TB_EV_MAX] = {
#define TB_X_COLS(kind, name, record, row, cols) [TB_EV_##kind] = (cols),
	TB_EVENTS(TB_X_COLS)
#undef TB_X_COLS
};

/* A thread's "pid,tid,comm," as last written: consecutive rows mostly come from a few threads. */
struct who {
	uint32_t pid, tid;
	char comm[TB_COMM_LEN];
	unsigned char len;
	unsigned char ids_len;	/* "pid,tid,": what a free by the allocating thread repeats */
	char txt[64];	/* 10 + 10 + a quoted 15-byte name (32) + 3 commas */
	/* "region,region_base," as last written for the thread: its blocks are mostly in one */
	uint64_t place_base;
	unsigned char place_region, place_len;
	char place_txt[48];	/* a region name (15 at most), 18 for the base, 2 commas */
};

#define WHO_SLOTS	8	/* by tid, direct-mapped */

/* A number's digits above its last eight, kept as text while they stay the same. */
struct upper_digits {
	uint64_t v;
	unsigned len;	/* 0: nothing kept yet */
	char txt[24];	/* 12 digits at most: 2^64 / 10^8 */
};

#define PREALLOC_STEP	(16u << 20)

struct csv_writer {
	int fd;
	int err;	/* the first write error, returned from then on */
	int prealloc;	/* a file of ours: its blocks are reserved ahead of the rows */
	uint64_t off;	/* bytes written */
	uint64_t alloc_end;	/* blocks reserved up to here, past the file's size */
	size_t len;
	/* what the previous rows had in common with the next: copied, not formatted */
	uint64_t seq;
	uint64_t seq_wrap;	/* the next row number whose low digits all carry */
	uint64_t seq_lo;	/* the low digits as text, kept in a register-sized word */
	unsigned seq_lo_len;
	bool seq_has_hi;	/* seq >= 10^8: seq_hi's digits come first */
	struct upper_digits seq_hi;	/* seq / 10^8: changes every 10^8 rows */
	struct upper_digits ts_hi;	/* ts_ns / 10^8: changes every 100 ms */
	struct who who[WHO_SLOTS];
	char buf[WBUF_SIZE];
};

/* Event, region and flag names with their lengths, copied 16 bytes at a time. */
struct wname {
	char s[16];
	unsigned char n;
};

static struct wname event_names[TB_EV_MAX], region_names[TB_REG_MAX], flag_names[TB_F_NBITS];

static void name_set(struct wname *nm, const char *s)
{
	size_t n = strlen(s);

	nm->n = n < sizeof(nm->s) ? n : sizeof(nm->s);
	memcpy(nm->s, s, nm->n);
}

static void wnames_init(void)
{
	unsigned i;

	for (i = 0; i < TB_EV_MAX; i++)
		name_set(&event_names[i], tb_event_name(i));
	for (i = 0; i < TB_REG_MAX; i++)
		name_set(&region_names[i], tb_region_name(i));
	for (i = 0; i < TB_F_NBITS; i++)
		name_set(&flag_names[i], tb_flag_name(i));
}

static inline char *put_name(char *p, const struct wname *nm)
{
	memcpy(p, nm->s, sizeof(nm->s));
	return p + nm->n;
}

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/* A high bit in each byte of w equal to c; exact up to the lowest one, which is all we read. */
static inline uint64_t bytes_equal(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (ONES * c);

	return (x - ONES) & ~x & HIGHS;
}

/* The first NUL or byte CSV must quote among the 8 in w, as a mask (0: none). */
static inline uint64_t stop_bytes(uint64_t w)
{
	return bytes_equal(w, 0) | bytes_equal(w, ',') | bytes_equal(w, '"') |
	       bytes_equal(w, '\r') | bytes_equal(w, '\n');
}

/*
 * A thread name, up to 15 bytes: read as two words, so a plain name (the
 * usual case) costs no byte loop; one that needs quotes takes csv_quote.
 */
static inline char *put_comm(char *p, const char comm[TB_COMM_LEN])
{
	uint64_t w[2], m;
	unsigned i, len;

	memcpy(w, comm, sizeof(w));
	w[1] &= ~(0xffULL << 56);	/* a name missing its NUL ends at 15 bytes */
	for (i = 0; i < 2; i++) {
		m = stop_bytes(w[i]);
		if (!m)
			continue;
		len = __builtin_ctzll(m) / 8;
		if ((w[i] >> 8 * len) & 0xff)
			break;	/* a byte to quote before the end */
		len += i * 8;
		memcpy(p, w, sizeof(w));
		return p + len;
	}
	return p + csv_quote(p, comm, strnlen(comm, TB_COMM_LEN - 1));
}

/* Each of these writes the column when cond holds, then its comma. */
static inline char *dec_col(char *p, int cond, uint64_t v)
{
	if (cond)
		p = put_dec(p, v);
	*p = ',';
	return p + 1;
}

static inline char *hex_col(char *p, int cond, uint64_t v)
{
	if (cond)
		p = put_hex(p, v);
	*p = ',';
	return p + 1;
}

static inline char *sdec_col(char *p, int cond, int32_t v)
{
	if (cond)
		p = put_sdec(p, v);
	*p = ',';
	return p + 1;
}

static const unsigned char quote_needed[256] = {
	[','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1,
};

size_t csv_quote(char *dst, const char *src, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (quote_needed[(unsigned char)src[i]])
			break;
	if (i == len) {
		memcpy(dst, src, len);
		return len;
	}
	dst[n++] = '"';
	for (i = 0; i < len; i++) {
		if (src[i] == '"')
			dst[n++] = '"';
		dst[n++] = src[i];
	}
	dst[n++] = '"';
	return n;
}

static char *put_flags(char *p, uint32_t flags)
{
	flags &= (1u << TB_F_NBITS) - 1;
	while (flags) {
		p = put_name(p, &flag_names[__builtin_ctz(flags)]);
		flags &= flags - 1;
		if (flags)
			*p++ = '|';
	}
	return p;
}

static inline void keep_upper(struct upper_digits *u, uint64_t hi)
{
	if (hi != u->v || !u->len) {
		u->v = hi;
		u->len = put_dec(u->txt, hi) - u->txt;
	}
}

static inline char *put_upper(char *p, const struct upper_digits *u)
{
	memcpy(p, u->txt, 16);
	return p + u->len;
}

/* Add one to the decimal text in the bytes of x that mask covers, the last digit lowest. */
static inline uint64_t text_inc(uint64_t x, uint64_t mask)
{
	/* '9' + 0xc6 is 0xff: a +1 carries through nines byte to byte, as in the digits */
	uint64_t r = x + (0xc6c6c6c6c6c6c6c6ULL & mask) + 1;
	uint64_t kept = r & 0x8080808080808080ULL & mask, carried = ~r & 0x8080808080808080ULL & mask;

	return r - (kept >> 7) * 0xc6 + (carried >> 7) * '0';
}

/*
 * Row numbers count up by one: the previous row's low digits plus one, worked
 * in a register. Text kept byte by byte and read back 16 bytes at once stalled
 * each row on the store that had just changed it.
 */
static char *put_seq(struct csv_writer *w, char *p, uint64_t seq)
{
	if (seq == w->seq + 1 && seq != w->seq_wrap && w->seq_lo_len) {
		unsigned shift = 8 * (8 - w->seq_lo_len);
		uint64_t digits = __builtin_bswap64(w->seq_lo) >> shift;

		digits = text_inc(digits, ~0ULL >> shift);
		w->seq_lo = __builtin_bswap64(digits << shift);
	} else {
		uint64_t hi = seq / 100000000, lo = seq % 100000000;
		char txt[8];

		w->seq_has_hi = hi != 0;
		if (hi) {
			keep_upper(&w->seq_hi, hi);
			put_dec8(txt, (uint32_t)lo);
			w->seq_lo_len = 8;
			w->seq_wrap = (hi + 1) * 100000000;
		} else {
			w->seq_lo_len = put_dec(txt, lo) - txt;
			w->seq_wrap = pow10_u64[w->seq_lo_len];
		}
		w->seq_lo = 0;
		memcpy(&w->seq_lo, txt, w->seq_lo_len);
	}
	w->seq = seq;
	if (w->seq_has_hi)
		p = put_upper(p, &w->seq_hi);
	memcpy(p, &w->seq_lo, 8);
	return p + w->seq_lo_len;
}

/* The digits above the last eight change every 100 ms: kept, not divided out each row. */
static char *put_ts(struct csv_writer *w, char *p, uint64_t ts)
{
	uint64_t hi = ts / 100000000;

	if (!hi)
		return put_dec(p, ts);
	keep_upper(&w->ts_hi, hi);
	p = put_upper(p, &w->ts_hi);
	put_dec8(p, (uint32_t)(ts - hi * 100000000));
	return p + 8;
}

static char *put_who(struct csv_writer *w, char *p, const struct tb_event *e)
{
	struct who *h = &w->who[e->tid % WHO_SLOTS];
	char *q;

	if (!h->len || h->pid != e->pid || h->tid != e->tid ||
	    memcmp(h->comm, e->comm, TB_COMM_LEN)) {
		q = put_dec(h->txt, e->pid);
		*q++ = ',';
		q = put_dec(q, e->tid);
		*q++ = ',';
		h->ids_len = q - h->txt;
		q = put_comm(q, e->comm);
		*q++ = ',';
		h->len = q - h->txt;
		h->pid = e->pid;
		h->tid = e->tid;
		memcpy(h->comm, e->comm, TB_COMM_LEN);
	}
	memcpy(p, h->txt, sizeof(h->txt));
	return p + h->len;
}

/* seq .. latency_ns. A comm or detail missing its NUL is cut to what the reader takes. */
static char *put_event_cols(struct csv_writer *w, char *p, const struct tb_event *e, unsigned cols)
{
	p = put_seq(w, p, e->seq);
	*p++ = ',';
	p = put_ts(w, p, e->ts_ns);
	*p++ = ',';
	p = put_who(w, p, e);
	p = put_name(p, &event_names[e->type]);
	*p++ = ',';
	p = dec_col(p, cols & TB_COL_SIZE, e->size);
	p = hex_col(p, cols & TB_COL_ADDR, e->addr);
	p = hex_col(p, cols & TB_COL_OLD_ADDR, e->old_addr);
	return dec_col(p, cols & TB_COL_LATENCY, e->latency_ns);
}

static char *put_place(struct who *h, char *p, const struct tb_event *e)
{
	char *q;

	if (!h->place_len || h->place_region != e->region || h->place_base != e->region_base) {
		q = put_name(h->place_txt, &region_names[e->region]);
		*q++ = ',';
		/* no base: an address in no known mapping, or the main stack, whose start is unknown */
		if (e->region_base)
			q = put_hex(q, e->region_base);
		*q++ = ',';
		h->place_len = q - h->place_txt;
		h->place_region = e->region;
		h->place_base = e->region_base;
	}
	memcpy(p, h->place_txt, sizeof(h->place_txt));
	return p + h->place_len;
}

/* region .. flags: what the correlator adds */
static char *put_correlation_cols(struct csv_writer *w, char *p, const struct tb_event *e)
{
	int placed = e->region != TB_REG_NONE && (unsigned)e->region < TB_REG_MAX;
	struct who *h = &w->who[e->tid % WHO_SLOTS];	/* this row's, from put_who() */

	if (placed) {
		p = put_place(h, p, e);
	} else {
		memcpy(p, ",,", 2);
		p += 2;
	}
	if (e->pid && e->tid && e->origin_pid == e->pid && e->origin_tid == e->tid) {
		/* most blocks are freed by the thread that got them: its ids are written already */
		memcpy(p, h->txt, 24);
		p += h->ids_len;
	} else {
		p = dec_col(p, e->origin_pid, e->origin_pid);
		p = dec_col(p, e->origin_tid, e->origin_tid);
	}
	if (e->flags)
		p = put_flags(p, e->flags);
	*p++ = ',';
	return p;
}

/* stack_id, then the end of the row */
static inline char *put_stack_col(char *p, const struct tb_event *e)
{
	if (e->stack_id)
		p = put_dec(p, e->stack_id);
	*p = '\n';
	return p + 1;
}

/* align .. stack_id: the extension columns, then the end of the row */
static char *put_extension_cols(char *p, const struct tb_event *e, unsigned cols)
{
	/* an allocator row leaves them all empty but its stack: one store */
	if (!(cols & (TB_COL_ALIGN | TB_COL_PROT | TB_COL_SYSFLAGS | TB_COL_FD | TB_COL_OLD_SIZE)) && !e->err &&
	    !e->detail[0] && !e->args) {
		memcpy(p, ",,,,,,,,", 8);
		return put_stack_col(p + 8, e);
	}
	p = dec_col(p, cols & TB_COL_ALIGN, e->align);
	p = dec_col(p, cols & TB_COL_PROT, e->prot);
	p = hex_col(p, cols & TB_COL_SYSFLAGS, e->sysflags);
	p = sdec_col(p, cols & TB_COL_FD, e->fd);
	p = dec_col(p, cols & TB_COL_OLD_SIZE, e->old_size);
	p = sdec_col(p, e->err, e->err);
	if (e->detail[0])
		p += csv_quote(p, e->detail, strnlen(e->detail, TB_PATH_LEN - 1));
	*p++ = ',';
	if (e->args)
		p += csv_quote(p, e->args, strnlen(e->args, TB_ARGS_LEN - 1));
	*p++ = ',';
	return put_stack_col(p, e);
}


static inline unsigned row_cols(const struct tb_event *e)
{
	/* an anonymous mapping has no file offset */
	if (e->type == TB_EV_MMAP && e->fd < 0)
		return type_cols[e->type] & ~TB_COL_OLD_SIZE;
	return type_cols[e->type];
}

unsigned csv_row_cols(const struct tb_event *e)
{
	return row_cols(e);
}

struct csv_writer *csv_writer__open(const char *path, const struct tb_owner *owner)
{
	static const char header[] = TB_CSV_HEADER "\n";
	struct csv_writer *w;
	struct stat st;
	int fd;

	wnames_init();
	w = outfile__open_writer(path, owner, sizeof(*w), &fd);
	if (!w)
		return NULL;
	memset(w, 0, offsetof(struct csv_writer, buf));
	w->fd = fd;
	/* not standard output: a file someone else also writes to is not ours to truncate */
	w->prealloc = strcmp(path, "-") != 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	memcpy(w->buf, header, sizeof(header) - 1);
	w->len = sizeof(header) - 1;
	return w;
}

int csv_writer__write(struct csv_writer *w, const struct tb_event *e)
{
	unsigned cols;
	char *p;

	if (w->err)
		return w->err;
	if (!tb_ev_is_row(e->type))
		return e->type == TB_EV_COMM ? 0 : -EINVAL;
	if (w->len > WBUF_SIZE - ROW_MAX && csv_writer__flush(w))
		return w->err;
	cols = row_cols(e);
	p = w->buf + w->len;
	p = put_event_cols(w, p, e, cols);
	p = put_correlation_cols(w, p, e);
	p = put_extension_cols(p, e, cols);
	w->len = p - w->buf;
	return 0;
}

/*
 * ext4 reserves each block of a growing file as it is written; reserving
 * 16 MiB at a time (the file's size unchanged) took the write system call from
 * 0.16 to 0.09 ns a byte here, time the consumer takes from the traced program.
 * A filesystem that cannot just stops being asked; a write then says what is wrong.
 */
static void reserve_ahead(struct csv_writer *w)
{
	while (w->prealloc && w->off + w->len > w->alloc_end) {
		if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, w->alloc_end, PREALLOC_STEP))
			w->prealloc = 0;
		else
			w->alloc_end += PREALLOC_STEP;
	}
}

/* After an error the buffered rows are dropped: the output is broken past repair anyway. */
int csv_writer__flush(struct csv_writer *w)
{
	int err;

	if (w->err)
		return w->err;
	reserve_ahead(w);
	err = outfile__write_all(w->fd, w->buf, w->len);
	if (!err)
		w->off += w->len;
	w->len = 0;
	w->err = err;
	return err;
}

int csv_writer__close(struct csv_writer *w)
{
	struct stat st;
	int err;

	if (!w)
		return 0;
	err = csv_writer__flush(w);
	/* hand back the blocks reserved past the last row; the size stays what was written */
	if (w->alloc_end && (fstat(w->fd, &st) || ftruncate(w->fd, st.st_size)) && !err)
		err = -errno;
	if (close(w->fd) < 0 && !err)
		err = -errno;
	free(w);
	return err;
}
