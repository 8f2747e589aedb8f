// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procmaps.c: a process's executable mappings from /proc/PID/maps, and the build-ids of their files. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "procmaps.h"

#define NT_GNU_BUILD_ID_TYPE 3

void procmaps__clear(struct procmaps *pm)
{
	for (int i = 0; i < pm->n; i++)
		free(pm->maps[i].path);
	free(pm->maps);
	pm->maps = NULL;
	pm->n = pm->cap = 0;
}

static int add_map(struct procmaps *pm, uint64_t lo, uint64_t hi, uint64_t off, const char *path)
{
	struct pm_map *m;

	if (pm->n == pm->cap) {
		int cap = pm->cap ? 2 * pm->cap : 32;

		m = realloc(pm->maps, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		pm->maps = m;
		pm->cap = cap;
	}
	m = &pm->maps[pm->n];
	*m = (struct pm_map){ lo, hi, off, strdup(path) };
	if (!m->path)
		return -ENOMEM;
	pm->n++;
	return 0;
}

/* One line of the maps file: an executable mapping is kept, with "[anon]" for one of no file. */
static int parse_line(struct procmaps *pm, char *line)
{
	uint64_t lo, hi, off;
	char perms[8];
	int name = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n", &lo, &hi, perms, &off,
		   &name) < 4 || perms[2] != 'x')
		return 0;
	line[strcspn(line, "\n")] = 0;
	return add_map(pm, lo, hi, off, name && line[name] ? line + name : "[anon]");
}

int procmaps__read(struct procmaps *pm, pid_t pid)
{
	char path[64], line[PATH_MAX + 128];
	FILE *f;
	int err = 0;

	procmaps__clear(pm);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && fgets(line, sizeof(line), f))
		err = parse_line(pm, line);
	fclose(f);
	/* a zombie's maps file is empty: its memory is gone, as good as the process */
	return err ? err : pm->n ? 0 : -ENOENT;
}

const struct pm_map *procmaps__find(const struct procmaps *pm, uint64_t addr)
{
	int lo = 0, hi = pm->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (addr < pm->maps[mid].lo)
			hi = mid;
		else if (addr >= pm->maps[mid].hi)
			lo = mid + 1;
		else
			return &pm->maps[mid];
	}
	return NULL;
}

/* The build-id note in one of the file's note sections or segments' data. */
static int note_build_id(Elf_Data *d, char *hex, size_t cap)
{
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off;

	while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const unsigned char *desc = (const unsigned char *)d->d_buf + desc_off;

		if (nh.n_type != NT_GNU_BUILD_ID_TYPE || nh.n_namesz != 4 ||
		    memcmp((const char *)d->d_buf + name_off, "GNU", 4) || 2 * nh.n_descsz + 1 > cap)
			continue;
		for (size_t i = 0; i < nh.n_descsz; i++)
			snprintf(hex + 2 * i, 3, "%02x", desc[i]);
		return 0;
	}
	return -ENOENT;
}

int procmaps__build_id(const char *path, char *hex, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = procmaps__build_id_fd(fd, hex, cap);
	close(fd);
	return err;
}

int procmaps__build_id_fd(int fd, char *hex, size_t cap)
{
	int err = -ENOENT;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *e;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (e && err && (scn = elf_nextscn(e, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (d)
			err = note_build_id(d, hex, cap);
	}
	elf_end(e);
	return err;
}

int procmaps__loads(int fd, struct pm_load *v, int cap)
{
	Elf *e;
	size_t n = 0;
	int k = 0;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_getphdrnum(e, &n)) {
		elf_end(e);
		return -EINVAL;
	}
	for (size_t i = 0; i < n && k < cap; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD)
			v[k++] = (struct pm_load){ ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz,
						   ph.p_flags };
	}
	elf_end(e);
	return k;
}

int procmaps__mapped_id(int fd, unsigned *major, unsigned *minor, uint64_t *ino)
{
	void *p = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
	char line[PATH_MAX + 128];
	unsigned long lo;
	int err = -ENOENT;
	FILE *f;

	if (p == MAP_FAILED)
		return -errno;
	f = fopen("/proc/self/maps", "re");
	while (f && err && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%*x %*s %*x %x:%x %" SCNu64, &lo, major, minor, ino) == 4 &&
		    lo == (unsigned long)p)
			err = 0;
	if (f)
		fclose(f);
	munmap(p, 1);
	return err;
}
