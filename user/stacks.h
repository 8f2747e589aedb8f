/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * stacks.h: the call stacks the probes keep (struct tb_stack, one per
 * stack_id), read in place from the stacks map, and each frame placed in the
 * file its code came from.
 */
#ifndef TB_STACKS_H
#define TB_STACKS_H

#include <stdint.h>
#include <linux/types.h>
#include "../bpf/tlsbpf.h"

/* A frame placed: where in which file. module is NULL when no mapping held the address. */
struct stack_frame {
	uint64_t addr;
	uint64_t offset;	/* in the file */
	const char *module;	/* the file's path as the process mapped it; "[anon]": code in no file */
	const char *build_id;	/* lowercase hex; "" when the file has none or cannot be read */
	int fd;			/* the file, open, when path leads to it no more (deleted or
				   replaced since it was mapped); -1 otherwise. Owned by stacks */
};

struct stacks;

/* The stacks and files maps, mapped read-only from their fds; NULL with errno set. */
struct stacks *stacks__open(int stacks_fd, uint32_t nstacks, int files_fd, uint32_t nfiles);
void stacks__close(struct stacks *s);
/* stack_id's entry, whole; NULL if there is none. */
const struct tb_stack *stacks__get(const struct stacks *s, uint32_t id);
/*
 * The frames of st placed in their files, into out (TB_MAX_STACK of them);
 * returns how many. The probes placed them when the stack was first kept; a
 * frame they could not place is placed from the process's mappings as they
 * are now (or as last read, once it is gone). A process gone before they were
 * read has such a frame placed where the probes placed another frame of the
 * same file and image (the file's segments give its offset), else leaves it
 * without a module (counted).
 */
int stacks__place(struct stacks *s, const struct tb_stack *st, struct stack_frame *out);
/*
 * Holds a file open (a dup of fd) for the frames of processes that mapped it: an executable
 * deleted or replaced at its path while it ran still gives its own build-id and symbols
 * after the process is gone. Files are told apart by device and inode; 0 or -errno.
 */
int stacks__hold(struct stacks *s, int fd);
/* The same for the file at path (a command about to be started). */
int stacks__hold_path(struct stacks *s, const char *path);
/* Stacks with frames the probes could not place whose process had gone before its mappings were read. */
uint64_t stacks__unplaced(const struct stacks *s);

#endif
