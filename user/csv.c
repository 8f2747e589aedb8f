// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* csv.c: the CSV schema v1 on disk: a buffered writer for the hot path and a strict reader. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "csv.h"

#define CSV_NCOLS	23	/* columns of TB_CSV_HEADER */
#define CSV_NCOLS_V1	15	/* the contract: seq .. flags */
#define CSV_RECORD_MAX	65536	/* longest row the reader takes, newline excluded */

/* ---- writer ---- */

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

static const char digit_pairs[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the CSV writer builds its digits in registers for a little-endian store"
#endif

static const uint64_t pow10_u64[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
	10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

/* Digits of v: floor(log10) from the bit length, corrected by one comparison. */
static inline unsigned dec_len(uint64_t v)
{
	unsigned t = (64 - __builtin_clzll(v | 1)) * 1233 >> 12;

	return t - ((v | 1) < pow10_u64[t]) + 1;
}

/* Exactly 8 digits of v < 10^8: four pair lookups that do not wait on each other. */
static inline void put_dec8(char *p, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;

	memcpy(p, digit_pairs + hi / 100 * 2, 2);
	memcpy(p + 2, digit_pairs + hi % 100 * 2, 2);
	memcpy(p + 4, digit_pairs + lo / 100 * 2, 2);
	memcpy(p + 6, digit_pairs + lo % 100 * 2, 2);
}

/*
 * Timestamps have 14 digits and more: eight at a time in 32-bit arithmetic
 * keeps the chain of dependent divisions short.
 */
static inline char *put_dec(char *p, uint64_t v)
{
	unsigned n = dec_len(v);
	char *q = p + n;
	uint32_t w;

	while (v >= 100000000) {
		uint64_t hi = v / 100000000;

		q -= 8;
		put_dec8(q, (uint32_t)(v - hi * 100000000));
		v = hi;
	}
	for (w = v; w >= 100; w /= 100) {
		q -= 2;
		memcpy(q, digit_pairs + w % 100 * 2, 2);
	}
	if (w >= 10)
		memcpy(q - 2, digit_pairs + w * 2, 2);
	else
		q[-1] = '0' + w;
	return p + n;
}

static inline char *put_sdec(char *p, int32_t v)
{
	if (v >= 0)
		return put_dec(p, v);
	*p++ = '-';
	return put_dec(p, -(int64_t)v);
}

/* The 8 hex digits of v as 8 bytes, the most significant digit first in memory. */
static inline uint64_t hex8(uint32_t v)
{
	uint64_t x = v, letters;

	/* spread the nibbles one to a byte, the lowest nibble in the lowest byte */
	x = (x | x << 16) & 0x0000ffff0000ffffULL;
	x = (x | x << 8) & 0x00ff00ff00ff00ffULL;
	x = (x | x << 4) & 0x0f0f0f0f0f0f0f0fULL;
	letters = ((x + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
	x += 0x3030303030303030ULL + letters * ('a' - '0' - 10);
	return __builtin_bswap64(x);
}

/*
 * Whole 8-byte stores: the bytes past the digits are scratch that the next
 * column overwrites or the buffer's length leaves out (ROW_MAX has room).
 */
static inline char *put_hex(char *p, uint64_t v)
{
	unsigned n = (64 - __builtin_clzll(v | 1) + 3) / 4;
	uint64_t lo = hex8((uint32_t)v), hi;

	memcpy(p, "0x", 2);
	p += 2;
	if (n <= 8) {
		lo >>= 8 * (8 - n);
		memcpy(p, &lo, 8);
		return p + n;
	}
	hi = hex8(v >> 32) >> 8 * (16 - n);
	memcpy(p, &hi, 8);
	memcpy(p + n - 8, &lo, 8);
	return p + n;
}

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

/* align .. args: the extension columns, then the end of the row */
static char *put_extension_cols(char *p, const struct tb_event *e, unsigned cols)
{
	/* an allocator row leaves them all empty: one store */
	if (!(cols & (TB_COL_ALIGN | TB_COL_PROT | TB_COL_SYSFLAGS | TB_COL_FD | TB_COL_OLD_SIZE)) && !e->err &&
	    !e->detail[0] && !e->args) {
		memcpy(p, ",,,,,,,\n", 8);
		return p + 8;
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
	*p++ = '\n';
	return p;
}


struct csv_writer *csv_writer__open(const char *path, const struct tb_owner *owner)
{
	static const char header[] = TB_CSV_HEADER "\n";
	struct csv_writer *w;
	struct stat st;
	int fd;

	wnames_init();
	w = malloc(sizeof(*w));
	if (!w) {
		fprintf(stderr, "tlsbpf: cannot open '%s': %s\n", path, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	fd = outfile__open(path, owner);
	if (fd < 0) {
		free(w);
		errno = -fd;
		return NULL;
	}
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
	cols = type_cols[e->type];
	if (e->type == TB_EV_MMAP && e->fd < 0)
		cols &= ~TB_COL_OLD_SIZE;
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

/* ---- reader ---- */

#define RBUF_SIZE	(1u << 20)	/* must stay well above CSV_RECORD_MAX */
#define ERR_MAX		256
#define SHOW_MAX	40		/* bytes of a bad value quoted in a message */

enum col_kind { TB_K_DEC, TB_K_DEC32, TB_K_SDEC32, TB_K_HEX, TB_K_TEXT, TB_K_EVENT, TB_K_REGION, TB_K_FLAGS, TB_K_ARGS };

struct column {
	const char *name;
	unsigned char kind;
	unsigned char required;
	unsigned short off;	/* into struct tb_event */
	unsigned short max;	/* TB_K_TEXT: the size of the destination */
};

#define COL(n, k, req, field, m) { n, k, req, offsetof(struct tb_event, field), m }

static const struct column columns[CSV_NCOLS] = {
	COL("seq", TB_K_DEC, 1, seq, 0),
	COL("ts_ns", TB_K_DEC, 1, ts_ns, 0),
	COL("pid", TB_K_DEC32, 1, pid, 0),
	COL("tid", TB_K_DEC32, 1, tid, 0),
	COL("comm", TB_K_TEXT, 0, comm, TB_COMM_LEN),
	COL("event", TB_K_EVENT, 1, type, 0),
	COL("size", TB_K_DEC, 0, size, 0),
	COL("addr", TB_K_HEX, 0, addr, 0),
	COL("old_addr", TB_K_HEX, 0, old_addr, 0),
	COL("latency_ns", TB_K_DEC, 0, latency_ns, 0),
	COL("region", TB_K_REGION, 0, region, 0),
	COL("region_base", TB_K_HEX, 0, region_base, 0),
	COL("origin_pid", TB_K_DEC32, 0, origin_pid, 0),
	COL("origin_tid", TB_K_DEC32, 0, origin_tid, 0),
	COL("flags", TB_K_FLAGS, 0, flags, 0),
	COL("align", TB_K_DEC, 0, align, 0),
	COL("prot", TB_K_DEC32, 0, prot, 0),
	COL("sysflags", TB_K_HEX, 0, sysflags, 0),
	COL("fd", TB_K_SDEC32, 0, fd, 0),
	COL("old_size", TB_K_DEC, 0, old_size, 0),
	COL("err", TB_K_SDEC32, 0, err, 0),
	COL("detail", TB_K_TEXT, 0, detail, TB_PATH_LEN),
	COL("args", TB_K_ARGS, 0, args, TB_ARGS_LEN),
};

struct field {
	const char *s;
	size_t len;
};

/* The names a column may hold, with their lengths, so a lookup needs no strlen. */
struct name {
	const char *s;
	size_t len;
	int value;
};

struct names {
	struct name events[TB_EV_MAX], regions[TB_REG_MAX], flags[TB_F_NBITS];
	int nevents, nregions, nflags;
};

struct csv_reader {
	int fd;			/* -1 when reading from memory */
	int own_fd;
	int eof;		/* nothing more than data[0..end) will come */
	int failed;		/* sticky: every later call returns -1 */
	int io_failed;
	size_t ncols;		/* from the header; 0 until it is read */
	uint64_t line;		/* where the current record starts */
	uint64_t next_line;
	const char *data;	/* buf, or the caller's memory */
	size_t pos, end;
	size_t nf;		/* fields in the current record, f[] holds the first CSV_NCOLS */
	struct field f[CSV_NCOLS];
	size_t slen;
	struct names names;
	char *buf;
	char err[ERR_MAX];
	char args[TB_ARGS_LEN];	/* the current row's args, which the event points to */
	char scratch[CSV_RECORD_MAX];	/* unescaped quoted fields */
};

/* Bytes that end an unquoted field, or must not appear in one. */
static const unsigned char unquoted_stop[256] = {
	[','] = 1, ['\n'] = 1, ['"'] = 1,
};

/* Hex digit value plus one; zero for everything else. */
static const unsigned char hex_val[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
	['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

__attribute__((format(printf, 2, 3))) static int fail(struct csv_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, sizeof(r->err), "line %llu: ", (unsigned long long)r->line);
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - n, fmt, ap);
	va_end(ap);
	r->failed = 1;
	return -1;
}

static int too_long(struct csv_reader *r)
{
	return fail(r, "line longer than %d bytes", CSV_RECORD_MAX);
}

/* A bad value as a message can show it: bounded, and no raw control bytes. */
static const char *shown(const struct field *f, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < f->len && i < SHOW_MAX; i++) {
		unsigned char c = f->s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[n++] = c;
		else
			n += sprintf(out + n, "\\x%02x", c);
	}
	if (f->len > SHOW_MAX)
		n += sprintf(out + n, "...");
	out[n] = '\0';
	return out;
}

static unsigned count_newlines(const char *s, size_t len)
{
	unsigned n = 0;
	const char *end = s + len;

	while ((s = memchr(s, '\n', end - s))) {
		n++;
		s++;
	}
	return n;
}

/*
 * Each field parser returns what ended the field: ',' or '\n', 0 for the end
 * of the input, -EAGAIN when the buffer ends before it can tell, -1 on error.
 */
static int parse_unquoted(struct csv_reader *r, const char **pp, const char *end,
			  struct field *fl)
{
	const char *p = *pp, *q = p;

	while (q < end && !unquoted_stop[(unsigned char)*q])
		q++;
	if (q == end && !r->eof)
		return -EAGAIN;
	if (q < end && *q == '"')
		return fail(r, "quote inside an unquoted field");
	fl->s = p;
	fl->len = q - p;
	if (fl->len && q[-1] == '\r' && (q == end || *q == '\n'))
		fl->len--;
	if (q == end) {
		*pp = q;
		return 0;
	}
	*pp = q + 1;
	return *q;
}

/* What may follow a closing quote: a delimiter, CRLF, or the end of the input. */
static int after_quote(struct csv_reader *r, const char **pp, const char *end)
{
	const char *p = *pp;

	if (p < end && (*p == ',' || *p == '\n')) {
		*pp = p + 1;
		return *p;
	}
	if (p < end && *p == '\r')
		p++;
	if (p == end) {
		if (!r->eof)
			return -EAGAIN;
		*pp = p;
		return 0;
	}
	if (*p == '\n' && p[-1] == '\r') {
		*pp = p + 1;
		return '\n';
	}
	return fail(r, "text after a closing quote");
}

static int parse_quoted(struct csv_reader *r, const char **pp, const char *end,
			struct field *fl, unsigned *newlines)
{
	const char *p = *pp + 1, *q;
	size_t start = r->slen, n;

	for (;;) {
		q = memchr(p, '"', end - p);
		n = (q ? q : end) - p;
		if (r->slen + n > CSV_RECORD_MAX)
			return too_long(r);
		if (!q && !r->eof)
			return -EAGAIN;
		if (!q)
			return fail(r, "unterminated quoted field at end of file");
		if (q + 1 == end && !r->eof)
			return -EAGAIN;
		memcpy(r->scratch + r->slen, p, n);
		*newlines += count_newlines(p, n);
		r->slen += n;
		if (q + 1 == end || q[1] != '"')
			break;
		if (r->slen == CSV_RECORD_MAX)
			return too_long(r);
		r->scratch[r->slen++] = '"';
		p = q + 2;
	}
	fl->s = r->scratch + start;
	fl->len = r->slen - start;
	*pp = q + 1;
	return after_quote(r, pp, end);
}

#ifdef __SSE2__
/* Bit i set when q[i] is a comma, for 16 bytes. */
static inline uint32_t comma_bits(const char *q)
{
	__m128i v = _mm_loadu_si128((const __m128i *)q);

	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
}
#define COMMA_STEP 16
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Bit 8i+7 set when q[i] is a comma, for 8 bytes: exact, no borrow between bytes. */
static inline uint64_t comma_bits(const char *q)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t w, x;

	memcpy(&w, q, 8);
	x = w ^ 0x2c2c2c2c2c2c2c2cULL;
	return ~(((x & low7) + low7) | x | low7);
}
#define COMMA_STEP 8
#endif

/* Stores [s, e) as the next field while there is room; returns where the next one goes. */
static inline struct field *add_field(struct field *f, size_t *nf, const char *s, const char *e)
{
	if (*nf < CSV_NCOLS)
		*f++ = (struct field){ s, e - s };
	(*nf)++;
	return f;
}

/*
 * The common record: whole in the buffer, no quote, not too long. Two memchr
 * passes and a split many bytes at a time beat the byte-by-byte general parser.
 */
static int parse_plain(struct csv_reader *r, const char *start, const char *eol)
{
	const char *p = start, *q = start;
	struct field *f = r->f;
	size_t nf = 0;

#ifdef COMMA_STEP
	for (; eol - q >= COMMA_STEP; q += COMMA_STEP) {
		for (uint64_t m = comma_bits(q); m; m &= m - 1) {
			const char *c = q + __builtin_ctzll(m) / (COMMA_STEP == 16 ? 1 : 8);

			f = add_field(f, &nf, p, c);
			p = c + 1;
		}
	}
#endif
	for (; q < eol; q++) {
		if (*q == ',') {
			f = add_field(f, &nf, p, q);
			p = q + 1;
		}
	}
	add_field(f, &nf, p, eol);
	if (nf <= CSV_NCOLS && r->f[nf - 1].len && eol[-1] == '\r')
		r->f[nf - 1].len--;
	r->nf = nf;
	r->pos = eol - r->data + (eol < r->data + r->end);
	r->next_line = r->line + 1;
	return 1;
}

/* One record from data[pos..end): 1, or -EAGAIN to be called again with more input, or -1. */
static int parse_record(struct csv_reader *r)
{
	const char *start = r->data + r->pos, *end = r->data + r->end, *p = start;
	const char *eol = memchr(start, '\n', end - start);
	unsigned newlines = 0;
	struct field fl;
	int d;

	if (!eol && r->eof)
		eol = end;
	if (eol && eol - start <= CSV_RECORD_MAX && !memchr(start, '"', eol - start))
		return parse_plain(r, start, eol);
	r->nf = 0;
	r->slen = 0;
	do {
		if (p < end && *p == '"')
			d = parse_quoted(r, &p, end, &fl, &newlines);
		else
			d = parse_unquoted(r, &p, end, &fl);
		if (d == -EAGAIN)
			return end - start > CSV_RECORD_MAX + 2 ? too_long(r) : -EAGAIN;
		if (d < 0)
			return -1;
		if (p - start - (d == '\n') > CSV_RECORD_MAX)
			return too_long(r);
		if (r->nf < CSV_NCOLS)
			r->f[r->nf] = fl;
		r->nf++;
	} while (d == ',');
	r->pos = p - r->data;
	r->next_line = r->line + newlines + 1;
	return 1;
}

/* Keeps the unread tail, moved to the front, and appends what read(2) gives. */
static int refill(struct csv_reader *r)
{
	size_t keep = r->end - r->pos;
	ssize_t n;

	if (r->fd < 0) {
		r->eof = 1;
		return 0;
	}
	memmove(r->buf, r->buf + r->pos, keep);
	r->pos = 0;
	r->end = keep;
	do
		n = read(r->fd, r->buf + r->end, RBUF_SIZE - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->io_failed = 1;
		return fail(r, "cannot read: %s", strerror(errno));
	}
	if (n == 0)
		r->eof = 1;
	r->end += n;
	return 0;
}

/* 1: a record in f[]; 0: end of input; -1: error. */
static int next_record(struct csv_reader *r)
{
	int ret;

	r->line = r->next_line;
	for (;;) {
		if (r->pos == r->end && r->eof)
			return 0;
		ret = parse_record(r);
		if (ret != -EAGAIN)
			return ret;
		if (refill(r) < 0)
			return -1;
	}
}

static int field_is(const struct field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->s, s, f->len) == 0;
}

/* Schema v1: at least the 15 contract columns in order; columns past ours are a later version's. */
static int read_header(struct csv_reader *r)
{
	int ret = next_record(r);

	if (ret < 0 && r->io_failed)
		return -1;
	r->failed = 0;
	r->line = 1;
	if (ret <= 0 || r->nf < CSV_NCOLS_V1)
		return fail(r, "not a tlsbpf CSV header");
	for (size_t i = 0; i < r->nf && i < CSV_NCOLS; i++)
		if (!field_is(&r->f[i], columns[i].name))
			return fail(r, "not a tlsbpf CSV header");
	r->ncols = r->nf;
	return 0;
}

/* Eight decimal digits at s, as one number; -1 if any byte is not a digit. */
static inline int64_t eight_digits(const char *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	/* each byte: high nibble 3, and low nibble at most 9 (adding 6 keeps the high nibble) */
	if (((v & 0xf0f0f0f0f0f0f0f0ULL) |
	     (((v + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) >> 4)) != 0x3333333333333333ULL)
		return -1;
	v -= 0x3030303030303030ULL;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* pairs, then fours, then all eight: the first digit is the low byte */
	v = v * 10 + (v >> 8);
	v = ((v & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32)) +
	     ((v >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32))) >> 32;
	return (int64_t)v;
#else
	uint64_t x = 0;

	for (int i = 0; i < 8; i++)
		x = x * 10 + (uint8_t)(v >> (56 - 8 * i));
	return (int64_t)x;
#endif
}

/*
 * Nineteen digits cannot overflow 64 bits: only a twentieth needs the check.
 * Inlined: it runs six times a row, and a call costs as much as a short number.
 */
static __attribute__((always_inline)) inline int parse_dec(const struct field *f, uint64_t max,
							   uint64_t *v)
{
	size_t n = f->len < 20 ? f->len : 19, i = 0;
	uint64_t x = 0;
	int64_t eight;
	unsigned d;

	if (f->len > 20)
		return -1;
	for (; n - i >= 8; i += 8) {
		eight = eight_digits(f->s + i);
		if (eight < 0)
			return -1;
		x = x * 100000000 + (uint64_t)eight;
	}
	for (; i < n; i++) {
		d = (unsigned char)f->s[i] - '0';
		if (d > 9)
			return -1;
		x = x * 10 + d;
	}
	if (f->len == 20) {
		d = (unsigned char)f->s[19] - '0';
		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

static int parse_sdec32(const struct field *f, int32_t *v)
{
	struct field digits = *f;
	int neg = f->len && f->s[0] == '-';
	uint64_t x;

	digits.s += neg;
	digits.len -= neg;
	if (!digits.len || parse_dec(&digits, neg ? 2147483648ULL : INT32_MAX, &x))
		return -1;
	*v = neg ? (int32_t)(-(int64_t)x) : (int32_t)x;
	return 0;
}

static int parse_hex(const struct field *f, uint64_t *v)
{
	uint64_t x = 0;

	if (f->len < 3 || f->len > 18 || f->s[0] != '0' || (f->s[1] | 0x20) != 'x')
		return -1;
	for (size_t i = 2; i < f->len; i++) {
		unsigned d = hex_val[(unsigned char)f->s[i]];

		if (!d)
			return -1;
		x = x << 4 | (d - 1);
	}
	*v = x;
	return 0;
}

static void add_name(struct name *v, int *n, const char *s, int value)
{
	v[(*n)++] = (struct name){ s, strlen(s), value };
}

/* Only the names the reader accepts: the events written as rows, regions but "". */
static void names_init(struct names *nm)
{
	for (int t = TB_EV_MALLOC; t < TB_EV_MAX; t++)
		if (tb_ev_is_row(t))
			add_name(nm->events, &nm->nevents, tb_event_name(t), t);
	for (int g = TB_REG_HEAP; g < TB_REG_MAX; g++)
		add_name(nm->regions, &nm->nregions, tb_region_name(g), g);
	for (int b = 0; b < TB_F_NBITS; b++)
		add_name(nm->flags, &nm->nflags, tb_flag_name(b), b);
}

/* The value of the name s[0..len), or -1. */
static int name_value(const struct name *v, int n, const char *s, size_t len)
{
	for (int i = 0; i < n; i++)
		if (v[i].len == len && memcmp(v[i].s, s, len) == 0)
			return v[i].value;
	return -1;
}

static int parse_flag_names(const struct names *nm, const struct field *f, uint32_t *flags)
{
	const char *s = f->s, *end = f->s + f->len, *bar;
	int bit;

	for (;;) {
		bar = memchr(s, '|', end - s);
		if (!bar)
			bar = end;
		bit = name_value(nm->flags, nm->nflags, s, bar - s);
		if (bit < 0)
			return -1;
		*flags |= 1u << bit;
		if (bar == end)
			return 0;
		s = bar + 1;
	}
}

static int parse_text(struct csv_reader *r, const struct field *f, const struct column *c,
		      char *dst)
{
	if (f->len >= c->max)
		return fail(r, "%s longer than %d bytes", c->name, c->max - 1);
	if (memchr(f->s, '\0', f->len))
		return fail(r, "NUL byte in %s", c->name);
	memcpy(dst, f->s, f->len);
	dst[f->len] = '\0';
	return 0;
}

static int parse_field(struct csv_reader *r, const struct field *f, const struct column *c,
		       struct tb_event *e)
{
	char *dst = (char *)e + c->off;
	char show[SHOW_MAX * 4 + 4];
	uint64_t v;
	int n;

	switch (c->kind) {
	case TB_K_DEC:
		if (parse_dec(f, UINT64_MAX, (uint64_t *)dst))
			break;
		return 0;
	case TB_K_DEC32:
		if (parse_dec(f, UINT32_MAX, &v))
			break;
		*(uint32_t *)dst = v;
		return 0;
	case TB_K_SDEC32:
		if (parse_sdec32(f, (int32_t *)dst))
			break;
		return 0;
	case TB_K_HEX:
		if (parse_hex(f, (uint64_t *)dst))
			return fail(r, "bad hex in %s: '%s'", c->name, shown(f, show));
		return 0;
	case TB_K_TEXT:
		return parse_text(r, f, c, dst);
	case TB_K_ARGS:
		e->args = r->args;
		return parse_text(r, f, c, r->args);
	case TB_K_EVENT:
		n = name_value(r->names.events, r->names.nevents, f->s, f->len);
		if (n < 0)
			return fail(r, "unknown event '%s'", shown(f, show));
		e->type = n;
		return 0;
	case TB_K_REGION:
		n = name_value(r->names.regions, r->names.nregions, f->s, f->len);
		if (n < 0)
			return fail(r, "unknown region '%s'", shown(f, show));
		e->region = n;
		return 0;
	case TB_K_FLAGS:
		if (parse_flag_names(&r->names, f, &e->flags))
			return fail(r, "unknown flags '%s'", shown(f, show));
		return 0;
	}
	return fail(r, "bad number in %s: '%s'", c->name, shown(f, show));
}

/* Empty columns stay zero, except fd which is -1 (no file) when empty. */
static int to_event(struct csv_reader *r, struct tb_event *e)
{
	size_t n = r->ncols < CSV_NCOLS ? r->ncols : CSV_NCOLS;

	/* detail is most of the event and mostly empty: parse_text ends the string */
	_Static_assert(offsetof(struct tb_event, detail) + TB_PATH_LEN == sizeof(*e),
		       "detail must stay the last member of struct tb_event");
	memset(e, 0, offsetof(struct tb_event, detail));
	e->detail[0] = '\0';
	e->fd = -1;
	if (r->nf != r->ncols)
		return fail(r, "expected %zu fields, found %zu", r->ncols, r->nf);
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &r->f[i];

		if (!f->len) {
			if (columns[i].required)
				return fail(r, "empty %s", columns[i].name);
			continue;
		}
		if (parse_field(r, f, &columns[i], e))
			return -1;
	}
	return 0;
}

static struct csv_reader *reader_new(void)
{
	struct csv_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = -1;
	r->next_line = 1;
	names_init(&r->names);
	return r;
}

struct csv_reader *csv_reader__open(const char *path)
{
	struct csv_reader *r = reader_new();
	int err;

	if (!r)
		return NULL;
	r->buf = malloc(RBUF_SIZE);
	if (!r->buf) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->data = r->buf;
	if (strcmp(path, "-") == 0) {
		r->fd = STDIN_FILENO;
		return r;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		err = errno;
		free(r->buf);
		free(r);
		errno = err;
		return NULL;
	}
	r->own_fd = 1;
	return r;
}

struct csv_reader *csv_reader__open_mem(const char *data, size_t len)
{
	struct csv_reader *r = reader_new();

	if (!r)
		return NULL;
	r->data = data ? data : "";
	r->end = data ? len : 0;
	r->eof = 1;
	return r;
}

int csv_reader__next(struct csv_reader *r, struct tb_event *e)
{
	int ret;

	if (r->failed)
		return -1;
	if (!r->ncols && read_header(r) < 0)
		return -1;
	ret = next_record(r);
	if (ret <= 0)
		return ret;
	return to_event(r, e) < 0 ? -1 : 1;
}

const char *csv_reader__error(const struct csv_reader *r)
{
	return r->err[0] ? r->err : "no error";
}

void csv_reader__close(struct csv_reader *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	free(r->buf);
	free(r);
}
