// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_idmap.c: the id map: lookups after growth, and deletion inside and across clusters. */
#include <stdlib.h>
#include "check.h"
#include "idmap.h"

#define NKEYS 4096

static uint32_t home(const struct tb_idmap *m, uint64_t key)
{
	return (uint32_t)((key * GOLDEN) >> 32) & (m->cap - 1);
}

/* Keys whose probes all start at slot h of a 64-slot map: one cluster. */
static int same_home(uint32_t h, uint64_t *keys, int n)
{
	struct tb_idmap m = { .cap = 64 };
	int got = 0;

	for (uint64_t k = 1; got < n && k < 1000000; k++)
		if (home(&m, k) == h)
			keys[got++] = k;
	return got;
}

static void empty_map(void)
{
	struct tb_idmap m = { 0 };

	CHECK(idmap_get(&m, 7) == IDMAP_NONE, "an empty map has no key");
	idmap_del(&m, 7);
	CHECK(m.n == 0 && m.cap == 0, "deleting from an empty map leaves it empty");
}

static void growth(void)
{
	struct tb_idmap m = { 0 };
	int bad = 0;

	for (uint32_t i = 0; i < NKEYS; i++)
		idmap_put(&m, (uint64_t)i << 32 | (i * 7), i);
	for (uint32_t i = 0; i < NKEYS; i++)
		bad += idmap_get(&m, (uint64_t)i << 32 | (i * 7)) != i;
	CHECK(bad == 0, "every key found after the map grew (%d lost)", bad);
	CHECK_EQ_U64(m.n, NKEYS, "keys counted");
	idmap_put(&m, 0, 99);
	CHECK(idmap_get(&m, 0) == 99 && m.n == NKEYS, "put replaces a key's value");
	idmap_free(&m);
}

/*
 * A deleted key in the middle of a cluster, and one at the map's end whose
 * cluster wraps round to slot 0: the keys placed after it stay found.
 */
static void cluster(uint32_t h, const char *where)
{
	struct tb_idmap m = { 0 };
	uint64_t k[6];
	int bad = 0;

	CHECK(same_home(h, k, 6) == 6, "%s: six keys with one home slot", where);
	for (int i = 0; i < 6; i++)
		idmap_put(&m, k[i], i);
	CHECK(m.cap == 64, "%s: the map did not grow", where);
	idmap_del(&m, k[1]);
	idmap_del(&m, k[4]);
	for (int i = 0; i < 6; i++)
		bad += idmap_get(&m, k[i]) != (i == 1 || i == 4 ? IDMAP_NONE : (uint32_t)i);
	CHECK(bad == 0, "%s: the rest of the cluster found after two deletions", where);
	CHECK_EQ_U64(m.n, 4, "keys counted after deletions");
	idmap_del(&m, k[1]);
	CHECK_EQ_U64(m.n, 4, "a key deleted twice counts once");
	idmap_free(&m);
}

/* xorshift: the same churn every run. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random puts and deletions against a plain array; a map that forgets as it learns stays small. */
static void churn(void)
{
	static uint32_t want[NKEYS];
	struct tb_idmap m = { 0 };
	uint64_t s = 88172645463325252ULL;
	uint32_t live = 0, most = 0;
	int bad = 0;

	for (int i = 0; i < NKEYS; i++)
		want[i] = IDMAP_NONE;
	for (int op = 0; op < 200000; op++) {
		uint64_t r = next(&s);
		uint32_t key = r % 512;	/* a few live at once, as threads are */

		if (r >> 32 & 1) {
			live += want[key] == IDMAP_NONE;
			want[key] = op;
			idmap_put(&m, key, op);
		} else {
			live -= want[key] != IDMAP_NONE;
			want[key] = IDMAP_NONE;
			idmap_del(&m, key);
		}
		most = live > most ? live : most;
	}
	for (int i = 0; i < NKEYS; i++)
		bad += idmap_get(&m, i) != want[i];
	CHECK(bad == 0, "200000 puts and deletions: every key as an array says (%d differ)", bad);
	CHECK_EQ_U64(m.n, live, "keys counted");
	CHECK(m.cap <= 4 * most, "the map stayed small: %u slots for at most %u keys", m.cap, most);
	idmap_free(&m);
}

int main(void)
{
	empty_map();
	growth();
	cluster(20, "mid-map cluster");
	cluster(62, "cluster wrapping round");
	churn();
	return check_done();
}
