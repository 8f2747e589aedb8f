// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* csv_read.c: the strict CSV schema v1 reader behind `tlsbpf analyze`. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "csv.h"

#define CSV_NCOLS	24	/* columns of TB_CSV_HEADER */
#define CSV_NCOLS_V1	15	/* the contract: seq .. flags */
#define CSV_RECORD_MAX	65536	/* longest row the reader takes, newline excluded */

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
	COL("stack_id", TB_K_DEC32, 0, stack_id, 0),
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

uint64_t csv_reader__line(const struct csv_reader *r)
{
	return r->line;
}
