/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* dwarf_index.h: one compile unit's functions and inlined calls, indexed by code address. */
#ifndef TB_DWARF_INDEX_H
#define TB_DWARF_INDEX_H

#include <elfutils/libdw.h>

struct dwarf_index;

/*
 * Walk the unit's DIEs once and index every function with code (DW_TAG_subprogram) and every
 * inlined call (DW_TAG_inlined_subroutine). libdw's dwarf_getscopes walks the unit again for
 * each address, which costs a large unit a millisecond a lookup. NULL with errno on failure.
 */
struct dwarf_index *dwarf_index__new(Dwarf_Die *cu);

void dwarf_index__free(struct dwarf_index *x);

/* The unit's offset, which names it. */
Dwarf_Off dwarf_index__offset(const struct dwarf_index *x);

/*
 * The functions holding pc (a DWARF address, bias removed), innermost first: the inlined
 * calls from the innermost out, then the subprogram they were all inlined into. Up to max
 * into out; returns how many (0 when no function of the unit holds pc).
 */
int dwarf_index__chain(const struct dwarf_index *x, Dwarf_Addr pc, Dwarf_Die *out, int max);

#endif
