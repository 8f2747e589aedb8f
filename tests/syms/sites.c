// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sites.c: call sites whose source lines the program knows (__LINE__) and prints with the
 * return address each produced, for the symbolizer's tests. Built -O2 (sites inlined into
 * their callers) and -O0 (none inlined). Usage: sites LIBRARY.so
 * Output, one line per site: func line call_line module offset vaddr (hex offset and vaddr).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sites.h"

volatile int after;

/* The mapping of /proc/self/maps holding addr: its path and the file offset of addr. */
static int map_of(unsigned long addr, char *path, size_t len, unsigned long *offset)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		unsigned long start, end, off;
		int n = 0;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &start, &end, &off, &n) < 3 || !n)
			continue;
		if (addr < start || addr >= end)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, len, "%s", line + n);
		*offset = addr - start + off;
		found = 1;
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/* The load bias of the object holding addr, from the dynamic linker's own list. */
static unsigned long bias_of(unsigned long addr)
{
	Dl_info info;
	struct link_map *map = NULL;

	if (!dladdr1((void *)addr, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
		return 0;
	return map->l_addr;
}

__attribute__((noinline, noipa)) static void sink(const char *func, int line, int call_line)
{
	unsigned long ret = (unsigned long)__builtin_return_address(0), offset;
	char path[4096];

	if (map_of(ret, path, sizeof(path), &offset)) {
		fprintf(stderr, "sites: no mapping holds %#lx\n", ret);
		exit(1);
	}
	printf("%s %d %d %s %lx %lx\n", func, line, call_line, path, offset, ret - bias_of(ret));
}

__attribute__((noinline, noipa)) void plain_site(void)
{
	sink(__func__, __LINE__, 0);
	after++;
}

static inline void inner2(int call_line)
{
	sink(__func__, __LINE__, call_line);
	after++;
}

__attribute__((noinline, noipa)) void outer2(void)
{
	inner2(__LINE__);
	after++;
}

static inline void inner3(int call_line)
{
	sink(__func__, __LINE__, call_line);
	after++;
}

static inline void middle3(int call_line)
{
	inner3(__LINE__);
	after += call_line;
}

__attribute__((noinline, noipa)) void outer3(void)
{
	middle3(__LINE__);
	after++;
}

/* A C++-style symbol name, for the demangler when only the symbol table is left. */
__attribute__((noinline, noipa)) void mangled_site(void) __asm__("_ZN6tlsbpf4site7mangledEi");
void mangled_site(void)
{
	sink("tlsbpf::site::mangled(int)", __LINE__, 0);
	after++;
}

int main(int argc, char **argv)
{
	void *lib;
	void (*sites)(site_sink_fn);

	if (argc != 2) {
		fprintf(stderr, "usage: sites LIBRARY.so\n");
		return 2;
	}
	plain_site();
	outer2();
	outer3();
	mangled_site();
	lib = dlopen(argv[1], RTLD_NOW);
	sites = lib ? (void (*)(site_sink_fn))dlsym(lib, "lib_sites") : NULL;
	if (!sites) {
		fprintf(stderr, "sites: %s\n", dlerror());
		return 1;
	}
	sites(sink);
	return 0;
}
