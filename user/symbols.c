// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* symbols.c: the symbolizer: modules opened once through libdwfl, every answer cached. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "dwarf_index.h"
#include "procmaps.h"
#include "symbols.h"

#define DEFAULT_DEBUG_ROOT "/usr/lib/debug"
#define MAX_BUILD_ID 64
#define MAX_LOADS 16

struct sym_load { /* a PT_LOAD: where file offsets land in the module's addresses */
	uint64_t offset, size, vaddr;
};

struct sym_module {
	char *path;
	char *build_id; /* hex, "" when unknown */
	unsigned char bid[MAX_BUILD_ID];
	size_t bid_len;
	int kept_fd; /* the caller's file, duplicated by symbols__keep; -1 if none */
	bool loaded;  /* open attempted: dwfl set, or flags say why not */
	unsigned int flags;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	struct sym_load loads[MAX_LOADS];
	int nloads;
	struct dwarf_index **units; /* the compile units looked in so far */
	int nunits, units_cap;
	struct symbols *owner;
};

struct sym_entry { /* one cached answer; module NULL marks a free slot */
	struct sym_module *module;
	uint64_t offset; /* the offset looked up: a return address's minus one */
	struct sym_result res;
};

struct symbols {
	char *debug_root;
	bool debuginfod;
	struct sym_module **modules;
	size_t nmodules, modules_cap;
	struct sym_module *last; /* the module asked for last: a stack asks for one many times */
	struct sym_entry *cache;
	size_t cached, cache_cap; /* cache_cap a power of two, at most half full */
	char **strings;           /* interned names and files: open addressing, NULL free */
	size_t nstrings, strings_cap;
};

static uint64_t hash_str(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Names and file names repeat across thousands of answers: keep one copy of each. */
static const char *intern(struct symbols *s, const char *str)
{
	size_t i, mask;

	if (!str)
		return NULL;
	if (2 * (s->nstrings + 1) > s->strings_cap) {
		size_t cap = s->strings_cap ? 2 * s->strings_cap : 256, j;
		char **t = calloc(cap, sizeof(*t));

		if (!t)
			return NULL;
		for (j = 0; j < s->strings_cap; j++) {
			if (!s->strings[j])
				continue;
			for (i = hash_str(s->strings[j], 0xcbf29ce484222325ULL) & (cap - 1); t[i];
			     i = (i + 1) & (cap - 1))
				;
			t[i] = s->strings[j];
		}
		free(s->strings);
		s->strings = t;
		s->strings_cap = cap;
	}
	mask = s->strings_cap - 1;
	for (i = hash_str(str, 0xcbf29ce484222325ULL) & mask; s->strings[i]; i = (i + 1) & mask)
		if (strcmp(s->strings[i], str) == 0)
			return s->strings[i];
	s->strings[i] = strdup(str);
	if (s->strings[i])
		s->nstrings++;
	return s->strings[i];
}

char *symbols__demangle(const char *name)
{
	/* Only Itanium-ABI symbols: a C function called "i" must not become "int". */
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
}

/* NAME as a person reads it, interned. */
static const char *function_name(struct symbols *s, const char *name)
{
	char *d = symbols__demangle(name);
	const char *r;

	if (!d)
		return intern(s, name);
	r = intern(s, d);
	free(d);
	return r;
}

static int parse_build_id(const char *hex, unsigned char *out)
{
	size_t n = hex ? strlen(hex) : 0, i;

	if (n % 2 || n / 2 > MAX_BUILD_ID)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)hex[i]))
			return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		unsigned int byte;

		sscanf(hex + 2 * i, "%2x", &byte);
		out[i] = byte;
	}
	return n / 2;
}

struct symbols *symbols__new(const struct symbols_opts *opts)
{
	struct symbols *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->debug_root = strdup(opts && opts->debug_root ? opts->debug_root : DEFAULT_DEBUG_ROOT);
	s->debuginfod = opts && opts->debuginfod;
	if (!s->debug_root) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	elf_version(EV_CURRENT);
	return s;
}

static void module_free(struct sym_module *m)
{
	int i;

	for (i = 0; i < m->nunits; i++)
		dwarf_index__free(m->units[i]);
	free(m->units);
	if (m->dwfl)
		dwfl_end(m->dwfl);
	if (m->kept_fd >= 0)
		close(m->kept_fd);
	free(m->path);
	free(m->build_id);
	free(m);
}

void symbols__free(struct symbols *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nmodules; i++)
		module_free(s->modules[i]);
	for (i = 0; i < s->cache_cap; i++)
		if (s->cache[i].module)
			free((void *)s->cache[i].res.lines);
	for (i = 0; i < s->strings_cap; i++)
		free(s->strings[i]);
	free(s->strings);
	free(s->cache);
	free(s->modules);
	free(s->debug_root);
	free(s);
}

void symbols__stats(const struct symbols *s, size_t *modules, size_t *cached)
{
	*modules = s->nmodules;
	*cached = s->cached;
}

static bool module_is(const struct sym_module *m, const char *path, const char *build_id)
{
	return m && strcmp(m->path, path) == 0 && strcmp(m->build_id, build_id) == 0;
}

/* The module (path, build_id), made on first sight. A linear search: a run maps few files. */
static struct sym_module *module_get(struct symbols *s, const char *path, const char *build_id)
{
	struct sym_module *m;
	size_t i;
	int n;

	if (!build_id)
		build_id = "";
	if (module_is(s->last, path, build_id))
		return s->last;
	for (i = 0; i < s->nmodules; i++)
		if (module_is(s->modules[i], path, build_id))
			return s->last = s->modules[i];
	if (s->nmodules == s->modules_cap) {
		size_t cap = s->modules_cap ? 2 * s->modules_cap : 16;
		struct sym_module **t = realloc(s->modules, cap * sizeof(*t));

		if (!t)
			return NULL;
		s->modules = t;
		s->modules_cap = cap;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->kept_fd = -1;
	m->owner = s;
	m->path = strdup(path);
	m->build_id = strdup(build_id);
	n = parse_build_id(build_id, m->bid);
	if (!m->path || !m->build_id || n < 0) {
		module_free(m);
		errno = n < 0 ? EINVAL : ENOMEM;
		return NULL;
	}
	m->bid_len = n;
	s->modules[s->nmodules++] = m;
	return s->last = m;
}

/* Does the ELF file on fd carry the module's build-id (any ELF, when it has none to match)? */
static bool elf_matches(int fd, const struct sym_module *m)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *bits;
	ssize_t n;
	bool ok;

	if (!elf)
		return false;
	n = dwelf_elf_gnu_build_id(elf, &bits);
	ok = elf_kind(elf) == ELF_K_ELF &&
	     (!m->bid_len || (n == (ssize_t)m->bid_len && memcmp(bits, m->bid, n) == 0));
	elf_end(elf);
	return ok;
}

/* An open fd of PATH if it is the module's file, else -1. */
static int open_matching(const char *path, const struct sym_module *m)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && !elf_matches(fd, m)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ROOT/.build-id/xx/rest.debug, Debian's -dbgsym layout, for build-id bits. */
static void build_id_path(char *buf, size_t len, const char *root, const unsigned char *bits,
			  size_t n)
{
	size_t i, at = snprintf(buf, len, "%s/.build-id/", root);

	for (i = 0; i < n && at + 4 < len; i++)
		at += snprintf(buf + at, len - at, i == 1 ? "/%02x" : "%02x", bits[i]);
	snprintf(buf + at, len > at ? len - at : 0, ".debug");
}

/*
 * The PT_LOAD segments of the file on fd, which turn file offsets into addresses. A separate
 * .debug file keeps the segments but not their file offsets (its sections hold no bytes), so
 * there the offsets are taken as a linker lays a file out: each segment at the same distance
 * from the first as in memory. That holds for GNU ld's output (Debian's), not for lld's.
 */
static int read_loads(int fd, struct sym_module *m, bool guess)
{
	struct pm_load v[MAX_LOADS];
	int n = procmaps__loads(fd, v, MAX_LOADS);

	m->nloads = 0;
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		m->loads[m->nloads++] = (struct sym_load){
			.offset = guess ? v[i].vaddr - (v[0].vaddr - v[0].off) : v[i].off,
			.size = guess ? v[i].memsz : v[i].filesz,
			.vaddr = v[i].vaddr,
		};
	return 0;
}

/* The CRC-32 a .gnu_debuglink carries: zlib's, over the whole file. */
static int file_crc32(int fd, uint32_t *sum)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, NULL, 0);
	ssize_t n;
	off_t at = 0;

	while ((n = pread(fd, buf, sizeof(buf), at)) > 0) {
		crc = crc32(crc, buf, n);
		at += n;
	}
	*sum = crc;
	return n < 0 ? -errno : 0;
}

/*
 * Is the file on fd the debug file of module mod: the same build-id, or when the module has
 * none the CRC its .gnu_debuglink names? A dwz file (alt) has a build-id of its own.
 */
static bool debug_matches(int fd, Dwfl_Module *mod, GElf_Word crc, bool alt)
{
	const unsigned char *want;
	const void *have;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &want, &vaddr);
	Elf *elf;
	ssize_t got;
	uint32_t sum;
	bool ok;

	if (n <= 0 && !alt)
		return crc && file_crc32(fd, &sum) == 0 && sum == crc;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	got = elf ? dwelf_elf_gnu_build_id(elf, &have) : -1;
	ok = alt ? got > 0 : got == n && memcmp(have, want, n) == 0;
	elf_end(elf); /* have points into it */
	return ok;
}

static int try_debug(const char *path, Dwfl_Module *mod, GElf_Word crc, bool alt, char **found)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (!debug_matches(fd, mod, crc, alt)) {
		close(fd);
		return -1;
	}
	*found = strdup(path);
	return fd;
}

/* The places gdb and Debian's -dbgsym packages agree on for a .gnu_debuglink NAME. */
static int find_by_debuglink(const struct symbols *s, Dwfl_Module *mod, const char *file_name,
			     const char *link, GElf_Word crc, bool alt, char **found)
{
	char dir[4096], path[8192];
	const char *slash;
	int fd;

	if (link[0] == '/') {
		fd = try_debug(link, mod, crc, alt, found);
		if (fd >= 0 || strncmp(link, DEFAULT_DEBUG_ROOT "/", 15) != 0)
			return fd;
		snprintf(path, sizeof(path), "%s%s", s->debug_root, link + 14);
		return try_debug(path, mod, crc, alt, found);
	}
	slash = file_name ? strrchr(file_name, '/') : NULL;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - file_name) : 1,
		 slash ? file_name : ".");
	snprintf(path, sizeof(path), "%s/%s", dir, link);
	if ((!file_name || strcmp(path, file_name) != 0) &&
	    (fd = try_debug(path, mod, crc, alt, found)) >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/.debug/%s", dir, link);
	if ((fd = try_debug(path, mod, crc, alt, found)) >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s%s/%s", s->debug_root, dir, link);
	return try_debug(path, mod, crc, alt, found);
}

/*
 * libdwfl's find_debuginfo callback. Its standard one asks debuginfod whenever DEBUGINFOD_URLS
 * is set, so it is called only when the caller asked for debuginfod; the local search is ours.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *link, GElf_Word crc, char **found)
{
	struct sym_module *m = *userdata;
	struct symbols *s = m->owner;
	const unsigned char *bits;
	GElf_Addr vaddr;
	char path[8192];
	int n = dwfl_module_build_id(mod, &bits, &vaddr), fd = -1;
	/* libdwfl asks for a .gnu_debugaltlink (dwz) file this way: a link with no CRC */
	bool alt = link && crc == 0;

	if (n > 0 && !alt) {
		build_id_path(path, sizeof(path), s->debug_root, bits, n);
		fd = try_debug(path, mod, crc, alt, found);
	}
	if (fd < 0 && link)
		fd = find_by_debuglink(s, mod, file_name, link, crc, alt, found);
	if (fd < 0 && s->debuginfod)
		fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, link,
						  crc, found);
	return fd;
}

/* Never called: every module is reported with its file. */
static int find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		       char **file_name, Elf **elfp)
{
	return -1;
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_no_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* Hand the file on fd (consumed) to libdwfl as the module's ELF, at its link-time addresses. */
static int module_report(struct sym_module *m, int fd, const char *path, bool guess)
{
	void **userdata;

	if (read_loads(fd, m, guess)) {
		close(fd);
		return -EINVAL;
	}
	m->dwfl = dwfl_begin(&callbacks);
	if (!m->dwfl) {
		close(fd);
		return -ENOMEM;
	}
	dwfl_report_begin(m->dwfl);
	m->mod = dwfl_report_elf(m->dwfl, m->path, path, fd, 0, true);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod) {
		close(fd);
		return -EINVAL;
	}
	dwfl_module_info(m->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	*userdata = m;
	if (guess)
		m->flags |= SYM_GUESSED_OFFSET;
	return 0;
}

/*
 * Open the module's file once: the descriptor kept when its mapping was seen, else the file
 * at its path if it still has the build-id, else Debian's build-id debug file.
 */
static void module_load(struct symbols *s, struct sym_module *m)
{
	char path[8192];
	int fd = -1;

	m->loaded = true;
	if (m->kept_fd >= 0) {
		fd = dup(m->kept_fd);
		if (fd >= 0 && module_report(m, fd, m->path, false) == 0)
			return;
	}
	fd = open_matching(m->path, m);
	if (fd >= 0 && module_report(m, fd, m->path, false) == 0)
		return;
	m->flags |= SYM_NOT_AT_PATH;
	if (m->bid_len) {
		build_id_path(path, sizeof(path), s->debug_root, m->bid, m->bid_len);
		fd = open_matching(path, m);
		if (fd >= 0 && module_report(m, fd, path, true) == 0)
			return;
	}
	m->flags |= SYM_NO_FILE;
}

int symbols__keep(struct symbols *s, const char *path, const char *build_id, int fd)
{
	struct sym_module *m = module_get(s, path, build_id);

	if (!m)
		return -errno;
	if (m->kept_fd >= 0 || m->loaded)
		return 0;
	if (fd >= 0) {
		m->kept_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (m->kept_fd < 0)
			return -errno;
		if (elf_matches(m->kept_fd, m))
			return 0;
		close(m->kept_fd);
		m->kept_fd = -1;
	}
	m->kept_fd = open_matching(path, m);
	return m->kept_fd >= 0 ? 0 : -ENOENT;
}

/* The module address of file offset off, or 0 with false when no segment holds it. */
static bool offset_to_addr(const struct sym_module *m, uint64_t off, Dwarf_Addr *addr)
{
	Dwarf_Addr bias = 0;
	int i;

	if (!dwfl_module_getelf(m->mod, &bias))
		return false;
	for (i = 0; i < m->nloads; i++) {
		const struct sym_load *l = &m->loads[i];

		if (off >= l->offset && off - l->offset < l->size) {
			*addr = l->vaddr + (off - l->offset) + bias;
			return true;
		}
	}
	return false;
}

/* FILE made absolute with the compilation directory, as `eu-addr2line -A` prints it. */
static const char *absolute(struct symbols *s, Dwarf_Die *cu, const char *file)
{
	Dwarf_Attribute attr;
	const char *dir;
	char buf[8192];

	if (!file || file[0] == '/')
		return intern(s, file);
	dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
	if (!dir)
		return intern(s, file);
	snprintf(buf, sizeof(buf), "%s/%s", dir, file);
	return intern(s, buf);
}

/* A function DIE's name: the linkage (mangled) name demangled, else its plain name. */
static const char *die_function(struct symbols *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));

	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	return name ? function_name(s, name) : NULL;
}

/* The file and line an inlined subroutine was called from, in its caller. */
static void call_site(struct symbols *s, Dwarf_Die *cu, Dwarf_Die *inlined, const char **file,
		      int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx = 0, ln = 0;
	Dwarf_Files *files;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &ln) == 0)
		*line = ln;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &idx) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && idx < nfiles)
		*file = absolute(s, cu, dwarf_filesrc(files, idx, NULL, NULL));
}

/* The index of compile unit cu, made the first time an address falls in it. */
static struct dwarf_index *unit_index(struct sym_module *m, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	struct dwarf_index *x;
	int i;

	for (i = m->nunits - 1; i >= 0; i--)
		if (dwarf_index__offset(m->units[i]) == off)
			return m->units[i];
	if (m->nunits == m->units_cap) {
		int cap = m->units_cap ? 2 * m->units_cap : 16;
		struct dwarf_index **t = realloc(m->units, cap * sizeof(*t));

		if (!t)
			return NULL;
		m->units = t;
		m->units_cap = cap;
	}
	x = dwarf_index__new(cu);
	if (x)
		m->units[m->nunits++] = x;
	return x;
}

#define MAX_CHAIN 64

/*
 * The inline chain at addr, innermost first: the innermost function's line is the line
 * table's, each function it was inlined into gets the line of that inlined call.
 */
static int dwarf_chain(struct symbols *s, struct sym_module *m, Dwarf_Addr addr,
		       struct sym_line *out, int max)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, &bias), chain[MAX_CHAIN];
	Dwfl_Line *dl = dwfl_module_getsrc(m->mod, addr);
	struct dwarf_index *x = cu ? unit_index(m, cu) : NULL;
	const char *file = NULL;
	int line = 0, n = 0, nchain, i;

	if (dl)
		file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
	if (!cu)
		return 0;
	file = absolute(s, cu, file);
	if (max > MAX_CHAIN)
		max = MAX_CHAIN;
	nchain = x ? dwarf_index__chain(x, addr - bias, chain, max) : 0;
	for (i = 0; i < nchain; i++) {
		out[n++] = (struct sym_line){ die_function(s, &chain[i]), file, line };
		if (dwarf_tag(&chain[i]) == DW_TAG_inlined_subroutine)
			call_site(s, cu, &chain[i], &file, &line);
	}
	if (n == 0 && dl)
		out[n++] = (struct sym_line){ NULL, file, line };
	return n;
}


/* The answer for address addr of module m, into a new array. */
static int lookup(struct symbols *s, struct sym_module *m, Dwarf_Addr addr, struct sym_result *res)
{
	struct sym_line chain[MAX_CHAIN];
	struct sym_line *lines;
	int n = dwarf_chain(s, m, addr, chain, MAX_CHAIN);

	res->flags = m->flags;
	/* no DWARF, or a clone (f.isra.0, f.part.1) whose DIE names nothing: the symbol's name */
	if (n == 0 || !chain[n - 1].function) {
		GElf_Off off;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(m->mod, addr, &off, &sym, NULL, NULL, NULL);

		if (name) {
			if (n == 0)
				chain[n++] = (struct sym_line){ NULL, NULL, 0 };
			chain[n - 1].function = function_name(s, name);
		}
	}
	if (n == 0 || !chain[0].file)
		res->flags |= SYM_NO_DEBUG;
	res->n = n;
	res->lines = NULL;
	if (!n)
		return 0;
	lines = malloc(n * sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	memcpy(lines, chain, n * sizeof(*lines));
	res->lines = lines;
	return 0;
}

static size_t slot_of(const struct symbols *s, const struct sym_module *m, uint64_t off)
{
	return hash_u64(off ^ (uintptr_t)m * 0x9e3779b97f4a7c15ULL) & (s->cache_cap - 1);
}

static int cache_grow(struct symbols *s)
{
	size_t cap = s->cache_cap ? 2 * s->cache_cap : 1024, old = s->cache_cap, i;
	struct sym_entry *t = calloc(cap, sizeof(*t)), *prev = s->cache;

	if (!t)
		return -ENOMEM;
	s->cache = t;
	s->cache_cap = cap;
	for (i = 0; i < old; i++) {
		size_t j;

		if (!prev[i].module)
			continue;
		j = slot_of(s, prev[i].module, prev[i].offset);
		while (t[j].module)
			j = (j + 1) & (cap - 1);
		t[j] = prev[i];
	}
	free(prev);
	return 0;
}

/* The cache slot for (m, off): the filled one, or the free one to fill. */
static struct sym_entry *cache_slot(struct symbols *s, struct sym_module *m, uint64_t off)
{
	size_t i;

	for (i = slot_of(s, m, off); s->cache[i].module; i = (i + 1) & (s->cache_cap - 1))
		if (s->cache[i].module == m && s->cache[i].offset == off)
			break;
	return &s->cache[i];
}

int symbols__resolve(struct symbols *s, const char *path, const char *build_id, uint64_t offset,
		     bool is_return, struct sym_result *out)
{
	struct sym_module *m;
	struct sym_entry *e;
	Dwarf_Addr addr;
	int err;

	*out = (struct sym_result){ NULL, 0, 0 };
	if (!path || !path[0] || path[0] == '[')
		return 0; /* [anon], [truncated], [vdso]: no file to look in */
	m = module_get(s, path, build_id);
	if (!m)
		return -errno;
	if (is_return && offset)
		offset--;
	if (2 * (s->cached + 1) > s->cache_cap && (err = cache_grow(s)))
		return err;
	e = cache_slot(s, m, offset);
	if (e->module) {
		*out = e->res;
		return 0;
	}
	if (!m->loaded)
		module_load(s, m);
	out->flags = m->flags;
	if (m->mod && offset_to_addr(m, offset, &addr) && (err = lookup(s, m, addr, out)))
		return err;
	*e = (struct sym_entry){ m, offset, *out };
	s->cached++;
	return 0;
}
