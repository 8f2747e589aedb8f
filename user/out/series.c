// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* series.c: live-byte changes from the block history, shared by the HTML chart and the Perfetto counters. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include "series.h"

static int change_cmp(const void *a, const void *b)
{
	const struct tb_change *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if ((x->delta > 0) != (y->delta > 0))
		return x->delta > 0 ? -1 : 1;
	return x->block < y->block ? -1 : x->block > y->block;
}

/*
 * Blocks are recorded in row order, so their allocations are in time order
 * already: only the ends are sorted, then the two merged. Rows met out of
 * order fall back to one sort of everything.
 */
struct tb_change *series__changes(const struct tb_history *h, uint64_t *n)
{
	struct tb_change *v = malloc((3 * h->nb + 1) * sizeof(*v)), *ends = v + 2 * h->nb;
	uint64_t k = 0, i = 0, j = 0, nends = 0;
	bool sorted = true;

	if (!v)
		return NULL;
	for (uint64_t b = 0; b < h->nb; b++) {
		if (h->b[b].t_free)
			ends[nends++] = (struct tb_change){ h->b[b].t_free, b, -(int64_t)h->b[b].size };
		sorted = sorted && (!b || h->b[b].t_alloc >= h->b[b - 1].t_alloc);
	}
	qsort(ends, nends, sizeof(*ends), change_cmp);
	while (i < h->nb || j < nends) {
		struct tb_change come = { i < h->nb ? h->b[i].t_alloc : 0, i,
					  i < h->nb ? (int64_t)h->b[i].size : 0 };

		if (i < h->nb && (j == nends || change_cmp(&come, &ends[j]) < 0)) {
			v[k++] = come;
			i++;
		} else {
			v[k++] = ends[j++];
		}
	}
	if (!sorted)
		qsort(v, k, sizeof(*v), change_cmp);
	*n = k;
	return v;
}
