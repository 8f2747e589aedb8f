// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* dwarf_index.c: a unit's function DIEs in preorder, its outermost functions' ranges sorted. */
#include <dwarf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include "dwarf_index.h"

struct dwarf_func {
	Dwarf_Die die;
	int parent; /* the function (or inlined call) it is in; -1 for an outermost one */
	int end;    /* one past its last descendant: its subtree is [self, end) */
};

struct dwarf_range { /* one address range of an outermost function */
	Dwarf_Addr lo, hi;
	int func;
};

struct dwarf_index {
	Dwarf_Off offset;
	struct dwarf_func *funcs;
	int nfuncs, funcs_cap;
	struct dwarf_range *ranges; /* sorted by lo; outermost functions do not overlap */
	int nranges, ranges_cap;
	int err;
};

static void *grow(void *p, int *cap, int need, size_t size)
{
	int n = *cap ? *cap : 64;
	void *t;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	t = realloc(p, n * size);
	if (t)
		*cap = n;
	return t;
}

static int push_func(struct dwarf_index *x, Dwarf_Die *die, int parent)
{
	struct dwarf_func *f = grow(x->funcs, &x->funcs_cap, x->nfuncs + 1, sizeof(*f));

	if (!f) {
		x->err = -ENOMEM;
		return -1;
	}
	x->funcs = f;
	f[x->nfuncs] = (struct dwarf_func){ *die, parent, x->nfuncs + 1 };
	return x->nfuncs++;
}

/* Each range of an outermost function, for the binary search. */
static void push_ranges(struct dwarf_index *x, Dwarf_Die *die, int func)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t at = 0;

	while ((at = dwarf_ranges(die, at, &base, &lo, &hi)) > 0) {
		struct dwarf_range *r = grow(x->ranges, &x->ranges_cap, x->nranges + 1, sizeof(*r));

		if (!r) {
			x->err = -ENOMEM;
			return;
		}
		x->ranges = r;
		r[x->nranges++] = (struct dwarf_range){ lo, hi, func };
	}
}

static bool has_code(Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;

	return dwarf_ranges(die, 0, &base, &lo, &hi) > 0;
}

/* DIEs that can hold functions or inlined calls: only these are walked into. */
static bool may_hold_code(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_module:
		return true;
	default:
		return false;
	}
}

static void walk(struct dwarf_index *x, Dwarf_Die *die, int parent, int depth)
{
	Dwarf_Die child;

	if (depth > 256 || dwarf_child(die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child), self = parent;

		if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) &&
		    has_code(&child)) {
			self = push_func(x, &child, parent);
			if (self < 0)
				return;
			if (parent < 0)
				push_ranges(x, &child, self);
		}
		if (may_hold_code(tag))
			walk(x, &child, self, depth + 1);
		if (self != parent)
			x->funcs[self].end = x->nfuncs;
	} while (!x->err && dwarf_siblingof(&child, &child) == 0);
}

static int by_lo(const void *a, const void *b)
{
	const struct dwarf_range *ra = a, *rb = b;

	return ra->lo < rb->lo ? -1 : ra->lo > rb->lo;
}

struct dwarf_index *dwarf_index__new(Dwarf_Die *cu)
{
	struct dwarf_index *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->offset = dwarf_dieoffset(cu);
	walk(x, cu, -1, 0);
	if (x->err) {
		dwarf_index__free(x);
		errno = ENOMEM;
		return NULL;
	}
	qsort(x->ranges, x->nranges, sizeof(*x->ranges), by_lo);
	return x;
}

void dwarf_index__free(struct dwarf_index *x)
{
	if (!x)
		return;
	free(x->funcs);
	free(x->ranges);
	free(x);
}

Dwarf_Off dwarf_index__offset(const struct dwarf_index *x)
{
	return x->offset;
}

/* The outermost function holding pc, or -1. */
static int outermost(const struct dwarf_index *x, Dwarf_Addr pc)
{
	int lo = 0, hi = x->nranges;

	while (lo < hi) { /* the first range starting after pc */
		int mid = (lo + hi) / 2;

		if (x->ranges[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || pc >= x->ranges[lo - 1].hi)
		return -1;
	return x->ranges[lo - 1].func;
}

int dwarf_index__chain(const struct dwarf_index *x, Dwarf_Addr pc, Dwarf_Die *out, int max)
{
	int inner = outermost(x, pc), i, n = 0;

	if (inner < 0)
		return 0;
	/* preorder: the innermost holder comes last; a subtree not holding pc is skipped whole */
	for (i = inner + 1; i < x->funcs[inner].end;) {
		Dwarf_Die die = x->funcs[i].die;

		if (dwarf_haspc(&die, pc) > 0) {
			inner = i++;
		} else {
			i = x->funcs[i].end;
		}
	}
	for (i = inner; i >= 0 && n < max; i = x->funcs[i].parent)
		out[n++] = x->funcs[i].die;
	return n;
}
