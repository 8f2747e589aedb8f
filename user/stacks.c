// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stacks.c: the call stacks the probes keep, read in place from the stacks
 * map, and each frame placed in the file its code came from, by the
 * process's mappings, whose files' build-ids are read once each.
 */
#include <dirent.h>
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "procmaps.h"
#include "stacks.h"

#define NPROCS 8	/* processes whose mappings are kept at once */
#define BUILD_ID_HEX 41	/* 20 bytes in hex, and the NUL; longer ids are left out */
#define MAX_HELD 256	/* executables held open */
#define NLEARNT 256	/* files' load addresses learnt from the probes' frames, kept at once */
#define MAX_SEGS 8	/* a file's PT_LOAD segments kept */

/* A process image's mappings: tgid, start and exec count say which image. */
struct proc_cache {
	uint32_t tgid;
	uint64_t start_ns, exec_id, used;
	struct procmaps pm;
	bool gone;	/* read again, and gone: pm is what was read last */
};

/*
 * A file met in a mapping: its path, kept for the frames that name it, and its build-id; and
 * the file itself, open, when the path no longer leads to it (deleted, or replaced by a
 * rebuild while the process ran): the symbolizer reads it from there.
 */
struct module {
	char *path;
	char build_id[BUILD_ID_HEX];
	int fd;		/* -1: the file at path is the one */
};

/*
 * Where a file's code lies in one process image, learnt from a frame the probes placed in it:
 * its load bias, the address less the ELF virtual address. A frame the probes could not place
 * (the mappings were busy) of a process gone before its mappings were read is placed by it.
 */
struct learnt {
	uint32_t tgid, file;	/* file 0 (TB_FILE_NONE): the slot is free */
	uint64_t start_ns, exec_id, bias;
	uint64_t bias_ip;	/* the address less the file offset of the frame it was learnt from */
	bool twice;	/* at two biases (unloaded and loaded again): no frame is placed by it */
};

/* A file's loaded segments, from its program headers, read once. */
struct segs {
	bool read;
	int n;
	struct pm_load v[MAX_SEGS];
};

struct stacks {
	const struct tb_stack *table;
	size_t len;	/* bytes mapped */
	uint32_t n;
	const struct tb_file *files;
	size_t files_len;
	uint32_t nfiles;
	const struct module **file_mod;	/* each file's module once its path is joined */
	struct proc_cache procs[NPROCS];
	uint64_t clock;	/* for the least recently used process */
	struct module **mods;	/* pointers: frames and file_mod keep them across a realloc */
	int nmods, capmods;
	struct held {		/* executables held open from their exec, by the kernel's ids */
		uint64_t ino;
		uint32_t dev;
		bool stacked;	/* on a stacked filesystem (overlayfs): dev is not the probes' */
		char *path;	/* where it was when held: a stacked file's second key */
		int fd;
	} held[MAX_HELD];
	int nheld;
	uint64_t unplaced;
	struct segs *segs;	/* by the probes' file index */
	struct learnt learnt[NLEARNT];
};

static const void *map_ro(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t pages(size_t bytes)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return (bytes + page - 1) / page * page;
}

struct stacks *stacks__open(int stacks_fd, uint32_t nstacks, int files_fd, uint32_t nfiles)
{
	struct stacks *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->n = nstacks;
	s->len = pages((size_t)nstacks * sizeof(struct tb_stack));
	s->nfiles = nfiles;
	s->files_len = pages((size_t)nfiles * sizeof(struct tb_file));
	s->table = map_ro(stacks_fd, s->len);
	s->files = map_ro(files_fd, s->files_len);
	s->file_mod = calloc(nfiles, sizeof(*s->file_mod));
	s->segs = calloc(nfiles, sizeof(*s->segs));
	if (!s->table || !s->files || !s->file_mod || !s->segs) {
		stacks__close(s);
		return NULL;
	}
	return s;
}

void stacks__close(struct stacks *s)
{
	if (!s)
		return;
	if (s->table)
		munmap((void *)s->table, s->len);
	if (s->files)
		munmap((void *)s->files, s->files_len);
	free(s->file_mod);
	free(s->segs);
	for (int i = 0; i < NPROCS; i++)
		procmaps__clear(&s->procs[i].pm);
	for (int i = 0; i < s->nmods; i++) {
		if (s->mods[i]->fd >= 0)
			close(s->mods[i]->fd);
		free(s->mods[i]->path);
		free(s->mods[i]);
	}
	free(s->mods);
	for (int i = 0; i < s->nheld; i++) {
		close(s->held[i].fd);
		free(s->held[i].path);
	}
	free(s);
}

/* The kernel's device number (major in the top 12 bits), as the probes read it from an inode. */
static uint32_t kdev(dev_t d)
{
	return major(d) << 20 | minor(d);
}

/*
 * A file of a stacked filesystem (overlayfs): fstat, a mapping in /proc/PID/maps and the
 * probes' inode each give another device number (seen: 0x1b, 0x1a and 0x19 for one file on
 * Linux 6.12), the inode number the same. On a plain filesystem the first two agree.
 */
static bool stacked(int fd, const struct stat *st)
{
	unsigned major, minor;
	uint64_t ino;

	return !procmaps__mapped_id(fd, &major, &minor, &ino) &&
	       (major << 20 | minor) != kdev(st->st_dev);
}

/* The path fd was opened at, as the kernel names it; NULL if it cannot say. */
static char *fd_path(int fd)
{
	char link[48], buf[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return strdup(buf);
}

int stacks__hold(struct stacks *s, int fd)
{
	struct stat st;

	if (!s || fstat(fd, &st))
		return -errno;
	for (int i = 0; i < s->nheld; i++)
		if (s->held[i].ino == st.st_ino && s->held[i].dev == kdev(st.st_dev))
			return 0;
	if (s->nheld == MAX_HELD)
		return -ENOSPC;
	s->held[s->nheld].fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (s->held[s->nheld].fd < 0)
		return -errno;
	s->held[s->nheld].ino = st.st_ino;
	s->held[s->nheld].dev = kdev(st.st_dev);
	s->held[s->nheld].stacked = stacked(fd, &st);
	s->held[s->nheld++].path = fd_path(fd);
	return 0;
}

int stacks__hold_path(struct stacks *s, const char *path)
{
	int fd = s ? open(path, O_RDONLY | O_CLOEXEC) : -1, err;

	if (fd < 0)
		return -errno;
	err = stacks__hold(s, fd);
	close(fd);
	return err;
}

/*
 * A held file that is f, which the probes placed at path, duplicated; -1 if none is. On a
 * stacked filesystem, whose device numbers disagree, the inode and the path it was held at.
 */
static int held_file(const struct stacks *s, const struct tb_file *f, const char *path)
{
	for (int i = 0; i < s->nheld; i++) {
		const struct held *h = &s->held[i];

		if (h->ino == f->ino && (h->dev == f->dev ||
					 (h->stacked && h->path && !strcmp(h->path, path))))
			return fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	}
	return -1;
}

const struct tb_stack *stacks__get(const struct stacks *s, uint32_t id)
{
	const struct tb_stack *st;

	if (!s || !id || id >= s->n)
		return NULL;
	st = &s->table[id];
	/* the probes store the hash last: an entry without one is not whole */
	if (!__atomic_load_n(&st->hash, __ATOMIC_ACQUIRE) || !st->nr || st->nr > TB_MAX_STACK)
		return NULL;
	return st;
}

uint64_t stacks__unplaced(const struct stacks *s)
{
	return s ? s->unplaced : 0;
}

/* The module of path with that build-id (NULL: any), if there is one yet. */
static const struct module *module_find(const struct stacks *s, const char *path,
					const char *build_id)
{
	for (int i = 0; i < s->nmods; i++)
		if (!strcmp(s->mods[i]->path, path) &&
		    (!build_id || !strcmp(s->mods[i]->build_id, build_id)))
			return s->mods[i];
	return NULL;
}

/* A new module; it owns fd (closed on failure too). */
static const struct module *module_new(struct stacks *s, const char *path, const char *build_id,
				       int fd)
{
	struct module *m = NULL;

	if (s->nmods == s->capmods) {
		int cap = s->capmods ? 2 * s->capmods : 16;
		struct module **mods = realloc(s->mods, cap * sizeof(*mods));

		if (!mods)
			goto fail;
		s->mods = mods;
		s->capmods = cap;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path)))
		goto fail;
	snprintf(m->build_id, sizeof(m->build_id), "%s", build_id);
	m->fd = fd;
	s->mods[s->nmods++] = m;
	return m;
fail:
	free(m);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The module of the file at path, as it is now. */
static const struct module *module_of(struct stacks *s, const char *path)
{
	const struct module *m = module_find(s, path, NULL);
	char bid[BUILD_ID_HEX] = "";

	if (m)
		return m;
	if (path[0] == '/' && procmaps__build_id(path, bid, sizeof(bid)))
		bid[0] = 0;
	return module_new(s, path, bid, -1);
}

/* The file mapped at addr in process tgid, open; -1 when it is gone (or maps nothing there). */
static int open_mapping(uint32_t tgid, uint64_t addr)
{
	char dir[48], path[48 + sizeof(((struct dirent *)0)->d_name)];
	struct dirent *de;
	uint64_t lo, hi;
	int fd = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%u/map_files", tgid);
	d = opendir(dir);
	while (d && fd < 0 && (de = readdir(d))) {
		if (sscanf(de->d_name, "%" SCNx64 "-%" SCNx64, &lo, &hi) != 2 || addr < lo ||
		    addr >= hi)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (d)
		closedir(d);
	return fd;
}

/*
 * Once the process is gone and tlsbpf holds no copy: the file at path, unless another inode
 * on the same device is there now (the one mapped was replaced), which is then named
 * "PATH (deleted)" as /proc/PID/maps names it, with no build-id, so that no other file's
 * symbols are given to its frames. Where stat's device is not the inode's (overlayfs), the
 * two cannot be told apart and the path is trusted.
 */
static const struct module *path_module(struct stacks *s, const char *path,
					const struct tb_file *f)
{
	char gone[TB_PATH_COMPS * TB_COMP_LEN + 16];
	struct stat st;

	if (stat(path, &st) || st.st_ino == f->ino || kdev(st.st_dev) != f->dev)
		return module_of(s, path);
	snprintf(gone, sizeof(gone), "%s (deleted)", path);
	return module_of(s, gone);
}

/*
 * The module of file f, which the probes placed at path, for a frame at addr of process tgid.
 * The file is read through the process's own mapping while it lives (or a copy of it held
 * open since its exec), so a file deleted or replaced since the process mapped it keeps its
 * build-id and its symbols (the module holds it open).
 */
static const struct module *mapped_module(struct stacks *s, const char *path,
					  const struct tb_file *f, uint32_t tgid, uint64_t addr)
{
	char bid[BUILD_ID_HEX] = "", now[BUILD_ID_HEX] = "";
	int fd = path[0] == '/' ? open_mapping(tgid, addr) : -1;
	const struct module *m;
	bool same;

	if (fd < 0 && path[0] == '/')
		fd = held_file(s, f, path);
	if (fd < 0)
		return path[0] == '/' ? path_module(s, path, f) : module_of(s, path);
	if (procmaps__build_id_fd(fd, bid, sizeof(bid)))
		bid[0] = 0;
	m = module_find(s, path, bid);
	if (m) {
		close(fd);
		return m;
	}
	same = bid[0] && !procmaps__build_id(path, now, sizeof(now)) && !strcmp(bid, now);
	if (same) {
		close(fd);
		fd = -1;
	}
	return module_new(s, path, bid, fd);
}

/* st's process image's mappings, read now if they are not held (or fresh asks for it). */
static struct proc_cache *proc_of(struct stacks *s, const struct tb_stack *st, int fresh)
{
	struct proc_cache *c = NULL, *old = &s->procs[0];

	for (int i = 0; i < NPROCS; i++) {
		struct proc_cache *p = &s->procs[i];

		if (p->tgid == st->tgid && p->start_ns == st->start_ns && p->exec_id == st->exec_id)
			c = p;
		else if (p->used < old->used)
			old = p;
	}
	if (c && !fresh) {
		c->used = ++s->clock;
		return c;
	}
	if (c) {	/* read again; a process gone since keeps the mappings last read */
		struct procmaps pm = { 0 };

		c->used = ++s->clock;
		c->gone = procmaps__read(&pm, st->tgid) != 0;
		if (c->gone) {
			procmaps__clear(&pm);
		} else {
			procmaps__clear(&c->pm);
			c->pm = pm;
		}
		return c;
	}
	c = old;
	*c = (struct proc_cache){ st->tgid, st->start_ns, st->exec_id, ++s->clock, c->pm };
	if (procmaps__read(&c->pm, st->tgid)) {
		c->tgid = 0;	/* gone, or unreadable: read again next time */
		return NULL;
	}
	return c;
}

static void place_frame(struct stacks *s, const struct procmaps *pm, uint64_t addr,
			struct stack_frame *f)
{
	const struct pm_map *m = pm ? procmaps__find(pm, addr) : NULL;
	const struct module *mod = m ? module_of(s, m->path) : NULL;

	*f = (struct stack_frame){ .addr = addr, .fd = -1 };
	if (!mod)
		return;
	f->module = mod->path;
	f->build_id = mod->build_id;
	f->fd = mod->fd;
	f->offset = addr - m->lo + m->off;
}

/* The path of a file the probes placed, its components joined from the top down. */
static void file_path(const struct tb_file *f, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = 0;
	for (int i = (f->ncomp < TB_PATH_COMPS ? f->ncomp : TB_PATH_COMPS) - 1; i >= 0; i--) {
		if (!f->comp[i][0])
			continue;	/* where the walk crossed a mount */
		len += snprintf(buf + len, len < cap ? cap - len : 0, "/%.*s", TB_COMP_LEN - 1,
				f->comp[i]);
	}
}

/* The module of the probes' file index for a frame at addr of process tgid, or NULL when they
 * left the frame unplaced. */
static const struct module *placed_module(struct stacks *s, uint32_t file, uint32_t tgid,
					  uint64_t addr)
{
	const struct tb_file *f;
	char path[TB_PATH_COMPS * TB_COMP_LEN + 1];

	if (file == TB_FILE_UNPLACED || file >= s->nfiles)
		return NULL;
	if (s->file_mod[file])
		return s->file_mod[file];
	f = &s->files[file];
	if (file == TB_FILE_NONE) {
		s->file_mod[file] = module_of(s, "[anon]");
		return s->file_mod[file];
	}
	if (!__atomic_load_n(&f->ready, __ATOMIC_ACQUIRE))
		return NULL;
	file_path(f, path, sizeof(path));
	s->file_mod[file] = mapped_module(s, path, f, tgid, addr);
	return s->file_mod[file];
}

/* The loaded segments of the probes' file index, read from its module's file once. */
static const struct segs *file_segs(struct stacks *s, uint32_t file)
{
	struct segs *sg = &s->segs[file];
	const struct module *m = s->file_mod[file];
	int fd;

	if (sg->read)
		return sg;
	sg->read = true;
	fd = !m ? -1 : m->fd >= 0 ? m->fd : open(m->path, O_RDONLY | O_CLOEXEC);
	sg->n = fd >= 0 ? procmaps__loads(fd, sg->v, MAX_SEGS) : 0;
	if (sg->n < 0)
		sg->n = 0;
	if (fd >= 0 && fd != m->fd)
		close(fd);
	return sg;
}

/* The executable segment of sg that holds file offset off (by_vaddr: address vaddr), or NULL. */
static const struct pm_load *code_seg(const struct segs *sg, uint64_t at, bool by_vaddr)
{
	for (int i = 0; i < sg->n; i++) {
		const struct pm_load *l = &sg->v[i];

		if ((l->flags & PF_X) && at >= (by_vaddr ? l->vaddr : l->off) &&
		    at - (by_vaddr ? l->vaddr : l->off) < l->filesz)
			return l;
	}
	return NULL;
}

static bool same_image(const struct learnt *l, const struct tb_stack *st)
{
	return l->tgid == st->tgid && l->start_ns == st->start_ns && l->exec_id == st->exec_id;
}

/*
 * A frame the probes placed: where its file lies in its process image, learnt. One slot for
 * each image and file, by their hash: an image's files are learnt from its first stacks, and
 * a slot taken by another's is learnt again from the next frame that comes.
 */
static void learn(struct stacks *s, const struct tb_stack *st, uint32_t file, uint64_t ip,
		  uint64_t off)
{
	uint64_t h = (st->start_ns ^ st->exec_id * 0x9e3779b97f4a7c15ULL ^ st->tgid) * 31 + file;
	struct learnt *l = &s->learnt[(h ^ h >> 29) % NLEARNT];
	const struct pm_load *seg;
	uint64_t bias;

	if (l->file == file && same_image(l, st) && l->bias_ip == ip - off)
		return;	/* the usual case, and cheap: a frame of a segment met before */
	seg = code_seg(file_segs(s, file), off, false);
	if (!seg)
		return;
	bias = ip - (off - seg->off + seg->vaddr);
	if (l->file == file && same_image(l, st)) {
		l->twice |= l->bias != bias;
		return;
	}
	*l = (struct learnt){ st->tgid, file, st->start_ns, st->exec_id, bias, ip - off, false };
}

/* A frame of a process gone, placed in a file where the probes placed others of its image. */
static void place_learnt(struct stacks *s, const struct tb_stack *st, struct stack_frame *f)
{
	for (int j = 0; j < NLEARNT; j++) {
		const struct learnt *l = &s->learnt[j];
		const struct module *m = s->file_mod[l->file];
		const struct pm_load *seg;

		if (!l->file || !same_image(l, st) || l->twice || !m)
			continue;
		seg = code_seg(file_segs(s, l->file), f->addr - l->bias, true);
		if (!seg)
			continue;
		f->module = m->path;
		f->build_id = m->build_id;
		f->fd = m->fd;
		f->offset = f->addr - l->bias - seg->vaddr + seg->off;
		return;
	}
}

int stacks__place(struct stacks *s, const struct tb_stack *st, struct stack_frame *out)
{
	int n = st->nr <= TB_MAX_STACK ? st->nr : TB_MAX_STACK, left = 0;
	struct proc_cache *c = NULL;
	bool gone;

	for (int i = 0; i < n; i++) {
		uint32_t file = TB_PLACE_FILE(st->place[i]);
		const struct module *m = placed_module(s, file, st->tgid, st->ip[i]);

		out[i] = (struct stack_frame){ .addr = st->ip[i], .fd = -1 };
		if (!m) {
			left++;
			continue;
		}
		out[i].module = m->path;
		out[i].build_id = m->build_id;
		out[i].fd = m->fd;
		out[i].offset = st->place[i] & TB_PLACE_OFF_MASK;
		if (file != TB_FILE_NONE && m->path[0] == '/')
			learn(s, st, file, out[i].addr, out[i].offset);
	}
	if (!left)
		return n;
	/* the frames the probes left: from the mappings now, read again once if one is missing */
	c = proc_of(s, st, 0);
	for (int i = 0; c && i < n; i++) {
		if (out[i].module || procmaps__find(&c->pm, st->ip[i]))
			continue;
		c = proc_of(s, st, 1);
		break;
	}
	gone = !c || c->gone;
	left = 0;
	for (int i = 0; i < n; i++) {
		if (out[i].module)
			continue;
		place_frame(s, c ? &c->pm : NULL, st->ip[i], &out[i]);
		if (!out[i].module && gone)
			place_learnt(s, st, &out[i]);
		left += !out[i].module;
	}
	if (gone && left)
		s->unplaced++;
	return n;
}
