// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libc_resolve.c: following a command's interpreter and needed libraries to the file that defines malloc. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "libc_resolve.h"
#include "../bpf/tlsbpf.h"
#include "event.h"
#include <linux/types.h>

#define MAX_DIRS 64
#define MAX_LIBS 64

/* Preference order when aliases share an address: the first name wins. */
static const struct {
	const char *name;
	int type;
} alloc_funcs[TB_NFUNCS] = {
	{ "malloc", TB_EV_MALLOC },
	{ "free", TB_EV_FREE },
	{ "calloc", TB_EV_CALLOC },
	{ "realloc", TB_EV_REALLOC },
	{ "reallocarray", TB_EV_REALLOCARRAY },
	{ "posix_memalign", TB_EV_POSIX_MEMALIGN },
	{ "memalign", TB_EV_MEMALIGN },
	{ "aligned_alloc", TB_EV_ALIGNED_ALLOC },
	{ "valloc", TB_EV_VALLOC },
	{ "pvalloc", TB_EV_PVALLOC },
};

struct elf_file {
	int fd;
	Elf *elf;
};

static int elf_file__open(struct elf_file *f, const char *path)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		if (f->elf)
			elf_end(f->elf);
		close(f->fd);
		return -ENOEXEC;
	}
	return 0;
}

static void elf_file__close(struct elf_file *f)
{
	elf_end(f->elf);
	close(f->fd);
}

/*
 * The executable segment holding vaddr (any, for vaddr ~0): a caller inside it
 * is the library itself. *shift turns its addresses into file offsets.
 */
static void text_range(Elf *elf, uint64_t vaddr, uint64_t *lo, uint64_t *hi, uint64_t *shift)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    ((vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz) || vaddr == ~0ULL)) {
			*lo = ph.p_vaddr;
			*hi = ph.p_vaddr + ph.p_memsz;
			*shift = ph.p_vaddr - ph.p_offset;
		}
}

/* Uprobes take file offsets: map a virtual address through the loadable segments. */
static int vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

static Elf_Scn *find_section(Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	return NULL;
}

/*
 * glibc's thread exit, and exit(), start by running the thread's TLS
 * destructors; the allocator's own frees at thread exit (the tcache flush)
 * come after. A probe here opens the window in which frees are checked for a
 * caller inside the library, the one check that reads user memory.
 *
 * When the allocator is inside the program (a static binary), a caller in the
 * same text proves nothing: the window must open only once no code of the
 * program can run in the thread, at __libc_thread_freeres, after the TLS and
 * pthread key destructors. Without that mark the check is off.
 */
enum { TB_MARK_TLS_DTORS = TB_NFUNCS, TB_MARK_FREERES, TB_SYM_MAIN, TB_NSYMS };

/* vaddrs' slots: TB_NSYMS of those, then one per tb_entries after its first */
#define NSLOTS (TB_NSYMS + TB_MAX_ENTRIES)

static const char *const other_syms[] = {
	[TB_MARK_TLS_DTORS - TB_NFUNCS] = "__call_tls_dtors",
	[TB_MARK_FREERES - TB_NFUNCS] = "__libc_thread_freeres",
	[TB_SYM_MAIN - TB_NFUNCS] = "main",
};

/*
 * The names looked for, by hash: a library's thousands of symbols (libstdc++ has 6,000) each
 * compared with a hundred names took milliseconds of start-up.
 */
#define NAME_SLOTS 1024	/* a power of two, twice NSLOTS at least: never full */
_Static_assert(NAME_SLOTS >= 2 * NSLOTS, "the name table must stay half empty");

static struct name_slot {
	const char *name;
	int index;
} name_slots[NAME_SLOTS];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static struct name_slot *name_slot(const char *name)
{
	uint32_t h = name_hash(name);

	for (;; h++) {
		struct name_slot *slot = &name_slots[h & (NAME_SLOTS - 1)];

		if (!slot->name || strcmp(slot->name, name) == 0)
			return slot;
	}
}

/* In the order looked in before: a name listed twice keeps its first index. */
static void name_add(const char *name, int index)
{
	struct name_slot *slot = name_slot(name);

	if (!slot->name)
		*slot = (struct name_slot){ name, index };
}

static void names_init(void)
{
	for (int i = 0; i < TB_NFUNCS; i++)
		name_add(alloc_funcs[i].name, i);
	for (int i = TB_NFUNCS; i < TB_NSYMS; i++)
		name_add(other_syms[i - TB_NFUNCS], i);
	for (unsigned k = 1; k < tb_nentries; k++)
		name_add(tb_entry_sym(k), TB_NSYMS + k - 1);
}

/* Index into vaddrs: an allocator function, a mark or main, or -1. */
static int func_index(const char *name)
{
	struct name_slot *slot;

	pthread_once(&names_once, names_init);
	slot = name_slot(name);
	return slot->name ? slot->index : -1;
}

/*
 * The text of the dynamic loader that the library names as its interpreter
 * (glibc's libc.so.6 does), relative to where the loader is mapped: the
 * allocations the loader makes (a thread's DTV) are the C library's.
 */
static void loader_text(Elf *elf, struct alloc_lib *lib)
{
	struct elf_file ld;
	uint64_t shift;
	char interp[PATH_MAX] = "";
	size_t n, len;
	GElf_Phdr ph;
	char *raw = elf_rawfile(elf, &len);

	if (!raw || elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_INTERP &&
		    ph.p_offset + ph.p_filesz <= len)
			snprintf(interp, sizeof(interp), "%.*s", (int)ph.p_filesz, raw + ph.p_offset);
	if (!interp[0] || elf_file__open(&ld, interp))
		return;
	text_range(ld.elf, ~0ULL, &lib->ldso_lo, &lib->ldso_hi, &shift);
	elf_file__close(&ld);
}

/* A program that holds its own allocator, or a library; and where its exits begin. */
static void exit_mark(Elf *elf, const uint64_t *vaddrs, struct alloc_lib *lib)
{
	GElf_Ehdr eh;
	int mark;

	lib->in_program = vaddrs[TB_SYM_MAIN] || (gelf_getehdr(elf, &eh) && eh.e_type == ET_EXEC);
	mark = lib->in_program || !vaddrs[TB_MARK_TLS_DTORS] ? TB_MARK_FREERES : TB_MARK_TLS_DTORS;
	if (!vaddrs[mark] || vaddr_to_offset(elf, vaddrs[mark], &lib->exit_off))
		lib->exit_off = 0;
	else
		lib->exit_name = other_syms[mark - TB_NFUNCS];
}

/*
 * Scan one symbol table for defined allocator functions. IFUNCs are skipped:
 * their symbol is the resolver, not the function. Hidden versions (old compat
 * symbols) are skipped when the table says so.
 */
static void scan_symtab(Elf *elf, Elf_Scn *scn, uint64_t *vaddrs, uint64_t *sizes)
{
	Elf_Data *data = elf_getdata(scn, NULL), *ver = NULL;
	Elf_Scn *vscn = find_section(elf, SHT_GNU_versym);
	GElf_Shdr sh;
	GElf_Sym sym;

	if (!data || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return;
	if (sh.sh_type == SHT_DYNSYM && vscn)
		ver = elf_getdata(vscn, NULL);
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		const char *name;
		int k;

		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		if (ver && (i + 1) * 2 <= ver->d_size && (((uint16_t *)ver->d_buf)[i] & 0x8000))
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		k = name ? func_index(name) : -1;
		if (k >= 0 && !vaddrs[k]) {
			vaddrs[k] = sym.st_value;
			sizes[k] = sym.st_size;
		}
	}
}

/*
 * A function that begins by jumping elsewhere (after an endbr64) only passes
 * the call on, to a function that is probed itself or reports nothing: mimalloc's
 * mi_free_size jumps to mi_free. Probing it too would report a free twice.
 */
static bool forwards(Elf *elf, uint64_t off)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	size_t len;
	const uint8_t *raw = (const uint8_t *)elf_rawfile(elf, &len);

	if (!raw || off + 8 > len)
		return false;
	raw += off;
	if (memcmp(raw, endbr64, sizeof(endbr64)) == 0)
		raw += sizeof(endbr64);
	return raw[0] == 0xe9 || raw[0] == 0xeb;
}

/* One probe per address: the first name found for it wins (aliases share an address). */
static void add_function(Elf *elf, struct alloc_lib *lib, uint64_t vaddr, uint64_t size,
			 int type, unsigned entry, const char *name)
{
	uint64_t off;

	if (!vaddr || lib->n >= TB_NPROBES || vaddr_to_offset(elf, vaddr, &off))
		return;
	for (int j = 0; j < lib->n; j++)
		if (lib->offsets[j] == off)
			return;
	/* a C++ operator's probe only notes its name: one that jumps on is noted first */
	if (entry && !tb_entries[entry].cxx && forwards(elf, off)) {
		if (lib->nforwarders < TB_NPROBES)
			lib->forwarders[lib->nforwarders++] = name;
		return;
	}
	lib->offsets[lib->n] = off;
	lib->sizes[lib->n] = size;
	lib->cookies[lib->n] = type;
	lib->entries[lib->n] = entry;
	lib->names[lib->n++] = name;
}

int libc_resolve__functions(const char *path, struct alloc_lib *lib)
{
	uint64_t vaddrs[NSLOTS] = {}, sizes[NSLOTS] = {};
	struct elf_file f;
	Elf_Scn *scn;
	int err;

	err = elf_file__open(&f, path);
	if (err)
		return err;
	memset(lib, 0, sizeof(*lib));
	if ((scn = find_section(f.elf, SHT_DYNSYM)))
		scan_symtab(f.elf, scn, vaddrs, sizes);
	if ((scn = find_section(f.elf, SHT_SYMTAB)))
		scan_symtab(f.elf, scn, vaddrs, sizes);
	for (int i = 0; i < TB_NFUNCS; i++)
		add_function(f.elf, lib, vaddrs[i], sizes[i], alloc_funcs[i].type, 0,
			     alloc_funcs[i].name);
	/* the allocator's own entry points, only beside a malloc: no C library has them */
	for (unsigned k = 1; vaddrs[0] && k < tb_nentries; k++)
		if (!tb_entries[k].cxx)
			add_function(f.elf, lib, vaddrs[TB_NSYMS + k - 1], sizes[TB_NSYMS + k - 1],
				     tb_entries[k].type, k, tb_entries[k].name);
	/*
	 * C++ operators that call malloc and free (libstdc++), only where malloc is
	 * not: an allocator defining both (tcmalloc, jemalloc) serves new itself
	 */
	for (unsigned k = 1; !vaddrs[0] && k < tb_nentries; k++)
		if (tb_entries[k].cxx)
			add_function(f.elf, lib, vaddrs[TB_NSYMS + k - 1], sizes[TB_NSYMS + k - 1],
				     tb_entries[k].type == TB_EV_FREE ? TB_PROBE_CXX_DELETE
								      : TB_PROBE_CXX_NEW,
				     k, tb_entry_sym(k));
	lib->cxx = !vaddrs[0] && lib->n;
	if (vaddrs[1]) {
		uint64_t shift = 0;

		lib->free_vaddr = vaddrs[1];
		text_range(f.elf, vaddrs[1], &lib->text_lo, &lib->text_hi, &shift);
		lib->text_off_lo = lib->text_lo - shift;
		lib->text_off_hi = lib->text_hi - shift;
	}
	loader_text(f.elf, lib);
	exit_mark(f.elf, vaddrs, lib);
	elf_file__close(&f);
	if ((!vaddrs[0] && !lib->cxx) || !lib->n)
		return -ENOENT;
	snprintf(lib->path, sizeof(lib->path), "%s", path);
	return 0;
}

static bool defines_malloc(const char *path)
{
	struct alloc_lib lib;

	return libc_resolve__functions(path, &lib) == 0 && !lib.cxx;
}

/* What the dynamic loader needs to know about one ELF file. */
struct elf_deps {
	char interp[PATH_MAX];
	char needed[MAX_LIBS][NAME_MAX + 1];
	int nneeded;
	char runpath[PATH_MAX];
};

static void read_dynamic(Elf *elf, struct elf_deps *d)
{
	Elf_Scn *scn = find_section(elf, SHT_DYNAMIC);
	Elf_Data *data;
	GElf_Shdr sh;
	GElf_Dyn dyn;

	if (!scn || !(data = elf_getdata(scn, NULL)) || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && gelf_getdyn(data, i, &dyn); i++) {
		const char *s;

		if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
			continue;
		s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
		if (!s)
			continue;
		if (dyn.d_tag == DT_NEEDED && d->nneeded < MAX_LIBS)
			snprintf(d->needed[d->nneeded++], sizeof(d->needed[0]), "%s", s);
		else if (dyn.d_tag != DT_NEEDED && !d->runpath[0])
			snprintf(d->runpath, sizeof(d->runpath), "%s", s);
	}
}

static int read_deps(const char *path, struct elf_deps *d)
{
	struct elf_file f;
	size_t n;
	GElf_Phdr ph;
	int err;

	memset(d, 0, sizeof(*d));
	err = elf_file__open(&f, path);
	if (err)
		return err;
	if (!elf_getphdrnum(f.elf, &n)) {
		for (size_t i = 0; i < n; i++) {
			char *raw;
			size_t len;

			if (!gelf_getphdr(f.elf, i, &ph) || ph.p_type != PT_INTERP)
				continue;
			raw = elf_rawfile(f.elf, &len);
			if (raw && ph.p_offset + ph.p_filesz <= len)
				snprintf(d->interp, sizeof(d->interp), "%.*s", (int)ph.p_filesz,
					 raw + ph.p_offset);
		}
	}
	read_dynamic(f.elf, d);
	elf_file__close(&f);
	return 0;
}

struct dirs {
	char *v[MAX_DIRS];
	int n;
};

static void dirs_add(struct dirs *ds, const char *dir, size_t len)
{
	if (len && ds->n < MAX_DIRS)
		ds->v[ds->n++] = strndup(dir, len);
}

static void dirs_add_list(struct dirs *ds, const char *list, const char *origin)
{
	while (list && *list) {
		size_t len = strcspn(list, ":;");
		char buf[PATH_MAX];

		if (len > 7 && strncmp(list, "$ORIGIN", 7) == 0 && origin) {
			snprintf(buf, sizeof(buf), "%s%.*s", origin, (int)(len - 7), list + 7);
			dirs_add(ds, buf, strlen(buf));
		} else {
			dirs_add(ds, list, len);
		}
		list += len + (list[len] != 0);
	}
}

/* /etc/ld.so.conf and its includes: where ldconfig finds libraries. */
static void dirs_add_conf(struct dirs *ds, const char *conf, int depth)
{
	char line[PATH_MAX];
	FILE *f = fopen(conf, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		s[strcspn(s, "#\r\n")] = 0;
		if (strncmp(s, "include", 7) == 0 && depth < 3) {
			glob_t g;

			s += 7 + strspn(s + 7, " \t");
			if (glob(s, 0, NULL, &g) == 0)
				for (size_t i = 0; i < g.gl_pathc; i++)
					dirs_add_conf(ds, g.gl_pathv[i], depth + 1);
			globfree(&g);
		} else if (*s == '/') {
			dirs_add(ds, s, strcspn(s, " \t"));
		}
	}
	fclose(f);
}

static void dirs_build(struct dirs *ds, const struct elf_deps *d, const char *origin)
{
	static const char *const defaults[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
						"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
						"/lib64", "/usr/lib64", "/lib", "/usr/lib" };

	ds->n = 0;
	dirs_add_list(ds, getenv("LD_LIBRARY_PATH"), origin);
	if (d)
		dirs_add_list(ds, d->runpath, origin);
	dirs_add_conf(ds, "/etc/ld.so.conf", 0);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		dirs_add(ds, defaults[i], strlen(defaults[i]));
}

static void dirs_free(struct dirs *ds)
{
	for (int i = 0; i < ds->n; i++)
		free(ds->v[i]);
	ds->n = 0;
}

static int find_lib(const struct dirs *ds, const char *name, char *out, size_t outsz)
{
	if (strchr(name, '/')) {
		snprintf(out, outsz, "%s", name);
		return access(out, R_OK) ? -ENOENT : 0;
	}
	for (int i = 0; i < ds->n; i++) {
		snprintf(out, outsz, "%s/%s", ds->v[i], name);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static int check_candidate(const char *path, char *out, size_t outsz)
{
	if (!defines_malloc(path))
		return -ENOENT;
	if (!realpath(path, out))
		snprintf(out, outsz, "%s", path);
	return 0;
}

/* LD_PRELOAD comes first in the loader's symbol search order. */
static int try_preload(const struct dirs *ds, char *out, size_t outsz)
{
	const char *p = getenv("LD_PRELOAD");
	char name[PATH_MAX], path[PATH_MAX];

	while (p && *p) {
		size_t len = strcspn(p, ": ");

		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (len && !find_lib(ds, name, path, sizeof(path)) &&
		    !check_candidate(path, out, outsz))
			return 0;
		p += len + (p[len] != 0);
	}
	return -ENOENT;
}

/* Breadth-first over DT_NEEDED, as the loader orders symbol lookup. */
static int try_needed(const struct dirs *ds, const struct elf_deps *root, char *out, size_t outsz)
{
	static char queue[MAX_LIBS][PATH_MAX];
	int head = 0, tail = 0;
	struct elf_deps d;
	char path[PATH_MAX];

	for (int i = 0; i < root->nneeded && tail < MAX_LIBS; i++)
		if (!find_lib(ds, root->needed[i], queue[tail], PATH_MAX))
			tail++;
	while (head < tail) {
		memcpy(path, queue[head++], sizeof(path));
		if (!check_candidate(path, out, outsz))
			return 0;
		if (read_deps(path, &d))
			continue;
		for (int i = 0; i < d.nneeded && tail < MAX_LIBS; i++) {
			bool seen = false;

			if (find_lib(ds, d.needed[i], queue[tail], PATH_MAX))
				continue;
			for (int j = 0; j < tail; j++)
				seen |= strcmp(queue[j], queue[tail]) == 0;
			tail += !seen;
		}
	}
	return -ENOENT;
}

/* "#!/usr/bin/python3 -u" -> "/usr/bin/python3" */
int libc_resolve__interpreter(const char *path, char *out, size_t outsz)
{
	char buf[PATH_MAX + 2];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return -ENOEXEC;
	buf[n] = 0;
	char *s = buf + 2 + strspn(buf + 2, " \t");

	s[strcspn(s, " \t\r\n")] = 0;
	if (!*s)
		return -ENOEXEC;
	snprintf(out, outsz, "%s", s);
	return 0;
}

int libc_resolve__provider(const char *path, char *out, size_t outsz, enum provider_via *via)
{
	char cur[PATH_MAX], origin[PATH_MAX], *slash;
	struct elf_deps d;
	struct dirs ds;
	int err;

	snprintf(cur, sizeof(cur), "%s", path);
	/* a script runs its interpreter; follow #! a few levels, as the kernel does */
	for (int depth = 0; (err = read_deps(cur, &d)) == -ENOEXEC && depth < 4; depth++)
		if (libc_resolve__interpreter(cur, cur, sizeof(cur)))
			return -ENOEXEC;
	if (err)
		return err;
	if (!realpath(cur, origin))
		snprintf(origin, sizeof(origin), "%s", cur);
	slash = strrchr(origin, '/');
	if (slash)
		*slash = 0;
	dirs_build(&ds, &d, origin);
	*via = TB_VIA_PRELOAD;
	err = try_preload(&ds, out, outsz);
	if (err && (*via = TB_VIA_SELF))
		err = check_candidate(cur, out, outsz);
	if (err && d.interp[0] && (*via = TB_VIA_INTERP))
		err = check_candidate(d.interp, out, outsz);	/* musl: the loader is the libc */
	if (err && (*via = TB_VIA_NEEDED))
		err = try_needed(&ds, &d, out, outsz);
	dirs_free(&ds);
	return err;
}

int libc_resolve__system_libc(char *out, size_t outsz)
{
	struct dirs ds;
	char path[PATH_MAX];
	int err;

	dirs_build(&ds, NULL, NULL);
	err = find_lib(&ds, "libc.so.6", path, sizeof(path));
	dirs_free(&ds);
	if (err)
		return err;
	return check_candidate(path, out, outsz);
}

int libc_resolve__system_cxx(char *out, size_t outsz)
{
	struct alloc_lib lib;
	struct dirs ds;
	char path[PATH_MAX];
	int err;

	dirs_build(&ds, NULL, NULL);
	err = find_lib(&ds, "libstdc++.so.6", path, sizeof(path));
	dirs_free(&ds);
	if (err)
		return err;
	if (libc_resolve__functions(path, &lib) || !lib.cxx)
		return -ENOENT;
	if (!realpath(path, out))
		snprintf(out, outsz, "%s", path);
	return 0;
}

static int check_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (access(path, X_OK))
		return -EACCES;
	return 0;
}

int libc_resolve__command(const char *command, char *out, size_t outsz)
{
	const char *p = getenv("PATH");
	int err = -ENOENT, e;

	if (!*command)
		return -ENOENT;
	if (strchr(command, '/')) {
		snprintf(out, outsz, "%s", command);
		return check_executable(out);
	}
	if (!p)
		p = "/usr/local/bin:/usr/bin:/bin";
	while (*p) {
		size_t len = strcspn(p, ":");

		snprintf(out, outsz, "%.*s/%s", (int)(len ? len : 1), len ? p : ".", command);
		e = check_executable(out);
		if (!e)
			return 0;
		/* like execvp: remember a permission problem, keep looking */
		if (e == -EACCES)
			err = e;
		p += len + (p[len] != 0);
	}
	return err;
}
