/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* libc_resolve.h: which file provides malloc for a command, and where its allocator functions are. */
#ifndef TB_LIBC_RESOLVE_H
#define TB_LIBC_RESOLVE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define TB_NFUNCS 10	/* malloc .. pvalloc, free included */
#define TB_NPROBES 40	/* probes in one file: those, and the allocator's own (tb_entries) */
#define TB_PLACE_NOTE 400	/* how a probe was placed, for -v */

/* The allocator functions found in one file, aliases folded: one probe per offset. */
struct alloc_lib {
	char path[PATH_MAX];
	int n;
	uint64_t offsets[TB_NPROBES];	/* file offsets, as uprobes want them */
	uint64_t sizes[TB_NPROBES];	/* each function's length in bytes (0: unknown) */
	uint64_t skipped[TB_NPROBES];	/* bytes between the entry and where the probe sits */
	uint64_t cookies[TB_NPROBES];	/* enum tb_event_type of each */
	uint64_t entries[TB_NPROBES];	/* index into tb_entries: 0 for malloc .. pvalloc */
	uint64_t argregs[TB_NPROBES];	/* cookie bits: where each probe reads arguments */
	char placed[TB_NPROBES][TB_PLACE_NOTE];	/* for -v: how each was placed, or why not */
	const char *names[TB_NPROBES];
	const char *forwarders[TB_NPROBES];	/* own entry points left unprobed: they jump on */
	int nforwarders;
	uint64_t free_vaddr;	/* free's address as the ELF file numbers it */
	uint64_t text_lo;	/* the executable segment containing free, same numbering */
	uint64_t text_hi;
	uint64_t text_off_lo;	/* the same segment in file offsets, as probes are placed */
	uint64_t text_off_hi;
	uint64_t ldso_lo;	/* the interpreter it names: its text, from where it is loaded */
	uint64_t ldso_hi;
	uint64_t exit_off;	/* where exits begin, glibc's __call_tls_dtors (0: none) */
	const char *exit_name;	/* the function at exit_off */
	bool in_program;	/* the allocator is inside a program (static): its text is the program's */
	bool cxx;		/* no malloc, C++ operators (libstdc++): probed at entry only */
};

/*
 * Find the file that serves malloc to the program at PATH (an executable or a
 * script): LD_PRELOAD first, then the program itself, its interpreter and its
 * needed libraries in load order. Writes the path into out. 0 or -errno
 * (-ENOENT: nothing defines malloc; -ENOEXEC: not an ELF file or script).
 */
enum provider_via {
	TB_VIA_PRELOAD,		/* LD_PRELOAD */
	TB_VIA_SELF,		/* the program defines malloc itself (static, or its own) */
	TB_VIA_INTERP,		/* the program interpreter is the C library (musl) */
	TB_VIA_NEEDED,		/* a needed library, found through the loader's search path */
};

int libc_resolve__provider(const char *path, char *out, size_t outsz, enum provider_via *via);

/* The system's default C library (libc.so.6 through the loader's search path). */
int libc_resolve__system_libc(char *out, size_t outsz);
/* The system's C++ library (libstdc++.so.6 the same way), when it has the operators. */
int libc_resolve__system_cxx(char *out, size_t outsz);

/*
 * Fill lib with the allocator functions PATH defines; -ENOENT if it has no
 * malloc. A file without malloc that defines C++'s operator new and delete
 * (libstdc++) gives their probes, with lib->cxx set.
 */
int libc_resolve__functions(const char *path, struct alloc_lib *lib);

/* A script's #! interpreter into out; -ENOEXEC when PATH is no script. */
int libc_resolve__interpreter(const char *path, char *out, size_t outsz);

/* Find COMMAND like execvp would (PATH search when it has no '/'); -ENOENT, -EACCES, -EISDIR. */
int libc_resolve__command(const char *command, char *out, size_t outsz);

#endif
