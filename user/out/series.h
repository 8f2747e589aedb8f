/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* series.h: the history's blocks as changes of live bytes, in time order, for charts and counters. */
#ifndef TB_SERIES_H
#define TB_SERIES_H

#include <stdint.h>
#include "history.h"

/* A block came (its allocation) or went (its free, or its image's exec). */
struct tb_change {
	uint64_t ts;
	uint64_t block;		/* index in history.b */
	int64_t delta;		/* +size or -size */
};

/*
 * Every change, sorted by time (an allocation before a free at the same
 * moment, so a block of no duration still counts). NULL with errno set.
 */
struct tb_change *series__changes(const struct tb_history *h, uint64_t *n);

/* The arena a block counts for: its region base for heap and arena blocks, else 0. */
static inline uint64_t series__arena(const struct tb_hblock *b)
{
	return b->region == TB_REG_HEAP || b->region == TB_REG_ARENA ? b->region_base : 0;
}

#endif
