/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procmaps.h: a process's executable mappings from /proc/PID/maps, and the build-ids of their files. */
#ifndef TB_PROCMAPS_H
#define TB_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One executable mapping: addresses [lo, hi) hold the file's bytes from off. */
struct pm_map {
	uint64_t lo, hi, off;
	char *path;	/* the file; "[vdso]" and the like; "[anon]" for code in no file */
};

struct procmaps {
	struct pm_map *maps;	/* sorted by lo */
	int n, cap;
};

/* Reads pid's executable mappings into pm, replacing what it held; 0 or -errno (-ENOENT: gone). */
int procmaps__read(struct procmaps *pm, pid_t pid);
/* The mapping addr lies in, or NULL. */
const struct pm_map *procmaps__find(const struct procmaps *pm, uint64_t addr);
void procmaps__clear(struct procmaps *pm);
/* The GNU build-id of the ELF file at path, in lowercase hex, into hex; 0 or -errno (-ENOENT: none). */
int procmaps__build_id(const char *path, char *hex, size_t cap);
/* The same of the file open on fd (left open). */
int procmaps__build_id_fd(int fd, char *hex, size_t cap);
/* A PT_LOAD segment of an ELF file: its bytes from off, filesz of them, at vaddr. */
struct pm_load {
	uint64_t vaddr, off, filesz, memsz;
	uint32_t flags;	/* PF_X, PF_W, PF_R */
};

/* The PT_LOAD segments of the ELF file open on fd (left open), the first cap of them, in order: how many, or -errno. */
int procmaps__loads(int fd, struct pm_load *v, int cap);
/* The device (major:minor) and inode a mapping of the file open on fd shows; 0 or -errno. */
int procmaps__mapped_id(int fd, unsigned *major, unsigned *minor, uint64_t *ino);

#endif
