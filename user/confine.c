// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* confine.c: probes attached to a library file fire in every process mapping it; a copy is ours alone. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include "confine.h"

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

static int check_command(const char *command)
{
	struct stat st;

	if (stat(command, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID))) {
		fprintf(stderr, "tlsbpf: --confine: '%s' is set-user-ID or set-group-ID and would "
				"ignore the private copy: run without --confine\n", command);
		return -EPERM;
	}
	return 0;
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

int confine__prepare(struct confine *cf, const char *provider, const char *command)
{
	char name[NAME_MAX + 1];
	int err;

	memset(cf, 0, sizeof(*cf));
	err = check_command(command);
	if (err)
		return err;
	snprintf(cf->dir, sizeof(cf->dir), "/tmp/tlsbpf-confine.XXXXXX");
	if (!mkdtemp(cf->dir) || chmod(cf->dir, 0755)) {
		err = -errno;
		fprintf(stderr, "tlsbpf: --confine: cannot make a directory in /tmp: %s\n",
			strerror(-err));
		cf->dir[0] = 0;
		return err;
	}
	soname_of(provider, name, sizeof(name));
	snprintf(cf->copy, sizeof(cf->copy), "%s/%s", cf->dir, name);
	err = copy_file(provider, cf->copy);
	if (!err)
		err = set_search_path(cf->dir);
	if (err) {
		fprintf(stderr, "tlsbpf: --confine: cannot copy '%s': %s\n", provider, strerror(-err));
		confine__cleanup(cf);
	}
	return err;
}

void confine__cleanup(struct confine *cf)
{
	if (!cf->dir[0])
		return;
	if (cf->copy[0])
		unlink(cf->copy);
	rmdir(cf->dir);
	cf->dir[0] = cf->copy[0] = 0;
}
