// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * unwind.c: --stacks=dwarf's samples unwound by libdwfl, one Dwfl per process
 * image with its files reported from the image's mappings, whose thread
 * state is the sample's registers and whose memory is the sample's window.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "procmaps.h"
#include "unwind.h"

#define NIMAGES 16	/* process images whose mappings and Dwfl are kept at once */
#define NFORKS 256	/* child -> parent links kept, the latest */
#define REREAD_NS 1000000ULL	/* a process's mappings read again at most this often, unasked */
#define PENDING UINT64_MAX	/* an image read before its process's first sample: start unknown */
#define PROT_EXEC_BIT 0x4
#define BUILD_ID_HEX 41

/* x86-64 DWARF register numbers */
#define DW_RBX 3
#define DW_RBP 6
#define DW_RSP 7
#define DW_R12 12

/* A process image: tgid, start and exec count say which. */
struct image {
	uint32_t tgid;
	uint64_t start_ns, exec_id, used, read_ns;
	bool frozen;	/* its process exec'd since: the mappings are no longer its own */
	struct procmaps pm;
	Dwfl *dwfl;	/* NULL: not built yet, or the mappings changed */
};

#define NMEMO 256	/* pcs whose CFI was looked for, remembered */

struct cfi_memo {
	Dwfl *dwfl;
	uint64_t gen;
	Dwarf_Addr pc;
	bool yes;
};

struct module_id {
	char *path;
	char build_id[BUILD_ID_HEX];
};

struct unwind {
	/* the peeker (consumer.c) reads mappings while the loop unwinds: one at a time */
	pthread_mutex_t lock;
	unsigned depth;
	struct image images[NIMAGES];
	uint64_t clock;
	struct { uint32_t child, parent; } forks[NFORKS];
	unsigned nforks;
	struct { uint32_t tgid; uint64_t ts_ns; } execs[NFORKS];	/* the latest execs met */
	unsigned nexecs;
	struct cfi_memo cfi_memo[NMEMO];
	struct module_id **mods;	/* pointers: frames keep their paths across a realloc */
	int nmods, capmods;
	uint64_t samples, failed;
	/* the sample being unwound, which the Dwfl callbacks read */
	const struct tb_rec_sample *cur;
	bool outside;	/* a read outside its window was asked for, or code had no CFI */
};

/* Bumped as a Dwfl ends: a memo of its pointer, which a new one may take, is stale. */
static uint64_t dwfl_gen;

static void dwfl_done(Dwfl *dwfl)
{
	__atomic_add_fetch(&dwfl_gen, 1, __ATOMIC_RELAXED);
	dwfl_end(dwfl);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* libdwfl asks for separate debug info: none is looked for (no network, no search). */
static int find_no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = find_no_debuginfo,
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwind *u = arg;

	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return u->cur->h.tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	*thread_argp = arg;
	return true;
}

/* The sample's window is all the memory there is: a read outside it ends the unwinding. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	const struct tb_rec_sample *r = ((struct unwind *)arg)->cur;
	uint64_t sp = r->regs[TB_SR_SP];

	if (addr < sp || addr - sp > r->len || r->len - (addr - sp) < sizeof(*result)) {
		/* libdwfl may take a caller it cannot read for the outermost frame: it is not */
		((struct unwind *)arg)->outside = true;
		return false;
	}
	memcpy(result, r->window + (addr - sp), sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	const struct tb_rec_sample *r = ((struct unwind *)arg)->cur;
	Dwarf_Word bp_sp[2] = { r->regs[TB_SR_BP], r->regs[TB_SR_SP] };
	Dwarf_Word bx = r->regs[TB_SR_BX];
	Dwarf_Word r12[4] = { r->regs[TB_SR_R12], r->regs[TB_SR_R13], r->regs[TB_SR_R14],
			      r->regs[TB_SR_R15] };

	dwfl_thread_state_register_pc(thread, r->regs[TB_SR_IP]);
	return dwfl_thread_state_registers(thread, DW_RBX, 1, &bx) &&
	       dwfl_thread_state_registers(thread, DW_RBP, 2, bp_sp) &&
	       dwfl_thread_state_registers(thread, DW_R12, 4, r12);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

struct unwind *unwind__new(unsigned depth)
{
	struct unwind *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->depth = depth < 1 ? 1 : depth > TB_MAX_STACK ? TB_MAX_STACK : depth;
	pthread_mutex_init(&u->lock, NULL);
	return u;
}

static void image_clear(struct image *im)
{
	if (im->dwfl)
		dwfl_done(im->dwfl);
	procmaps__clear(&im->pm);
	memset(im, 0, sizeof(*im));
}

void unwind__free(struct unwind *u)
{
	if (!u)
		return;
	for (int i = 0; i < NIMAGES; i++)
		image_clear(&u->images[i]);
	for (int i = 0; i < u->nmods; i++) {
		free(u->mods[i]->path);
		free(u->mods[i]);
	}
	free(u->mods);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* A fork: see unwind__peek. */
static void note_fork(struct unwind *u, uint32_t parent, uint32_t child)
{
	u->forks[u->nforks % NFORKS].child = child;
	u->forks[u->nforks % NFORKS].parent = parent;
	u->nforks++;
}

static uint32_t parent_of(const struct unwind *u, uint32_t child)
{
	unsigned n = u->nforks < NFORKS ? u->nforks : NFORKS;

	for (unsigned i = 0; i < n; i++)
		if (u->forks[(u->nforks - 1 - i) % NFORKS].child == child)
			return u->forks[(u->nforks - 1 - i) % NFORKS].parent;
	return 0;
}

/*
 * tgid exec'd after ts_ns: its mappings now are another image's, never to be
 * read for a record of the one before.
 */
static bool exec_since(const struct unwind *u, uint32_t tgid, uint64_t ts_ns)
{
	unsigned n = u->nexecs < NFORKS ? u->nexecs : NFORKS;

	for (unsigned i = 0; i < n; i++)
		if (u->execs[i].tgid == tgid && u->execs[i].ts_ns > ts_ns)
			return true;
	return false;
}

/*
 * The load bias of the file mapped at m: its executable segment's file offset
 * is m->off at m->lo. fd is the file, opened.
 */
static int file_bias(int fd, const struct pm_map *m, GElf_Addr *bias)
{
	struct pm_load v[16];
	int n = procmaps__loads(fd, v, 16);

	for (int i = 0; i < n; i++)
		if (m->off >= v[i].off && m->off < v[i].off + v[i].filesz) {
			*bias = m->lo - (v[i].vaddr + m->off - v[i].off);
			return 0;
		}
	return -ENOENT;
}

/* The image's files as libdwfl modules, each at its load bias; the image's Dwfl, or NULL. */
static Dwfl *image_dwfl(struct unwind *u, struct image *im)
{
	Dwfl *dwfl;
	int reported = 0;

	if (im->dwfl)
		return im->dwfl;
	dwfl = dwfl_begin(&dwfl_callbacks);
	if (!dwfl)
		return NULL;
	dwfl_report_begin(dwfl);
	for (int i = 0; i < im->pm.n; i++) {
		const struct pm_map *m = &im->pm.maps[i];
		GElf_Addr bias;
		int fd;

		if (m->path[0] != '/' || (i && !strcmp(m->path, im->pm.maps[i - 1].path)))
			continue;
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (file_bias(fd, m, &bias) || !dwfl_report_elf(dwfl, m->path, m->path, fd, bias, true)) {
			close(fd);
			continue;
		}
		reported++;
	}
	dwfl_report_end(dwfl, NULL, NULL);
	if (!reported || !dwfl_attach_state(dwfl, NULL, 1, &thread_callbacks, u)) {
		dwfl_done(dwfl);
		return NULL;
	}
	im->dwfl = dwfl;
	return dwfl;
}

/* The process's executable mappings into pm; 0, or -errno with pm empty (-ENOENT: gone). */
static int maps_read(struct procmaps *pm, uint32_t tgid)
{
	int err = procmaps__read(pm, tgid);

	if (err)
		procmaps__clear(pm);
	return err;
}

/* The process's mappings read into im; 0, or -errno and im's kept as they were. */
static int image_read(struct image *im, uint32_t tgid)
{
	struct procmaps pm = { 0 };
	int err = maps_read(&pm, tgid);

	if (err)
		return err;
	procmaps__clear(&im->pm);
	im->pm = pm;
	im->tgid = tgid;
	im->read_ns = mono_ns();
	if (im->dwfl)
		dwfl_done(im->dwfl);
	im->dwfl = NULL;
	return 0;
}

/* The mappings read again, if the process still runs and they were not just read. */
static bool image_reread(struct image *im)
{
	return mono_ns() - im->read_ns >= REREAD_NS && !image_read(im, im->tgid);
}

/*
 * A new image of tgid's mappings, in the least recently used slot; NULL if
 * they cannot be read (so that a process gone evicts no image another needs).
 */
static struct image *image_new(struct unwind *u, uint32_t tgid, uint64_t start_ns,
			       uint64_t exec_id)
{
	struct image *old = &u->images[0];
	struct procmaps pm = { 0 };

	if (maps_read(&pm, tgid))
		return NULL;
	for (int i = 1; i < NIMAGES; i++)
		if (u->images[i].used < old->used)
			old = &u->images[i];
	image_clear(old);
	*old = (struct image){ .tgid = tgid, .start_ns = start_ns, .exec_id = exec_id,
			       .used = ++u->clock, .read_ns = mono_ns(), .pm = pm };
	return old;
}

/* The image the sample's process has, or that it will claim at its first sample (PENDING). */
static struct image *image_find(struct unwind *u, const struct tb_rec_sample *r)
{
	uint32_t tgid = r->h.pid;
	uint64_t start_ns = r->start_ns, exec_id = r->exec_id;

	for (int i = 0; i < NIMAGES; i++) {
		struct image *im = &u->images[i];

		if (im->tgid != tgid || !im->pm.n)
			continue;
		/* read after the process's last exec: a sample from before it is not its */
		if (im->start_ns == PENDING && !im->frozen && !exec_since(u, tgid, r->h.ts_ns)) {
			im->start_ns = start_ns;
			im->exec_id = exec_id;
		}
		if (im->start_ns == start_ns && im->exec_id == exec_id) {
			im->used = ++u->clock;
			return im;
		}
	}
	return NULL;
}

/*
 * The sample's process image: kept, or its mappings read now, or, for a
 * forked child gone before it was read and never exec'd, its parent's.
 */
static struct image *image_of(struct unwind *u, const struct tb_rec_sample *r)
{
	struct image *im = image_find(u, r);
	uint32_t parent = r->h.pid;

	if (im)
		return im;
	im = exec_since(u, r->h.pid, r->h.ts_ns) ? NULL :
	     image_new(u, r->h.pid, r->start_ns, r->exec_id);
	if (im)
		return im;
	/* the exec count is copied at fork: an equal one says the child has not exec'd */
	while ((parent = parent_of(u, parent)))
		for (int i = 0; i < NIMAGES; i++)
			if (u->images[i].tgid == parent && u->images[i].exec_id == r->exec_id &&
			    u->images[i].pm.n)
				return &u->images[i];
	return NULL;
}

/* The process's image that is still its own: not left behind by an exec. */
static struct image *image_live(struct unwind *u, uint32_t tgid)
{
	for (int i = 0; i < NIMAGES; i++)
		if (u->images[i].tgid == tgid && u->images[i].pm.n && !u->images[i].frozen)
			return &u->images[i];
	return NULL;
}

static void peek_locked(struct unwind *u, const void *rec, size_t len)
{
	const struct tb_hdr *h = rec;
	const struct tb_rec_sample *r = rec;
	const struct tb_rec_vm *vm = rec;
	struct image *im;
	uint64_t site;

	if (h->type == TB_SAMPLE_TYPE && len >= sizeof(*r)) {
		/* a call site in no file read yet: a library loaded since */
		im = image_of(u, r);
		if (im && im->tgid == h->pid && !im->frozen && r->len >= 8) {
			memcpy(&site, r->window, sizeof(site));
			if (!procmaps__find(&im->pm, site))
				image_reread(im);
		}
	} else if (h->type == TB_EV_FORK && len >= sizeof(struct tb_rec_task)) {
		note_fork(u, ((const struct tb_rec_task *)rec)->origin_pid, h->pid);
	} else if (h->type == TB_EV_EXEC) {
		u->execs[u->nexecs % NFORKS].tgid = h->pid;
		u->execs[u->nexecs % NFORKS].ts_ns = h->ts_ns;
		u->nexecs++;
		for (int i = 0; i < NIMAGES; i++)
			if (u->images[i].tgid == h->pid)
				u->images[i].frozen = true;
	} else if ((h->type == TB_EV_MMAP || h->type == TB_EV_MPROTECT) && len >= sizeof(*vm) &&
		   !vm->err && (vm->prot & PROT_EXEC_BIT) && !exec_since(u, h->pid, h->ts_ns)) {
		im = image_live(u, h->pid);
		if (im) {
			image_read(im, h->pid);
			return;
		}
		image_new(u, h->pid, PENDING, PENDING);
	}
}

void unwind__peek(struct unwind *u, const void *rec, size_t len)
{
	pthread_mutex_lock(&u->lock);
	peek_locked(u, rec, len);
	pthread_mutex_unlock(&u->lock);
}

struct collect {
	struct unwind *u;
	Dwfl *dwfl;
	Dwarf_Addr pc[TB_MAX_STACK + 2];
	int n, max;
};

/* The code at pc has call frame information, .eh_frame's or .debug_frame's. */
static bool cfi_at(Dwfl *dwfl, Dwarf_Addr pc)
{
	Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
	Dwarf_Frame *f;
	Dwarf_CFI *cfi;
	Dwarf_Addr bias;

	for (int i = 0; m && i < 2; i++) {
		cfi = i ? dwfl_module_dwarf_cfi(m, &bias) : dwfl_module_eh_cfi(m, &bias);
		if (cfi && !dwarf_cfi_addrframe(cfi, pc - bias, &f)) {
			free(f);
			return true;
		}
	}
	return false;
}

/* cfi_at, remembered by pc for the Dwfl of this generation (a third of a frame's cost). */
static bool has_cfi(struct unwind *u, Dwfl *dwfl, Dwarf_Addr pc)
{
	struct cfi_memo *m = &u->cfi_memo[(pc ^ pc >> 7) & (NMEMO - 1)];

	uint64_t gen = __atomic_load_n(&dwfl_gen, __ATOMIC_RELAXED);

	if (m->dwfl != dwfl || m->gen != gen || m->pc != pc)
		*m = (struct cfi_memo){ dwfl, gen, pc, cfi_at(dwfl, pc) };
	return m->yes;
}

/*
 * Each frame's pc. A frame is kept only if it came from its callee's call
 * frame information and the window: where that fails, libdwfl guesses from
 * the frame-pointer chain, which code without frame pointers does not keep,
 * and the stack is cut there (truncated) instead.
 */
static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct collect *c = arg;
	Dwarf_Addr pc;

	if (c->u->outside || !dwfl_frame_pc(state, &pc, NULL))
		return DWARF_CB_ABORT;
	/* the callee's pc: the probe's own, then return addresses, looked up in their call */
	if (c->n && !has_cfi(c->u, c->dwfl, c->pc[c->n - 1] - (c->n > 1))) {
		c->u->outside = true;
		return DWARF_CB_ABORT;
	}
	c->pc[c->n++] = pc;
	return c->n < c->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* The file at path, its path kept for good (a mapping's goes with its next read), and build-id. */
static const struct module_id *module_of(struct unwind *u, const char *path)
{
	struct module_id *m, **mods;

	for (int i = 0; i < u->nmods; i++)
		if (!strcmp(u->mods[i]->path, path))
			return u->mods[i];
	if (u->nmods == u->capmods) {
		mods = realloc(u->mods, (u->capmods ? 2 * u->capmods : 32) * sizeof(*mods));
		if (!mods)
			return NULL;
		u->mods = mods;
		u->capmods = u->capmods ? 2 * u->capmods : 32;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path))) {
		free(m);
		return NULL;
	}
	if (procmaps__build_id(path, m->build_id, sizeof(m->build_id)))
		m->build_id[0] = 0;
	u->mods[u->nmods++] = m;
	return m;
}

/* A return address placed in its file, as the frame-pointer stacks' frames are. */
static void place(struct unwind *u, const struct image *im, uint64_t pc, struct stacktab_frame *f)
{
	const struct pm_map *m = procmaps__find(&im->pm, pc);
	const struct module_id *mod;

	*f = (struct stacktab_frame){ .addr = pc, .offset = pc, .build_id = "" };
	if (!m)
		return;
	if (m->path[0] != '/') {
		f->module = "[anon]";
		return;
	}
	mod = module_of(u, m->path);
	if (!mod)
		return;
	f->module = mod->path;
	f->offset = pc - m->lo + m->off;
	f->build_id = mod->build_id;
}

/*
 * Unwinds the sample with im's Dwfl into c; the outcome: 0 at the outermost
 * frame, 1 stopped by the depth, -1 stopped short (an error, or memory
 * outside the window).
 */
static int unwind_with(struct unwind *u, struct image *im, const struct tb_rec_sample *r,
		       struct collect *c)
{
	Dwfl *dwfl = image_dwfl(u, im);
	int ret;

	c->n = 0;
	c->dwfl = dwfl;
	if (!dwfl)
		return -1;
	u->cur = r;
	u->outside = false;
	ret = dwfl_getthread_frames(dwfl, r->h.tid, frame_cb, c);
	u->cur = NULL;
	if (c->n == c->max)
		return 1;
	return ret == 0 && !u->outside ? 0 : -1;
}

/* The last frame is in no file the image maps (a library loaded since it was read). */
static bool ends_unmapped(const struct image *im, const struct collect *c)
{
	return c->n && !procmaps__find(&im->pm, c->pc[c->n - 1] - (c->n > 1));
}

static int sample_locked(struct unwind *u, const struct tb_rec_sample *r,
			 struct stacktab_frame *out, uint16_t *flags)
{
	struct image *im = image_of(u, r);
	/* the allocator's own frame, the call site and its callers, and one more: is it cut? */
	struct collect c = { .u = u, .max = u->depth + 2 };
	int ret, n;

	u->samples++;
	*flags = 0;
	if (!im) {
		u->failed++;
		return 0;
	}
	ret = unwind_with(u, im, r, &c);
	if (ret < 0 && (c.n < 2 || ends_unmapped(im, &c)) && im->tgid == r->h.pid &&
	    !im->frozen && !exec_since(u, r->h.pid, r->h.ts_ns) && image_reread(im))
		ret = unwind_with(u, im, r, &c);
	if (c.n < 2) {
		u->failed++;
		return 0;
	}
	n = c.n - 1 > (int)u->depth ? (int)u->depth : c.n - 1;
	if (ret != 0 || c.n - 1 > (int)u->depth)
		*flags |= TB_STK_TRUNCATED;
	for (int i = 0; i < n; i++) {
		const struct pm_map *m = procmaps__find(&im->pm, c.pc[i + 1]);

		/* a probed function's return address, which its return probe took: the frame is lost */
		if (m && !strcmp(m->path, "[uprobes]")) {
			*flags |= TB_STK_GAP | TB_STK_TRUNCATED;
			return i;
		}
		place(u, im, c.pc[i + 1], &out[i]);
	}
	return n;
}

int unwind__sample(struct unwind *u, const struct tb_rec_sample *r, struct stacktab_frame *out,
		   uint16_t *flags)
{
	int n;

	pthread_mutex_lock(&u->lock);
	n = sample_locked(u, r, out, flags);
	pthread_mutex_unlock(&u->lock);
	return n;
}

void unwind__counts(const struct unwind *u, uint64_t *samples, uint64_t *failed)
{
	*samples = u ? u->samples : 0;
	*failed = u ? u->failed : 0;
}
