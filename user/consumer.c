// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * consumer.c: the per-CPU rings' reader: each CPU's ring buffer and its
 * allocation ring (fixed slots, see tlsbpf.h). Each ring is in time order on
 * its own; the reader merges them by timestamp, so that a block malloc'd on
 * one CPU and freed on another reaches the correlator in that order.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include "consumer.h"

/*
 * bpf_ktime_get_ns() and clock_gettime(CLOCK_MONOTONIC) read one timekeeper,
 * the BPF side through its NMI-safe copy, which may lag an update: a record is
 * held until it is this much older than the round's start.
 */
#define CLOCK_SLACK_NS	1000000ULL

enum head { TB_H_EMPTY, TB_H_RECORD, TB_H_BUSY };

struct tb_ring {
	unsigned long *cons;		/* the consumer position, shared with the kernel */
	const unsigned long *prod;
	char *data;			/* a ring buffer's is mapped twice over: no record wraps */
	uint64_t mask;
	bool slots;			/* an allocation ring: the reader clears each slot it passes */
	uint64_t pos;			/* the next record */
	uint64_t seen;			/* the producer position read at this round's start */
	uint64_t peeked;		/* --stacks=dwarf: records up to here were looked at on arrival */
	uint64_t seen_prev;		/* ... and at the previous round's */
	uint64_t t_cur, t_prev;		/* times taken before each of those reads */
	size_t prod_len;	/* the producer page and the data, twice */
	/* the record at pos, once looked at */
	enum head state;
	uint64_t ts;
	const void *rec;
	uint32_t len;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t span(const struct tb_ring *r, uint32_t len)
{
	return r->slots ? TB_SLOT_SIZE : ((uint64_t)len + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
}

static void ring_advance(struct tb_ring *r, uint32_t len)
{
	/* a slot reads as still being written until its next record is whole */
	if (r->slots)
		__atomic_store_n((uint32_t *)(r->data + (r->pos & r->mask)), 0, __ATOMIC_RELAXED);
	r->pos += span(r, len);
	__atomic_store_n(r->cons, r->pos, __ATOMIC_RELEASE);
}

/* What is at pos: a record, one still being written, or nothing this round. */
static void ring_look(struct tb_ring *r)
{
	const uint32_t *hdr;
	uint32_t len;

	for (;;) {
		if (r->pos >= r->seen) {
			r->state = TB_H_EMPTY;
			return;
		}
		hdr = (const uint32_t *)(r->data + (r->pos & r->mask));
		len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (r->slots ? !len : len & BPF_RINGBUF_BUSY_BIT) {
			r->state = TB_H_BUSY;
			return;
		}
		if (r->slots || !(len & BPF_RINGBUF_DISCARD_BIT))
			break;
		ring_advance(r, len & ~BPF_RINGBUF_DISCARD_BIT);
	}
	r->rec = (const char *)hdr + BPF_RINGBUF_HDR_SZ;
	r->len = len;
	r->ts = len >= sizeof(struct tb_hdr) ? ((const struct tb_hdr *)r->rec)->ts_ns : 0;
	r->state = TB_H_RECORD;
}

static void round_begin(struct consumer *c, uint64_t t0)
{
	for (int i = 0; i < c->nrings; i++) {
		struct tb_ring *r = &c->rings[i];

		r->seen_prev = r->seen;
		r->t_prev = r->t_cur;
		r->t_cur = t0;
		r->seen = __atomic_load_n(r->prod, __ATOMIC_ACQUIRE);
		ring_look(r);
	}
}

/*
 * The earliest time a record still being written may carry. It was reserved
 * before its time was read; if after the previous round read the producer
 * position, its time is later than that round's start. If not, its writer
 * has stalled for a round: nothing may pass it.
 */
static uint64_t busy_bound(const struct tb_ring *r)
{
	return r->pos >= r->seen_prev ? r->t_prev : 0;
}

static void hand_on(struct consumer *c, struct tb_ring *r)
{
	struct tb_event e;
	int n;

	if (r->ts < c->last_ts)
		c->out_of_order++;
	else
		c->last_ts = r->ts;
	c->records++;
	/* --stacks=dwarf: a call's sample goes before the call, to be unwound; it is no event */
	if (!r->slots && r->len >= sizeof(struct tb_hdr) &&
	    ((const struct tb_hdr *)r->rec)->type == TB_SAMPLE_TYPE) {
		if (c->sample_sink)
			c->sample_sink(c->sink_ctx, r->rec, r->len);
		ring_advance(r, r->len);
		ring_look(r);
		return;
	}
	n = decoder__record(c->dec, r->rec, r->len, &e);
	if (n < 0) {
		/* never dropped silently: it is a lost event like any other */
		c->malformed++;
		tb_event_lost(&e, r->ts, 1);
	}
	/* an allocation ring's slot carries its record's stack beside it */
	if (n > 0 && r->slots)
		e.stack_id = ((const struct tb_slot *)((const char *)r->rec -
						       offsetof(struct tb_slot, rec)))->stack_id;
	if (n)
		c->sink(c->sink_ctx, &e);
	ring_advance(r, r->len);
	ring_look(r);
}

static void hand_on_mark(struct consumer *c)
{
	struct tb_event e = c->marks[0];

	memmove(c->marks, c->marks + 1, --c->nmarks * sizeof(c->marks[0]));
	if (e.ts_ns > c->last_ts)
		c->last_ts = e.ts_ns;
	c->sink(c->sink_ctx, &e);
}

void consumer__mark(struct consumer *c, const struct tb_event *e)
{
	if (c->nmarks == (int)(sizeof(c->marks) / sizeof(c->marks[0])))
		hand_on_mark(c);	/* rounds stalled that long: early beats never */
	c->marks[c->nmarks++] = *e;
}

/* The next mark goes before the earliest record, and is due. */
static bool mark_first(const struct consumer *c, const struct tb_ring *best, uint64_t limit,
		       bool final)
{
	return c->nmarks && (!best || c->marks[0].ts_ns <= best->ts) &&
	       (final || c->marks[0].ts_ns < limit);
}

/*
 * Hand on records in time order while the earliest is older than t0 and than
 * anything a ring still being written to may hold. Rings that ran dry this
 * round get only records reserved after t0, so later than it. With final set,
 * records still being written are left behind rather than waited for.
 */
static void merge(struct consumer *c, uint64_t t0, bool final)
{
	for (;;) {
		struct tb_ring *best = NULL;
		uint64_t limit = t0, second = UINT64_MAX;

		for (int i = 0; i < c->nrings; i++) {
			struct tb_ring *r = &c->rings[i];

			if (r->state == TB_H_BUSY)
				ring_look(r);
			if (r->state == TB_H_BUSY && !final && busy_bound(r) < limit)
				limit = busy_bound(r);
			if (r->state != TB_H_RECORD)
				continue;
			if (!best || r->ts < best->ts) {
				if (best)
					second = best->ts;
				best = r;
			} else if (r->ts < second) {
				second = r->ts;
			}
		}
		if (mark_first(c, best, limit, final)) {
			hand_on_mark(c);
			continue;
		}
		if (!best || (best->ts >= limit && !final))
			return;
		if (c->nmarks && c->marks[0].ts_ns < second)
			second = c->marks[0].ts_ns;
		/* the earliest ring's run up to the next ring's head needs no other look */
		do
			hand_on(c, best);
		while (best->state == TB_H_RECORD && best->ts <= second && (best->ts < limit || final));
	}
}

static void consume_round(struct consumer *c, uint64_t t0, bool final)
{
	round_begin(c, t0);
	merge(c, t0, final);
}

static void ring_start(struct tb_ring *r)
{
	r->pos = __atomic_load_n(r->cons, __ATOMIC_ACQUIRE);
	r->seen = r->seen_prev = r->pos;
}

static int ring_map(struct tb_ring *r, int fd, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);

	void *cons, *prod;

	cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cons == MAP_FAILED)
		return -errno;
	r->prod_len = page + 2 * size;
	prod = mmap(NULL, r->prod_len, PROT_READ, MAP_SHARED, fd, page);
	if (prod == MAP_FAILED) {
		munmap(cons, page);
		return -errno;
	}
	r->cons = cons;
	r->prod = prod;
	r->data = (char *)prod + page;
	r->mask = size - 1;
	ring_start(r);
	return 0;
}

static void *map_array(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Each allocation ring, read in place in the slots and positions arrays. */
static int slots_map(struct consumer *c, const struct tb_ring_set *set)
{
	size_t ring = (size_t)set->slot_count * TB_SLOT_SIZE;

	c->slots_len = set->slot_cpus * ring;
	c->pos_len = set->slot_cpus * sizeof(struct tb_slot_pos);
	c->slots_area = map_array(set->slots_fd, c->slots_len);
	c->pos_area = map_array(set->slot_pos_fd, c->pos_len);
	if (!c->slots_area || !c->pos_area)
		return -errno;
	for (int cpu = 0; cpu < set->slot_cpus; cpu++) {
		struct tb_slot_pos *sp = (struct tb_slot_pos *)c->pos_area + cpu;
		struct tb_ring *r = &c->rings[c->nrings++];

		r->slots = true;
		r->cons = (unsigned long *)&sp->cons;
		r->prod = (const unsigned long *)&sp->prod;
		r->data = (char *)c->slots_area + cpu * ring;
		r->mask = ring - 1;
		ring_start(r);
	}
	return 0;
}

/*
 * --stacks=dwarf's peeker: a thread that looks at each ring buffer's records
 * as they arrive, while the merge holds them back a millisecond or more and
 * the loop may be busy elsewhere, so that the unwinder reads a process's
 * mappings while the process still runs. It only reads, and never behind the
 * consumer, whose records' space it never frees. Execs and forks first, each
 * round: a record of the new image on another ring must find them done.
 */
static bool peek_early(uint32_t type)
{
	return type == TB_EV_EXEC || type == TB_EV_FORK;
}

static uint64_t peek_ring(struct consumer *c, struct tb_ring *r, uint64_t from, uint64_t prod,
			  bool early)
{
	uint64_t cons = __atomic_load_n(r->cons, __ATOMIC_ACQUIRE), p = from < cons ? cons : from;

	while (p < prod) {
		const uint32_t *hdr = (const uint32_t *)(r->data + (p & r->mask));
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		const struct tb_hdr *h = (const void *)((const char *)hdr + BPF_RINGBUF_HDR_SZ);

		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!(len & BPF_RINGBUF_DISCARD_BIT) && len >= sizeof(*h) &&
		    peek_early(h->type) == early)
			c->peek(c->sink_ctx, h, len);
		p += span(r, len & ~BPF_RINGBUF_DISCARD_BIT);
	}
	return p;
}

static void *peeker(void *arg)
{
	struct consumer *c = arg;
	struct epoll_event ev[16];

	/* first in line for the CPU when woken: a short process may end within milliseconds */
	setpriority(PRIO_PROCESS, gettid(), -10);

	while (!__atomic_load_n(&c->peek_stop, __ATOMIC_ACQUIRE)) {
		/* woken by the probes for a thread's first sample and for code mapped */
		epoll_wait(c->peek_epfd, ev, 16, 1);
		for (int i = 0; i < c->nrings; i++) {
			struct tb_ring *r = &c->rings[i];
			uint64_t prod;

			if (r->slots)
				continue;
			prod = __atomic_load_n(r->prod, __ATOMIC_ACQUIRE);
			peek_ring(c, r, r->peeked, prod, true);
			r->peeked = peek_ring(c, r, r->peeked, prod, false);
		}
	}
	return NULL;
}

/* The peeker, when there is something to peek for; its own epoll set on the ring buffers. */
static int peeker_start(struct consumer *c, const struct tb_ring_set *set)
{
	int err;

	if (!c->peek)
		return 0;
	c->peek_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->peek_epfd < 0)
		return -errno;
	for (int i = 0; i < set->nr_cpus; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

		if (set->ring_fds[i] >= 0 &&
		    epoll_ctl(c->peek_epfd, EPOLL_CTL_ADD, set->ring_fds[i], &ev))
			return -errno;
	}
	err = -pthread_create(&c->peek_thread, NULL, peeker, c);
	c->peek_running = !err;
	return err;
}

static void peeker_stop(struct consumer *c)
{
	if (c->peek_running) {
		__atomic_store_n(&c->peek_stop, 1, __ATOMIC_RELEASE);
		pthread_join(c->peek_thread, NULL);
		c->peek_running = false;
	}
	if (c->peek_epfd > 0)
		close(c->peek_epfd);
	c->peek_epfd = -1;
}

static void pipeline_sink(void *ctx, struct tb_event *e)
{
	pipeline__event(ctx, e);
}

static void pipeline_peek(void *ctx, const void *rec, size_t len)
{
	pipeline__peek(ctx, rec, len);
}

static void pipeline_sample_sink(void *ctx, const void *rec, size_t len)
{
	pipeline__sample(ctx, rec, len);
}

int consumer__open(struct consumer *c, const struct tb_ring_set *set, struct pipeline *pipe)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->epfd = -1;
	c->peek_epfd = -1;
	c->sink = pipeline_sink;
	c->sample_sink = pipeline_sample_sink;
	c->peek = pipe && pipe->unwind ? pipeline_peek : NULL;
	c->sink_ctx = pipe;
	c->dec = decoder__new();
	c->rings = calloc(set->nr_cpus + set->slot_cpus + 1, sizeof(*c->rings));
	if (!c->dec || !c->rings)
		return -ENOMEM;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return -errno;
	for (int i = 0; i < set->nr_cpus; i++) {
		/*
		 * Edge-triggered: a ring reads ready whenever it holds a record,
		 * which under load is always, so level-triggered waits would
		 * return at once after one forced wakeup and spin through tiny
		 * rounds until the program ends.
		 */
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

		if (set->ring_fds[i] < 0)
			continue;
		err = ring_map(&c->rings[c->nrings], set->ring_fds[i], set->ring_bytes);
		if (err)
			return err;
		c->nrings++;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, set->ring_fds[i], &ev))
			return -errno;
	}
	err = set->slot_cpus ? slots_map(c, set) : 0;
	return err ?: peeker_start(c, set);
}

int consumer__poll(struct consumer *c, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(c->epfd, ev, 16, timeout_ms);

	/* records submitted without a wakeup are found by the round, never by the wait alone */
	if (n < 0 && errno != EINTR)
		return -errno;
	c->rounds++;
	c->woken += n > 0;
	consume_round(c, mono_ns() - CLOCK_SLACK_NS, false);
	return 0;
}

void consumer__drain(struct consumer *c)
{
	if (c->nrings)
		consume_round(c, UINT64_MAX, true);
}

void consumer__close(struct consumer *c)
{
	long page = sysconf(_SC_PAGESIZE);

	peeker_stop(c);

	for (int i = 0; c->rings && i < c->nrings; i++) {
		if (c->rings[i].slots)
			continue;
		munmap(c->rings[i].cons, page);
		munmap((void *)c->rings[i].prod, c->rings[i].prod_len);
	}
	if (c->slots_area)
		munmap(c->slots_area, c->slots_len);
	if (c->pos_area)
		munmap(c->pos_area, c->pos_len);
	free(c->rings);
	if (c->epfd >= 0)
		close(c->epfd);
	decoder__free(c->dec);
	memset(c, 0, sizeof(*c));
	c->epfd = -1;
}
