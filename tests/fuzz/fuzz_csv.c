// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_csv.c: libFuzzer entry for the CSV reader. Any input must be read or
 * refused without a crash, and whatever it yields, written and read back, must
 * write the same bytes again: the writer's output is what the reader takes.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iuser -Iuser/out -Ibpf -o fuzz_csv \
 *	tests/fuzz/fuzz_csv.c user/out/csv_write.c user/out/csv_read.c user/out/outfile.c user/event.c
 *   ./fuzz_csv -max_total_time=60 CORPUS_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "csv.h"

static char first[64], second[64];

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		abort();
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (fread(buf, 1, n, f) != (size_t)n)
		abort();
	fclose(f);
	*len = n;
	return buf;
}

static void remove_files(void)
{
	unlink(first);
	unlink(second);
}

/* Reads every row of in and writes it to path; returns the rows, or -1 on a reader error. */
static int copy_rows(struct csv_reader *in, const char *path)
{
	struct csv_writer *w = csv_writer__open(path, NULL);
	struct tb_event e;
	int ret, n = 0;

	if (!w)
		abort();
	while ((ret = csv_reader__next(in, &e)) == 1) {
		if (csv_writer__write(w, &e))
			abort();
		n++;
	}
	if (csv_writer__close(w))
		abort();
	if (ret == 0 && csv_reader__next(in, &e) != 0)
		abort();	/* the end must stay the end */
	if (ret < 0 && csv_reader__next(in, &e) != -1)
		abort();	/* so must an error */
	if (ret < 0 && strncmp(csv_reader__error(in), "line ", 5) != 0)
		abort();
	return ret < 0 ? -1 : n;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct csv_reader *r = csv_reader__open_mem((const char *)data, size);
	char *a, *b;
	size_t alen, blen;
	int rows;

	if (!first[0]) {
		snprintf(first, sizeof(first), "/dev/shm/tlsbpf-fuzz.%d.1.csv", (int)getpid());
		snprintf(second, sizeof(second), "/dev/shm/tlsbpf-fuzz.%d.2.csv", (int)getpid());
		atexit(remove_files);
	}
	rows = copy_rows(r, first);
	csv_reader__close(r);
	if (rows <= 0)
		return 0;
	r = csv_reader__open(first);
	if (!r || copy_rows(r, second) != rows)
		abort();	/* the writer made something the reader refuses */
	csv_reader__close(r);
	a = slurp(first, &alen);
	b = slurp(second, &blen);
	if (alen != blen || memcmp(a, b, alen) != 0)
		abort();	/* a value changed on its way through */
	free(a);
	free(b);
	return 0;
}
