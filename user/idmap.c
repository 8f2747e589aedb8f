// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* idmap.c: the id map's growth and deletion; its lookups are inline in idmap.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "idmap.h"

static int idmap_rehash(struct tb_idmap *m, uint32_t cap)
{
	struct tb_idmap n = { .cap = cap, .n = m->n };

	n.keys = malloc(cap * sizeof(*n.keys));
	n.vals = malloc(cap * sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	memset(n.keys, 0xff, cap * sizeof(*n.keys));
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == UINT64_MAX)
			continue;
		uint32_t j = idmap_slot(&n, m->keys[i]);

		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

int idmap_put(struct tb_idmap *m, uint64_t key, uint32_t val)
{
	uint32_t i;

	if ((m->n + 1) * 2 > m->cap && idmap_rehash(m, m->cap ? m->cap * 2 : 64))
		return -ENOMEM;
	i = idmap_slot(m, key);
	if (m->keys[i] != key)
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

/*
 * An emptied slot would end the probe of every key placed past it in its
 * cluster, so the rest of the cluster is placed again: no tombstones to
 * sweep, and a map that forgets as often as it learns stays as small.
 */
void idmap_del(struct tb_idmap *m, uint64_t key)
{
	uint32_t i, j;

	if (!m->cap || key == UINT64_MAX)
		return;
	i = idmap_slot(m, key);
	if (m->keys[i] != key)
		return;
	m->keys[i] = UINT64_MAX;
	m->n--;
	for (j = (i + 1) & (m->cap - 1); m->keys[j] != UINT64_MAX; j = (j + 1) & (m->cap - 1)) {
		uint64_t k = m->keys[j];
		uint32_t v = m->vals[j];

		m->keys[j] = UINT64_MAX;
		i = idmap_slot(m, k);
		m->keys[i] = k;
		m->vals[i] = v;
	}
}

void idmap_free(struct tb_idmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
