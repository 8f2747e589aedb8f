// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* event.c: the names events, regions and flags carry in every output. */
#include <string.h>
#include "event.h"

static const char *const event_names[TB_EV_MAX] = {
#define TB_X_NAME(kind, name, record, row, cols) [TB_EV_##kind] = #name,
	TB_EVENTS(TB_X_NAME)
#undef TB_X_NAME
};

/*
 * Every name here is probed where a library defines it at an address none of
 * malloc .. pvalloc has (an alias is the standard function: tcmalloc's
 * tc_malloc is malloc). Left out: xallocx, which resizes in place and
 * returns no block, and malloc_usable_size and nallocx, which allocate nothing.
 */
const struct tb_entry tb_entries[] = {
	{ "", TB_EV_NONE },
	/* jemalloc: the flags argument (alignment, zeroing, arena) is not read */
	{ "mallocx", TB_EV_MALLOC },
	{ "rallocx", TB_EV_REALLOC },
	{ "dallocx", TB_EV_FREE },
	{ "sdallocx", TB_EV_FREE },
	/* tcmalloc, the C++ operators included: they never go through malloc */
	{ "tc_malloc", TB_EV_MALLOC },
	{ "tc_malloc_skip_new_handler", TB_EV_MALLOC },
	{ "tc_new", TB_EV_MALLOC },
	{ "tc_newarray", TB_EV_MALLOC },
	{ "tc_new_nothrow", TB_EV_MALLOC },
	{ "tc_newarray_nothrow", TB_EV_MALLOC },
	/* aligned new(size, align): a malloc's layout, the alignment unread */
	{ "tc_new_aligned", TB_EV_MALLOC },
	{ "tc_newarray_aligned", TB_EV_MALLOC },
	{ "tc_new_aligned_nothrow", TB_EV_MALLOC },
	{ "tc_newarray_aligned_nothrow", TB_EV_MALLOC },
	{ "tc_calloc", TB_EV_CALLOC },
	{ "tc_realloc", TB_EV_REALLOC },
	{ "tc_memalign", TB_EV_MEMALIGN },
	{ "tc_posix_memalign", TB_EV_POSIX_MEMALIGN },
	{ "tc_valloc", TB_EV_VALLOC },
	{ "tc_pvalloc", TB_EV_PVALLOC },
	{ "tc_free", TB_EV_FREE },
	{ "tc_cfree", TB_EV_FREE },
	{ "tc_free_sized", TB_EV_FREE },
	{ "tc_delete", TB_EV_FREE },
	{ "tc_deletearray", TB_EV_FREE },
	{ "tc_delete_sized", TB_EV_FREE },
	{ "tc_deletearray_sized", TB_EV_FREE },
	{ "tc_delete_nothrow", TB_EV_FREE },
	{ "tc_deletearray_nothrow", TB_EV_FREE },
	{ "tc_delete_aligned", TB_EV_FREE },
	{ "tc_deletearray_aligned", TB_EV_FREE },
	{ "tc_delete_sized_aligned", TB_EV_FREE },
	{ "tc_deletearray_sized_aligned", TB_EV_FREE },
	{ "tc_delete_aligned_nothrow", TB_EV_FREE },
	{ "tc_deletearray_aligned_nothrow", TB_EV_FREE },
	/* mimalloc: mi_malloc_aligned(size, align) and the like as mallocs, the alignment unread */
	{ "mi_malloc", TB_EV_MALLOC },
	{ "mi_zalloc", TB_EV_MALLOC },
	{ "mi_new", TB_EV_MALLOC },
	{ "mi_malloc_aligned", TB_EV_MALLOC },
	{ "mi_zalloc_aligned", TB_EV_MALLOC },
	{ "mi_calloc", TB_EV_CALLOC },
	{ "mi_mallocn", TB_EV_CALLOC },
	{ "mi_calloc_aligned", TB_EV_CALLOC },
	{ "mi_realloc", TB_EV_REALLOC },
	{ "mi_reallocf", TB_EV_REALLOC },
	{ "mi_realloc_aligned", TB_EV_REALLOC },
	{ "mi_reallocarray", TB_EV_REALLOCARRAY },
	{ "mi_posix_memalign", TB_EV_POSIX_MEMALIGN },
	{ "mi_memalign", TB_EV_MEMALIGN },
	{ "mi_aligned_alloc", TB_EV_ALIGNED_ALLOC },
	{ "mi_valloc", TB_EV_VALLOC },
	{ "mi_pvalloc", TB_EV_PVALLOC },
	{ "mi_free", TB_EV_FREE },
	{ "mi_free_size", TB_EV_FREE },
	{ "mi_free_aligned", TB_EV_FREE },
	/*
	 * libstdc++'s operators, by their mangled names: probed at entry only,
	 * in a file without malloc, and reported by the malloc, aligned_alloc or
	 * free they call. The first word of the name is the kind.
	 */
	{ "new", TB_EV_MALLOC, TB_CXX_ONE, "_Znwm" },
	{ "new nothrow", TB_EV_MALLOC, TB_CXX_ONE, "_ZnwmRKSt9nothrow_t" },
	{ "new aligned", TB_EV_ALIGNED_ALLOC, TB_CXX_ONE, "_ZnwmSt11align_val_t" },
	{ "new aligned nothrow", TB_EV_ALIGNED_ALLOC, TB_CXX_ONE,
	  "_ZnwmSt11align_val_tRKSt9nothrow_t" },
	{ "new[]", TB_EV_MALLOC, TB_CXX_ARRAY, "_Znam" },
	{ "new[] nothrow", TB_EV_MALLOC, TB_CXX_ARRAY, "_ZnamRKSt9nothrow_t" },
	{ "new[] aligned", TB_EV_ALIGNED_ALLOC, TB_CXX_ARRAY, "_ZnamSt11align_val_t" },
	{ "new[] aligned nothrow", TB_EV_ALIGNED_ALLOC, TB_CXX_ARRAY,
	  "_ZnamSt11align_val_tRKSt9nothrow_t" },
	{ "delete", TB_EV_FREE, TB_CXX_ONE, "_ZdlPv" },
	{ "delete sized", TB_EV_FREE, TB_CXX_ONE, "_ZdlPvm" },
	{ "delete nothrow", TB_EV_FREE, TB_CXX_ONE, "_ZdlPvRKSt9nothrow_t" },
	{ "delete aligned", TB_EV_FREE, TB_CXX_ONE, "_ZdlPvSt11align_val_t" },
	{ "delete aligned nothrow", TB_EV_FREE, TB_CXX_ONE, "_ZdlPvSt11align_val_tRKSt9nothrow_t" },
	{ "delete sized aligned", TB_EV_FREE, TB_CXX_ONE, "_ZdlPvmSt11align_val_t" },
	{ "delete[]", TB_EV_FREE, TB_CXX_ARRAY, "_ZdaPv" },
	{ "delete[] sized", TB_EV_FREE, TB_CXX_ARRAY, "_ZdaPvm" },
	{ "delete[] nothrow", TB_EV_FREE, TB_CXX_ARRAY, "_ZdaPvRKSt9nothrow_t" },
	{ "delete[] aligned", TB_EV_FREE, TB_CXX_ARRAY, "_ZdaPvSt11align_val_t" },
	{ "delete[] aligned nothrow", TB_EV_FREE, TB_CXX_ARRAY,
	  "_ZdaPvSt11align_val_tRKSt9nothrow_t" },
	{ "delete[] sized aligned", TB_EV_FREE, TB_CXX_ARRAY, "_ZdaPvmSt11align_val_t" },
};

const unsigned tb_nentries = sizeof(tb_entries) / sizeof(tb_entries[0]);

const char *tb_entry_sym(unsigned k)
{
	return tb_entries[k].sym ? tb_entries[k].sym : tb_entries[k].name;
}

/*
 * By the family word every operator's name begins with, and no other entry's does (the
 * table's check in test_entries): the correlator asks on every allocation and free.
 */
enum tb_cxx tb_entry_cxx(const char *detail)
{
	if (!strncmp(detail, "new", 3))
		return detail[3] == '[' ? TB_CXX_ARRAY : TB_CXX_ONE;
	if (!strncmp(detail, "delete", 6))
		return detail[6] == '[' ? TB_CXX_ARRAY : TB_CXX_ONE;
	return TB_CXX_NONE;
}

_Static_assert(sizeof(tb_entries) / sizeof(tb_entries[0]) <= TB_MAX_ENTRIES,
	       "an entry's index fits the cookie's 8 bits");

static const char *const region_names[TB_REG_MAX] = {
	[TB_REG_NONE] = "",
	[TB_REG_HEAP] = "heap",
	[TB_REG_ARENA] = "arena",
	[TB_REG_MMAP_CHUNK] = "mmap_chunk",
	[TB_REG_STACK] = "stack",
	[TB_REG_FILE] = "file",
	[TB_REG_ANON] = "anon",
	[TB_REG_UNKNOWN] = "unknown",
};

static const char *const flag_names[TB_F_NBITS] = {
	"cross_thread", "inherited", "double_free",  "invalid_free", "unknown_origin",
	"reused",	"new_arena", "failed",	     "sampled",	   "internal",
	"libc",		"overflow",	"mismatched_free",
};

void tb_event_lost(struct tb_event *e, uint64_t ts_ns, uint64_t n)
{
	memset(e, 0, sizeof(*e));
	e->type = TB_EV_LOST;
	e->ts_ns = ts_ns;
	e->size = n;
	e->fd = -1;
}

void tb_event_sample(struct tb_event *e, enum tb_event_type type, uint64_t ts_ns, uint64_t on_ns)
{
	tb_event_lost(e, ts_ns, on_ns);
	e->type = type;
}

const char *tb_event_name(enum tb_event_type type)
{
	if ((unsigned)type >= TB_EV_MAX || !event_names[type])
		return "?";
	return event_names[type];
}

enum tb_event_type tb_event_from_name(const char *name, size_t len)
{
	for (int t = TB_EV_MALLOC; t < TB_EV_MAX; t++)
		if (tb_ev_is_row(t) && strlen(event_names[t]) == len &&
		    memcmp(event_names[t], name, len) == 0)
			return t;
	return TB_EV_NONE;
}

const char *tb_region_name(enum tb_region region)
{
	if ((unsigned)region >= TB_REG_MAX)
		return "";
	return region_names[region];
}

enum tb_region tb_region_from_name(const char *name, size_t len)
{
	for (int r = TB_REG_HEAP; r < TB_REG_MAX; r++)
		if (strlen(region_names[r]) == len && memcmp(region_names[r], name, len) == 0)
			return r;
	return TB_REG_NONE;
}

const char *tb_flag_name(unsigned bit_index)
{
	return bit_index < TB_F_NBITS ? flag_names[bit_index] : "?";
}
