// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stacktab.c: the run's canonical call stacks, one id per distinct list of
 * (file identity, file offset) frames, found by hash and confirmed by
 * comparing the whole key; and their names, each file kept open for the
 * symbolizer from the moment a stack first names it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stacktab.h"

/* An interned string: equal strings are one pointer, so frames compare by pointer. */
struct istr {
	char *s;
	uint64_t hash;
	bool kept;	/* a module path given to the symbolizer */
};

struct stacktab {
	struct stacks *src;
	struct symbols *sym;
	uint32_t bpf[TB_MAX_STACKS];	/* the probes' id -> canonical id; 0: not asked yet */
	struct stacktab_stack *stacks;	/* id - 1 */
	uint64_t *hash;			/* id - 1: of the stack's key */
	uint32_t *keypid;		/* id - 1: the pid in the key (frames outside any file) */
	uint32_t n, cap;
	uint32_t *slots;		/* open addressing: ids, 0 empty */
	uint32_t nslots;
	struct istr *strs;		/* open addressing, NULL s empty */
	uint32_t nstrs, capstrs;
	uint64_t missing;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int strs_grow(struct stacktab *t)
{
	uint32_t cap = t->capstrs ? 2 * t->capstrs : 256;
	struct istr *n = calloc(cap, sizeof(*n)), *old = t->strs;

	if (!n)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->capstrs; i++) {
		uint32_t j = old[i].hash & (cap - 1);

		if (!old[i].s)
			continue;
		while (n[j].s)
			j = (j + 1) & (cap - 1);
		n[j] = old[i];
	}
	free(old);
	t->strs = n;
	t->capstrs = cap;
	return 0;
}

/* s interned; NULL for NULL, and on ENOMEM */
static struct istr *intern(struct stacktab *t, const char *s)
{
	uint64_t h;
	uint32_t j;

	if (!s)
		return NULL;
	if (2 * (t->nstrs + 1) > t->capstrs && strs_grow(t))
		return NULL;
	h = str_hash(s);
	for (j = h & (t->capstrs - 1); t->strs[j].s; j = (j + 1) & (t->capstrs - 1))
		if (t->strs[j].hash == h && !strcmp(t->strs[j].s, s))
			return &t->strs[j];
	t->strs[j].s = strdup(s);
	if (!t->strs[j].s)
		return NULL;
	t->strs[j].hash = h;
	t->nstrs++;
	return &t->strs[j];
}

struct stacktab *stacktab__new(const struct symbols_opts *sym_opts)
{
	struct stacktab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (sym_opts) {
		t->sym = symbols__new(sym_opts);
		if (!t->sym) {
			free(t);
			return NULL;
		}
	}
	return t;
}

void stacktab__free(struct stacktab *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->n; i++) {
		for (int j = 0; j < t->stacks[i].nr; j++)
			free((void *)t->stacks[i].frames[j].lines);
		free((void *)t->stacks[i].frames);
	}
	for (uint32_t i = 0; i < t->capstrs; i++)
		free(t->strs[i].s);
	free(t->strs);
	free(t->stacks);
	free(t->hash);
	free(t->keypid);
	free(t->slots);
	symbols__free(t->sym);
	free(t);
}

void stacktab__set_source(struct stacktab *t, struct stacks *src)
{
	t->src = src;
}

uint32_t stacktab__count(const struct stacktab *t)
{
	return t ? t->n : 0;
}

void stacktab__counts(const struct stacktab *t, uint64_t *stacks, uint64_t *truncated)
{
	*stacks = *truncated = 0;
	for (uint32_t i = 0; t && i < t->n; i++)
		*truncated += !!(t->stacks[i].flags & TB_STK_TRUNCATED);
	*stacks = t ? t->n : 0;
}

uint64_t stacktab__missing(const struct stacktab *t)
{
	return t ? t->missing : 0;
}

const struct stacktab_stack *stacktab__get(const struct stacktab *t, uint32_t id)
{
	return t && id && id <= t->n ? &t->stacks[id - 1] : NULL;
}

/* A frame outside any known file is told apart only within its process. */
static bool frame_is_local(const struct stacktab_frame *f)
{
	return !f->module || !strcmp(f->module, "[anon]");
}

/* What says which file: the build-id, else the path (both interned, so one pointer each). */
static const char *identity(const struct stacktab_frame *f)
{
	return f->build_id && f->build_id[0] ? f->build_id : f->module;
}

static uint64_t key_hash(uint32_t keypid, uint16_t flags, const struct stacktab_frame *f, int nr)
{
	uint64_t h = mix(mix(keypid, flags), nr);

	for (int i = 0; i < nr; i++)
		h = mix(mix(h, (uintptr_t)identity(&f[i])), f[i].offset);
	return h;
}

static bool key_equal(const struct stacktab *t, uint32_t id, uint32_t keypid, uint16_t flags,
		      const struct stacktab_frame *f, int nr)
{
	const struct stacktab_stack *st = &t->stacks[id - 1];

	if (t->keypid[id - 1] != keypid || st->flags != flags || st->nr != nr)
		return false;
	for (int i = 0; i < nr; i++)
		if (identity(&st->frames[i]) != identity(&f[i]) ||
		    st->frames[i].offset != f[i].offset)
			return false;
	return true;
}

static int slots_grow(struct stacktab *t)
{
	uint32_t cap = t->nslots ? 2 * t->nslots : 1024;
	uint32_t *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (uint32_t id = 1; id <= t->n; id++) {
		uint32_t j = t->hash[id - 1] & (cap - 1);

		while (n[j])
			j = (j + 1) & (cap - 1);
		n[j] = id;
	}
	free(t->slots);
	t->slots = n;
	t->nslots = cap;
	return 0;
}

static int stacks_grow(struct stacktab *t)
{
	uint32_t cap = t->cap ? 2 * t->cap : 256;
	struct stacktab_stack *s = realloc(t->stacks, cap * sizeof(*s));
	uint64_t *h;
	uint32_t *p;

	if (!s)
		return -ENOMEM;
	t->stacks = s;
	h = realloc(t->hash, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	t->hash = h;
	p = realloc(t->keypid, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->keypid = p;
	t->cap = cap;
	return 0;
}

/* Each file a new stack names is opened for the symbolizer now, while it is still there. */
static void keep_modules(struct stacktab *t, const struct stacktab_frame *f, int nr)
{
	for (int i = 0; t->sym && i < nr; i++) {
		struct istr *m;

		if (!f[i].module || f[i].module[0] != '/')
			continue;
		m = intern(t, f[i].module);
		if (!m || m->kept)
			continue;
		m->kept = true;
		/* a file that cannot be opened now says so when resolved, in its flags */
		symbols__keep(t->sym, f[i].module, f[i].build_id, -1);
	}
}

static const char *intern_or_null(struct stacktab *t, const char *s, bool *fail)
{
	struct istr *i = intern(t, s);

	*fail |= s && !i;
	return i ? i->s : NULL;
}

/* A frame's names, their strings interned; NULL (and *fail) on ENOMEM. */
static struct sym_line *lines_copy(struct stacktab *t, const struct stacktab_frame *f, bool *fail)
{
	struct sym_line *l = f->nlines > 0 ? calloc(f->nlines, sizeof(*l)) : NULL;

	*fail |= f->nlines > 0 && !l;
	for (int i = 0; l && i < f->nlines; i++)
		l[i] = (struct sym_line){ intern_or_null(t, f->lines[i].function, fail),
					  intern_or_null(t, f->lines[i].file, fail), f->lines[i].line };
	return l;
}

static void frames_free(struct stacktab_frame *c, int nr)
{
	for (int i = 0; c && i < nr; i++)
		free((void *)c[i].lines);
	free(c);
}

/* f's strings interned into a new array; NULL on ENOMEM. */
static struct stacktab_frame *frames_copy(struct stacktab *t, const struct stacktab_frame *f,
					  int nr)
{
	struct stacktab_frame *c = calloc(nr, sizeof(*c));
	bool fail = !c;

	for (int i = 0; c && i < nr; i++) {
		c[i] = (struct stacktab_frame){ f[i].addr, f[i].offset,
						intern_or_null(t, f[i].module, &fail),
						intern_or_null(t, f[i].build_id ?: "", &fail) };
		if (frame_is_local(&c[i]))
			c[i].offset = c[i].addr;	/* no file: the address is all there is */
		c[i].lines = lines_copy(t, &f[i], &fail);
		c[i].nlines = c[i].lines ? f[i].nlines : 0;
	}
	if (fail) {
		frames_free(c, nr);
		return NULL;
	}
	return c;
}

uint32_t stacktab__add(struct stacktab *t, uint32_t pid, uint16_t flags,
		       const struct stacktab_frame *frames, int nr)
{
	struct stacktab_frame *f;
	uint32_t keypid = 0, j;
	uint64_t h;

	if (nr <= 0 || nr > TB_MAX_STACK) {
		errno = EINVAL;
		return 0;
	}
	f = frames_copy(t, frames, nr);
	if (!f)
		goto nomem;
	for (int i = 0; i < nr; i++)
		if (frame_is_local(&f[i]))
			keypid = pid;
	flags &= TB_STK_TRUNCATED | TB_STK_GAP;	/* collided says how it was kept, not what */
	h = key_hash(keypid, flags, f, nr);
	if (2 * (t->n + 1) > t->nslots && slots_grow(t))
		goto nomem;
	for (j = h & (t->nslots - 1); t->slots[j]; j = (j + 1) & (t->nslots - 1))
		if (t->hash[t->slots[j] - 1] == h && key_equal(t, t->slots[j], keypid, flags, f, nr)) {
			frames_free(f, nr);
			return t->slots[j];
		}
	if (t->n == t->cap && stacks_grow(t))
		goto nomem;
	t->stacks[t->n] = (struct stacktab_stack){ pid, nr, flags, f };
	t->hash[t->n] = h;
	t->keypid[t->n] = keypid;
	t->slots[j] = ++t->n;
	keep_modules(t, f, nr);
	return t->n;
nomem:
	frames_free(f, nr);
	errno = ENOMEM;
	return 0;
}

uint32_t stacktab__canon(struct stacktab *t, uint32_t bpf_id)
{
	struct stack_frame placed[TB_MAX_STACK];
	struct stacktab_frame f[TB_MAX_STACK];
	const struct tb_stack *st;
	int nr;

	if (!bpf_id)
		return 0;
	if (bpf_id < TB_MAX_STACKS && t->bpf[bpf_id])
		return t->bpf[bpf_id];
	st = t->src && bpf_id < TB_MAX_STACKS ? stacks__get(t->src, bpf_id) : NULL;
	if (!st) {
		t->missing++;
		return 0;
	}
	nr = stacks__place(t->src, st, placed);
	for (int i = 0; i < nr; i++) {
		f[i] = (struct stacktab_frame){ placed[i].addr, placed[i].offset, placed[i].module,
						placed[i].build_id };
		/* a file gone from its path: the symbolizer reads it from the copy held open */
		if (placed[i].fd >= 0 && t->sym)
			symbols__keep(t->sym, placed[i].module, placed[i].build_id, placed[i].fd);
	}
	t->bpf[bpf_id] = stacktab__add(t, st->tgid, st->flags, f, nr);
	if (!t->bpf[bpf_id])
		t->missing++;
	return t->bpf[bpf_id];
}

int stacktab__names(struct stacktab *t, uint32_t id, int i, struct sym_result *out)
{
	const struct stacktab_stack *st = stacktab__get(t, id);
	const struct stacktab_frame *f = st && i >= 0 && i < st->nr ? &st->frames[i] : NULL;

	*out = (struct sym_result){ 0 };
	if (f && f->nlines) {
		*out = (struct sym_result){ f->lines, f->nlines, 0 };
		return 0;
	}
	if (!t || !t->sym || !f || !f->module || f->module[0] != '/')
		return 0;
	/* every frame, the call site too, is a return address: the line is the call's */
	return symbols__resolve(t->sym, f->module, f->build_id, f->offset, true, out);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

void stacktab__frame_name(struct stacktab *t, uint32_t id, int i, char *buf, size_t cap)
{
	const struct stacktab_stack *st = stacktab__get(t, id);
	const struct stacktab_frame *f = st && i >= 0 && i < st->nr ? &st->frames[i] : NULL;
	const struct sym_line *l;
	struct sym_result r = { 0 };

	if (!f) {
		snprintf(buf, cap, "%s", !id ? "(no stack)" : st ? "(no such frame)" : "(stack not kept)");
		return;
	}
	stacktab__names(t, id, i, &r);
	l = r.n ? &r.lines[0] : NULL;
	if (l && l->function && l->file && l->line)
		snprintf(buf, cap, "%s (%s:%d)", l->function, base_name(l->file), l->line);
	else if (l && l->function)
		snprintf(buf, cap, "%s (%s)", l->function, f->module ? base_name(f->module) : "?");
	else if (f->module && f->module[0] == '/')
		snprintf(buf, cap, "%s+0x%" PRIx64, base_name(f->module), f->offset);
	else
		snprintf(buf, cap, "0x%" PRIx64, f->addr);
}

void stacktab__site_name(struct stacktab *t, uint32_t id, char *buf, size_t cap)
{
	stacktab__frame_name(t, id, 0, buf, cap);
}
