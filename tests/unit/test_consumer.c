// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_consumer: the merge of per-CPU rings, over rings laid out in memory as
 * the kernel lays them out: time order across rings, records held back while
 * a ring may still produce an earlier one, discarded records skipped.
 */
#include <inttypes.h>
#include "check.h"
#include "../../user/decode.c"
#include "../../user/consumer.c"

/* The pipeline is not linked here: the tests catch what the consumer hands on. */
void pipeline__event(struct pipeline *p, struct tb_event *e)
{
	(void)p;
	(void)e;
}

void pipeline__sample(struct pipeline *p, const void *rec, size_t len)
{
	(void)p;
	(void)rec;
	(void)len;
}

void pipeline__peek(struct pipeline *p, const void *rec, size_t len)
{
	(void)p;
	(void)rec;
	(void)len;
}

#define RING_SIZE 4096
#define MAX_SEEN 64

struct fake {
	unsigned long cons, prod;
	char data[2 * RING_SIZE] __attribute__((aligned(8)));
};

static uint64_t seen[MAX_SEEN];
static struct tb_event last_seen;
static int nseen;

static void catch(void *ctx, struct tb_event *e)
{
	(void)ctx;
	if (nseen < MAX_SEEN)
		seen[nseen++] = e->ts_ns;
	last_seen = *e;
}

static void setup(struct consumer *c, struct fake *f, int n)
{
	memset(c, 0, sizeof(*c));
	memset(f, 0, n * sizeof(*f));
	c->rings = calloc(n, sizeof(*c->rings));
	c->nrings = n;
	c->dec = decoder__new();
	c->sink = catch;
	for (int i = 0; i < n; i++) {
		c->rings[i].cons = &f[i].cons;
		c->rings[i].prod = &f[i].prod;
		c->rings[i].data = f[i].data;
		c->rings[i].mask = RING_SIZE - 1;
	}
	nseen = 0;
}

static void teardown(struct consumer *c)
{
	free(c->rings);
	decoder__free(c->dec);
}

/* Appends a free record of time ts; returns its header, for the busy and discard bits. */
static uint32_t *put(struct fake *f, uint64_t ts)
{
	struct tb_rec_alloc rec = { .h = { .type = TB_EV_FREE, .pid = 1, .tid = 1, .ts_ns = ts } };
	uint32_t *hdr = (uint32_t *)(f->data + f->prod);

	hdr[0] = sizeof(rec);
	hdr[1] = 0;
	memcpy(hdr + 2, &rec, sizeof(rec));
	f->prod += (sizeof(rec) + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
	return hdr;
}

static int seen_is(const uint64_t *want, int n)
{
	if (nseen != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (seen[i] != want[i])
			return 0;
	return 1;
}

static void test_time_order(void)
{
	struct consumer c;
	struct fake f[3];
	static const uint64_t want[] = { 10, 20, 25, 30, 40, 50 };

	setup(&c, f, 3);
	put(&f[0], 10), put(&f[0], 30), put(&f[0], 50);
	put(&f[1], 20), put(&f[1], 40);
	put(&f[2], 25);
	consume_round(&c, 100, false);
	CHECK(seen_is(want, 6), "three rings come out in time order (%d records)", nseen);
	CHECK_EQ_U64(f[0].cons, f[0].prod, "ring 0 handed back to the kernel");
	CHECK_EQ_U64(c.out_of_order, 0, "nothing out of order");
	teardown(&c);
}

static void test_held_until_older(void)
{
	struct consumer c;
	struct fake f[2];
	static const uint64_t first[] = { 10 }, both[] = { 10, 150, 200 };

	setup(&c, f, 2);
	put(&f[0], 10), put(&f[0], 200);
	consume_round(&c, 100, false);
	CHECK(seen_is(first, 1), "a record newer than the round's start waits (%d handed on)", nseen);
	/* a record another CPU wrote in between, earlier than the one waiting */
	put(&f[1], 150);
	consume_round(&c, 300, false);
	CHECK(seen_is(both, 3), "the later round puts the other CPU's earlier record first");
	teardown(&c);
}

static void test_busy(void)
{
	struct consumer c;
	struct fake f[2];
	uint32_t *busy;
	static const uint64_t first[] = { 10 }, all[] = { 10, 55, 60, 70 };

	setup(&c, f, 2);
	consume_round(&c, 50, false);	/* a round that saw both rings empty, at time 50 */
	put(&f[0], 10), put(&f[0], 60), put(&f[0], 70);
	busy = put(&f[1], 55);
	busy[0] |= BPF_RINGBUF_BUSY_BIT;
	consume_round(&c, 100, false);
	CHECK(seen_is(first, 1),
	      "a record still being written, reserved after time 50, holds back all from 50 on "
	      "(%d handed on)", nseen);
	busy[0] &= ~BPF_RINGBUF_BUSY_BIT;
	consume_round(&c, 100, false);
	CHECK(seen_is(all, 4), "once written, it takes its place in time");
	teardown(&c);
}

static void test_stalled_writer(void)
{
	struct consumer c;
	struct fake f[2];
	uint32_t *busy;

	setup(&c, f, 2);
	busy = put(&f[1], 5);
	busy[0] |= BPF_RINGBUF_BUSY_BIT;
	put(&f[0], 10);
	consume_round(&c, 100, false);
	consume_round(&c, 200, false);
	CHECK_EQ_U64(nseen, 0, "a writer stalled since before the last round holds everything back");
	consume_round(&c, UINT64_MAX, true);
	CHECK(nseen == 1 && seen[0] == 10, "the final drain leaves only that record behind");
	teardown(&c);
}

static void test_discard_and_disorder(void)
{
	struct consumer c;
	struct fake f[1];
	uint32_t *gone;
	static const uint64_t want[] = { 30, 20 };

	setup(&c, f, 1);
	gone = put(&f[0], 5);
	gone[0] |= BPF_RINGBUF_DISCARD_BIT;
	put(&f[0], 30), put(&f[0], 20);
	consume_round(&c, 100, false);
	CHECK(seen_is(want, 2), "a discarded record is skipped; one ring's order is kept");
	CHECK_EQ_U64(c.out_of_order, 1, "a record older than one handed on is counted");
	CHECK_EQ_U64(c.records, 2, "records counted");
	teardown(&c);
}

/* An allocation ring: fixed slots, a zero len until the record is whole. */
#define NSLOTS 8

struct fake_slots {
	struct tb_slot_pos pos;
	struct tb_slot slot[NSLOTS];
};

/* Reserves the next slot with time ts; published unless told otherwise. */
static struct tb_slot *put_slot(struct fake_slots *f, uint64_t ts, int publish)
{
	struct tb_slot *s = &f->slot[(f->pos.prod / TB_SLOT_SIZE) % NSLOTS];

	memset(&s->rec, 0, sizeof(s->rec));
	s->rec.h = (struct tb_hdr){ .type = TB_EV_MALLOC, .pid = 1, .tid = 1, .ts_ns = ts };
	s->len = publish ? sizeof(s->rec) : 0;
	f->pos.prod += TB_SLOT_SIZE;
	return s;
}

static void test_slots(void)
{
	static struct fake_slots fs;
	static const uint64_t first[] = { 10, 20, 30 }, then[] = { 10, 20, 30, 40 };
	struct consumer c;
	struct fake f[1];
	struct tb_slot *late;

	setup(&c, f, 1);
	memset(&fs, 0, sizeof(fs));
	c.rings = realloc(c.rings, 2 * sizeof(*c.rings));
	memset(&c.rings[1], 0, sizeof(c.rings[1]));
	c.rings[1] = (struct tb_ring){ .cons = (unsigned long *)&fs.pos.cons,
				       .prod = (const unsigned long *)&fs.pos.prod,
				       .data = (char *)fs.slot, .mask = sizeof(fs.slot) - 1,
				       .slots = true };
	c.nrings = 2;
	put_slot(&fs, 10, 1);
	put_slot(&fs, 30, 1);
	late = put_slot(&fs, 40, 0);
	put(&f[0], 20);
	consume_round(&c, 100, false);
	CHECK(seen_is(first, 3), "a ring buffer and an allocation ring merge in time order, up to "
	      "a slot still being written (seen %d)", nseen);
	CHECK_EQ_U64(fs.pos.cons, 2 * TB_SLOT_SIZE, "the reader's position passed the two slots");
	CHECK(fs.slot[0].len == 0 && fs.slot[1].len == 0 && fs.slot[2].len == 0,
	      "the slots passed read as unwritten again, so a lap later they wait for their record");
	late->len = sizeof(late->rec);
	consume_round(&c, 200, false);
	CHECK(seen_is(then, 4), "once whole, the late slot follows (seen %d)", nseen);
	for (int i = 0; i < NSLOTS; i++)
		put_slot(&fs, 300 + i, 1);
	consume_round(&c, UINT64_MAX, true);
	CHECK(nseen == 4 + NSLOTS, "a full ring's slots, wrapping past the end, are read in turn "
	      "(seen %d)", nseen);
	CHECK(seen[nseen - 1] == 300 + NSLOTS - 1, "the last one last (%" PRIu64 ")",
	      seen[nseen - 1]);
	teardown(&c);
}

/* A record the decoder cannot read is not dropped silently: it reaches the pipeline as lost. */
static void test_malformed(void)
{
	struct consumer c;
	struct fake f[1];
	static const uint64_t want[] = { 10, 20, 40 };

	setup(&c, f, 1);
	put(&f[0], 10);
	((struct tb_hdr *)(put(&f[0], 20) + 2))->type = TB_EV_MAX;
	put(&f[0], 40);
	consume_round(&c, 100, false);
	CHECK(seen_is(want, 3), "the bad record is handed on in its place, at the time the merge "
	      "ordered it by (seen %d)", nseen);
	CHECK_EQ_U64(c.malformed, 1, "the bad record is counted");
	CHECK(last_seen.type == TB_EV_FREE, "the record after it is decoded as usual");
	teardown(&c);
	setup(&c, f, 1);
	((struct tb_hdr *)(put(&f[0], 20) + 2))->type = TB_EV_MAX;
	consume_round(&c, 100, false);
	CHECK(nseen == 1 && last_seen.type == TB_EV_LOST && last_seen.size == 1,
	      "it becomes one lost event of size 1 (type %d, size %" PRIu64 ")", last_seen.type,
	      last_seen.size);
	teardown(&c);
}

int main(void)
{
	test_time_order();
	test_held_until_older();
	test_busy();
	test_stalled_writer();
	test_discard_and_disorder();
	test_malformed();
	test_slots();
	return check_done();
}
