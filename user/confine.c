// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* confine.c: probes attached to a library file fire in every process mapping it; a copy is ours alone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include "confine.h"
#include "release.h"

/* The name the loader looks the library up by: its DT_SONAME, or its file name. */
static int soname_of(const char *path, char *out, size_t sz)
{
	const char *base = strrchr(path, '/');
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	Elf_Scn *scn = NULL;
	Elf *elf;

	snprintf(out, sz, "%s", base ? base + 1 : path);
	if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE)
		return fd < 0 ? -errno : 0;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (elf && !found && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;
		GElf_Dyn dyn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize ||
		    !(data = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && gelf_getdyn(data, i, &dyn); i++)
			if (dyn.d_tag == DT_SONAME) {
				const char *s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);

				if (s && !strchr(s, '/'))
					found = snprintf(out, sz, "%s", s) > 0;
			}
	}
	elf_end(elf);
	close(fd);
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out, err = 0;
	struct stat st;
	off_t left;

	if (in < 0)
		return -errno;
	if (fstat(in, &st)) {
		err = -errno;
		close(in);
		return err;
	}
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	for (left = st.st_size; left > 0 && !err;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, left, 0);

		/* before Linux 6.x, only within one file system: sendfile copies across them */
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			      errno == EOPNOTSUPP))
			n = sendfile(out, in, NULL, left);
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		left -= n > 0 ? n : 0;
	}
	close(in);
	if (close(out) && !err)
		err = -errno;
	return err;
}

const char *confine__why_not(const char *command, enum provider_via via)
{
	struct stat st;

	if (via == TB_VIA_PRELOAD)
		return "gets malloc from LD_PRELOAD, not from a library found by name";
	if (via == TB_VIA_SELF)
		return "gets malloc from itself, not from a library found by name";
	if (via != TB_VIA_NEEDED)
		return "gets malloc from its program interpreter, not from a library found by name";
	if (stat(command, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
		return "is set-user-ID or set-group-ID and would ignore the private copy";
	return NULL;
}

static int set_search_path(const char *dir)
{
	const char *old = getenv("LD_LIBRARY_PATH");
	char *val;
	int err;

	if (asprintf(&val, "%s%s%s", dir, old && *old ? ":" : "", old && *old ? old : "") < 0)
		return -ENOMEM;
	err = setenv("LD_LIBRARY_PATH", val, 1) ? -errno : 0;
	free(val);
	return err;
}

/* A copy of LIB under the name the loader looks for, unless a copy already has that name. */
static int add_copy(struct confine *cf, const char *lib)
{
	char name[NAME_MAX + 1], dir[PATH_MAX];
	char *copy = cf->copies[cf->ncopies];

	snprintf(dir, sizeof(dir), "%s", cf->dir);
	soname_of(lib, name, sizeof(name));
	for (int i = 0; i < cf->ncopies; i++)
		if (!strcmp(strrchr(cf->copies[i], '/') + 1, name))
			return 0;
	snprintf(copy, sizeof(cf->copies[0]), "%s/%s", dir, name);
	if (!realpath(lib, cf->origs[cf->ncopies]))
		return -errno;
	cf->ncopies++;
	return copy_file(lib, copy);
}

/* Copies left by a tlsbpf that was killed: the directory names the pid that made it. */
static void remove_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *de;
	char path[PATH_MAX];
	int pid;

	while (d && (de = readdir(d))) {
		DIR *sub;

		if (sscanf(de->d_name, "tlsbpf-confine.%d.", &pid) != 1 || release__owner_alive(pid))
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
		sub = opendir(path);
		for (struct dirent *f; sub && (f = readdir(sub));)
			if (f->d_name[0] != '.') {
				char file[sizeof(path) + sizeof(f->d_name) + 1];

				snprintf(file, sizeof(file), "%s/%s", path, f->d_name);
				unlink(file);
			}
		if (sub)
			closedir(sub);
		rmdir(path);
	}
	if (d)
		closedir(d);
}

int confine__prepare(struct confine *cf, const char *provider, const char *libc,
		     const char *cxx)
{
	int err;

	memset(cf, 0, sizeof(*cf));
	if (getenv("LD_LIBRARY_PATH") && !(cf->old_search = strdup(getenv("LD_LIBRARY_PATH"))))
		return -ENOMEM;
	remove_stale();
	snprintf(cf->dir, sizeof(cf->dir), "/tmp/tlsbpf-confine.%d.XXXXXX", getpid());
	if (!mkdtemp(cf->dir) || chmod(cf->dir, 0755)) {
		err = -errno;
		cf->dir[0] = 0;
		return err;
	}
	err = add_copy(cf, provider);
	/* the system C library too: what the command starts may use it instead of PROVIDER */
	if (!err && libc && libc[0])
		err = add_copy(cf, libc);
	cf->nalloc = cf->ncopies;
	/* the C++ library too: a C++ program's new and delete, and only its own, are seen */
	if (!err && cxx && cxx[0])
		err = add_copy(cf, cxx);
	if (!err)
		err = set_search_path(cf->dir);
	if (err)
		confine__cleanup(cf);
	return err;
}

int confine__enter(const struct confine *cf)
{
	/* a slave of the host's mounts: later mounts still reach the command, ours go nowhere */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return -errno;
	for (int i = 0; i < cf->ncopies; i++)
		if (mount(cf->copies[i], cf->origs[i], NULL, MS_BIND, NULL))
			return -errno;
	if (cf->old_search)
		return setenv("LD_LIBRARY_PATH", cf->old_search, 1) ? -errno : 0;
	return unsetenv("LD_LIBRARY_PATH") ? -errno : 0;
}

void confine__cleanup(struct confine *cf)
{
	if (!cf->dir[0])
		return;
	for (int i = 0; i < cf->ncopies; i++)
		unlink(cf->copies[i]);
	rmdir(cf->dir);
	cf->dir[0] = 0;
	cf->ncopies = 0;
	free(cf->old_search);
	cf->old_search = NULL;
}
