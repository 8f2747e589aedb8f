// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_entries.c: which of an allocator's own entry points get a probe, on real libraries. */
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "../../user/libc_resolve.c"

#define LIBDIR "/usr/lib/x86_64-linux-gnu/"

/* The probe named NAME in lib: its index, or -1 when it has none. */
static int probe_of(const struct alloc_lib *lib, const char *name)
{
	for (int i = 0; i < lib->n; i++)
		if (strcmp(lib->names[i], name) == 0)
			return i;
	return -1;
}

/* NAME is probed as an own entry point reporting event TYPE, and its entry index names it. */
static void check_entry(const struct alloc_lib *lib, const char *name, int type)
{
	int i = probe_of(lib, name);

	CHECK(i >= 0 && (int)lib->cookies[i] == type && lib->entries[i] &&
		      strcmp(tb_entries[lib->entries[i]].name, name) == 0,
	      "%s: probed on its own, as a %s", name, tb_event_name(type));
}

static void check_unprobed(const struct alloc_lib *lib, const char *name, const char *why)
{
	CHECK(probe_of(lib, name) < 0, "%s: not probed (%s)", name, why);
}

/* Fills lib from the library at path; 0 when the library is not installed. */
static int load(const char *path, struct alloc_lib *lib)
{
	if (access(path, R_OK)) {
		CHECK(1, "%s: not installed, its checks left out", path);
		return 0;
	}
	CHECK(libc_resolve__functions(path, lib) == 0, "%s: its allocator functions found", path);
	return 1;
}

/* Every entry's name gives back its own family, as the correlator reads it from a row. */
static void families(void)
{
	unsigned bad = 0;

	for (unsigned k = 0; k < tb_nentries; k++)
		bad += tb_entry_cxx(tb_entries[k].name) != tb_entries[k].cxx;
	CHECK(bad == 0 && tb_entry_cxx("") == TB_CXX_NONE,
	      "each of %u entries' names says its C++ family (%u wrong)", tb_nentries, bad);
}

int main(void)
{
	static struct alloc_lib lib;

	families();
	if (load(LIBDIR "libjemalloc.so.2", &lib)) {
		check_entry(&lib, "mallocx", TB_EV_MALLOC);
		check_entry(&lib, "rallocx", TB_EV_REALLOC);
		check_entry(&lib, "dallocx", TB_EV_FREE);
		check_entry(&lib, "sdallocx", TB_EV_FREE);
		check_unprobed(&lib, "malloc_usable_size", "it allocates nothing");
	}
	if (load(LIBDIR "libtcmalloc_minimal.so.4", &lib)) {
		check_unprobed(&lib, "tc_malloc", "an alias of malloc");
		check_unprobed(&lib, "tc_free", "an alias of free");
		check_entry(&lib, "tc_new", TB_EV_MALLOC);
		check_unprobed(&lib, "tc_newarray", "an alias of tc_new, which names the probe");
		check_entry(&lib, "tc_free_sized", TB_EV_FREE);
	}
	if (load(LIBDIR "libmimalloc.so.2", &lib)) {
		check_unprobed(&lib, "mi_malloc", "an alias of malloc");
		check_entry(&lib, "mi_zalloc", TB_EV_MALLOC);
		check_entry(&lib, "mi_malloc_aligned", TB_EV_MALLOC);
		check_unprobed(&lib, "mi_free_size", "it jumps to mi_free at once");
	}
	/* jemalloc's and tcmalloc's operator new serve it themselves: no C++ probe beside a malloc */
	if (load(LIBDIR "libtcmalloc_minimal.so.4", &lib)) {
		int cxx = 0;

		for (int i = 0; i < lib.n; i++)
			cxx += tb_entries[lib.entries[i]].cxx != TB_CXX_NONE;
		CHECK(cxx == 0 && !lib.cxx, "tcmalloc: its operator new is its own (%d C++ probes)", cxx);
	}
	/* libstdc++: each operator's own probe, at entry only, its forwarders included */
	if (load(LIBDIR "libstdc++.so.6", &lib)) {
		int news = 0, deletes = 0;

		for (int i = 0; i < lib.n; i++) {
			news += lib.cookies[i] == TB_PROBE_CXX_NEW;
			deletes += lib.cookies[i] == TB_PROBE_CXX_DELETE;
		}
		CHECK(lib.cxx && news == 8 && deletes == 12 && lib.n == 20,
		      "libstdc++: 8 forms of new, 12 of delete, each probed (%d, %d of %d)", news,
		      deletes, lib.n);
		CHECK(probe_of(&lib, "_ZdaPvm") >= 0 && lib.nforwarders == 0,
		      "libstdc++: delete[] sized, which jumps on, is probed too");
		CHECK(!defines_malloc(LIBDIR "libstdc++.so.6"),
		      "libstdc++ never serves malloc to a command");
	}
	if (load("/lib/x86_64-linux-gnu/libc.so.6", &lib)) {
		int own = 0;

		for (int i = 0; i < lib.n; i++)
			own += lib.entries[i] != 0;
		CHECK(own == 0 && lib.n <= TB_NFUNCS,
		      "glibc: the standard functions only (%d probes)", lib.n);
	}
	return check_done();
}
