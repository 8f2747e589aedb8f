// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof.c: profile.proto written by a small protobuf encoder of our own (varints and
 * length-delimited fields are all the format needs), gzip-compressed by zlib.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "pprof.h"

/* Each file's addresses get a 1 TiB window of their own, so no two Mappings overlap and an
 * address minus its Mapping's start is the file offset (file_offset 0), as pprof reads it. */
#define MAPPING_SHIFT 40

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

struct pb { /* a protobuf message being built */
	uint8_t *p;
	size_t len, cap;
	int err;
};

struct strmap_slot {
	char *key; /* NULL: free */
	uint64_t value;
};

struct strmap { /* string -> number, open addressing, at most half full */
	struct strmap_slot *slots;
	size_t n, cap;
};

struct pprof_writer {
	int fd;
	char *path;
	struct pprof_opts opts;
	struct strmap strings, mappings, locations, functions;
	struct pb string_table, mapping, location, function, samples;
	int64_t nstrings;
	uint64_t nmappings, nlocations, nfunctions;
};

static void pb_put(struct pb *b, const void *data, size_t len)
{
	if (b->err)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	do {
		buf[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	pb_put(b, buf, n);
}

/* A varint field; proto3 leaves zero out, a reader takes the absence as zero. */
static void pb_uint(struct pb *b, int field, uint64_t v)
{
	if (!v)
		return;
	pb_varint(b, (uint64_t)field << 3 | WIRE_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pb *b, int field, const void *data, size_t len)
{
	pb_varint(b, (uint64_t)field << 3 | WIRE_LEN);
	pb_varint(b, len);
	pb_put(b, data, len);
}

/* sub as a field of b, and sub emptied for the next message. */
static void pb_msg(struct pb *b, int field, struct pb *sub)
{
	if (sub->err)
		b->err = sub->err;
	pb_bytes(b, field, sub->p, sub->len);
	sub->len = 0;
}

/* A packed repeated varint field (location_id, value). */
static void pb_packed(struct pb *b, int field, const uint64_t *v, int n, struct pb *scratch)
{
	int i;

	for (i = 0; i < n; i++)
		pb_varint(scratch, v[i]);
	pb_msg(b, field, scratch);
}

static uint64_t hash_key(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct strmap_slot *strmap_slot(struct strmap_slot *slots, size_t cap, const char *key)
{
	size_t i;

	for (i = hash_key(key) & (cap - 1); slots[i].key; i = (i + 1) & (cap - 1))
		if (strcmp(slots[i].key, key) == 0)
			break;
	return &slots[i];
}

/* The number key maps to, or 0 and *slot where it goes (NULL when out of memory). */
static uint64_t strmap_find(struct strmap *m, const char *key, struct strmap_slot **slot)
{
	struct strmap_slot *s;

	*slot = NULL;
	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024, i;
		struct strmap_slot *t = calloc(cap, sizeof(*t));

		if (!t)
			return 0;
		for (i = 0; i < m->cap; i++)
			if (m->slots[i].key)
				*strmap_slot(t, cap, m->slots[i].key) = m->slots[i];
		free(m->slots);
		m->slots = t;
		m->cap = cap;
	}
	s = strmap_slot(m->slots, m->cap, key);
	if (s->key)
		return s->value;
	*slot = s;
	return 0;
}

/* Record key -> value in the free slot strmap_find gave; 0 or -ENOMEM. */
static int strmap_set(struct strmap *m, struct strmap_slot *slot, const char *key, uint64_t value)
{
	slot->key = strdup(key);
	if (!slot->key)
		return -ENOMEM;
	slot->value = value;
	m->n++;
	return 0;
}

static void strmap_free(struct strmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
}

/* The string table index of s, added on first sight (index 0 is ""). */
static int64_t str_index(struct pprof_writer *w, const char *s)
{
	struct strmap_slot *slot;
	uint64_t found;

	if (!s || !*s)
		return 0;
	found = strmap_find(&w->strings, s, &slot);
	if (found || !slot)
		return found;
	if (strmap_set(&w->strings, slot, s, w->nstrings + 1)) {
		w->string_table.err = -ENOMEM;
		return 0;
	}
	pb_bytes(&w->string_table, 6, s, strlen(s));
	return ++w->nstrings;
}

static void write_error(struct pprof_writer *w, int err)
{
	fprintf(stderr, "tlsbpf: cannot write '%s': %s\n", w->path, strerror(-err));
}

struct pprof_writer *pprof__begin_fd(int fd, const char *name, const struct pprof_opts *opts)
{
	struct pprof_writer *w = calloc(1, sizeof(*w));
	static const char *const names[] = { "alloc_objects", "count", "alloc_space", "bytes",
					     "inuse_objects", "inuse_space", "space" };
	size_t i;

	if (!w || !(w->path = strdup(name))) {
		free(w);
		close(fd);
		fprintf(stderr, "tlsbpf: cannot write '%s': %s\n", name, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	w->fd = fd;
	if (opts)
		w->opts = *opts;
	pb_bytes(&w->string_table, 6, "", 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		str_index(w, names[i]);
	return w;
}

struct pprof_writer *pprof__begin(const char *path, const struct tb_owner *owner,
				  const struct pprof_opts *opts)
{
	int fd = outfile__open(path, owner);

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return pprof__begin_fd(fd, path, opts);
}

/* The Mapping of a frame's file, made on first sight; 0 for code with no file. */
static uint64_t mapping_id(struct pprof_writer *w, const struct prof_frame *f)
{
	const char *bid = f->build_id ? f->build_id : "";
	struct strmap_slot *slot;
	struct pb m = { 0 };
	char key[8192];
	uint64_t id, start;

	if (!f->module || f->module[0] == '[')
		return 0;
	snprintf(key, sizeof(key), "%s\x01%s", f->module, bid);
	id = strmap_find(&w->mappings, key, &slot);
	if (id || !slot || strmap_set(&w->mappings, slot, key, w->nmappings + 1))
		return id;
	id = ++w->nmappings;
	start = id << MAPPING_SHIFT;
	pb_uint(&m, 1, id);
	pb_uint(&m, 2, start);
	pb_uint(&m, 3, start + (1ULL << MAPPING_SHIFT));
	pb_uint(&m, 5, str_index(w, f->module));
	pb_uint(&m, 6, str_index(w, bid));
	/* symbolized already, with inline chains: pprof must not try again (or go to a server) */
	pb_uint(&m, 7, 1);
	pb_uint(&m, 8, 1);
	pb_uint(&m, 9, 1);
	pb_uint(&m, 10, 1);
	pb_msg(&w->mapping, 3, &m);
	free(m.p);
	return id;
}

static uint64_t function_id(struct pprof_writer *w, const char *name, const char *file)
{
	struct strmap_slot *slot;
	struct pb m = { 0 };
	char key[8192];
	uint64_t id;

	snprintf(key, sizeof(key), "%s\x01%s", name, file ? file : "");
	id = strmap_find(&w->functions, key, &slot);
	if (id || !slot || strmap_set(&w->functions, slot, key, w->nfunctions + 1))
		return id;
	id = ++w->nfunctions;
	pb_uint(&m, 1, id);
	pb_uint(&m, 2, str_index(w, name));
	pb_uint(&m, 3, str_index(w, name));
	pb_uint(&m, 4, str_index(w, file));
	pb_msg(&w->function, 5, &m);
	free(m.p);
	return id;
}

/* A Line of a Location: the function (a bracketed module names code with no file) and line. */
static void put_line(struct pprof_writer *w, struct pb *loc, const struct prof_frame *f)
{
	struct pb line = { 0 };
	const char *name = f->function;

	if (!name && f->module && f->module[0] == '[')
		name = f->module;
	if (!name)
		return; /* unknown: pprof shows the address */
	pb_uint(&line, 1, function_id(w, name, f->function ? f->file : NULL));
	pb_uint(&line, 2, f->line > 0 ? f->line : 0);
	pb_msg(loc, 4, &line);
	free(line.p);
}

/* The Location of the address whose inline chain is frames[0..n), made on first sight. */
static uint64_t location_id(struct pprof_writer *w, const struct prof_frame *frames, int n)
{
	uint64_t map = mapping_id(w, &frames[0]), id;
	struct strmap_slot *slot;
	struct pb loc = { 0 };
	char key[64];
	int i;

	snprintf(key, sizeof(key), "%" PRIu64 ":%" PRIx64 "%s", map, frames[0].offset,
		 frames[0].module && strcmp(frames[0].module, "[truncated]") == 0 ? "t" : "");
	id = strmap_find(&w->locations, key, &slot);
	if (id || !slot || strmap_set(&w->locations, slot, key, w->nlocations + 1))
		return id;
	id = ++w->nlocations;
	pb_uint(&loc, 1, id);
	pb_uint(&loc, 2, map);
	pb_uint(&loc, 3, (map << MAPPING_SHIFT) + frames[0].offset);
	for (i = 0; i < n; i++)
		put_line(w, &loc, &frames[i]);
	pb_msg(&w->location, 4, &loc);
	free(loc.p);
	return id;
}

static void put_label(struct pprof_writer *w, struct pb *sample, const char *key, int64_t num,
		      const char *str)
{
	struct pb label = { 0 };

	if (!num && !str)
		return;
	pb_uint(&label, 1, str_index(w, key));
	pb_uint(&label, 2, str_index(w, str));
	pb_uint(&label, 3, num);
	pb_msg(sample, 3, &label);
	free(label.p);
}

int pprof__add_sample(struct pprof_writer *w, const struct prof_frame *frames, int n,
		      const int64_t values[PPROF_NVALUES], const struct pprof_labels *labels)
{
	uint64_t *ids = malloc((n > 0 ? n : 1) * sizeof(*ids)), vals[PPROF_NVALUES];
	struct pb sample = { 0 }, scratch = { 0 };
	int i, j, k = 0, err;

	if (!ids)
		return -ENOMEM;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && frames[j].inline_depth > 0; j++)
			;
		ids[k] = location_id(w, &frames[i], j - i);
		if (!ids[k++])
			w->samples.err = -ENOMEM;
	}
	for (i = 0; i < PPROF_NVALUES; i++)
		vals[i] = values[i];
	pb_packed(&sample, 1, ids, k, &scratch);
	pb_packed(&sample, 2, vals, PPROF_NVALUES, &scratch);
	if (labels) {
		put_label(w, &sample, "pid", labels->pid, NULL);
		put_label(w, &sample, "tid", labels->tid, NULL);
		put_label(w, &sample, "process", 0, labels->process);
		put_label(w, &sample, "thread", 0, labels->thread);
	}
	pb_msg(&w->samples, 2, &sample);
	err = w->samples.err ? w->samples.err : scratch.err;
	free(sample.p);
	free(scratch.p);
	free(ids);
	return err;
}

static void writer_free(struct pprof_writer *w)
{
	strmap_free(&w->strings);
	strmap_free(&w->mappings);
	strmap_free(&w->locations);
	strmap_free(&w->functions);
	free(w->string_table.p);
	free(w->mapping.p);
	free(w->location.p);
	free(w->function.p);
	free(w->samples.p);
	free(w->path);
	free(w);
}

void pprof__discard(struct pprof_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	writer_free(w);
}

/* The Profile's own fields: what the values are, the period, when, and the default view. */
static void put_header(struct pprof_writer *w, struct pb *h)
{
	static const char *const types[PPROF_NVALUES][2] = {
		{ "alloc_objects", "count" },
		{ "alloc_space", "bytes" },
		{ "inuse_objects", "count" },
		{ "inuse_space", "bytes" },
	};
	struct pb vt = { 0 };
	int i;

	for (i = 0; i < PPROF_NVALUES; i++) {
		pb_uint(&vt, 1, str_index(w, types[i][0]));
		pb_uint(&vt, 2, str_index(w, types[i][1]));
		pb_msg(h, 1, &vt);
	}
	pb_uint(h, 9, w->opts.time_nanos);
	pb_uint(h, 10, w->opts.duration_nanos);
	pb_uint(&vt, 1, str_index(w, "space"));
	pb_uint(&vt, 2, str_index(w, "bytes"));
	pb_msg(h, 11, &vt);
	pb_uint(h, 12, w->opts.period > 1 ? w->opts.period : 1);
	/* what a heap profile opens on, as Go's do: bytes still live at the end (leaks) */
	pb_uint(h, 14, str_index(w, "inuse_space"));
	free(vt.p);
}

static int gz_put(gzFile gz, const struct pb *b)
{
	if (b->err)
		return b->err;
	if (b->len && gzwrite(gz, b->p, b->len) != (int)b->len)
		return -EIO;
	return 0;
}

int pprof__end(struct pprof_writer *w)
{
	struct pb header = { 0 };
	const struct pb *parts[] = { &header, &w->samples, &w->mapping, &w->location, &w->function,
				     &w->string_table };
	gzFile gz;
	size_t i;
	int err = 0;

	put_header(w, &header);
	gz = gzdopen(w->fd, "wb");
	if (!gz) {
		close(w->fd);
		err = -ENOMEM;
	}
	for (i = 0; gz && !err && i < sizeof(parts) / sizeof(parts[0]); i++)
		err = gz_put(gz, parts[i]);
	if (gz && gzclose(gz) != Z_OK && !err)
		err = -EIO;
	if (err)
		write_error(w, err);
	free(header.p);
	writer_free(w);
	return err;
}
