// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* gen_events: a synthetic CSV trace shaped like glibc's, the input of the analyze benchmark. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Must match TB_CSV_HEADER in user/out/csv.h. */
#define HEADER                                                                                 \
	"seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,"      \
	"origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail\n"

#define NTHREADS 4		/* main and three workers, each on its own arena */
#define PID 4242
#define CHILD_PID 4343
#define HEAP_START 0x55d1c0a4f000ULL
#define ARENA_BASE 0x7f3c80000000ULL	/* worker t's heap: ARENA_BASE - (t - 1) * 128 MiB */
#define ARENA_SIZE (64ULL << 20)
#define CHUNK_BASE 0x7f3d00000000ULL	/* direct-mmap chunks, bumped down from here */
#define STACK_BASE 0x7f3d80000000ULL	/* thread stacks, bumped up from here */
#define CHUNK_SIZE (256u << 10)
#define STACK_SIZE 8392704ULL
#define GROW 0x21000ULL			/* glibc grows the heap and arenas 132 KiB at a time */
#define NCLASSES 72			/* 64 classes of 16 B up to 1 KiB, 8 powers of two to 128 KiB */
#define PAGE 4096ULL

/* mmap flags and prot bits as the CSV carries them (x86-64). */
#define M_PRIVATE 0x02
#define M_ANON 0x20
#define M_NORESERVE 0x4000
#define M_STACK 0x20000
#define P_RW 3

/* ---- the output row ---------------------------------------------------------------------- */

enum {
	H_SIZE = 1 << 0, H_ADDR = 1 << 1, H_OLD_ADDR = 1 << 2, H_LAT = 1 << 3,
	H_BASE = 1 << 4, H_PROT = 1 << 5, H_SYSFLAGS = 1 << 6, H_FD = 1 << 7,
};

struct row {
	unsigned has;
	uint32_t pid, tid, origin_pid, origin_tid, prot;
	int32_t fd;
	uint64_t size, addr, old_addr, latency, region_base, sysflags;
	const char *comm, *event, *region, *flags, *detail;
};

static char obuf[1 << 20];
static size_t olen;
static uint64_t seq, now = 1000000000000ULL;

static void out_flush(void)
{
	if (fwrite(obuf, 1, olen, stdout) != olen) {
		fprintf(stderr, "gen_events: write failed: %s\n", strerror(errno));
		exit(1);
	}
	olen = 0;
}

static char *put_dec(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_hex(char *p, uint64_t v)
{
	char tmp[16];
	int n = 0;

	*p++ = '0';
	*p++ = 'x';
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	memcpy(p, s, n);
	return p + n;
}

#define COMMA(p) (*(p)++ = ',')

static void emit(const struct row *r)
{
	char *p;

	if (olen > sizeof(obuf) - 1024)
		out_flush();
	p = obuf + olen;
	now += 150 + (seq * 2654435761u >> 24) % 200;
	p = put_dec(p, ++seq), COMMA(p);
	p = put_dec(p, now), COMMA(p);
	p = put_dec(p, r->pid), COMMA(p);
	p = put_dec(p, r->tid), COMMA(p);
	p = put_str(p, r->comm), COMMA(p);
	p = put_str(p, r->event), COMMA(p);
	if (r->has & H_SIZE)
		p = put_dec(p, r->size);
	COMMA(p);
	if (r->has & H_ADDR)
		p = put_hex(p, r->addr);
	COMMA(p);
	if (r->has & H_OLD_ADDR)
		p = put_hex(p, r->old_addr);
	COMMA(p);
	if (r->has & H_LAT)
		p = put_dec(p, r->latency);
	COMMA(p);
	p = put_str(p, r->region), COMMA(p);
	if (r->has & H_BASE)
		p = put_hex(p, r->region_base);
	COMMA(p);
	if (r->origin_pid)
		p = put_dec(p, r->origin_pid);
	COMMA(p);
	if (r->origin_tid)
		p = put_dec(p, r->origin_tid);
	COMMA(p);
	p = put_str(p, r->flags), COMMA(p);
	COMMA(p); /* align */
	if (r->has & H_PROT)
		p = put_dec(p, r->prot);
	COMMA(p);
	if (r->has & H_SYSFLAGS)
		p = put_hex(p, r->sysflags);
	COMMA(p);
	if (r->has & H_FD) {
		if (r->fd < 0)
			*p++ = '-';
		p = put_dec(p, r->fd < 0 ? -(int64_t)r->fd : r->fd);
	}
	COMMA(p);
	COMMA(p); /* old_size */
	COMMA(p); /* err */
	p = put_str(p, r->detail);
	*p++ = '\n';
	olen = p - obuf;
}

/* ---- the simulated process --------------------------------------------------------------- */

struct block {
	uint64_t addr, size;
	uint8_t owner;		/* thread whose arena holds it */
	uint8_t cls;		/* size class; NCLASSES for an mmap chunk */
};

/* A glibc-like arena: per-class free lists (LIFO, like tcache) and a bump pointer. */
struct thread {
	uint32_t pid, tid;
	char comm[16];
	uint64_t base;		/* heap start, or the arena's 64 MiB-aligned base */
	uint64_t bump, top;	/* next fresh address; end of the read-write part */
	uint64_t *freel[NCLASSES];
	uint32_t nfree[NCLASSES], capfree[NCLASSES];
	struct block *live;
	uint32_t nlive, maxlive;
	int is_main;
};

static struct thread threads[NTHREADS];
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t chunk_next = CHUNK_BASE;
static uint64_t *chunk_free;	/* unmapped chunk addresses, which the kernel hands out again */
static uint32_t nchunk_free, capchunk_free;
static uint64_t nevents = 10000000;
static int no_fork;
static uint64_t peak_live;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "gen_events: out of memory\n");
		exit(1);
	}
	return p;
}

static uint64_t class_size(unsigned c)
{
	return c < 64 ? 16 * (c + 1) : 1024ULL << (c - 63);
}

/* Mostly small blocks, some medium, a few large. */
static uint64_t pick_size(unsigned *cls)
{
	uint64_t r = rnd() % 1000, size;

	if (r < 700)
		size = 8 + rnd() % 120;
	else if (r < 950)
		size = 128 + rnd() % 896;
	else if (r < 999)
		size = 1024 + rnd() % (63 << 10);
	else
		size = CHUNK_SIZE - PAGE;
	if (size > (128u << 10)) {
		*cls = NCLASSES;
		return size;
	}
	for (*cls = 0; class_size(*cls) < size; (*cls)++)
		;
	return size;
}

static const char *region_of(const struct thread *t)
{
	return t->is_main ? "heap" : "arena";
}

static struct row base_row(const struct thread *t, const char *event)
{
	return (struct row){ .pid = t->pid, .tid = t->tid, .comm = t->comm, .event = event };
}

/* Heap via brk, arena via mprotect of more of its reservation; by the thread that needs it. */
static void grow(struct thread *t, const struct thread *caller, uint64_t need)
{
	while (t->top < need) {
		struct row r = base_row(caller, t->is_main ? "brk" : "mprotect");

		r.has = H_SIZE | H_ADDR | H_BASE;
		r.region = region_of(t);
		r.region_base = t->base;
		if (t->is_main) {
			r.has |= H_OLD_ADDR;
			r.old_addr = t->top;
			r.addr = t->top + GROW;
			r.size = GROW;
		} else {
			r.has |= H_PROT;
			r.addr = t->top;
			r.size = GROW;
			r.prot = P_RW;
		}
		emit(&r);
		t->top += GROW;
	}
}

/* A full arena sends the thread to the main heap, as glibc falls back to another arena. */
static uint64_t take_address(struct thread *t, unsigned cls, uint8_t *owner)
{
	struct thread *a = t;
	uint64_t addr;

	if (t->nfree[cls]) {
		*owner = t - threads;
		return t->freel[cls][--t->nfree[cls]];
	}
	if (!t->is_main && t->bump + class_size(cls) + 16 > t->base + ARENA_SIZE)
		a = &threads[0];
	*owner = a - threads;
	if (a != t && a->nfree[cls])
		return a->freel[cls][--a->nfree[cls]];
	addr = a->bump;
	a->bump += class_size(cls) + 16;
	grow(a, t, a->bump);
	return addr;
}

static void push(uint64_t **v, uint32_t *n, uint32_t *cap, uint64_t x)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = x;
}

static void give_back(struct thread *t, const struct block *b)
{
	push(&t->freel[b->cls], &t->nfree[b->cls], &t->capfree[b->cls], b->addr);
}

static void mmap_row(const struct thread *t, uint64_t addr, uint64_t len, uint32_t prot,
		     uint64_t flags, const char *region)
{
	struct row r = base_row(t, "mmap");

	r.has = H_SIZE | H_ADDR | H_BASE | H_PROT | H_SYSFLAGS | H_FD;
	r.size = len;
	r.addr = addr;
	r.region = region;
	r.region_base = addr;
	r.prot = prot;
	r.sysflags = flags;
	r.fd = -1;
	emit(&r);
}

static void vm_row(const struct thread *t, const char *event, uint64_t addr, uint64_t len,
		   const char *region, uint64_t base)
{
	struct row r = base_row(t, event);

	r.has = H_SIZE | H_ADDR | H_BASE;
	r.size = len;
	r.addr = addr;
	r.region = region;
	r.region_base = base;
	if (strcmp(event, "mprotect") == 0) {
		r.has |= H_PROT;
		r.prot = P_RW;
	}
	emit(&r);
}

static void alloc_row(struct thread *t, const char *event, const struct block *b,
		      uint64_t old_addr, uint64_t lat, const char *flags)
{
	struct row r = base_row(t, event);

	r.has = H_SIZE | H_ADDR | H_LAT | H_BASE;
	r.size = b->size;
	r.addr = b->addr;
	r.latency = lat;
	r.flags = flags;
	if (old_addr) {
		r.has |= H_OLD_ADDR;
		r.old_addr = old_addr;
	}
	if (b->cls == NCLASSES) {
		r.region = "mmap_chunk";
		r.region_base = b->addr - 16;
	} else {
		r.region = region_of(&threads[b->owner]);
		r.region_base = threads[b->owner].base;
	}
	emit(&r);
}

static void free_row(const struct thread *t, const struct block *b, const char *flags)
{
	struct row r = base_row(t, "free");

	r.has = H_ADDR | H_BASE;
	r.addr = b->addr;
	r.origin_pid = threads[b->owner].pid;
	r.origin_tid = threads[b->owner].tid;
	r.flags = flags;
	if (b->cls == NCLASSES) {
		r.region = "mmap_chunk";
		r.region_base = b->addr - 16;
	} else {
		r.region = region_of(&threads[b->owner]);
		r.region_base = threads[b->owner].base;
	}
	emit(&r);
}

/* A large block gets its own mapping inside the call: the mmap row comes first. */
static void new_block(struct thread *t, struct block *b)
{
	unsigned cls;

	b->size = pick_size(&cls);
	b->cls = cls;
	b->owner = t - threads;
	if (cls == NCLASSES) {
		uint64_t m = nchunk_free ? chunk_free[--nchunk_free] : (chunk_next -= CHUNK_SIZE);

		b->addr = m + 16;
		mmap_row(t, m, CHUNK_SIZE, P_RW, M_PRIVATE | M_ANON, "anon");
	} else {
		b->addr = take_address(t, cls, &b->owner);
	}
}

static void do_alloc(struct thread *t)
{
	struct block *b = &t->live[t->nlive++];
	uint64_t r = rnd() % 100;

	new_block(t, b);
	alloc_row(t, r < 92 ? "malloc" : "calloc", b, 0, 40 + rnd() % 400, NULL);
}

static void release(struct thread *t, const struct block *b)
{
	if (b->cls == NCLASSES) {
		vm_row(t, "munmap", b->addr - 16, CHUNK_SIZE, "mmap_chunk", b->addr - 16);
		push(&chunk_free, &nchunk_free, &capchunk_free, b->addr - 16);
	} else
		give_back(&threads[b->owner], b);
}

/* One in twenty frees is of a block another thread allocated. */
static void do_free(struct thread *t)
{
	struct thread *o = t;
	struct block b;
	uint32_t i;

	if (rnd() % 20 == 0) {
		o = &threads[(t - threads + 1 + rnd() % (NTHREADS - 1)) % NTHREADS];
		if (!o->nlive)
			o = t;
	}
	i = rnd() % o->nlive;
	b = o->live[i];
	o->live[i] = o->live[--o->nlive];
	free_row(t, &b, o == t ? NULL : "cross_thread");
	release(t, &b);
}

/* realloc of one of its own blocks: grown in place half the time, else moved. */
static void do_realloc(struct thread *t)
{
	uint32_t i = rnd() % t->nlive;
	struct block old = t->live[i], *b = &t->live[i];

	if (old.cls != NCLASSES && rnd() % 2 && old.size < class_size(old.cls)) {
		b->size = old.size + 1 + rnd() % (class_size(old.cls) - old.size);
		alloc_row(t, "realloc", b, old.addr, 60 + rnd() % 300, NULL);
		return;
	}
	new_block(t, b);
	alloc_row(t, "realloc", b, old.addr, 200 + rnd() % 2000, NULL);
	release(t, &old);
}

static uint64_t live_blocks(void)
{
	uint64_t n = 0;

	for (int i = 0; i < NTHREADS; i++)
		n += threads[i].nlive;
	return n;
}

/* Below half its limit a thread mostly allocates: the warm-up of a program filling its caches. */
static void churn(struct thread *t)
{
	uint64_t r = rnd() % 100;

	if (!t->nlive || (t->nlive < t->maxlive && r < (t->nlive < t->maxlive / 2 ? 70 : 50)))
		do_alloc(t);
	else if (r < 55)
		do_realloc(t);
	else
		do_free(t);
}

/* ---- process life ------------------------------------------------------------------------ */

static void start_process(void)
{
	struct thread *m = &threads[0];
	struct row r = base_row(m, "exec");

	r.detail = "/usr/bin/app";
	emit(&r);
	r = base_row(m, "brk");
	r.has = H_SIZE | H_ADDR | H_OLD_ADDR | H_BASE;
	r.addr = r.old_addr = r.region_base = HEAP_START;
	r.region = "heap";
	emit(&r);
	m->top = m->base = HEAP_START;
	m->bump = HEAP_START + 0x2a0;
	grow(m, m, m->bump + 1);
}

/* pthread_create: the stack, its guard page, then the thread. */
static void start_thread(struct thread *t)
{
	struct thread *m = &threads[0];
	uint64_t stack = STACK_BASE + (t - threads) * (STACK_SIZE + PAGE);
	struct row r;

	mmap_row(m, stack, STACK_SIZE, 0, M_PRIVATE | M_ANON | M_STACK, "stack");
	vm_row(m, "mprotect", stack + PAGE, STACK_SIZE - PAGE, "stack", stack);
	r = base_row(t, "thread");
	r.has = H_ADDR | H_BASE | H_SYSFLAGS;
	r.addr = stack + STACK_SIZE - 0x80;
	r.region = "stack";
	r.region_base = stack + PAGE;
	r.origin_pid = PID;
	r.origin_tid = PID;
	r.sysflags = 0x3d0f00;
	emit(&r);
}

/* glibc's new_heap: 128 MiB PROT_NONE, trimmed to an aligned 64 MiB, its front made RW. */
static void first_alloc_in_arena(struct thread *t)
{
	uint64_t res = t->base - 0x2c00000, start = now;
	struct block *b = &t->live[t->nlive++];

	mmap_row(t, res, 2 * ARENA_SIZE, 0, M_PRIVATE | M_ANON | M_NORESERVE, "anon");
	vm_row(t, "munmap", res, t->base - res, "anon", res);
	vm_row(t, "munmap", t->base + ARENA_SIZE, res + 2 * ARENA_SIZE - t->base - ARENA_SIZE,
	       "anon", res);
	vm_row(t, "mprotect", t->base, GROW, "anon", t->base);
	t->top = t->base + GROW;
	t->bump = t->base + 0x8b0;
	b->size = 100;
	b->cls = 6;
	b->addr = take_address(t, b->cls, &b->owner);
	alloc_row(t, "malloc", b, 0, now + 500 - start, "new_arena");
}

/* The child frees some of what it inherited, makes a little churn of its own, and exits. */
static void fork_child(void)
{
	struct thread *m = &threads[0];
	struct thread c = *m;
	struct row r = base_row(m, "fork");
	uint64_t mine[64];

	c.pid = c.tid = CHILD_PID;
	memset(c.nfree, 0, sizeof(c.nfree));	/* its cache starts empty: no reuse to model */
	r.pid = r.tid = CHILD_PID;
	r.origin_pid = r.origin_tid = PID;
	r.has = H_SYSFLAGS;
	r.sysflags = 0x1200011;
	emit(&r);
	for (int i = 0; i < NTHREADS; i++)
		for (uint32_t k = 0; k < 40 && k < threads[i].nlive; k++)
			free_row(&c, &threads[i].live[k], "inherited");
	for (int k = 0; k < 64; k++) {
		struct block b = { .size = 32, .cls = 1 };

		b.addr = mine[k] = c.bump;
		c.bump += 48;
		grow(&c, &c, c.bump);
		r = base_row(&c, "malloc");
		r.has = H_SIZE | H_ADDR | H_LAT | H_BASE;
		r.size = b.size;
		r.addr = b.addr;
		r.latency = 80;
		r.region = "heap";
		r.region_base = c.base;
		emit(&r);
	}
	for (int k = 0; k < 64; k++) {
		r = base_row(&c, "free");
		r.has = H_ADDR | H_BASE;
		r.addr = mine[k];
		r.region = "heap";
		r.region_base = c.base;
		r.origin_pid = r.origin_tid = CHILD_PID;
		emit(&r);
	}
	r = base_row(&c, "exit");
	r.has = H_SIZE;
	emit(&r);
}

/* At thread exit glibc re-frees what sits in the thread's cache: rows flagged internal. */
static void end_thread(struct thread *t)
{
	struct row r;
	int k = 0;

	for (unsigned c = 0; c < NCLASSES && k < 7; c++) {
		if (!t->nfree[c])
			continue;
		r = base_row(t, "free");
		r.has = H_ADDR | H_BASE;
		r.addr = t->freel[c][t->nfree[c] - 1];
		r.region = region_of(t);
		r.region_base = t->base;
		r.origin_pid = t->pid;
		r.origin_tid = t->tid;
		r.flags = "internal";
		emit(&r);
		k++;
	}
	r = base_row(t, "exit_thread");
	emit(&r);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n EVENTS] [-l LIVE] [-s SEED] [-F]\n"
		"  writes a CSV trace of about EVENTS rows (default 10000000) to stdout: one\n"
		"  process, %d threads on the brk heap and 3 arenas, malloc/calloc/realloc/free\n"
		"  churn with reuse, cross-thread frees, mmap chunks, a fork whose child frees\n"
		"  inherited blocks, the thread-exit cache flush. LIVE: most blocks a thread\n"
		"  holds at once (default 16384). -F: no fork. The last line on stderr gives\n"
		"  the rows written and the most blocks live at once\n",
		prog, NTHREADS);
}

static void parse(int argc, char **argv, uint32_t *maxlive)
{
	int c;

	while ((c = getopt(argc, argv, "n:l:s:Fh")) != -1) {
		switch (c) {
		case 'n':
			nevents = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			*maxlive = strtoul(optarg, NULL, 0);
			break;
		case 's':
			rng = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'F':
			no_fork = 1;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			exit(2);
		}
	}
	if (nevents < 1000 || !*maxlive) {
		fprintf(stderr, "gen_events: EVENTS must be at least 1000 and LIVE positive\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	uint32_t maxlive = 16384;
	uint64_t tail = 64;	/* rows the thread and process exits take */
	int forked = 0;

	parse(argc, argv, &maxlive);
	for (int i = 0; i < NTHREADS; i++) {
		struct thread *t = &threads[i];

		t->pid = PID;
		t->tid = PID + i;
		t->is_main = i == 0;
		t->base = i ? ARENA_BASE - (uint64_t)(i - 1) * 2 * ARENA_SIZE : HEAP_START;
		t->maxlive = maxlive;
		t->live = xrealloc(NULL, (maxlive + 1) * sizeof(*t->live));
		snprintf(t->comm, sizeof(t->comm), i ? "worker-%d" : "app", i);
	}
	fputs(HEADER, stdout);
	start_process();
	for (int i = 1; i < NTHREADS; i++)
		start_thread(&threads[i]);
	for (int i = 1; i < NTHREADS; i++)
		first_alloc_in_arena(&threads[i]);
	while (seq + tail + live_blocks() < nevents) {
		churn(&threads[rnd() % NTHREADS]);
		if (live_blocks() > peak_live)
			peak_live = live_blocks();
		if (!forked && !no_fork && seq >= nevents / 2) {
			fork_child();
			forked = 1;
		}
	}
	/* a tidy end: every thread frees what it holds, so the trace ends with no leak */
	for (int i = 0; i < NTHREADS; i++)
		while (threads[i].nlive) {
			struct thread *t = &threads[i];
			struct block b = t->live[--t->nlive];

			free_row(t, &b, NULL);
			release(t, &b);
		}
	for (int i = 1; i < NTHREADS; i++)
		end_thread(&threads[i]);
	{
		struct row r = base_row(&threads[0], "exit");

		r.has = H_SIZE;
		emit(&r);
	}
	out_flush();
	if (fflush(stdout))
		return 1;
	fprintf(stderr, "gen_events: %llu rows, at most %llu blocks live\n",
		(unsigned long long)seq, (unsigned long long)peak_live);
	return 0;
}
