// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_schema.c: docs/csv.md's column and event tables against TB_EVENTS and the CSV header. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "csv.h"

#define MAX_NAMES 64
#define NAME_LEN 32

struct names {
	char v[MAX_NAMES][NAME_LEN];
	int n;
};

static const unsigned kind_cols[TB_EV_MAX] = {
#define TB_X_COLS(kind, name, record, row, cols) [TB_EV_##kind] = (cols),
	TB_EVENTS(TB_X_COLS)
#undef TB_X_COLS
};

/* The doc's event table heads its columns with these names. */
static const struct {
	const char *name;
	unsigned bit;
} doc_cols[] = {
	{ "size", TB_COL_SIZE },	   { "addr", TB_COL_ADDR },	 { "old_addr", TB_COL_OLD_ADDR },
	{ "latency_ns", TB_COL_LATENCY }, { "prot", TB_COL_PROT }, { "sysflags", TB_COL_SYSFLAGS },
	{ "fd", TB_COL_FD },	   { "old_size", TB_COL_OLD_SIZE },
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = 0;
	fclose(f);
	return buf;
}

/* The `quoted` words of [s, end), in order. */
static void quoted(const char *s, const char *end, struct names *out)
{
	while ((s = memchr(s, '`', end - s)) && s < end) {
		const char *close = memchr(s + 1, '`', end - s - 1);

		if (!close)
			return;
		if (out->n < MAX_NAMES && close - s - 1 < NAME_LEN) {
			memcpy(out->v[out->n], s + 1, close - s - 1);
			out->v[out->n++][close - s - 1] = 0;
		}
		s = close + 1;
	}
}

/* The table that follows heading: its lines, header and separator skipped. */
static char *table_after(char *doc, const char *heading)
{
	char *s = strstr(doc, heading);

	s = s ? strstr(s, "\n|") : NULL;
	s = s ? strstr(s + 1, "\n|") : NULL;	/* the separator */
	return s ? strchr(s + 1, '\n') + 1 : NULL;
}

/* Cell i (0: the first) of a table line, trimmed, into out; returns its length or -1. */
static int cell(const char *line, int i, char *out, size_t outsz)
{
	const char *s = line + 1, *e;
	size_t n;

	for (; i > 0; i--) {
		s = strchr(s, '|');
		if (!s || s > strchr(line, '\n'))
			return -1;
		s++;
	}
	for (e = s; *e && *e != '\n' && !(*e == '|' && e[-1] != '\\'); e++)
		;
	while (s < e && *s == ' ')
		s++;
	while (e > s && e[-1] == ' ')
		e--;
	n = (size_t)(e - s) < outsz - 1 ? (size_t)(e - s) : outsz - 1;
	memcpy(out, s, n);
	out[n] = 0;
	return n;
}

static void test_columns(char *doc)
{
	char header[] = TB_CSV_HEADER, *tok, *save;
	struct names doc_names = { .n = 0 };
	int i = 0, same = 1;

	for (char *l = table_after(doc, "## Columns"); l && *l == '|'; l = strchr(l, '\n') + 1)
		quoted(l, strchr(l + 1, '|'), &doc_names);
	for (tok = strtok_r(header, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++)
		if (i >= doc_names.n || strcmp(tok, doc_names.v[i])) {
			CHECK(0, "column %d: header '%s', docs/csv.md '%s'", i + 1, tok,
			      i < doc_names.n ? doc_names.v[i] : "(none)");
			same = 0;
		}
	CHECK(same && i == doc_names.n, "docs/csv.md lists the %d header columns in order (%d listed)",
	      i, doc_names.n);
}

static int doc_cells(const char *line, int *filled)
{
	char buf[512];

	for (size_t c = 0; c < sizeof(doc_cols) / sizeof(doc_cols[0]); c++) {
		int n = cell(line, c + 1, buf, sizeof(buf));

		if (n < 0)
			return -1;
		filled[c] = n > 0;
	}
	return 0;
}

static void check_kind(const char *line, enum tb_event_type t, const char *name)
{
	int filled[sizeof(doc_cols) / sizeof(doc_cols[0])];

	if (doc_cells(line, filled)) {
		CHECK(0, "%s: the doc's row has a cell per column", name);
		return;
	}
	for (size_t c = 0; c < sizeof(doc_cols) / sizeof(doc_cols[0]); c++)
		CHECK(filled[c] == !!(kind_cols[t] & doc_cols[c].bit),
		      "%s: docs/csv.md and TB_EVENTS agree whether it fills %s", name,
		      doc_cols[c].name);
}

static void test_events(char *doc)
{
	char head[512], *table = strstr(doc, "### Which columns each event fills");
	int seen[TB_EV_MAX] = { 0 };

	table = table ? strstr(table, "\n|") + 1 : NULL;
	CHECK(table != NULL, "docs/csv.md has the event table");
	if (!table)
		return;
	for (size_t c = 0; c < sizeof(doc_cols) / sizeof(doc_cols[0]); c++) {
		cell(table, c + 1, head, sizeof(head));
		CHECK_STR(head, doc_cols[c].name, "the event table's column");
	}
	for (char *l = table_after(doc, "### Which columns each event fills"); l && *l == '|';
	     l = strchr(l, '\n') + 1) {
		struct names kinds = { .n = 0 };

		quoted(l, strchr(l + 1, '|'), &kinds);
		for (int k = 0; k < kinds.n; k++) {
			enum tb_event_type t = tb_event_from_name(kinds.v[k], strlen(kinds.v[k]));

			CHECK(t != TB_EV_NONE, "docs/csv.md's event '%s' is a kind of row", kinds.v[k]);
			if (t == TB_EV_NONE)
				continue;
			seen[t]++;
			check_kind(l, t, kinds.v[k]);
		}
	}
	for (int t = TB_EV_MALLOC; t < TB_EV_MAX; t++)
		CHECK(seen[t] == tb_ev_is_row(t), "%s: %s docs/csv.md's event table",
		      tb_event_name(t), tb_ev_is_row(t) ? "once in" : "not in");
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "docs/csv.md";
	char *doc = slurp(path);

	CHECK(doc != NULL, "read %s", path);
	if (!doc)
		return check_done();
	test_columns(doc);
	test_events(doc);
	free(doc);
	return check_done();
}
