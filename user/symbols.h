/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* symbols.h: code addresses (file, build-id, file offset) to functions, inline chains, lines. */
#ifndef TB_SYMBOLS_H
#define TB_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbols;

struct symbols_opts {
	/* Where separate debug files live, as Debian's -dbgsym packages lay them out
	 * (ROOT/.build-id/xx/rest.debug, and ROOT/DIR/NAME for a .gnu_debuglink NAME of a
	 * file in DIR); NULL means /usr/lib/debug. */
	const char *debug_root;
	/* Ask the debuginfod servers of DEBUGINFOD_URLS for debug info found nowhere on
	 * this machine. Off, no lookup ever leaves the machine, whatever the environment. */
	bool debuginfod;
};

/* One function of an inline chain, and the line in it. */
struct sym_line {
	const char *function; /* demangled; NULL when no name is known */
	const char *file;     /* source file, absolute when the debug info allows; or NULL */
	int line;             /* 0 when unknown */
};

/* How a module's answers were found (bits of sym_result.flags). */
enum {
	SYM_NOT_AT_PATH = 1 << 0,  /* the file at the path is gone, or another (build-id differs) */
	SYM_NO_FILE = 1 << 1,      /* no file for the module anywhere: nothing is known */
	SYM_NO_DEBUG = 1 << 2,     /* symbol table names only, no file:line */
	SYM_GUESSED_OFFSET = 1 << 3, /* only a separate .debug file was found, whose headers no
				      * longer give file offsets: offsets mapped as a linker lays
				      * a file out (see docs/stacks.md) */
};

/*
 * The answer for one address: n entries, innermost first, as `eu-addr2line -f -i` prints them:
 * the function holding the address and its line, then each function it was inlined into with
 * the line of that inlined call. n is 0 when nothing is known (anonymous code, no file, an
 * offset outside the file's code). The strings live as long as the symbols object.
 */
struct sym_result {
	const struct sym_line *lines;
	int n;
	unsigned int flags;
};

/* A symbolizer; NULL with errno set on failure. opts may be NULL (the defaults). */
struct symbols *symbols__new(const struct symbols_opts *opts);

void symbols__free(struct symbols *s);

/*
 * Keep the module (path, build_id) open now, while the file is still there: called when its
 * mapping is seen, so that a file deleted or replaced later, or a library dlclose'd, still
 * resolves. fd, when >= 0, is an open descriptor of the mapped file (e.g. from
 * /proc/PID/map_files); it is duplicated, the caller keeps its own. build_id is lowercase
 * hex, NULL or "" when unknown. Returns 0, or a negative errno when no file with that
 * build-id could be opened (resolving it later will then say why in its flags).
 */
int symbols__keep(struct symbols *s, const char *path, const char *build_id, int fd);

/*
 * Resolve the code at file offset `offset` of module (path, build_id). is_return: the
 * address is a return address, looked up at offset - 1 so the line is the call's.
 * Modules "[anon]" and "[truncated]" (and any name in brackets) resolve to nothing.
 * Each (module, offset) is resolved once; later calls return the cached answer.
 * Returns 0 (out filled, possibly with n = 0), -EINVAL for a build-id that is not hex, or
 * -ENOMEM.
 */
int symbols__resolve(struct symbols *s, const char *path, const char *build_id, uint64_t offset,
		     bool is_return, struct sym_result *out);

/* Distinct modules opened and (module, offset) answers cached, for reports and benchmarks. */
void symbols__stats(const struct symbols *s, size_t *modules, size_t *cached);

/* NAME demangled (C++ Itanium ABI) into a new string, or NULL if it is not a mangled name. */
char *symbols__demangle(const char *name);

#endif
