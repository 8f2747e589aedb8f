/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* idmap.h: the one map from an id (a pid, a tid, an address) to a 32-bit index. */
#ifndef TB_IDMAP_H
#define TB_IDMAP_H

#include <stdint.h>

#define GOLDEN 0x9E3779B97F4A7C15ULL	/* 2^64 / phi: Fibonacci hashing's multiplier */
#define IDMAP_NONE UINT32_MAX		/* what a lookup of a key not in the map gives */

/* Open addressing, linear probing; UINT64_MAX marks an empty slot, so it is no key. */
struct tb_idmap {
	uint64_t *keys;
	uint32_t *vals;
	uint32_t cap, n;
};

/*
 * The lookups are inline: they run for nearly every event, and a call into
 * another file costs the correlator's hot path.
 */
static inline uint32_t idmap_slot(const struct tb_idmap *m, uint64_t key)
{
	uint32_t i = (uint32_t)((key * GOLDEN) >> 32) & (m->cap - 1);

	while (m->keys[i] != UINT64_MAX && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static inline uint32_t idmap_get(const struct tb_idmap *m, uint64_t key)
{
	uint32_t i;

	if (!m->cap)
		return IDMAP_NONE;
	i = idmap_slot(m, key);
	return m->keys[i] == key ? m->vals[i] : IDMAP_NONE;
}

/* Maps key to val, replacing what a reused pid or tid pointed to; 0 or -ENOMEM. */
int idmap_put(struct tb_idmap *m, uint64_t key, uint32_t val);
/* Forgets key, if the map has it. */
void idmap_del(struct tb_idmap *m, uint64_t key);
void idmap_free(struct tb_idmap *m);

#endif
