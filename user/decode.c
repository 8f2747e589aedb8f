// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* decode.c: ring-buffer records into events; thread names come once per thread, not per event. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "decode.h"
#include "idmap.h"

/*
 * Each thread's name, by tid: the id map gives its entry in names. An exited
 * thread's entry goes on a free list threaded through the freed names, so the
 * array is only as long as the most threads alive at once.
 */
struct decoder {
	struct tb_idmap tids;		/* tid -> its entry in names */
	char (*names)[TB_COMM_LEN];
	uint32_t nnames, cap_names;	/* entries handed out, freed ones included */
	uint32_t free_name;		/* the last entry freed, or IDMAP_NONE */
	char args[TB_ARGS_LEN];		/* the last exec's arguments, which its event points to */
};

/* An entry for a thread's name, a freed one first; IDMAP_NONE when memory ran out. */
static uint32_t name_new(struct decoder *d)
{
	uint32_t i = d->free_name;
	void *v;

	if (i != IDMAP_NONE) {
		memcpy(&d->free_name, d->names[i], sizeof(d->free_name));
		return i;
	}
	if (d->nnames == d->cap_names) {
		v = reallocarray(d->names, d->cap_names ? d->cap_names * 2 : 64, TB_COMM_LEN);
		if (!v)
			return IDMAP_NONE;
		d->names = v;
		d->cap_names = d->cap_names ? d->cap_names * 2 : 64;
	}
	return d->nnames++;
}

/* A freed entry holds the index of the one freed before it. */
static void name_free(struct decoder *d, uint32_t i)
{
	memcpy(d->names[i], &d->free_name, sizeof(d->free_name));
	d->free_name = i;
}

/* Without memory for it, the name is not kept: the thread's next event asks /proc. */
static void comm_set(struct decoder *d, uint32_t tid, const char *comm)
{
	uint32_t i = idmap_get(&d->tids, tid);

	if (i == IDMAP_NONE) {
		i = name_new(d);
		if (i == IDMAP_NONE)
			return;
		if (idmap_put(&d->tids, tid, i)) {
			name_free(d, i);
			return;
		}
	}
	memcpy(d->names[i], comm, TB_COMM_LEN);
	d->names[i][TB_COMM_LEN - 1] = 0;
}

static void comm_del(struct decoder *d, uint32_t tid)
{
	uint32_t i = idmap_get(&d->tids, tid);

	if (i == IDMAP_NONE)
		return;
	idmap_del(&d->tids, tid);
	name_free(d, i);
}

/* A thread whose birth we did not see (attach, or a lost record): ask /proc once. */
static void comm_from_proc(struct decoder *d, uint32_t pid, uint32_t tid, char *out)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, out, TB_COMM_LEN - 1);
		close(fd);
	}
	if (n <= 0)
		n = snprintf(out, TB_COMM_LEN, "?");
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	comm_set(d, tid, out);
}

static void comm_get(struct decoder *d, uint32_t pid, uint32_t tid, char *out)
{
	uint32_t i = idmap_get(&d->tids, tid);

	if (i != IDMAP_NONE)
		memcpy(out, d->names[i], TB_COMM_LEN);
	else
		comm_from_proc(d, pid, tid, out);
}

static void decode_alloc(const struct tb_rec_alloc *r, struct tb_event *e)
{
	unsigned entry;

	e->size = r->size;
	e->addr = r->addr;
	e->latency_ns = r->h.aux;
	if (e->type == TB_EV_REALLOC || e->type == TB_EV_REALLOCARRAY)
		e->old_addr = r->old_addr;
	else if (e->type != TB_EV_FREE)
		e->align = r->old_addr;
	if (e->type == TB_EV_CALLOC || e->type == TB_EV_REALLOCARRAY)
		e->old_size = r->arg;	/* nmemb: size / nmemb is the element size */
	if (r->h.flags & TB_RF_OVERFLOW)
		e->flags |= TB_F_OVERFLOW;
	if (r->h.flags & TB_RF_LIBC)
		e->flags |= TB_F_LIBC;
	/* posix_memalign says why it failed by its return value, errno untouched */
	if (e->type == TB_EV_POSIX_MEMALIGN && (r->h.flags & TB_RF_FAILED))
		e->err = -(int32_t)r->arg;
	if (r->h.flags & TB_RF_FAILED)
		e->flags |= TB_F_FAILED;
	if (r->h.flags & TB_RF_INTERNAL)
		e->flags |= TB_F_INTERNAL;
	if (r->h.flags & TB_RF_SAMPLED)
		e->flags |= TB_F_SAMPLED;
	entry = r->h.flags >> TB_RF_ENTRY_SHIFT;
	/* called through the allocator's own entry point: which one */
	if (entry && entry < tb_nentries)
		snprintf(e->detail, sizeof(e->detail), "%s", tb_entries[entry].name);
}

static void decode_vm(const struct tb_rec_vm *r, struct tb_event *e)
{
	e->size = r->size;
	e->addr = r->addr;
	e->old_addr = r->old_addr;
	e->old_size = r->old_size;
	e->prot = r->prot;
	e->sysflags = r->flags;
	e->fd = r->fd;
	e->err = r->err;
	/* brk: how far the break moved, either way; a query or a refused move is 0 */
	if (e->type == TB_EV_BRK)
		e->size = r->addr > r->old_addr ? r->addr - r->old_addr : r->old_addr - r->addr;
}

/*
 * A page fault or a copy: the faulting address, the error code, the bytes the
 * kernel allocated (a copy's order), and the instruction in detail; the
 * correlator adds the block hit and what the page held.
 */
static void decode_page(const struct tb_rec_page *r, struct tb_event *e)
{
	static const char *const rss_kind[TB_RSS_KINDS] = { "file", "anon", "swap", "shmem" };

	if (e->type == TB_EV_RSS) {	/* pages of one kind the process has */
		e->size = r->addr * 4096;
		e->sysflags = r->error_code;
		snprintf(e->detail, sizeof(e->detail), "%s",
			 r->error_code < TB_RSS_KINDS ? rss_kind[r->error_code] : "?");
		return;
	}
	e->addr = r->addr;
	e->sysflags = r->error_code;
	e->size = (uint64_t)4096 << (r->order < 20 ? r->order : 0);
	e->old_size = r->ip;
	snprintf(e->detail, sizeof(e->detail), "ip 0x%llx", (unsigned long long)r->ip);
}

/* The kernel's exit code: a signal in the low 7 bits, else a status in the next byte. */
static void decode_exit(uint32_t code, struct tb_event *e)
{
	int sig = code & 0x7f;
	const char *name;

	if (!sig) {
		e->size = (code >> 8) & 0xff;
		return;
	}
	e->size = 128 + sig;
	name = sigabbrev_np(sig);
	snprintf(e->detail, sizeof(e->detail), "killed by %s%s%s", name ? "SIG" : "signal ",
		 name ? name : "", (code & 0x80) ? " (core dumped)" : "");
	if (!name)
		snprintf(e->detail, sizeof(e->detail), "killed by signal %d%s", sig,
			 (code & 0x80) ? " (core dumped)" : "");
}

static int decode_task(struct decoder *d, const struct tb_rec_task *r, struct tb_event *e)
{
	switch (r->h.type) {
	case TB_EV_COMM:
		/* on to the correlator too: a thread that makes no call after it has no row */
		comm_set(d, r->h.tid, r->comm);
		break;
	case TB_EV_FORK:
	case TB_EV_THREAD:
		comm_set(d, r->h.tid, r->comm);
		e->origin_pid = r->origin_pid;
		e->origin_tid = r->origin_tid;
		e->sysflags = r->clone_flags;
		if (r->h.type == TB_EV_THREAD)
			e->addr = r->stack;
		break;
	case TB_EV_EXIT:
		decode_exit(r->h.aux, e);
		/* fallthrough */
	default: /* exit_thread */
		comm_del(d, r->h.tid);
	}
	memcpy(e->comm, r->comm, TB_COMM_LEN);
	e->comm[TB_COMM_LEN - 1] = 0;
	return 1;
}

/* argv's strings with a space between each, as a command line reads; NULL if none were read. */
static const char *join_args(struct decoder *d, const struct tb_rec_exec *r)
{
	size_t n = r->args_len < TB_ARGS_LEN ? r->args_len : TB_ARGS_LEN - 1;

	if (!n)
		return NULL;
	memcpy(d->args, r->args, n);
	while (n && !d->args[n - 1])
		n--;	/* the last string's NUL */
	for (size_t i = 0; i < n; i++)
		if (!d->args[i])
			d->args[i] = ' ';
	d->args[n] = '\0';
	return d->args;
}

static const size_t rec_size[TB_EV_MAX] = {
#define TB_X_SIZE(kind, name, record, row, cols) [TB_EV_##kind] = TB_REC_SIZE_##record,
	TB_EVENTS(TB_X_SIZE)
#undef TB_X_SIZE
};

/*
 * Zero every field before comm, the numbers in 16-byte stores: a memset of
 * this size compiles to rep stos, whose start-up cost was a quarter of this
 * decoder's time per record here.
 */
static inline void clear_fields(struct tb_event *e)
{
	typedef uint64_t u64x2 __attribute__((vector_size(16), aligned(8), may_alias));
	u64x2 *v = (u64x2 *)e;

	_Static_assert(offsetof(struct tb_event, type) == 7 * sizeof(u64x2) &&
		       offsetof(struct tb_event, region) == offsetof(struct tb_event, type) + 4 &&
		       offsetof(struct tb_event, stack_id) == offsetof(struct tb_event, region) + 4 &&
		       offsetof(struct tb_event, comm) == offsetof(struct tb_event, stack_id) + 4,
		       "clear_fields() covers every field before comm");
	v[0] = v[1] = v[2] = v[3] = v[4] = v[5] = v[6] = (u64x2){ 0, 0 };
	e->type = TB_EV_NONE;
	e->region = TB_REG_NONE;
	e->stack_id = 0;
}

int decoder__record(struct decoder *d, const void *data, size_t size, struct tb_event *e)
{
	const struct tb_hdr *h = data;

	if (size < sizeof(*h) || h->type >= TB_EV_MAX || !rec_size[h->type] ||
	    size < rec_size[h->type])
		return -EINVAL;
	clear_fields(e);
	e->comm[0] = e->detail[0] = 0;
	e->args = NULL;
	e->type = h->type;
	e->ts_ns = h->ts_ns;
	e->pid = h->pid;
	e->tid = h->tid;
	e->fd = -1;
	if (tb_ev_is_alloc(h->type)) {
		decode_alloc(data, e);
	} else if (tb_ev_is_vm(h->type)) {
		decode_vm(data, e);
	} else if (tb_ev_is_page(h->type)) {
		decode_page(data, e);
	} else if (h->type == TB_EV_EXEC) {
		const struct tb_rec_exec *r = data;

		comm_set(d, h->tid, r->comm);
		memcpy(e->comm, r->comm, TB_COMM_LEN);
		snprintf(e->detail, sizeof(e->detail), "%.*s", TB_PATH_LEN - 1, r->filename);
		e->args = join_args(d, r);
		return 1;
	} else {
		return decode_task(d, data, e);
	}
	comm_get(d, h->pid, h->tid, e->comm);
	return 1;
}

struct decoder *decoder__new(void)
{
	struct decoder *d = calloc(1, sizeof(*d));

	if (d)
		d->free_name = IDMAP_NONE;
	return d;
}

void decoder__free(struct decoder *d)
{
	if (!d)
		return;
	idmap_free(&d->tids);
	free(d->names);
	free(d);
}
