// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_stacks: the stacks file's name, a process's mappings and a file's build-id, against glibc's own view. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "check.h"
#include "procmaps.h"
#include "stacks.h"
#include "stacktab.h"
#include "stacks_write.h"

static void file_names(void)
{
	char buf[256];

	stacks_file__path("run.csv", buf, sizeof(buf));
	CHECK_STR(buf, "run.stacks.csv", "FILE.csv");
	stacks_file__path("/tmp/a.b/out", buf, sizeof(buf));
	CHECK_STR(buf, "/tmp/a.b/out.stacks.csv", "a name without .csv");
	stacks_file__path(".csv", buf, sizeof(buf));
	CHECK_STR(buf, ".csv.stacks.csv", "a name that is only .csv");
}

__attribute__((noinline)) static int here(void)
{
	return 1;
}

static void own_mappings(void)
{
	struct procmaps pm = { 0 };
	const struct pm_map *m;
	char exe[PATH_MAX] = "";
	Dl_info di = { 0 };
	uintptr_t addr = (uintptr_t)here;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	CHECK(procmaps__read(&pm, getpid()) == 0 && pm.n > 0, "reads its own mappings: %d", pm.n);
	m = procmaps__find(&pm, addr);
	CHECK(m && strcmp(m->path, exe) == 0, "a function of its own is in its own file: %s",
	      m ? m->path : "(none)");
	dladdr((void *)addr, &di);
	/* gcc and ld place the text at the same offset in the file as from the load address */
	CHECK(m && addr - m->lo + m->off == addr - (uintptr_t)di.dli_fbase,
	      "its offset in the file is glibc's: %#lx", (unsigned long)(addr - (uintptr_t)di.dli_fbase));
	CHECK(procmaps__find(&pm, 8) == NULL, "an address in no mapping is in none");
	procmaps__clear(&pm);
	CHECK(procmaps__read(&pm, INT32_MAX) == -ENOENT, "a process that is not there: -ENOENT");
	procmaps__clear(&pm);
}

/* The main program's build-id, from its note as loaded in memory. */
static int note_in_memory(struct dl_phdr_info *info, size_t size, void *data)
{
	char *hex = data;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;

		while (ph->p_type == PT_NOTE && p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const unsigned char *desc = (const void *)(p + sizeof(*nh) + ((nh->n_namesz + 3) & ~3));

			if (nh->n_type == NT_GNU_BUILD_ID) {
				for (unsigned j = 0; j < nh->n_descsz; j++)
					sprintf(hex + 2 * j, "%02x", desc[j]);
				return 1;
			}
			p = (const char *)desc + ((nh->n_descsz + 3) & ~3);
		}
	}
	return 1;	/* the first object is the program */
}

static void build_ids(void)
{
	char want[128] = "", got[128] = "";

	dl_iterate_phdr(note_in_memory, want);
	CHECK(want[0] && procmaps__build_id("/proc/self/exe", got, sizeof(got)) == 0 &&
		      strcmp(got, want) == 0,
	      "its own build-id from the file is the one loaded: %s, %s", got, want);
	CHECK(procmaps__build_id("/dev/null", got, sizeof(got)) < 0, "no build-id in /dev/null");
	CHECK(procmaps__build_id("/nonexistent", got, sizeof(got)) == -ENOENT, "a missing file");
	CHECK(procmaps__build_id("/proc/self/exe", got, 8) < 0, "no room for the id: refused");
}

/* A table of n entries of size bytes in a memfd, as the probes' maps would be: its fd and mapping. */
static int table(size_t size, uint32_t n, void **map)
{
	int fd = memfd_create("table", 0);
	size_t len = (size * n + 4095) / 4096 * 4096;

	if (fd < 0 || ftruncate(fd, len))
		return -1;
	*map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return *map == MAP_FAILED ? -1 : fd;
}

/*
 * Canonical ids: one stack in two process images at other load addresses is one id (its
 * frames are the same file offsets), and a probes' entry never written is none, counted.
 */
static void canon_ids(struct stacks *s)
{
	struct stacktab *tab = stacktab__new(NULL);
	struct stacktab_frame a[2] = { { 0x1000, 0x10, "/a", "ab" }, { 0x2000, 0x20, "/b", "" } };
	struct stacktab_frame b[2] = { { 0x5000, 0x10, "/moved/a", "ab" }, { 0x6000, 0x20, "/b", "" } };
	uint32_t id;

	if (!tab)
		return;
	stacktab__set_source(tab, s);
	CHECK(stacktab__canon(tab, 1) == 1 && stacktab__canon(tab, 3) == 2, "ids in the order seen");
	CHECK(stacktab__canon(tab, 2) == 2, "a stack at other addresses in another process: one id");
	CHECK(stacktab__canon(tab, 0) == 0 && stacktab__canon(tab, TB_MAX_STACKS - 1) == 0 &&
	      stacktab__missing(tab) == 1, "an entry never written: no id, counted");
	id = stacktab__add(tab, 1, 0, a, 2);
	CHECK(id == 3 && stacktab__add(tab, 2, 0, b, 2) == 3,
	      "the same build-id at another path, the same path without one: one id");
	b[1].module = "/c";
	CHECK(stacktab__add(tab, 2, 0, b, 2) == 4, "another file without a build-id: another id");
	b[1].module = "/b";
	b[0].build_id = "ac";
	CHECK(stacktab__add(tab, 2, 0, b, 2) == 5, "another build-id: another id");
	CHECK(stacktab__add(tab, 2, TB_STK_TRUNCATED, a, 2) == 6, "a stack cut short: another id");
	CHECK(stacktab__get(tab, 3)->pid == 1 && stacktab__get(tab, 3)->frames[1].offset == 0x20 &&
	      !stacktab__get(tab, 7), "a stack as first seen");
	stacktab__free(tab);
}

/*
 * The stacks file's rows from tables filled as the probes fill them: a placed frame's module
 * is its path joined from the dentries' components (a mount crossing left out), code in no
 * file is [anon], and a frame the probes left is placed from this process's own mappings.
 */
static void writer_rows(void)
{
	struct tb_stack *st;
	struct tb_file *files;
	int sfd = table(sizeof(*st), 4, (void **)&st), ffd = table(sizeof(*files), 4, (void **)&files);
	struct stacks *s = sfd >= 0 && ffd >= 0 ? stacks__open(sfd, 4, ffd, 4) : NULL;
	struct tb_output out;
	struct stacktab *tab;
	struct tb_event e = { .type = TB_EV_MALLOC, .stack_id = 1 };
	char path[] = "/tmp/tlsbpf-test-stacks.XXXXXX", *text = NULL, exe[PATH_MAX] = "";
	size_t cap = 0;
	FILE *f;
	int fd = mkstemp(path);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	CHECK(s != NULL, "the tables map");
	if (!s || fd < 0)
		return;
	close(fd);
	files[1] = (struct tb_file){ .ino = 7, .dev = 8, .ncomp = 4, .ready = 1 };
	strcpy(files[1].comp[0], "libc.so.6");
	strcpy(files[1].comp[1], "lib");
	files[1].comp[2][0] = 0;	/* crossed from a mount's root to where it is mounted */
	strcpy(files[1].comp[3], "usr");
	st[1] = (struct tb_stack){ .tgid = getpid(), .nr = 3, .flags = TB_STK_TRUNCATED | TB_STK_GAP };
	st[1].ip[0] = 0x7f0000001234;
	st[1].place[0] = TB_PLACE(1, 0x1234);
	st[1].ip[1] = 0x7f0000005678;
	st[1].place[1] = TB_PLACE(TB_FILE_NONE, 0);
	st[1].ip[2] = (uintptr_t)here;
	st[1].place[2] = TB_PLACE(TB_FILE_UNPLACED, 0);
	st[1].hash = 99;
	/* the same code path in another process image (a forked child), and one frame apart */
	st[2] = (struct tb_stack){ .tgid = 1, .start_ns = 5, .nr = 1, .hash = 7 };
	st[2].ip[0] = 0x7e0000001234;	/* another load address: the same file offset */
	st[2].place[0] = TB_PLACE(1, 0x1234);
	st[3] = st[2];
	st[3].tgid = 2;
	st[3].ip[0] = 0x7d0000001234;
	st[3].place[0] = TB_PLACE(1, 0x1235);
	tab = stacktab__new(NULL);
	CHECK(tab != NULL, "the stack table");
	if (!tab)
		return;
	stacktab__set_source(tab, s);
	CHECK(stacks_output__open(&out, path, &(struct tb_owner){ 0 }) == 0, "the stacks file opens");
	stacks_output__set_source(&out, tab);
	e.stack_id = stacktab__canon(tab, 1);
	CHECK(e.stack_id == 1, "the first stack seen is 1");
	out.write(out.w, &e);
	out.write(out.w, &e);	/* a stack is written once */
	CHECK(stacktab__canon(tab, 2) == 2 && stacktab__canon(tab, 3) == 3,
	      "frames at other file offsets, other stacks");
	st[3].place[0] = TB_PLACE(1, 0x1234);	/* for canon_ids: st[2]'s frames, another process */
	CHECK(stacktab__canon(tab, 0) == 0 && stacktab__missing(tab) == 0, "no stack is none");
	CHECK(stacktab__canon(tab, 1) == 1 && stacktab__count(tab) == 3, "three stacks");
	CHECK(out.close(out.w) == 0, "the stacks file closes");
	canon_ids(s);
	stacktab__free(tab);
	f = fopen(path, "r");
	if (f) {
		n = getdelim(&text, &cap, 0, f);
		fclose(f);
	}
	CHECK(text && !strncmp(text, TB_STACKS_HEADER "\n", strlen(TB_STACKS_HEADER) + 1),
	      "the header first");
	CHECK(text && strstr(text, "\n1,0,") && strstr(text, ",0x7f0000001234,/usr/lib/libc.so.6,,0x1234,,,,0,truncated|gap\n"),
	      "a placed frame: its path joined, its offset, the stack's flags");
	CHECK(text && strstr(text, "\n1,1,") && strstr(text, ",0x7f0000005678,[anon],,0x7f0000005678,"),
	      "code in no file: [anon]");
	CHECK(text && strstr(text, exe), "a frame left unplaced is placed from /proc: %s", exe);
	CHECK(text && !strstr(text, "\n2,"), "no rows for a stack no row named");
	CHECK(text && strstr(text, "\n1,2,") && !strstr(strstr(text, "\n1,2,") + 1, "\n1,0,"),
	      "each stack written once");
	free(text);
	unlink(path);
	stacks__close(s);
}

/* files[i] names path as the probes would: its components and the kernel's ids of st. */
static void probes_file(struct tb_file *f, const char *path, const struct stat *st)
{
	char copy[PATH_MAX], *comp[TB_PATH_COMPS], *save = NULL;
	int n = 0;

	*f = (struct tb_file){ .ino = st->st_ino, .ready = 1 };
	f->dev = major(st->st_dev) << 20 | minor(st->st_dev);
	snprintf(copy, sizeof(copy), "%s", path);
	for (char *c = strtok_r(copy, "/", &save); c && n < TB_PATH_COMPS; c = strtok_r(NULL, "/", &save))
		comp[n++] = c;
	for (int i = 0; i < n; i++)
		snprintf(f->comp[i], TB_COMP_LEN, "%s", comp[n - 1 - i]);
	f->ncomp = n;
}

/*
 * A frame's file no longer at its path: read through the live process's mapping, or through
 * a copy held open, it keeps its build-id; a process gone whose path now holds another file
 * of the same device gets "PATH (deleted)" and no build-id, never the other file's.
 */
static void gone_files(void)
{
	struct tb_stack *st;
	struct tb_file *files;
	int sfd = table(sizeof(*st), 4, (void **)&st), ffd = table(sizeof(*files), 4, (void **)&files);
	struct stacks *s = sfd >= 0 && ffd >= 0 ? stacks__open(sfd, 4, ffd, 4) : NULL;
	char own[128] = "", exe[PATH_MAX] = "", other[] = "/tmp/tlsbpf-test-other.XXXXXX",
	     held[] = "/tmp/tlsbpf-test-held.XXXXXX", want[PATH_MAX + 16];
	int ofd = mkstemp(other), hfd = mkstemp(held), xfd = open("/proc/self/exe", O_RDONLY);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stack_frame out[TB_MAX_STACK];
	struct stat xs, os, hs;
	off_t off = 0;

	exe[n > 0 ? n : 0] = 0;
	procmaps__build_id("/proc/self/exe", own, sizeof(own));
	if (!s || ofd < 0 || hfd < 0 || xfd < 0 || fstat(xfd, &xs) || fstat(ofd, &os) ||
	    sendfile(hfd, xfd, &off, xs.st_size) != xs.st_size || fstat(hfd, &hs)) {
		CHECK(0, "the tables and files for gone files: %s", strerror(errno));
		return;
	}
	/* this process's own executable, alive: its mapping */
	probes_file(&files[1], exe, &xs);
	st[1] = (struct tb_stack){ .tgid = getpid(), .nr = 1, .hash = 1 };
	st[1].ip[0] = (uintptr_t)gone_files;
	st[1].place[0] = TB_PLACE(1, 0x10);
	CHECK(stacks__place(s, &st[1], out) == 1 && out[0].module && !strcmp(out[0].module, exe) &&
	      !strcmp(out[0].build_id, own), "a live process's file: its path and build-id %s",
	      out[0].build_id ? out[0].build_id : "(none)");
	/* a copy held open, then deleted, of a process gone */
	CHECK(stacks__hold(s, hfd) == 0 && stacks__hold(s, hfd) == 0, "a file held, once");
	unlink(held);
	probes_file(&files[2], held, &hs);
	st[2] = (struct tb_stack){ .tgid = 0x3ffffff0, .nr = 1, .hash = 2 };
	st[2].place[0] = TB_PLACE(2, 0x10);
	CHECK(stacks__place(s, &st[2], out) == 1 && out[0].module && !strcmp(out[0].module, held) &&
	      !strcmp(out[0].build_id, own) && out[0].fd >= 0,
	      "a deleted file held open: its path, its build-id, its fd");
	/* another inode of the same device at the path, the process gone */
	probes_file(&files[3], other, &os);
	files[3].ino ^= 1ULL << 40;	/* no inode of this device: not the copy held above */
	st[3] = (struct tb_stack){ .tgid = 0x3ffffff0, .nr = 1, .hash = 3 };
	st[3].place[0] = TB_PLACE(3, 0x10);
	snprintf(want, sizeof(want), "%s (deleted)", other);
	CHECK(stacks__place(s, &st[3], out) == 1 && out[0].module && !strcmp(out[0].module, want) &&
	      !out[0].build_id[0] && out[0].fd < 0,
	      "a file replaced at its path: \"%s\", no build-id", out[0].module ? out[0].module : "");
	stacks__close(s);
	unlink(other);
	close(ofd);
	close(hfd);
	close(xfd);
}

/* The offset in its file of code at addr, as this process's mappings say. */
static uint64_t mapped_offset(uintptr_t addr)
{
	struct procmaps pm = { 0 };
	const struct pm_map *m;
	uint64_t off = 0;

	if (!procmaps__read(&pm, getpid()) && (m = procmaps__find(&pm, addr)))
		off = addr - m->lo + m->off;
	procmaps__clear(&pm);
	return off;
}

/*
 * A process gone before its mappings were read: a frame the probes could not place is placed
 * in a file where they placed another frame of the same image, at the offset its mapping
 * gives; a frame in no such file, and one of another image, are left, each stack counted.
 */
static void learnt_frames(void)
{
	struct tb_stack *st;
	struct tb_file *files;
	int sfd = table(sizeof(*st), 4, (void **)&st), ffd = table(sizeof(*files), 4, (void **)&files);
	struct stacks *s = sfd >= 0 && ffd >= 0 ? stacks__open(sfd, 4, ffd, 4) : NULL;
	uint64_t want = mapped_offset((uintptr_t)gone_files);
	char exe[PATH_MAX] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stack_frame out[TB_MAX_STACK];
	struct stat xs;

	exe[n > 0 ? n : 0] = 0;
	if (!s || stat(exe, &xs) || !want) {
		CHECK(0, "the tables and this program's mappings: %s", strerror(errno));
		return;
	}
	probes_file(&files[1], exe, &xs);
	st[1] = (struct tb_stack){ .tgid = 0x3ffffff0, .start_ns = 7, .exec_id = 1, .nr = 1, .hash = 1 };
	st[1].ip[0] = (uintptr_t)here;
	st[1].place[0] = TB_PLACE(1, mapped_offset((uintptr_t)here));
	st[2] = st[1];
	st[2].nr = 2;
	st[2].ip[0] = (uintptr_t)gone_files;
	st[2].ip[1] = 8;
	st[2].place[0] = st[2].place[1] = TB_PLACE(TB_FILE_UNPLACED, 0);
	st[3] = st[2];
	st[3].exec_id = 2;
	CHECK(stacks__place(s, &st[1], out) == 1 && out[0].module && stacks__unplaced(s) == 0,
	      "a frame the probes placed, of a process gone");
	CHECK(stacks__place(s, &st[2], out) == 2 && out[0].module && !strcmp(out[0].module, exe) &&
	      out[0].offset == want && !out[1].module && stacks__unplaced(s) == 1,
	      "another frame of its image in that file: placed at %#lx (its mapping says %#lx); "
	      "one in no file left, counted", (unsigned long)out[0].offset, (unsigned long)want);
	CHECK(stacks__place(s, &st[3], out) == 2 && !out[0].module && stacks__unplaced(s) == 2,
	      "the same frame of another image: left, counted");
	stacks__close(s);
}

int main(void)
{
	file_names();
	writer_rows();
	own_mappings();
	build_ids();
	gone_files();
	learnt_frames();
	return check_done() + here() - 1;
}
