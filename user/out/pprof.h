/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pprof.h: the gzip-compressed profile.proto file that go tool pprof, Pyroscope and Parca
 * read, with allocation and live-at-the-end counts and bytes per stack.
 */
#ifndef TB_PPROF_H
#define TB_PPROF_H

#include <stdint.h>
#include "outfile.h"
#include "prof_frame.h"

struct pprof_writer;

/* The values of each sample, in this order (profile sample types type/unit). */
enum {
	PPROF_ALLOC_OBJECTS, /* alloc_objects/count: blocks allocated */
	PPROF_ALLOC_SPACE,   /* alloc_space/bytes: bytes allocated */
	PPROF_INUSE_OBJECTS, /* inuse_objects/count: blocks still live at the end of the run */
	PPROF_INUSE_SPACE,   /* inuse_space/bytes: their bytes */
	PPROF_NVALUES,
};

struct pprof_opts {
	int64_t period;         /* one event in `period` recorded (--sample N); 0 or 1: every one */
	int64_t time_nanos;     /* when the run started, ns since the epoch; 0 if not given */
	int64_t duration_nanos; /* how long it ran; 0 if not given */
};

/* Who made a sample: labels pid, tid (numbers), process, thread (names); 0 or NULL: no label. */
struct pprof_labels {
	int64_t pid, tid;
	const char *process, *thread;
};

/*
 * Open PATH for the profile now (as outfile__open does: a bad path fails before the run).
 * NULL with errno set after one line on stderr. opts may be NULL.
 */
struct pprof_writer *pprof__begin(const char *path, const struct tb_owner *owner,
				  const struct pprof_opts *opts);

/* The same on fd, already open, which w owns from now on; name is for messages. */
struct pprof_writer *pprof__begin_fd(int fd, const char *name, const struct pprof_opts *opts);

/*
 * One sample: the stack of n frames (leaf first, see prof_frame.h), its values and who.
 * Each distinct file (module, build-id) becomes a Mapping, each distinct address a Location
 * whose Lines are its inline chain, innermost first. Samples with the same stack and labels
 * may be added more than once; pprof adds them up. Returns 0 or -ENOMEM.
 */
int pprof__add_sample(struct pprof_writer *w, const struct prof_frame *frames, int n,
		      const int64_t values[PPROF_NVALUES], const struct pprof_labels *labels);

/* Write the profile, close the file and free w. 0 or a negative errno after one line. */
int pprof__end(struct pprof_writer *w);

/* Close and free w without writing (a run that failed); the file is left empty. */
void pprof__discard(struct pprof_writer *w);

#endif
