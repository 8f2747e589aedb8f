// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * symbolize.c: how long the symbolizer takes for N distinct code addresses of one file, spread
 * evenly over its executable segment and looked up as return addresses: the first time (the
 * file opened, its DWARF read, every answer made) and again (every answer cached), and the
 * memory it then holds. Usage: symbolize [-n N] [FILE]   (FILE: ./tlsbpf, built -O2 -g)
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "folded.h"
#include "pprof.h"
#include "symbols.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Where FILE's executable segment is in the file. */
static int code_range(const char *file, unsigned long *start, unsigned long *size)
{
	int fd = open(file, O_RDONLY);
	Elf *elf;
	size_t n, i;
	int found = 0;

	elf_version(EV_CURRENT);
	elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	if (!elf || elf_getphdrnum(elf, &n))
		return -1;
	for (i = 0; i < n && !found; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			*start = ph.p_offset;
			*size = ph.p_filesz;
			found = 1;
		}
	}
	elf_end(elf);
	close(fd);
	return found ? 0 : -1;
}

static long rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* One pass over the n offsets: seconds taken, and how many had a function and a line. */
static double pass(struct symbols *s, const char *file, unsigned long start, unsigned long size,
		   int n, int *named, int *lined)
{
	double t0 = now_s();
	int i;

	*named = *lined = 0;
	for (i = 0; i < n; i++) {
		struct sym_result r;
		unsigned long off = start + 1 + (unsigned long)((double)i * (size - 1) / n);

		if (symbols__resolve(s, file, "", off, true, &r)) {
			fprintf(stderr, "symbolize: resolve failed\n");
			exit(1);
		}
		*named += r.n > 0 && r.lines[0].function;
		*lined += r.n > 0 && r.lines[0].line > 0;
	}
	return now_s() - t0;
}

#define MAX_DEPTH 128
#define MAX_INLINE 64

/* S stacks of depth frames from n offsets, symbolized and written as pprof and folded. */
static void stacks(const char *file, unsigned long start, unsigned long size, int n, int count,
		   int depth)
{
	static struct prof_frame frames[MAX_DEPTH * MAX_INLINE], raw[MAX_DEPTH];
	struct symbols *s = symbols__new(NULL);
	struct pprof_writer *w = pprof__begin("/tmp/tlsbpf-bench-symbolize.pb.gz", NULL, NULL);
	struct folded *f = folded__new(0);
	unsigned long offs[MAX_DEPTH];
	unsigned int seed = 1;
	double t0 = now_s();
	long frames_total = 0;
	size_t modules, cached;
	int i, j;

	if (!s || !w || !f)
		exit(1);
	for (i = 0; i < count; i++) {
		int64_t v[PPROF_NVALUES] = { 1, 64, 0, 0 };
		int k;

		/* a distinct stack: its leaf frame walks through the offsets, the rest drawn */
		for (j = 0; j < depth; j++)
			offs[j] = start + 1 + (unsigned long)((double)(j ? rand_r(&seed) % n : i % n) *
							      (size - 1) / n);
		for (j = 0; j < depth; j++)
			raw[j] = (struct prof_frame){ .module = file, .build_id = "", .offset = offs[j] };
		k = prof_frame__symbolize(s, raw, depth, frames, MAX_DEPTH * MAX_INLINE);
		if (k < 0)
			exit(1);
		frames_total += k;
		pprof__add_sample(w, frames, k, v, NULL);
		folded__add(f, frames, k, 64);
	}
	if (pprof__end(w) || folded__write(f, "/tmp/tlsbpf-bench-symbolize.folded", NULL))
		exit(1);
	symbols__stats(s, &modules, &cached);
	printf("%d stacks of %d frames (%ld with inline functions, %zu distinct offsets): "
	       "symbolized, pprof and folded written in %.3f s\n",
	       count, depth, frames_total, cached, now_s() - t0);
	folded__free(f);
	symbols__free(s);
}

int main(int argc, char **argv)
{
	const char *file;
	unsigned long start, size;
	int n = 10000, opt, named, lined, nstacks = 0, depth = 16;
	struct symbols *s;
	double cold, warm;
	long rss0;
	size_t modules, cached;

	while ((opt = getopt(argc, argv, "n:s:d:")) != -1) {
		if (opt == 'n')
			n = atoi(optarg);
		else if (opt == 's')
			nstacks = atoi(optarg);
		else if (opt == 'd')
			depth = atoi(optarg);
	}
	if (depth < 1 || depth > MAX_DEPTH) {
		fprintf(stderr, "symbolize: -d takes 1 to %d\n", MAX_DEPTH);
		return 1;
	}
	file = optind < argc ? argv[optind] : "./tlsbpf";
	if (n <= 0 || code_range(file, &start, &size)) {
		fprintf(stderr, "symbolize: no executable segment in '%s'\n", file);
		return 1;
	}
	if (nstacks > 0) {
		stacks(file, start, size, n, nstacks, depth);
		return 0;
	}
	rss0 = rss_kib();
	s = symbols__new(NULL);
	cold = pass(s, file, start, size, n, &named, &lined);
	warm = pass(s, file, start, size, n, &named, &lined);
	symbols__stats(s, &modules, &cached);
	printf("file %s: %lu bytes of code, %d distinct offsets (%zu cached answers)\n", file, size,
	       n, cached);
	printf("first time: %.3f s (%.1f us each), cached: %.4f s (%.3f us each)\n", cold,
	       cold * 1e6 / n, warm, warm * 1e6 / n);
	printf("with a function: %d, with a line: %d\n", named, lined);
	printf("memory: %ld KiB more at peak (%.0f bytes per distinct offset, the file's DWARF "
	       "included)\n", rss_kib() - rss0, (rss_kib() - rss0) * 1024.0 / n);
	symbols__free(s);
	return 0;
}
