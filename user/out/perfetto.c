// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * perfetto.c: `--perfetto FILE`, the history as a Perfetto trace (protobuf
 * TrackEvent): a track per process and thread, counters of live bytes per
 * process, thread and arena, each block's life as a slice on a lane under its
 * arena, flows from an allocation to a free by another thread and from a
 * parent to its child at fork, instants for new arenas and bad frees.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html_sites.h"
#include "model.h"
#include "protoenc.h"
#include "radix.h"
#include "report.h"
#include "series.h"

/* Field numbers of Perfetto's trace protos (docs/pictures.md; tests/perfetto/trace_subset.proto names them). */
enum {
	PF_TRACE_PACKET = 1,
	PF_PACKET_TIMESTAMP = 8, PF_PACKET_SEQ = 10, PF_PACKET_EVENT = 11, PF_PACKET_TRACK = 60,
	PF_TRACK_UUID = 1, PF_TRACK_NAME = 2, PF_TRACK_PROCESS = 3, PF_TRACK_THREAD = 4,
	PF_TRACK_PARENT = 5, PF_TRACK_COUNTER = 8,
	PF_PROC_PID = 1, PF_PROC_NAME = 6,
	PF_THREAD_PID = 1, PF_THREAD_TID = 2, PF_THREAD_NAME = 5,
	PF_COUNTER_UNIT = 3, PF_UNIT_SIZE_BYTES = 3,
	PF_EVENT_TYPE = 9, PF_EVENT_TRACK = 11, PF_EVENT_NAME = 23, PF_EVENT_COUNTER = 30,
	PF_EVENT_FLOW = 47, PF_EVENT_FLOW_END = 48, PF_EVENT_ANNOTATION = 4,
	PF_ANNOT_UINT = 3, PF_ANNOT_STRING = 6, PF_ANNOT_NAME = 10,
	PF_SLICE_BEGIN = 1, PF_SLICE_END = 2, PF_INSTANT = 3, PF_COUNTER = 4,
};

#define PF_SEQ 1			/* one writer: one packet sequence */
#define PF_FLUSH (1u << 20)		/* bytes buffered before a write */
#define PF_FORK_FLOW (1ULL << 62)	/* flow ids: a block's index + 1, or this | the mark's */
#define PF_SITE_FRAMES 4		/* frames a slice's site annotation names */

/*
 * A track's key: its kind in the top bits, then what it is of (pids, tids and
 * lanes fit 24 bits). The trace's uuid is the track's number (first_time).
 */
enum { PF_K_PROC = 1, PF_K_THREAD, PF_K_PROC_BYTES, PF_K_THREAD_BYTES, PF_K_GROUP, PF_K_GROUP_BYTES,
       PF_K_LANE };

static uint64_t track_key(unsigned kind, uint64_t a, uint64_t b)
{
	return (uint64_t)kind << 58 | a << 24 | b;
}

/* The blocks of one process and region (one arena, or the process's mmap chunks...). */
struct pf_group {
	uint32_t pid;
	uint8_t region;
	uint64_t base;
	int64_t live;
	uint32_t nlanes;
	uint32_t *free_lanes;		/* a stack of lanes (their tracks) whose block has ended */
	uint32_t nfree, cap_free;
	bool dirty;
};

struct pf_ctx {
	const struct correlator *c;
	const struct tb_history *h;
	const struct tb_sites *sites;	/* frame labels per stack_id; NULL: none known */
	uint32_t stack_id;		/* the event() being written is a block's begin: its stack */
	FILE *out;
	struct pb_buf buf;
	int err;
	struct tb_idmap described;	/* track uuids whose descriptor was written */
	struct pf_group *g;
	uint32_t ng, cap_g, last_g;
	uint32_t *block_group, *block_lane;	/* by block: its group, its lane's track */
	int64_t *thread_live;		/* by index in h->t */
	bool *thread_dirty;
	struct tb_idmap proc_idx;	/* pid -> index in proc_live */
	int64_t *proc_live;
	bool *proc_dirty;
	uint32_t *proc_pid;
	uint32_t nproc;
	uint64_t *dirty;		/* kind << 32 | index of each counter changed at this moment */
	uint64_t ndirty;
	/* each stack's annotations encoded once (a run has few stacks and many blocks) */
	struct tb_idmap site_idx;	/* stack_id -> index in site_at */
	struct pb_buf site_enc;		/* the encodings, one after another */
	size_t *site_at;		/* where stack i's begins; i + 1's is where it ends */
	uint32_t nsites, cap_sites;
};

static void flush_buf(struct pf_ctx *f, bool force)
{
	if (f->buf.err && !f->err)
		f->err = f->buf.err;
	if (f->buf.n && (force || f->buf.n >= PF_FLUSH)) {
		if (fwrite(f->buf.b, 1, f->buf.n, f->out) != f->buf.n && !f->err)
			f->err = -EIO;
		f->buf.n = 0;
	}
}

static const char *proc_name(const struct pf_ctx *f, uint32_t pid)
{
	uint32_t i = idmap_get(&f->c->pid_map, pid);

	return i == IDMAP_NONE ? "" : f->c->procs[i]->comm;
}

/*
 * A track's uuid in the trace: its number in the order tracks were described
 * (short varints in every event), from its key (what it is of). *id gets it;
 * true the first time, when its descriptor is to be written.
 */
static bool first_time(struct pf_ctx *f, uint64_t key, uint64_t *id)
{
	uint32_t v = idmap_get(&f->described, key);

	if (v != IDMAP_NONE) {
		*id = v;
		return false;
	}
	*id = f->described.n + 1;
	if (idmap_put(&f->described, key, (uint32_t)*id))
		f->err = -ENOMEM;
	return true;
}

static size_t track_open(struct pf_ctx *f, uint64_t id, uint64_t parent, const char *name)
{
	size_t pkt = pb_open(&f->buf, PF_TRACE_PACKET), td;

	pb_uint(&f->buf, PF_PACKET_SEQ, PF_SEQ);
	td = pb_open(&f->buf, PF_PACKET_TRACK);
	pb_uint(&f->buf, PF_TRACK_UUID, id);
	if (parent)
		pb_uint(&f->buf, PF_TRACK_PARENT, parent);
	if (name)
		pb_str(&f->buf, PF_TRACK_NAME, name);
	return pkt << 32 | td;
}

static void track_close(struct pf_ctx *f, size_t at)
{
	pb_close(&f->buf, at & 0xffffffff);
	pb_close(&f->buf, at >> 32);
	flush_buf(f, false);
}

static uint64_t proc_track(struct pf_ctx *f, uint32_t pid)
{
	uint64_t id;
	size_t at, pd;

	if (!first_time(f, track_key(PF_K_PROC, pid, 0), &id))
		return id;
	at = track_open(f, id, 0, NULL);
	pd = pb_open(&f->buf, PF_TRACK_PROCESS);
	pb_uint(&f->buf, PF_PROC_PID, pid);
	pb_bytes(&f->buf, PF_PROC_NAME, proc_name(f, pid), strnlen(proc_name(f, pid), TB_COMM_LEN));
	pb_close(&f->buf, pd);
	track_close(f, at);
	return id;
}

static uint64_t thread_track(struct pf_ctx *f, uint32_t pid, uint32_t tid)
{
	uint32_t ti = history__task(f->h, pid, tid);
	uint64_t id;
	size_t at, td;

	proc_track(f, pid);
	if (!first_time(f, track_key(PF_K_THREAD, pid, tid), &id))
		return id;
	at = track_open(f, id, 0, NULL);
	td = pb_open(&f->buf, PF_TRACK_THREAD);
	pb_uint(&f->buf, PF_THREAD_PID, pid);
	pb_uint(&f->buf, PF_THREAD_TID, tid);
	if (ti != IDMAP_NONE)
		pb_bytes(&f->buf, PF_THREAD_NAME, f->h->t[ti].comm,
			 strnlen(f->h->t[ti].comm, TB_COMM_LEN));
	pb_close(&f->buf, td);
	track_close(f, at);
	return id;
}

static uint64_t counter_track(struct pf_ctx *f, uint64_t key, uint64_t parent, const char *name)
{
	uint64_t id;
	size_t at, cd;

	if (!first_time(f, key, &id))
		return id;
	at = track_open(f, id, parent, name);
	cd = pb_open(&f->buf, PF_TRACK_COUNTER);
	pb_uint(&f->buf, PF_COUNTER_UNIT, PF_UNIT_SIZE_BYTES);
	pb_close(&f->buf, cd);
	track_close(f, at);
	return id;
}

static uint64_t named_track(struct pf_ctx *f, uint64_t key, uint64_t parent, const char *name)
{
	uint64_t id;

	if (first_time(f, key, &id))
		track_close(f, track_open(f, id, parent, name));
	return id;
}

/* A block's allocation site as debug annotations: its stack_id, and its frames when named. */
static void site_encode(struct pf_ctx *f, struct pb_buf *p, uint32_t id)
{
	const char *const *l;
	int n = html_sites__get(f->sites, id, &l);
	char site[1024];
	size_t at = 0, a;

	a = pb_open(p, PF_EVENT_ANNOTATION);
	pb_str(p, PF_ANNOT_NAME, "stack_id");
	pb_uint(p, PF_ANNOT_UINT, id);
	pb_close(p, a);
	if (!n)
		return;
	/* ASCII arrows: the trace's strings are read back by tools that escape the rest */
	for (int i = 0; i < n && i < PF_SITE_FRAMES && at < sizeof(site); i++)
		at += snprintf(site + at, sizeof(site) - at, "%s%s", i ? " <- " : "",
			       l[i] ? l[i] : "?");
	if (n > PF_SITE_FRAMES && at < sizeof(site))
		snprintf(site + at, sizeof(site) - at, " <- ...");
	a = pb_open(p, PF_EVENT_ANNOTATION);
	pb_str(p, PF_ANNOT_NAME, "site");
	pb_str(p, PF_ANNOT_STRING, site);
	pb_close(p, a);
}

/* Stack id's annotations, encoded the first time it comes, copied after. */
static void site_annotations(struct pf_ctx *f, uint32_t id)
{
	uint32_t i = idmap_get(&f->site_idx, id);
	uint8_t *o;
	size_t len;

	if (i == IDMAP_NONE) {
		if (f->nsites + 1 >= f->cap_sites) {
			uint32_t cap = f->cap_sites ? 2 * f->cap_sites : 64;
			size_t *na = realloc(f->site_at, cap * sizeof(*na));

			if (!na) {
				f->err = -ENOMEM;
				return;
			}
			f->site_at = na;
			f->cap_sites = cap;
		}
		i = f->nsites++;
		if (idmap_put(&f->site_idx, id, i)) {
			f->err = -ENOMEM;
			return;
		}
		f->site_at[i] = f->site_enc.n;
		site_encode(f, &f->site_enc, id);
		f->site_at[i + 1] = f->site_enc.n;
		if (f->site_enc.err) {
			f->err = f->site_enc.err;
			return;
		}
	}
	len = f->site_at[i + 1] - f->site_at[i];
	o = pb_room(&f->buf, len);
	if (!o)
		return;
	memcpy(o, f->site_enc.b + f->site_at[i], len);
	f->buf.n += len;
}

/* One TrackEvent packet; name may be NULL, flow and flow_end 0 for none. */
static void event(struct pf_ctx *f, uint64_t ts, uint64_t track, unsigned type, const char *name,
		  int64_t value, uint64_t flow, uint64_t flow_end)
{
	size_t pkt = pb_open(&f->buf, PF_TRACE_PACKET), ev;

	pb_uint(&f->buf, PF_PACKET_TIMESTAMP, ts);
	pb_uint(&f->buf, PF_PACKET_SEQ, PF_SEQ);
	ev = pb_open(&f->buf, PF_PACKET_EVENT);
	pb_uint(&f->buf, PF_EVENT_TYPE, type);
	pb_uint(&f->buf, PF_EVENT_TRACK, track);
	if (name)
		pb_str(&f->buf, PF_EVENT_NAME, name);
	if (type == PF_COUNTER)
		pb_int(&f->buf, PF_EVENT_COUNTER, value);
	if (flow)
		pb_fixed64(&f->buf, PF_EVENT_FLOW, flow);
	if (flow_end)
		pb_fixed64(&f->buf, PF_EVENT_FLOW_END, flow_end);
	if (f->stack_id)
		site_annotations(f, f->stack_id);
	pb_close(&f->buf, ev);
	pb_close(&f->buf, pkt);
	flush_buf(f, false);
}

/* ---- groups and lanes ----------------------------------------------------------------------- */

static const char *group_word(const struct pf_group *g, char *buf, size_t cap)
{
	if (g->region == TB_REG_ARENA)
		snprintf(buf, cap, "arena 0x%" PRIx64, g->base);
	else if (g->region == TB_REG_HEAP)
		snprintf(buf, cap, "heap 0x%" PRIx64, g->base);
	else
		snprintf(buf, cap, "%s blocks", g->region ? tb_region_name(g->region) : "unplaced");
	return buf;
}

/* The group of a block: few per process, and blocks of one come in runs, so a cache and a scan. */
static uint32_t group_of(struct pf_ctx *f, const struct tb_hblock *b)
{
	uint64_t base = series__arena(b);
	struct pf_group *g;

	for (uint32_t k = 0; k < f->ng; k++) {
		uint32_t i = (f->last_g + k) % f->ng;

		g = &f->g[i];
		if (g->pid == b->pid && g->region == b->region && g->base == base)
			return f->last_g = i;
	}
	if (f->ng == f->cap_g) {
		uint32_t cap = f->cap_g ? f->cap_g * 2 : 16;
		struct pf_group *ng = realloc(f->g, cap * sizeof(*ng));

		if (!ng) {
			f->err = -ENOMEM;
			return IDMAP_NONE;
		}
		f->g = ng;
		f->cap_g = cap;
	}
	f->g[f->ng] = (struct pf_group){ .pid = b->pid, .region = b->region, .base = base };
	return f->last_g = f->ng++;
}

static uint64_t group_track(struct pf_ctx *f, uint32_t gi)
{
	char name[64];

	return named_track(f, track_key(PF_K_GROUP, gi, 0), proc_track(f, f->g[gi].pid),
			   group_word(&f->g[gi], name, sizeof(name)));
}

/* A lane of the group with no block on it now, as its track's uuid. */
static uint32_t lane_take(struct pf_ctx *f, uint32_t gi)
{
	struct pf_group *g = &f->g[gi];
	char name[32];
	uint32_t lane;

	if (g->nfree)
		return g->free_lanes[--g->nfree];
	lane = g->nlanes++;
	snprintf(name, sizeof(name), "lane %u", lane);
	return (uint32_t)named_track(f, track_key(PF_K_LANE, gi, lane), group_track(f, gi), name);
}

static void lane_give(struct pf_ctx *f, uint32_t gi, uint32_t lane)
{
	struct pf_group *g = &f->g[gi];

	if (g->nfree == g->cap_free) {
		uint32_t cap = g->cap_free ? g->cap_free * 2 : 16;
		uint32_t *n = realloc(g->free_lanes, cap * sizeof(*n));

		if (!n) {
			f->err = -ENOMEM;
			return;
		}
		g->free_lanes = n;
		g->cap_free = cap;
	}
	g->free_lanes[g->nfree++] = lane;
}

/* ---- counters -------------------------------------------------------------------------------- */

static uint32_t proc_index(struct pf_ctx *f, uint32_t pid)
{
	uint32_t i = idmap_get(&f->proc_idx, pid);

	if (i != IDMAP_NONE)
		return i;
	i = f->nproc;
	if (i >= f->h->nt + f->h->nb || idmap_put(&f->proc_idx, pid, i)) {
		f->err = -ENOMEM;
		return IDMAP_NONE;
	}
	f->proc_pid[f->nproc++] = pid;
	return i;
}

static void dirty(struct pf_ctx *f, bool *flag, unsigned kind, uint32_t i)
{
	if (*flag)
		return;
	*flag = true;
	f->dirty[f->ndirty++] = (uint64_t)kind << 32 | i;
}

/* A block came or went: the live bytes of its process, its thread and its arena change. */
static void count(struct pf_ctx *f, const struct tb_hblock *b, int64_t delta)
{
	uint32_t p = proc_index(f, b->pid), t = history__task(f->h, b->pid, b->tid);
	uint32_t gi = f->block_group[b - f->h->b];

	if (p != IDMAP_NONE) {
		f->proc_live[p] += delta;
		dirty(f, &f->proc_dirty[p], PF_K_PROC_BYTES, p);
	}
	if (t != IDMAP_NONE && !(b->flags & TB_HB_INHERITED)) {
		f->thread_live[t] += delta;
		dirty(f, &f->thread_dirty[t], PF_K_THREAD_BYTES, t);
	}
	if (gi != IDMAP_NONE && f->g[gi].base) {
		f->g[gi].live += delta;
		dirty(f, &f->g[gi].dirty, PF_K_GROUP_BYTES, gi);
	}
}

static void counter_event(struct pf_ctx *f, uint64_t ts, unsigned kind, uint32_t i)
{
	const struct tb_htask *t = kind == PF_K_THREAD_BYTES ? &f->h->t[i] : NULL;
	char word[48], name[64];
	uint64_t id;

	if (kind == PF_K_PROC_BYTES) {
		f->proc_dirty[i] = false;
		id = counter_track(f, track_key(kind, f->proc_pid[i], 0), proc_track(f, f->proc_pid[i]),
				   "live bytes");
		event(f, ts, id, PF_COUNTER, NULL, f->proc_live[i], 0, 0);
	} else if (kind == PF_K_THREAD_BYTES) {
		f->thread_dirty[i] = false;
		id = counter_track(f, track_key(kind, t->pid, t->tid), thread_track(f, t->pid, t->tid),
				   "live bytes");
		event(f, ts, id, PF_COUNTER, NULL, f->thread_live[i], 0, 0);
	} else {
		f->g[i].dirty = false;
		id = idmap_get(&f->described, track_key(kind, i, 0));
		if (id == IDMAP_NONE) {	/* the name only for the descriptor: a counter changes often */
			snprintf(name, sizeof(name), "%s live bytes",
				 group_word(&f->g[i], word, sizeof(word)));
			id = counter_track(f, track_key(kind, i, 0), proc_track(f, f->g[i].pid), name);
		}
		event(f, ts, id, PF_COUNTER, NULL, f->g[i].live, 0, 0);
	}
}

/* The counters that changed at ts, once each: their value after every change at ts. */
static void counters_flush(struct pf_ctx *f, uint64_t ts)
{
	for (uint64_t k = 0; k < f->ndirty; k++)
		counter_event(f, ts, f->dirty[k] >> 32, (uint32_t)f->dirty[k]);
	f->ndirty = 0;
}

/* ---- block lives, marks ---------------------------------------------------------------------- */

/*
 * A block's begin or end. At one moment, ends of blocks that began earlier
 * come first (their lane is free for a block beginning then), then begins,
 * then the ends of blocks that began at that same moment.
 */
struct pf_step {
	uint64_t ts;
	uint64_t block;
	uint8_t order;		/* 0: end, 1: begin, 2: end of a block of no duration */
};

static int step_cmp(const void *a, const void *b)
{
	const struct pf_step *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->block < y->block ? -1 : x->block > y->block;
}

static uint64_t block_end(const struct tb_history *h, const struct tb_hblock *b)
{
	return b->t_free ? b->t_free : h->last_ts;
}

/* 16 bits of a step's sort key: its order (d 0), then digit d - 1 of its time. */
static uint32_t step_digit(const void *rec, int d)
{
	const struct pf_step *s = rec;

	return d ? (uint32_t)(s->ts >> (16 * (d - 1))) & 0xffff : s->order;
}

/* s[0..n), their blocks ascending, in step_cmp's order: by order, then time. */
static int steps_sort(struct pf_step *v, uint64_t n)
{
	return radix_sort(v, n, sizeof(*v), 5, step_digit);
}

/*
 * Blocks are recorded in row order, so their begins are already in time
 * order (a fork's copies begin at the fork): only the ends are sorted, then
 * the two merged. Rows the merge met out of order fall back to one sort.
 */
static struct pf_step *steps_of(const struct tb_history *h, uint64_t *n)
{
	struct pf_step *v = malloc((3 * h->nb + 1) * sizeof(*v)), *ends = v + 2 * h->nb;
	uint64_t k = 0, i = 0, j = 0;
	bool sorted = true;

	if (!v)
		return NULL;
	for (uint64_t b = 0; b < h->nb; b++) {
		uint64_t end = block_end(h, &h->b[b]);

		ends[b] = (struct pf_step){ end, b, end == h->b[b].t_alloc ? 2 : 0 };
		sorted = sorted && (!b || h->b[b].t_alloc >= h->b[b - 1].t_alloc);
	}
	if (steps_sort(ends, h->nb)) {
		free(v);
		return NULL;
	}
	while (i < h->nb || j < h->nb) {
		struct pf_step begin = { i < h->nb ? h->b[i].t_alloc : 0, i, 1 };

		if (i < h->nb && (j == h->nb || step_cmp(&begin, &ends[j]) < 0)) {
			v[k++] = begin;
			i++;
		} else {
			v[k++] = ends[j++];
		}
	}
	if (!sorted)
		qsort(v, k, sizeof(*v), step_cmp);
	*n = k;
	return v;
}

/* Digits of v in base 10 or 16 at o, returns past them. */
static char *put_num(char *o, uint64_t v, unsigned base)
{
	char d[20];
	int n = 0;

	do {
		d[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		*o++ = d[--n];
	return o;
}

/* "SIZE B at 0xADDR", " (inherited)" after; snprintf's cost, once per block, showed. */
static void slice_name(char name[96], const struct tb_hblock *b)
{
	char *o = put_num(name, b->size, 10);

	memcpy(o, " B at 0x", 8);
	o = put_num(o + 8, b->addr, 16);
	if (b->flags & TB_HB_INHERITED) {
		memcpy(o, " (inherited)", 12);
		o += 12;
	}
	*o = 0;
}

static void block_begin(struct pf_ctx *f, uint64_t i)
{
	const struct tb_hblock *b = &f->h->b[i];
	uint32_t gi = f->block_group[i], lane = lane_take(f, gi);
	char name[96];

	f->block_lane[i] = lane;
	slice_name(name, b);
	f->stack_id = b->stack_id;
	event(f, b->t_alloc, lane, PF_SLICE_BEGIN, name, 0,
	      b->flags & TB_HB_CROSS ? i + 1 : 0, 0);
	f->stack_id = 0;
	count(f, b, (int64_t)b->size);
}

static void block_finish(struct pf_ctx *f, uint64_t i)
{
	const struct tb_hblock *b = &f->h->b[i];
	uint32_t gi = f->block_group[i];
	uint64_t end = block_end(f->h, b);

	event(f, end, f->block_lane[i], PF_SLICE_END, NULL, 0, 0, 0);
	lane_give(f, gi, f->block_lane[i]);
	if (b->flags & TB_HB_CROSS)	/* the flow from its allocation ends at the free */
		event(f, end, thread_track(f, b->pid, b->free_tid), PF_INSTANT, "free by another thread",
		      0, 0, i + 1);
	if (b->t_free)
		count(f, b, -(int64_t)b->size);
}

static void mark_event(struct pf_ctx *f, uint64_t k)
{
	const struct tb_hmark *m = &f->h->m[k];
	char name[64];

	switch (m->type) {
	case TB_EV_FORK:
		event(f, m->ts, thread_track(f, m->origin_pid, m->origin_tid), PF_INSTANT, "fork", 0,
		      PF_FORK_FLOW | k, 0);
		event(f, m->ts, thread_track(f, m->pid, m->tid), PF_INSTANT, "forked", 0, 0,
		      PF_FORK_FLOW | k);
		break;
	case TB_EV_THREAD:
	case TB_EV_EXEC:
	case TB_EV_EXIT:
	case TB_EV_EXIT_THREAD:
		event(f, m->ts, thread_track(f, m->pid, m->tid), PF_INSTANT, tb_event_name(m->type),
		      0, 0, 0);
		break;
	case TB_EV_FREE:
		snprintf(name, sizeof(name), "%s free of 0x%" PRIx64,
			 m->flags & TB_F_DOUBLE_FREE ? "double" : "invalid", m->addr);
		event(f, m->ts, thread_track(f, m->pid, m->tid), PF_INSTANT, name, 0, 0, 0);
		break;
	default:	/* an allocation that made a new arena */
		snprintf(name, sizeof(name), "new arena 0x%" PRIx64, m->addr);
		event(f, m->ts, thread_track(f, m->pid, m->tid), PF_INSTANT, name, 0, 0, 0);
	}
}

/* Every step and mark in time order; counters written as the moment changes. */
static void replay(struct pf_ctx *f, const struct pf_step *s, uint64_t n)
{
	uint64_t k = 0, ts = 0;

	for (uint64_t j = 0; j < n && !f->err; j++) {
		if (s[j].ts != ts && f->ndirty)
			counters_flush(f, ts);
		ts = s[j].ts;
		while (k < f->h->nm && f->h->m[k].ts <= ts)
			mark_event(f, k++);
		if (s[j].order == 1)
			block_begin(f, s[j].block);
		else
			block_finish(f, s[j].block);
	}
	if (f->ndirty)
		counters_flush(f, ts);
	while (k < f->h->nm)
		mark_event(f, k++);
}

static int setup(struct pf_ctx *f)
{
	const struct tb_history *h = f->h;
	uint64_t nb = h->nb ? h->nb : 1;

	f->block_group = malloc(nb * sizeof(*f->block_group));
	f->block_lane = malloc(nb * sizeof(*f->block_lane));
	f->thread_live = calloc(h->nt + 1, sizeof(*f->thread_live));
	f->thread_dirty = calloc(h->nt + 1, sizeof(*f->thread_dirty));
	f->proc_live = calloc(nb + h->nt, sizeof(*f->proc_live));
	f->proc_dirty = calloc(nb + h->nt, sizeof(*f->proc_dirty));
	f->proc_pid = calloc(nb + h->nt, sizeof(*f->proc_pid));
	f->dirty = malloc((2 * nb + 2 * h->nt + 1) * sizeof(*f->dirty));
	if (!f->block_group || !f->block_lane || !f->thread_live || !f->thread_dirty ||
	    !f->proc_live || !f->proc_dirty || !f->proc_pid || !f->dirty)
		return -ENOMEM;
	for (uint64_t i = 0; i < h->nb; i++)
		f->block_group[i] = group_of(f, &h->b[i]);
	return f->err;
}

static void teardown(struct pf_ctx *f)
{
	for (uint32_t i = 0; i < f->ng; i++)
		free(f->g[i].free_lanes);
	free(f->g);
	free(f->block_group);
	free(f->block_lane);
	free(f->thread_live);
	free(f->thread_dirty);
	free(f->proc_live);
	free(f->proc_dirty);
	free(f->proc_pid);
	free(f->dirty);
	free(f->buf.b);
	free(f->site_enc.b);
	free(f->site_at);
	idmap_free(&f->site_idx);
	idmap_free(&f->described);
	idmap_free(&f->proc_idx);
}

int report__perfetto(const struct correlator *c, const struct tb_run_info *run, FILE *out)
{
	struct pf_ctx f = { .c = c, .h = run->history, .sites = run->labels, .out = out };
	struct pf_step *s = NULL;
	uint64_t n = 0;
	int err;

	if (!f.h)
		return -EINVAL;
	err = setup(&f);
	if (!err)
		s = steps_of(f.h, &n);
	if (!err && !s)
		err = -ENOMEM;
	if (!err) {
		for (uint32_t i = 0; i < f.h->nt; i++)	/* every thread has its track, busy or not */
			thread_track(&f, f.h->t[i].pid, f.h->t[i].tid);
		replay(&f, s, n);
		flush_buf(&f, true);
		err = f.err;
	}
	free(s);
	teardown(&f);
	return err;
}
