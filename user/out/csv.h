/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* csv.h: CSV schema v1 writer (the hot path) and reader (for `tlsbpf analyze`). */
#ifndef TB_CSV_H
#define TB_CSV_H

#include <stdio.h>
#include "event.h"
#include "outfile.h"

/* Schema v1: the first 15 columns are the contract; later ones are appended extensions. */
#define TB_CSV_HEADER                                                                          \
	"seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,"      \
	"origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail,args,stack_id"

/*
 * Columns whose meaning depends on the event kind (TB_EVENTS says which each
 * kind fills); the others are filled whenever set.
 */
enum {
	TB_COL_SIZE = 1 << 0,
	TB_COL_ADDR = 1 << 1,
	TB_COL_OLD_ADDR = 1 << 2,
	TB_COL_LATENCY = 1 << 3,
	TB_COL_PROT = 1 << 4,
	TB_COL_SYSFLAGS = 1 << 5,
	TB_COL_FD = 1 << 6,
	TB_COL_OLD_SIZE = 1 << 7,
	TB_COL_ALIGN = 1 << 8,
};

#define TB_COLS_ALLOC	(TB_COL_SIZE | TB_COL_ADDR | TB_COL_LATENCY)
#define TB_COLS_REALLOC	(TB_COLS_ALLOC | TB_COL_OLD_ADDR)
#define TB_COLS_ALIGNED	(TB_COLS_ALLOC | TB_COL_ALIGN)
/* touch, wp, cow, page_fault: bytes, faulting address, the block hit, the error code */
#define TB_COLS_PAGE	(TB_COL_SIZE | TB_COL_ADDR | TB_COL_OLD_ADDR | TB_COL_SYSFLAGS)

/* The TB_COL_* columns a row of e fills: what every per-event output writes or leaves empty. */
unsigned csv_row_cols(const struct tb_event *e);

struct csv_writer;

/* NULL with errno set on failure (after printing one line about it). */
struct csv_writer *csv_writer__open(const char *path, const struct tb_owner *owner);
/* The caller sets e->seq. Buffered; returns 0 or -errno. */
int csv_writer__write(struct csv_writer *w, const struct tb_event *e);
int csv_writer__flush(struct csv_writer *w);
/* Flushes and closes; returns 0 or the first write error seen as -errno. */
int csv_writer__close(struct csv_writer *w);

/* Writes a CSV field with RFC 4180 quoting when needed; returns bytes written to dst (cap >= 2*len+2). */
size_t csv_quote(char *dst, const char *src, size_t len);

struct csv_reader;

struct csv_reader *csv_reader__open(const char *path);	/* "-" is stdin; NULL + errno */
/* 1: an event was read into e; 0: end of file; -1: malformed, see csv_reader__error. */
int csv_reader__next(struct csv_reader *r, struct tb_event *e);
/* "line 12: bad hex in addr: '0xzz'" */
const char *csv_reader__error(const struct csv_reader *r);
void csv_reader__close(struct csv_reader *r);
/* The line the last row read starts at. */
uint64_t csv_reader__line(const struct csv_reader *r);
/* Reads len bytes at data, which must outlive the reader (tests and fuzzing). */
struct csv_reader *csv_reader__open_mem(const char *data, size_t len);

#endif
