// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tlsbpf.bpf.c: the probes; allocator calls and memory syscalls of watched processes into a ring buffer per CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tlsbpf.h"

char LICENSE[] SEC("license") = TB_LICENSE;

#define CLONE_THREAD 0x00010000

/* x86_64 and arm64 syscall numbers of the memory calls we follow. */
#if defined(__TARGET_ARCH_arm64)
#define NR_MMAP 222
#define NR_MPROTECT 226
#define NR_MUNMAP 215
#define NR_BRK 214
#define NR_MREMAP 216
#define NR_MADVISE 233
#define NR_RT_SIGRETURN 139
#else
#define NR_MMAP 9
#define NR_MPROTECT 10
#define NR_MUNMAP 11
#define NR_BRK 12
#define NR_MREMAP 25
#define NR_MADVISE 28
#define NR_RT_SIGRETURN 15
#endif

#define WAKE_CHECK_EVERY 32

/* Knobs, set by the loader between open and load. */
const volatile __u64 wakeup_bytes = 1 << 17;	/* force a wakeup once a ring has this much unread */
const volatile __u64 slot_wakeup_bytes = 1 << 17;	/* the same for an allocation ring */
const volatile __u32 slot_count = 1;	/* slots in each CPU's allocation ring, a power of two */
const volatile __u32 sample_every = 0;	/* --sample N: record one allocation call in N, and its free */
const volatile __u32 empty_probes = 0;	/* benchmark floor: the probes fire and do nothing */
const volatile __u32 watch_all = 0;	/* -a: every process that execs from now on is watched */
const volatile __u32 filter_comm = 0;	/* -a --comm: only names in the comms map */
const volatile __u32 self_tgid = 0;	/* tlsbpf itself: never watched, or it would feed on itself */
const volatile __u32 pages_mode = TB_PAGES_OFF;	/* enum tb_pages_mode */
const volatile __u32 stack_depth = 0;	/* frames kept of each call's stack; 0: none (--no-stacks) */
const volatile __u32 stack_mode = TB_STACKS_FP;	/* --stacks: enum tb_stacks_mode */
const volatile bool free_stacks = true;	/* frees' stacks too (--no-free-stacks: not) */
/* alloc_call serves the allocating functions: the verifier drops alloc_enter's copy of them */
const volatile __u32 uprobe_sessions = 0;

/*
 * Set by the loader before each library's probes go in, so never stale for a
 * probe that exists. A probe's address keeps its file offset's low 12 bits
 * wherever the library is loaded: when free's probes, or malloc's, have a page
 * offset no other probe has, that tells them apart without the attach-cookie
 * helper call (8 ns each, on the two hottest probes).
 */
__u32 fast_free_off = TB_NO_PAGE_OFF;
__u32 fast_malloc_off = TB_NO_PAGE_OFF;
/*
 * --sample-by time: bumped by the loader as it takes the allocator probes off
 * (odd: they are going) and as it puts them back (even). A call begun in an
 * earlier window lost its return with the probes: it is cut by the sampling,
 * never a loss, and never nests a new call; nor is a call whose return went
 * first while the links were going.
 */
__u32 sample_window = 0;
__u32 all_libs_gated = 0;	/* every probed library has an exit mark (tb_lib.exit_gated) */
__u32 stack_next = 0;	/* stacks map entries handed out; entry 0 stays empty (no stack) */
__u32 file_next = 0;	/* files map entries handed out; entry 0 stands for no file */
__u32 sample_next = 0;	/* --stacks=dwarf: samples emitted, each one's seq */

/*
 * One ring buffer per CPU, so that threads on different CPUs never share a
 * ring's lock and producer position. The loader makes the rings and fills
 * the slots; the consumer merges them back into time order.
 */
struct cpu_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);	/* the loader's rings may have another size */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);	/* the loader sets one slot per possible CPU */
	__type(key, __u32);
	__array(values, struct cpu_ring);
} rings SEC(".maps");

/* The allocation rings: slot_count slots for each CPU up to the last online, CPU after CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);	/* the loader sets the size */
	__type(key, __u32);
	__type(value, struct tb_slot);
} slots SEC(".maps");

/* cpu -> its allocation ring's positions */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);	/* the loader sets one per allocation ring */
	__type(key, __u32);
	__type(value, struct tb_slot_pos);
} slot_pos SEC(".maps");

/* tgid -> TB_WATCH_PENDING / TB_WATCH_ACTIVE */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* preallocating 65,536 entries took 10 ms of start-up */
	__uint(max_entries, TB_MAX_WATCHED);
	__type(key, __u32);
	__type(value, __u32);
} watched SEC(".maps");

/* -a --comm: thread names to watch, zero-padded to TB_COMM_LEN -> 1 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, char[TB_COMM_LEN]);
	__type(value, __u8);
} comms SEC(".maps");

/* Records lost, by enum tb_drop_cause. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TB_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Allocator calls of processes not watched that trapped all the same: the file-wide probes' tax. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tb_bystander);
} bystander_calls SEC(".maps");

/* tgid -> the last TB_EPOCH_SHIFT epoch it trapped in: who pays the tax, for -a's status line. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TB_MAX_BYSTANDERS);
	__type(key, __u32);
	__type(value, __u32);
} bystanders SEC(".maps");

/* library index (TB_COOKIE_LIB) -> struct tb_lib */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TB_MAX_LIBS);
	__type(key, __u32);
	__type(value, struct tb_lib);
} libs SEC(".maps");

/* stack_id -> struct tb_stack: each distinct stack once, read in place by user space */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TB_MAX_STACKS);	/* the loader makes it 1 entry under --no-stacks */
	__type(key, __u32);
	__type(value, struct tb_stack);
} stacks SEC(".maps");

/* a stack's hash -> the stack_id of the first stack with that hash (the next are compared) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TB_MAX_STACKS);
	__type(key, __u64);
	__type(value, __u32);
} stack_index SEC(".maps");

/* file index -> struct tb_file: each file a frame's code came from, read in place by user space */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TB_MAX_FILES);	/* the loader makes it 1 entry under --no-stacks */
	__type(key, __u32);
	__type(value, struct tb_file);
} files SEC(".maps");

struct file_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/* (device, inode) -> the file's index in files */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TB_MAX_FILES);
	__type(key, struct file_key);
	__type(value, __u32);
} file_index SEC(".maps");

/* By enum tb_stack_count: stacks kept, truncated, not kept, not placed, and collisions kept apart. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TB_STC_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stack_counts SEC(".maps");

/* An allocator call in progress on one thread, from its entry to its return. */
struct call_state {
	__u64 ts_ns;
	__u64 size;
	__u64 old_addr;	/* realloc input, or the alignment */
	__u64 memptr;	/* posix_memalign's result pointer */
	__u64 nmemb;	/* calloc, reallocarray: the element count */
	__u64 entry_sp;	/* the stack pointer at entry: a call made deeper is nested in it */
	__u32 type;
	__u32 depth;	/* 0: no call; > 1: inside a nested probed call, which we do not report */
	__u32 flags;
	__u32 skip;	/* --sample: this call is not one of the recorded ones */
	__u32 window;	/* sample_window when the call began */
	__u32 stack_id;	/* where it was called from: the stacks map's index, 0 for none */
	__u32 stack_late;	/* its stack is taken at its return (stack_at_return) */
};

#define SIG_LEVELS 8	/* signal handlers running one inside another, tracked per thread */
/*
 * Bytes of the user stack read at once above the stack pointer: the frames
 * in it cost no read of their own (one read of 16 bytes per frame cost more
 * than the rest of the walk).
 */
#define STACK_WINDOW 1024	/* a power of two: frame_at masks its index with it */

/*
 * The top of the user stack as the walk reads it, STACK_WINDOWS per CPU. Not
 * in the thread's storage: a read from user space into slab memory, which
 * task storage is, pays the kernel's hardened-usercopy lookup of the slab
 * object (Debian's kernels have the check on); per-CPU memory is checked
 * without it. A program that preempts another on its CPU finds the first
 * window taken and takes the next; past them its call gets no stack (counted).
 */
struct stack_window {
	__u32 taken;
	__u32 pad;
	__u64 w[STACK_WINDOW / 8];
};

#define STACK_WINDOWS 2	/* per CPU: a walk, and one preempting it (window_take) */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STACK_WINDOWS);
	__type(key, __u32);
	__type(value, struct stack_window);
} stack_windows SEC(".maps");
/* A thread's last stacks, looked at before the stack_index map: a hot loop's hit costs no lookup. */
#define RECENT_STACKS 4

/*
 * A thread's call, and the calls its signal handlers interrupted. A handler
 * may call the allocator while the thread is inside it: at the signal's
 * delivery the interrupted call is put aside (saved), the handler's calls are
 * the program's own, and rt_sigreturn brings the interrupted one back. A
 * handler that jumps out (siglongjmp) never returns: its level, and any call
 * it left, is found dead by the stack pointer at the thread's next call.
 */
struct call {
	struct call_state s;	/* the running level's call */
	__u64 libc_lo, libc_hi;	/* where the C library's and the loader's text are in this */
	__u64 ldso_lo, ldso_hi;	/* thread's memory, found at its first allocating call */
	__u32 ranges_known;
	struct call_state saved[SIG_LEVELS];
	__u64 sig_sp[SIG_LEVELS];	/* the stack pointer each handler interrupted */
	__u32 nsaved;
	__u32 deep;	/* handlers delivered past SIG_LEVELS, not yet returned */
	__u32 sample_ctr;	/* --sample: allocation calls this thread made */
	__u32 exiting;	/* the thread has reached the library's exit mark */
	__u32 stk_known;	/* stk_top, _start, _exec are read: once per thread (exec drops the slot) */
	__u64 stk_top;	/* the end of user space */
	__u64 stk_tramp;	/* uprobes' return trampoline page, 0 if none yet */
	__u64 stk_start;	/* the process's start time and exec count: which address space */
	__u64 stk_exec;
	__u32 recent_id[RECENT_STACKS];	/* the thread's last stacks, by their call site's low bits */
	/*
	 * A C++ operator entered and its malloc or free not yet reached: where
	 * the program called it (cxx_enter), which the call it makes takes.
	 */
	__u64 op_sp;	/* the stack pointer at the operator's entry; 0: none */
	__u32 op_type;	/* TB_PROBE_CXX_NEW or _DELETE */
	__u32 op_flags;	/* its entry index, in the record flags' bits (TB_COOKIE_ENTRY_MASK) */
	__u32 op_stack_id;
	__u32 op_pad;
	/*
	 * The stack being captured: in the thread's own storage, since another
	 * program preempting this one on its CPU would overwrite a per-CPU one.
	 */
	struct tb_stack walk;
};

/*
 * Each thread's allocator call in progress, kept in the task itself: a hash
 * insert and delete per call cost more than the rest of the probe, and the
 * storage goes away with the thread.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct call);
} inflight SEC(".maps");

/* --sample: blocks whose allocation was recorded, so that only their frees are -> 1 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* a million preallocated entries take 80 ms to create */
	__uint(max_entries, TB_MAX_SAMPLED);
	__type(key, __u64);
	__type(value, __u8);
} sampled SEC(".maps");

/* How this CPU's rings are being drained: see submit() and alloc_submit(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tb_wake);
} wake SEC(".maps");

/* A memory syscall in progress: its arguments, kept from sys_enter to sys_exit. */
struct sysargs {
	__u64 args[6];
	__u64 old_brk;
	__u64 start_brk;
	__u32 nr;
	__u32 pad;
};

/* tid -> struct sysargs */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TB_MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct sysargs);
} sysargs SEC(".maps");

/* tgid -> the resident pages of each kind its last rss rows said */
struct rss_rows {
	__s64 pages[TB_RSS_KINDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TB_MAX_WATCHED);
	__type(key, __u32);
	__type(value, struct rss_rows);
} rss_last SEC(".maps");

static __always_inline void count_drop(__u32 why)	/* an enum tb_drop_cause */
{
	__u64 *n = bpf_map_lookup_elem(&drops, &why);

	if (n)
		*n += 1;
}

/* Only recording processes are watched; launched ones wait, pending, for their exec. */
static __always_inline bool is_active(__u32 tgid)
{
	__u32 *state = bpf_map_lookup_elem(&watched, &tgid);

	return state && *state == TB_WATCH_ACTIVE;
}

static __always_inline void *cpu_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rings, &cpu);
}

/*
 * Every record is reserved before fill_hdr reads the clock: the consumer's
 * merge relies on a record's time being later than its place in its ring.
 */
static __always_inline void *reserve(__u64 size)
{
	void *ring = cpu_ring();
	void *rec = ring ? bpf_ringbuf_reserve(ring, size, 0) : NULL;

	if (!rec)
		count_drop(TB_DROP_RING_FULL);
	return rec;
}

static __always_inline struct tb_wake *wake_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wake, &zero);
}

/* Counted, so that -v can show every early consumer round was asked for. */
static __always_inline __u64 forced_wakeup(struct tb_wake *w)
{
	if (w)
		w->forced++;
	return BPF_RB_FORCE_WAKEUP;
}

/*
 * Wake the consumer only when a good batch is waiting: a wakeup per record
 * costs more than the rest of the probe. The loader also polls on a short
 * timeout, so a quiet program's last records are never stranded. One wakeup
 * each time the fill crosses the mark: until the consumer brings it back
 * under, a further wakeup would only cost an interrupt (a VM exit here).
 */
/* A ring's fill is looked at once in WAKE_CHECK_EVERY records this CPU submits: late by 32 at most. */
static __always_inline bool fill_check_due(struct tb_wake *w)
{
	return !w || (++w->submitted & (WAKE_CHECK_EVERY - 1)) == 0;
}

/* True when the fill has just crossed the mark; *woke remembers it is over until it falls back. */
static __always_inline bool crossed(__u8 *woke, __u64 fill, __u64 mark)
{
	bool was = woke && *woke, over = fill >= mark;

	if (woke)
		*woke = over;
	return over && !was;
}

static __always_inline void submit(void *rec)
{
	struct tb_wake *w = wake_state();
	__u64 flags = BPF_RB_NO_WAKEUP;
	void *ring;

	/* the query is a helper call; the per-CPU count is inlined */
	if (fill_check_due(w)) {
		ring = cpu_ring();
		if (ring && crossed(w ? &w->woke : NULL, bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA),
				    wakeup_bytes))
			flags = forced_wakeup(w);
	}
	bpf_ringbuf_submit(rec, flags);
}

/* Rare, and counted so that -v can show the retry path is taken. */
static __always_inline void count_race(void)
{
	struct tb_wake *w = wake_state();

	if (w)
		w->raced++;
}

/*
 * Whether the slot at p is free, the reader's own line read only when the
 * copy beside the probes' says it may not be: read at every record, that line
 * went back and forth between the reader's CPU and the probes' at each record
 * the reader handed on (about 20 ns a malloc+free pair here). A copy that is
 * behind only errs towards reading the line; a program preempted on this CPU
 * may store an older copy, never a position the reader has not reached.
 */
static __always_inline bool slot_free(struct tb_slot_pos *sp, __u64 p)
{
	__u64 ring = (__u64)slot_count * TB_SLOT_SIZE, cons;

	if (p - *(volatile __u64 *)&sp->cons_seen < ring)
		return true;
	cons = *(volatile __u64 *)&sp->cons;
	*(volatile __u64 *)&sp->cons_seen = cons;
	/* past p: the reader took records reserved since p was read; the swap then fails */
	return p - cons < ring || (__s64)(p - cons) < 0;
}

/*
 * A slot in this CPU's allocation ring: one compare-and-swap on the producer
 * position, where a ring buffer record costs a lock taken with interrupts off
 * and an atomic commit (48 ns a record here). The loser of a race (another
 * program on this CPU while this one was preempted) tries the next slot.
 * Reserved before the clock is read, like every record.
 */
static __always_inline struct tb_rec_alloc *alloc_reserve(void)
{
	__u32 cpu = bpf_get_smp_processor_id(), idx;
	struct tb_slot_pos *sp = bpf_map_lookup_elem(&slot_pos, &cpu);
	struct tb_slot *s;
	__u64 p;

	for (int i = 0; sp && i < 3; i++) {
		p = *(volatile __u64 *)&sp->prod;
		if (!slot_free(sp, p))
			break;	/* full: the reader is behind */
		if (__sync_val_compare_and_swap(&sp->prod, p, p + TB_SLOT_SIZE) != p) {
			count_race();
			continue;
		}
		idx = cpu * slot_count + ((__u32)(p / TB_SLOT_SIZE) & (slot_count - 1));
		s = bpf_map_lookup_elem(&slots, &idx);
		if (s)
			return &s->rec;
		break;
	}
	count_drop(TB_DROP_RING_FULL);
	return NULL;
}

/* The allocation ring has no reader to wake: a discarded record in the ring buffer wakes it. */
static __always_inline void wake_reader(struct tb_wake *w)
{
	void *ring = cpu_ring();
	void *rec = ring ? bpf_ringbuf_reserve(ring, 8, 0) : NULL;

	if (rec)
		bpf_ringbuf_discard(rec, forced_wakeup(w));
}

/* The len store hands the slot to the reader: it must come after the record's own stores. */
static __always_inline void alloc_submit(struct tb_rec_alloc *r, __u32 stack_id)
{
	struct tb_slot *s = (void *)((char *)r - __builtin_offsetof(struct tb_slot, rec));
	struct tb_wake *w = wake_state();
	struct tb_slot_pos *sp;
	__u32 cpu;

	s->stack_id = stack_id;

#if defined(__TARGET_ARCH_x86)
	/* x86 makes stores visible in program order: only the compiler must keep it */
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&s->len = sizeof(*r);
#else
	__sync_lock_test_and_set(&s->len, sizeof(*r));
#endif
	if (!fill_check_due(w))
		return;
	cpu = bpf_get_smp_processor_id();
	sp = bpf_map_lookup_elem(&slot_pos, &cpu);
	if (sp && crossed(w ? &w->slots_woke : NULL, sp->prod - sp->cons, slot_wakeup_bytes))
		wake_reader(w);
}

/* What bpf_get_current_pid_tgid() says, without its helper call: the task is at hand. */
static __always_inline __u64 task_pid_tgid(struct task_struct *task)
{
	return (__u64)task->tgid << 32 | (__u32)task->pid;
}

static __always_inline void fill_hdr(struct tb_hdr *h, __u16 type, __u64 pid_tgid)
{
	h->type = type;
	h->flags = 0;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->aux = 0;
	h->ts_ns = bpf_ktime_get_ns();
}

/* a * b, or b (the element size) with the overflow flag: calloc's and reallocarray's request. */
static __always_inline __u64 mul_size(__u64 a, __u64 b, __u32 *flags)
{
	__u64 limit;

	if (!b)
		return 0;
	limit = ~0ULL / b;
	/* keep clang from folding this into a 128-bit multiply the BPF target lacks */
	asm volatile("" : "+r"(limit));
	if (a > limit) {
		*flags |= TB_RF_OVERFLOW;
		return b;
	}
	return a * b;
}

/*
 * ctx->field as a load of its own: clang would merge a switch's loads into one
 * from a computed context pointer, which the verifier refuses.
 */
#define CTX_REG(ctx, field)                                                                     \
	({                                                                                      \
		__u64 v_;                                                                       \
		asm volatile("%0 = *(u64 *)(%1 + %2)"                                           \
			     : "=r"(v_)                                                          \
			     : "r"(ctx), "i"(__builtin_offsetof(struct pt_regs, field)));        \
		v_;                                                                             \
	})

/*
 * Argument i where the probe sits: a probe placed past the entry may find it
 * copied to another register (its cookie says which). A switch, since the
 * verifier allows no variable offset into the context.
 */
static __always_inline __u64 arg_at(struct pt_regs *ctx, __u64 cookie, int i, __u64 own)
{
	switch (TB_COOKIE_ARG(cookie, i)) {
	case TB_REG_OWN: return own;
	case TB_REG_AX: return CTX_REG(ctx, ax);
	case TB_REG_BX: return CTX_REG(ctx, bx);
	case TB_REG_CX: return CTX_REG(ctx, cx);
	case TB_REG_DX: return CTX_REG(ctx, dx);
	case TB_REG_SI: return CTX_REG(ctx, si);
	case TB_REG_DI: return CTX_REG(ctx, di);
	case TB_REG_BP: return CTX_REG(ctx, bp);
	case TB_REG_R8: return CTX_REG(ctx, r8);
	case TB_REG_R9: return CTX_REG(ctx, r9);
	case TB_REG_R10: return CTX_REG(ctx, r10);
	case TB_REG_R11: return CTX_REG(ctx, r11);
	case TB_REG_R12: return CTX_REG(ctx, r12);
	case TB_REG_R13: return CTX_REG(ctx, r13);
	case TB_REG_R14: return CTX_REG(ctx, r14);
	default: return CTX_REG(ctx, r15);
	}
}

static __always_inline void call_args(struct call_state *c, struct pt_regs *ctx, __u64 cookie)
{
	__u64 a0 = arg_at(ctx, cookie, 0, PT_REGS_PARM1(ctx));
	__u64 a1 = arg_at(ctx, cookie, 1, PT_REGS_PARM2(ctx));
	__u64 a2 = arg_at(ctx, cookie, 2, PT_REGS_PARM3(ctx));

	switch (c->type) {
	case TB_EV_CALLOC:
		c->nmemb = a0;
		c->size = mul_size(a0, a1, &c->flags);
		break;
	case TB_EV_REALLOC:
		c->old_addr = a0;
		c->size = a1;
		break;
	case TB_EV_REALLOCARRAY:
		c->old_addr = a0;
		c->nmemb = a1;
		c->size = mul_size(a1, a2, &c->flags);
		break;
	case TB_EV_POSIX_MEMALIGN:
		c->memptr = a0;
		c->old_addr = a1;
		c->size = a2;
		break;
	case TB_EV_ALIGNED_ALLOC:
	case TB_EV_MEMALIGN:
		c->old_addr = a0;
		c->size = a1;
		break;
	default: /* malloc, valloc, pvalloc */
		c->size = a0;
	}
}

/*
 * glibc flushes a thread's cache at thread exit by calling free on blocks the
 * program already freed, and frees the cache itself, which it never got from
 * malloc. Those calls come from inside the library: tell them apart by the
 * return address, placed in the library's own address numbering.
 */
static __always_inline bool called_from_lib(struct pt_regs *ctx, __u32 lib, struct call *c)
{
	struct tb_lib *li;
	__u64 ret = 0, at;

	/* a free told apart by its page offset: which library only matters past an exit mark */
	if (lib == TB_LIB_UNKNOWN) {
		if (all_libs_gated && !c->exiting)
			return false;
		lib = TB_COOKIE_LIB(bpf_get_attach_cookie(ctx));
	}
	li = bpf_map_lookup_elem(&libs, &lib);
	/* reading the stack is most of a free's cost: where it can, only in the exit window */
	if (!li || !li->text_hi || (li->exit_gated && !c->exiting))
		return false;
	if (bpf_probe_read_user(&ret, sizeof(ret), (void *)(PT_REGS_SP(ctx) + li->sp_adjust)))
		return false;
	at = ret - PT_REGS_IP(ctx) + li->free_vaddr;
	return at >= li->text_lo && at < li->text_hi;
}

static __always_inline void emit_free(struct pt_regs *ctx, __u64 pid_tgid, __u64 ptr,
				      __u64 cookie, struct call *c, __u32 stack_id)
{
	struct tb_rec_alloc *r = alloc_reserve();
	__u32 lib = TB_COOKIE_LIB(cookie);

	if (!r)
		return;
	fill_hdr(&r->h, TB_EV_FREE, pid_tgid);
	r->h.flags |= cookie & TB_COOKIE_ENTRY_MASK;
	if (called_from_lib(ctx, lib, c))
		r->h.flags |= TB_RF_INTERNAL;
	if (sample_every > 1)
		r->h.flags |= TB_RF_SAMPLED;
	r->size = 0;
	r->addr = ptr;
	r->old_addr = 0;
	r->arg = 0;
	alloc_submit(r, stack_id);
}

/*
 * --sample N: one allocation call in N per thread is recorded. A realloc of a
 * recorded block is always recorded, so a sampled block's story stays whole.
 */
static __always_inline bool sample_this(struct call *t, struct call_state *c)
{
	if ((c->type == TB_EV_REALLOC || c->type == TB_EV_REALLOCARRAY) && c->old_addr &&
	    bpf_map_delete_elem(&sampled, &c->old_addr) == 0)
		return true;
	return t->sample_ctr++ % sample_every == 0;
}

/*
 * A call of a process not watched that trapped all the same: bystander_calls,
 * and its process in bystanders. The table is written only when this CPU's
 * last bystander was another process or an epoch ago, so a process that
 * keeps calling costs a table write an epoch, not one a call.
 */
static __always_inline void count_bystander(__u32 tgid)
{
	__u32 zero = 0, epoch = bpf_ktime_get_ns() >> TB_EPOCH_SHIFT;
	struct tb_bystander *b = bpf_map_lookup_elem(&bystander_calls, &zero);

	if (!b)
		return;
	b->calls++;
	if (b->last_tgid == tgid && b->last_epoch == epoch)
		return;
	b->last_tgid = tgid;
	b->last_epoch = epoch;
	bpf_map_update_elem(&bystanders, &tgid, &epoch, BPF_ANY);
}

/*
 * The thread's call slot, which exists only for threads of watched processes:
 * having one is the answer, so the watched-map lookup is paid once per thread,
 * not once per call. exec drops the slot, since it may change the answer.
 */
static __always_inline struct call *call_slot(struct task_struct *task)
{
	struct call *c = bpf_task_storage_get(&inflight, task, 0, 0);

	if (c)
		return c;
	if (!is_active(task->tgid)) {
		count_bystander(task->tgid);
		return NULL;
	}
	c = bpf_task_storage_get(&inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c)
		count_drop(TB_DROP_MAP_FULL);
	return c;
}

/*
 * Which probe fired: its page offset says so for free's and malloc's, else its
 * cookie. A probe told by its page offset reads its arguments from their own
 * registers: the loader gives no page offset to one placed where they moved.
 */
static __always_inline __u64 probe_cookie(struct pt_regs *ctx)
{
	__u32 page_off = PT_REGS_IP(ctx) & 0xfff;

	if (page_off == fast_free_off)
		return TB_COOKIE(TB_EV_FREE, TB_LIB_UNKNOWN);
	if (page_off == fast_malloc_off)
		return TB_COOKIE(TB_EV_MALLOC, TB_LIB_UNKNOWN);
	return bpf_get_attach_cookie(ctx);
}

/* A call begun and never to return: the program got no result from it, and we report none. */
static __always_inline void call_abandon(struct call_state *s)
{
	if (s->depth && !s->skip && s->window == sample_window && !(sample_window & 1))
		count_drop(TB_DROP_NO_RETURN);
	s->depth = 0;
}

/* sp lies on the thread's alternate signal stack, where its handlers may run above it all. */
static __always_inline bool on_altstack(struct task_struct *task, __u64 sp)
{
	return task->sas_ss_size && sp - task->sas_ss_sp < task->sas_ss_size;
}

/*
 * A handler runs below the stack pointer its signal interrupted, past the
 * red zone (128 bytes on x86-64) and the signal frame the kernel pushes (over
 * a kilobyte): a call made nearer than this is no longer in the handler.
 */
#define SIG_FRAME_MIN 256

/*
 * Before a call at stack pointer sp: drop what the thread can no longer be
 * inside of. A handler level is gone once sp is back near or above the stack
 * pointer its signal interrupted: it jumped out, never to return, and so is
 * the call it interrupted (no jump lands inside the allocator), even when the
 * signal came as that call was returning. A call is gone once sp is above its
 * entry's: a call made inside it is deeper, or as deep when it is a tail call
 * (glibc's realloc(NULL, n) jumps to malloc). Only runs while the thread is
 * inside a call or a handler.
 */
static __always_inline void call_unwind(struct call *c, struct task_struct *task, __u64 sp)
{
	bool jumped = false;

	for (int i = 0; i < SIG_LEVELS && c->nsaved; i++) {
		__u32 top = (c->nsaved - 1) & (SIG_LEVELS - 1);

		if (sp + SIG_FRAME_MIN < c->sig_sp[top] || on_altstack(task, sp))
			break;
		call_abandon(&c->s);
		c->s = c->saved[top];
		c->nsaved--;
		c->deep = 0;	/* handlers delivered after this one were left too */
		jumped = true;
	}
	if (c->s.depth && (jumped || sp > c->s.entry_sp))
		call_abandon(&c->s);
}

/* Whether a probed call at sp is nested inside the thread's call in progress. */
static __always_inline bool call_nested(struct call *c, struct task_struct *task, __u64 sp)
{
	if (c->s.depth && c->s.window != sample_window)
		c->s.depth = 0;	/* its return went with the probes: the sampling cut it */
	if (!c->s.depth && !c->nsaved)
		return false;
	call_unwind(c, task, sp);
	if (c->s.depth && c->deep)
		count_drop(TB_DROP_NO_RETURN);	/* a handler's call, past the levels we track */
	return c->s.depth;
}

/*
 * Stacks. The call site is the return address on top of the stack: every
 * probe sits before any write to the stack pointer (the loader's rule), so
 * it is exact whether or not the caller keeps a frame pointer. Deeper frames
 * come from the frame-pointer chain, which only code built with frame
 * pointers keeps: a chain that leaves the stack, goes down, or gives an
 * address no user code can be at stops the walk, and the stack is marked
 * truncated rather than filled with what rbp happened to point at.
 */
#define STACK_SPAN (64ULL << 20)	/* a frame further above the stack pointer is no frame of it */
#define PAGE_SZ 4096

static __always_inline void count_stack(__u32 what)	/* an enum tb_stack_count */
{
	__u64 *n = bpf_map_lookup_elem(&stack_counts, &what);

	if (n)
		*n += 1;
}

static __always_inline __u64 mix(__u64 h, __u64 x)
{
	h = (h ^ x) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* What a thread's stacks share, read at its first one. */
static __always_inline void stack_space(struct task_struct *task, struct call *t)
{
	/* read, not walked: each walk of a trusted pointer costs the verifier a search of the
	 * kernel's BTF by name (Linux 6.18), and this runs once per thread */
	struct mm_struct *mm = BPF_CORE_READ(task, mm);

	t->stk_known = 1;
	t->stk_top = mm ? BPF_CORE_READ(mm, task_size) : 0;
	t->stk_start = BPF_CORE_READ(task, group_leader, start_time);
	t->stk_exec = task->self_exec_id;
}

/* This CPU's window k, unless a running program holds it. */
static __always_inline struct stack_window *window_at(__u32 k)
{
	struct stack_window *win = bpf_map_lookup_elem(&stack_windows, &k);

	return win && !__sync_lock_test_and_set(&win->taken, 1) ? win : NULL;
}

/*
 * A window of this CPU's no running program holds; NULL past STACK_WINDOWS nested
 * walks. Not a loop: Linux 6.1's verifier took one, its exit from an xchg, for endless.
 */
static __always_inline struct stack_window *window_take(void)
{
	struct stack_window *win = window_at(0);

	return win ?: window_at(1);
}

static __always_inline void window_give(struct stack_window *win)
{
	asm volatile("" ::: "memory");	/* the walk's reads of it come first */
	*(volatile __u32 *)&win->taken = 0;
}

/*
 * The top of the stack into win, as much as is mapped of it (the main
 * thread's stack may end sooner); returns the bytes read, 0 if none.
 */
static __always_inline __u32 stack_window(struct stack_window *win, __u64 sp)
{
	__u32 len = PAGE_SZ - (sp & (PAGE_SZ - 1));

	if (!bpf_probe_read_user(win->w, STACK_WINDOW, (void *)sp))
		return STACK_WINDOW;
	/* the rest of sp's page is mapped, the stack's next page may not be */
	if (len > STACK_WINDOW)
		len = STACK_WINDOW;
	if (len < 8 || bpf_probe_read_user(win->w, len, (void *)sp))
		return 0;
	return len;
}

/* The frame record (saved rbp, return address) at fp: from the window when it is in it. */
static __always_inline int frame_at(const struct stack_window *win, __u64 sp, __u32 wlen,
				    __u64 fp, __u64 fr[2])
{
	__u64 off = fp - sp, i = off >> 3;

	/* the masks change nothing but tell the verifier: Linux 6.12's lost i's bound, tested
	 * on a copy of it, and refused the index */
	if (off + 16 <= wlen && i < STACK_WINDOW / 8 - 1) {
		fr[0] = win->w[i & (STACK_WINDOW / 8 - 1)];
		fr[1] = win->w[(i + 1) & (STACK_WINDOW / 8 - 1)];
		return 0;
	}
	return bpf_probe_read_user(fr, 16, (void *)fp);
}

/* Which address space and the frames, into t->walk; non-zero if sp cannot be read. */
static __always_inline int stack_walk(struct pt_regs *ctx, struct task_struct *task,
				      struct call *t, struct stack_window *win)
{
	__u64 sp = PT_REGS_SP(ctx), fp = PT_REGS_FP(ctx), lo = sp + 8, fr[2];
	struct tb_stack *w = &t->walk;
	__u32 n, wlen;
	__u16 flags = 0;

	/* a stack pointer off 8 bytes (never at a call) would misplace the window's frames */
	if (sp & 7)
		return -1;
	if (!t->stk_known)
		stack_space(task, t);
	/*
	 * the page of uprobes' return trampoline, which a probed function's return
	 * address becomes; made at the first return probe, maybe after this thread's
	 * first stack: looked for until it is there
	 */
	if (!t->stk_tramp)
		t->stk_tramp = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	wlen = stack_window(win, sp);
	if (!wlen)
		return -1;
	w->ip[0] = win->w[0];
	w->tgid = task->tgid;
	w->start_ns = t->stk_start;
	w->exec_id = t->stk_exec;
	for (n = 1; n < TB_MAX_STACK; n++) {
		/*
		 * _start clears rbp, so a chain ends at 0; but code without frame
		 * pointers may leave rbp 0 all along: 0 in the call site's own
		 * function, which would have a frame, says nothing was kept
		 */
		if (!fp) {
			if (n == 1)
				flags = TB_STK_TRUNCATED;
			break;
		}
		if (n >= stack_depth) {
			flags = TB_STK_TRUNCATED;
			break;
		}
		/* a frame lies above the one before it, on this stack, aligned */
		if (fp < lo || fp - sp > STACK_SPAN || (fp & 7) || frame_at(win, sp, wlen, fp, fr)) {
			flags = TB_STK_TRUNCATED;
			break;
		}
		/* a probed function's return address, which its return probe took: the frame is lost */
		if (t->stk_tramp && fr[1] - t->stk_tramp < PAGE_SZ) {
			flags = TB_STK_TRUNCATED | TB_STK_GAP;
			break;
		}
		if (fr[1] < PAGE_SZ || fr[1] >= t->stk_top) {
			flags = TB_STK_TRUNCATED;
			break;
		}
		w->ip[n & (TB_MAX_STACK - 1)] = fr[1];
		lo = fp + 16;
		fp = fr[0];
	}
	w->nr = n;
	w->flags = flags;
	return 0;
}

/*
 * w's hash, over what says which address space and every frame: only for a stack not recent.
 * The loops over a stack's frames also stop at stack_depth, which no stack exceeds: a
 * constant once loaded, so the verifier follows --stack-depth iterations, not TB_MAX_STACK
 * (at the default depth, 41,000 fewer instructions to check per program: start-up time).
 */
static __always_inline void stack_hash(struct tb_stack *w)
{
	__u64 h = mix(mix(mix(w->tgid, w->start_ns), w->exec_id), (__u64)w->nr << 16 | w->flags);

	for (int i = 0; i < TB_MAX_STACK && i < stack_depth && i < w->nr; i++)
		h = mix(h, w->ip[i]);
	w->hash = h ? h : 1;	/* 0 marks an entry being written */
}

static __always_inline bool stack_same(const struct tb_stack *a, const struct tb_stack *b)
{
	if (a->tgid != b->tgid || a->start_ns != b->start_ns ||
	    a->exec_id != b->exec_id || a->nr != b->nr || (a->flags & ~TB_STK_COLLIDED) != b->flags)
		return false;
	for (int i = 0; i < TB_MAX_STACK && i < stack_depth && i < b->nr; i++)
		if (a->ip[i] != b->ip[i])
			return false;
	return true;
}

/* Where one frame's code is, as bpf_find_vma's callback finds it. */
struct place_ctx {
	__u64 ip;
	__u64 off;	/* in the file */
	__u64 ino;	/* 0: in no file */
	__u64 dentry, mnt;	/* the file's path, for a file met for the first time */
	__u32 dev;
	__u32 pad;
};

static long place_vma(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct place_ctx *c = data;
	struct file *f = vma->vm_file;

	c->ino = 0;
	if (!f)
		return 0;
	c->off = c->ip - vma->vm_start + (vma->vm_pgoff << 12);
	c->ino = f->f_inode->i_ino;
	c->dev = f->f_inode->i_sb->s_dev;
	c->dentry = (__u64)f->f_path.dentry;
	c->mnt = (__u64)f->f_path.mnt;
	return 0;
}

/*
 * The file's path, from its own name up through the dentries, crossing from
 * the root of each mount to where it is mounted: the path as the process saw
 * it (a confined process's private copy of its C library shows as the
 * library's own path, which it is mounted over).
 */
struct path_walk {
	struct tb_file *f;
	struct dentry *d;
	struct vfsmount *vmnt;
	struct mount *mnt;
	__u32 n;	/* components and mount crossings (an empty component) taken */
	bool ended;	/* at the namespace's root, or a dentry without a parent */
};

/*
 * One step up: a component, or a mount crossing (an empty component). One
 * count for both, or the verifier would follow every pairing of the two; a
 * bpf_loop body, checked once.
 */
static long path_step(__u64 i, void *arg)
{
	struct path_walk *w = arg;
	/* locals: BPF_CORE_READ would relocate the path_walk fields it was given too */
	struct dentry *d = w->d, *parent;
	struct mount *mnt = w->mnt, *up;
	struct vfsmount *vmnt = w->vmnt;

	if (i >= TB_PATH_COMPS || !w->f)
		return 1;
	w->f->comp[i][0] = 0;
	if (d == BPF_CORE_READ(vmnt, mnt_root)) {
		up = BPF_CORE_READ(mnt, mnt_parent);
		if (up == mnt) {
			w->ended = true;	/* the namespace's root */
			return 1;
		}
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vmnt = (void *)((char *)up + bpf_core_field_offset(struct mount, mnt));
		w->n = i + 1;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d) {
		w->ended = true;
		return 1;
	}
	bpf_probe_read_kernel_str(w->f->comp[i], TB_COMP_LEN, BPF_CORE_READ(d, d_name.name));
	w->d = parent;
	w->n = i + 1;
	return 0;
}

static __always_inline void file_path(struct tb_file *f, struct dentry *d, struct vfsmount *vmnt)
{
	struct path_walk w = {
		.f = f, .d = d, .vmnt = vmnt,
		.mnt = (void *)((char *)vmnt - bpf_core_field_offset(struct mount, mnt)),
	};

	bpf_loop(TB_PATH_COMPS, path_step, &w, 0);
	if (!w.ended)
		f->flags |= TB_FILE_CUT;
	f->ncomp = w.n;
}

/* The file's index in files, a new entry for a file met for the first time; TB_FILE_UNPLACED if full. */
__noinline int file_of_global(struct place_ctx *c)
{
	struct file_key k = {};
	struct tb_file *f;
	__u32 *known, id;

	/* with bpf_find_vma, which calls this, came bpf_loop (5.17): a check for older kernels,
	 * which verify a global function even where nothing calls it */
	if (!c || !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))
		return TB_FILE_UNPLACED;
	k.ino = c->ino;
	k.dev = c->dev;
	known = bpf_map_lookup_elem(&file_index, &k);
	if (known)
		return *known;
	if (*(volatile __u32 *)&file_next >= TB_MAX_FILES - 1)
		return TB_FILE_UNPLACED;
	id = __sync_fetch_and_add(&file_next, 1) + 1;
	f = id < TB_MAX_FILES ? bpf_map_lookup_elem(&files, &id) : NULL;
	if (!f)
		return TB_FILE_UNPLACED;
	f->ino = k.ino;
	f->dev = k.dev;
	f->flags = 0;
	file_path(f, (void *)c->dentry, (void *)c->mnt);
	asm volatile("" ::: "memory");
	__sync_lock_test_and_set(&f->ready, 1);
	/* two CPUs may place the same new file: both entries are right, user space joins them */
	bpf_map_update_elem(&file_index, &k, &id, BPF_NOEXIST);
	return id;
}

/*
 * Each frame's file and offset, when its stack is first kept (so once per
 * distinct stack): bpf_find_vma takes the mappings' lock only if it is free,
 * and a frame it cannot place is left to user space, counted.
 */
struct place_loop {
	struct tb_stack *e;
	struct task_struct *task;
	struct place_ctx c;
	bool missed;
};

/* Frame i of the stack being kept, placed: bpf_loop's body, checked once whatever the depth. */
static long place_frame(__u64 i, void *arg)
{
	struct place_loop *p = arg;
	struct tb_stack *e = p->e;
	__u32 file;

	if (!e || i >= TB_MAX_STACK)
		return 1;
	p->c.ip = e->ip[i & (TB_MAX_STACK - 1)];
	p->c.off = 0;
	if (bpf_find_vma(p->task, p->c.ip, place_vma, &p->c, 0)) {
		e->place[i & (TB_MAX_STACK - 1)] = TB_PLACE(TB_FILE_UNPLACED, 0);
		p->missed = true;
		return 0;
	}
	file = p->c.ino ? file_of_global(&p->c) : TB_FILE_NONE;
	p->missed |= file == TB_FILE_UNPLACED;
	e->place[i & (TB_MAX_STACK - 1)] = TB_PLACE(file, p->c.off);
	return 0;
}

__noinline int stack_place_global(struct tb_stack *e)
{
	struct place_loop p = { .e = e, .task = bpf_get_current_task_btf() };

	if (!e)
		return 0;
	/* bpf_find_vma and bpf_loop came in Linux 5.17: before, user space places every frame */
	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_find_vma) ||
	    !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop)) {
		for (int i = 0; i < TB_MAX_STACK && i < stack_depth && i < e->nr; i++)
			e->place[i] = TB_PLACE(TB_FILE_UNPLACED, 0);
		count_stack(TB_STC_UNPLACED);
		return 0;
	}
	bpf_loop(e->nr < TB_MAX_STACK ? e->nr : TB_MAX_STACK, place_frame, &p, 0);
	if (p.missed)
		count_stack(TB_STC_UNPLACED);
	return 0;
}

/* A new entry: its hash is stored last, so that a reader never takes a half-written one. */
static __always_inline void stack_store(struct tb_stack *e, const struct tb_stack *w, __u16 flags)
{
	for (int i = 0; i < TB_MAX_STACK && i < stack_depth && i < w->nr; i++)
		e->ip[i] = w->ip[i];
	e->tgid = w->tgid;
	e->start_ns = w->start_ns;
	e->exec_id = w->exec_id;
	e->nr = w->nr;
	e->flags = w->flags | flags;
	stack_place_global(e);
#if defined(__TARGET_ARCH_x86)
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&e->hash = w->hash;
#else
	__sync_lock_test_and_set(&e->hash, w->hash);
#endif
}

/*
 * w's stack_id: the one it was given before, or a new entry. An index entry
 * with w's hash names a stack compared frame by frame, so a collision is
 * found, counted, and w kept under an id of its own, never the other's.
 */
static __always_inline __u32 stack_intern(struct tb_stack *w)
{
	/* a key on the stack: before Linux 6.2 or so a map key may not point into a global
	 * function's argument, as w does */
	__u64 hash = w->hash;
	__u32 *known = bpf_map_lookup_elem(&stack_index, &hash), id;
	struct tb_stack *e;
	__u16 flags = 0;

	if (known) {
		id = *known;
		e = bpf_map_lookup_elem(&stacks, &id);
		if (e && stack_same(e, w))
			return id;
		count_stack(TB_STC_COLLIDED);
		flags = TB_STK_COLLIDED;
	}
	/* checked first, so that a full table's misses never wrap the count */
	if (*(volatile __u32 *)&stack_next >= TB_MAX_STACKS - 1) {
		count_stack(TB_STC_FULL);
		return 0;
	}
	id = __sync_fetch_and_add(&stack_next, 1) + 1;
	e = id < TB_MAX_STACKS ? bpf_map_lookup_elem(&stacks, &id) : NULL;
	if (!e) {
		count_stack(TB_STC_FULL);
		return 0;
	}
	stack_store(e, w, flags);
	count_stack(TB_STC_KEPT);
	if (w->flags & TB_STK_TRUNCATED)
		count_stack(TB_STC_TRUNCATED);
	/* two CPUs may store the same new stack: the second's NOEXIST fails, both ids stay right */
	if (!known)
		bpf_map_update_elem(&stack_index, &hash, &id, BPF_NOEXIST);
	return id;
}

/*
 * t->walk's stack_id from the thread's recent stacks, compared frame by
 * frame with the entry its call site names there, or else from stack_intern.
 */
static __always_inline __u32 stack_recent(struct call *t)
{
	/* by the call site: a loop's sites each keep their slot */
	__u32 slot = (t->walk.ip[0] >> 2) & (RECENT_STACKS - 1), id = t->recent_id[slot];
	struct tb_stack *e;

	if (id) {
		e = bpf_map_lookup_elem(&stacks, &id);
		if (e && stack_same(e, &t->walk))
			return id;
	}
	stack_hash(&t->walk);
	id = stack_intern(&t->walk);
	t->recent_id[slot] = id;
	return id;
}

/*
 * The calling thread's stack_id, 0 when it could not be kept (counted). A
 * global function, so that the verifier goes through its loops once, not
 * once for each of its callers' paths.
 */
__noinline int stack_capture_global(struct pt_regs *ctx, struct call *t)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct stack_window *win;
	int err;

	if (!t)
		return 0;
	win = window_take();
	if (!win) {
		count_stack(TB_STC_UNREAD);
		return 0;
	}
	err = stack_walk(ctx, task, t, win);
	window_give(win);
	if (err) {
		count_stack(TB_STC_UNREAD);
		return 0;
	}
	return stack_recent(t);
}

/*
 * --stacks=dwarf: bytes of the stack from sp into window: the whole window or,
 * near the stack's top, as many whole pages past sp's own as can be read (the
 * stack's mapping may end sooner, or hold a page never touched, above the
 * first frames: the kernel places the stack's start at a random offset in
 * it); 0 if none.
 */
static __always_inline __u32 stack_copy(__u8 *window, __u64 sp)
{
	__u64 first = PAGE_SZ - (sp & (PAGE_SZ - 1)), len;

	if (!bpf_probe_read_user(window, TB_SAMPLE_WINDOW, (void *)sp))
		return TB_SAMPLE_WINDOW;
#pragma unroll
	for (int k = TB_SAMPLE_WINDOW / PAGE_SZ - 1; k >= 0; k--) {
		len = first + k * PAGE_SZ;
		/* the verifier wants the length's bound on the register it is passed in */
		if (len > TB_SAMPLE_WINDOW)
			len = TB_SAMPLE_WINDOW;
		len &= 2 * TB_SAMPLE_WINDOW - 1;
		if (len >= 8 && !bpf_probe_read_user(window, len, (void *)sp))
			return len;
	}
	return 0;
}

/*
 * --stacks=dwarf: the top of the stack and the registers the CFI unwinder
 * starts from, as a sample record emitted before the call's own record
 * (later in time, so the consumer hands the sample on first); returns the
 * stack_id the call carries, 0 if the ring had no room (counted, not a drop:
 * the call is recorded without its stack). A ring-buffer record of constant
 * size, read into in place: a per-CPU scratch could be overwritten by a
 * program preempting this one.
 */
__noinline int stack_sample_global(struct pt_regs *ctx, struct call *t)
{
	struct task_struct *task = bpf_get_current_task_btf();
	void *ring = cpu_ring();
	struct tb_rec_sample *r;
	__u64 sp;
	__u32 seq;
	bool first;

	if (!ctx || !t)
		return 0;
	r = ring ? bpf_ringbuf_reserve(ring, sizeof(*r), 0) : NULL;
	if (!r) {
		count_stack(TB_STC_NO_SAMPLE);
		return 0;
	}
	/* a thread's first: woken at once, user space reads the mappings while the process runs */
	first = !t->stk_known;
	if (first)
		stack_space(task, t);
	fill_hdr(&r->h, TB_SAMPLE_TYPE, bpf_get_current_pid_tgid());
	sp = PT_REGS_SP(ctx);
	r->start_ns = t->stk_start;
	r->exec_id = t->stk_exec;
	r->regs[TB_SR_IP] = PT_REGS_IP(ctx);
	r->regs[TB_SR_SP] = sp;
	r->regs[TB_SR_BP] = PT_REGS_FP(ctx);
#if defined(__TARGET_ARCH_x86)
	r->regs[TB_SR_BX] = ctx->bx;
	r->regs[TB_SR_R12] = ctx->r12;
	r->regs[TB_SR_R13] = ctx->r13;
	r->regs[TB_SR_R14] = ctx->r14;
	r->regs[TB_SR_R15] = ctx->r15;
#endif
	seq = __sync_fetch_and_add(&sample_next, 1) & TB_SAMPLE_SEQ_MASK;
	r->seq = seq;
	r->len = stack_copy(r->window, sp);
	if (first)
		bpf_ringbuf_submit(r, forced_wakeup(wake_state()));
	else
		submit(r);
	return TB_STACK_SAMPLE | seq;
}

/*
 * The call site alone (--stack-depth 1), at an allocating call's return:
 * where it returns to, which the kernel has put back in the registers before
 * the return probe runs. A stack that costs no read of user memory.
 */
__noinline int stack_site_global(struct call *t, __u64 site)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tb_stack *w;

	if (!t)
		return 0;
	w = &t->walk;
	if (!t->stk_known)
		stack_space(task, t);
	w->ip[0] = site;
	w->tgid = task->tgid;
	w->start_ns = t->stk_start;
	w->exec_id = t->stk_exec;
	w->nr = 1;
	w->flags = TB_STK_TRUNCATED;	/* as the walk marks a stack cut at --stack-depth */
	return stack_recent(t);
}

/* An allocating call's stack is the call site alone: taken at its return, where it is known. */
static __always_inline bool stack_at_return(void)
{
	return stack_depth == 1 && stack_mode != TB_STACKS_DWARF;
}

/*
 * The call site alone at a probe on a function's first instruction: the
 * return address on top of the stack, read into the program's own stack (the
 * kernel's usercopy check of a read into it is the shortest).
 */
static __always_inline __u32 stack_site_read(struct pt_regs *ctx, struct call *t)
{
	__u64 site;

	if (bpf_probe_read_user(&site, sizeof(site), (void *)PT_REGS_SP(ctx))) {
		count_stack(TB_STC_UNREAD);
		return 0;
	}
	return stack_site_global(t, site);
}

/* The call's stack_id, 0 under --no-stacks. */
static __always_inline __u32 stack_capture(struct pt_regs *ctx, struct call *t)
{
	if (!stack_depth)
		return 0;
	if (stack_mode == TB_STACKS_DWARF)
		return stack_sample_global(ctx, t);
	if (stack_depth == 1)
		return stack_site_read(ctx, t);
	return stack_capture_global(ctx, t);
}

/*
 * C++. libstdc++'s operators are probed at entry alone: a return probe on
 * operator new would put the return trampoline's address where an exception
 * (bad_alloc) unwinds, and the unwinder would end the program. operator new
 * calls malloc (aligned_alloc for the aligned forms) at once, operator delete
 * jumps to free, and the nothrow, array and sized forms call or jump to
 * those: the outermost operator's entry notes its name and the program's
 * stack, and the malloc or free made within TB_CXX_REACH bytes below it
 * reports them as its own. A note the call never reached (the aligned forms
 * throw on a bad alignment before any call) goes at the thread's next
 * allocator call above it; one deeper than the reach (a signal handler's)
 * leaves it.
 */
static __always_inline void cxx_enter(struct pt_regs *ctx, struct call *t, __u64 cookie)
{
	__u64 sp = PT_REGS_SP(ctx);

	/* a form calling or jumping to the plain one: the outer call is the program's */
	if (t->op_sp && t->op_type == TB_COOKIE_TYPE(cookie) && t->op_sp - sp <= TB_CXX_REACH)
		return;
	t->op_sp = sp;
	t->op_type = TB_COOKIE_TYPE(cookie);
	t->op_flags = cookie & TB_COOKIE_ENTRY_MASK;
	t->op_stack_id = free_stacks || t->op_type != TB_PROBE_CXX_DELETE ? stack_capture(ctx, t) : 0;
}

/*
 * Whether the allocator call at sp is the one the thread's noted operator
 * made (of kind type), and if so the note is taken: an operator new calls
 * (8 bytes deeper at least), an operator delete may jump (as deep).
 */
static __always_inline bool cxx_take(struct call *t, __u64 sp, __u32 type)
{
	__u64 d = t->op_sp - sp;

	if (d > TB_CXX_REACH && sp < t->op_sp)
		return false;	/* a handler's call, deeper: the note waits */
	t->op_sp = 0;
	return t->op_type == type && d <= TB_CXX_REACH && (type == TB_PROBE_CXX_DELETE || d > 8);
}

static __always_inline void on_free(struct pt_regs *ctx, struct task_struct *task,
				    struct call *cur, __u64 cookie)
{
	__u64 ptr = arg_at(ctx, cookie, 0, PT_REGS_PARM1(ctx));
	bool op = cur->op_sp && cxx_take(cur, PT_REGS_SP(ctx), TB_PROBE_CXX_DELETE);

	if (op)
		cookie = (cookie & ~(__u64)TB_COOKIE_ENTRY_MASK) | cur->op_flags;
	/*
	 * realloc(p, 0) frees inside: the program made one call, so one row.
	 * free(NULL) does nothing and is never reported, so counts agree
	 * wherever free is probed.
	 */
	if (!ptr || call_nested(cur, task, PT_REGS_SP(ctx)))
		return;
	if (sample_every > 1 && bpf_map_delete_elem(&sampled, &ptr))
		return;
	emit_free(ctx, task_pid_tgid(task), ptr, cookie, cur,
		  op ? cur->op_stack_id : free_stacks ? stack_capture(ctx, cur) : 0);
}

#define AT_BASE 7	/* auxv: where the program interpreter, the dynamic loader, is loaded */

static __always_inline __u64 loader_base(struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);	/* read, not walked: see stack_space */

	for (int i = 0; mm && i < 54; i += 2) {
		__u64 key = BPF_CORE_READ(mm, saved_auxv[i]);

		if (key == AT_BASE)
			return BPF_CORE_READ(mm, saved_auxv[i + 1]);
		if (!key)
			break;
	}
	return 0;
}

/*
 * Where this thread's C library and dynamic loader have their code: the
 * library's from where the probe that fired sits, the loader's from auxv.
 * Once per thread; the cookie helper is needed only here.
 */
static __always_inline void ranges_init(struct pt_regs *ctx, struct task_struct *task,
					struct call *t, __u32 type)
{
	__u32 lib = TB_COOKIE_LIB(bpf_get_attach_cookie(ctx));
	struct tb_lib *li = bpf_map_lookup_elem(&libs, &lib);
	__u64 base;

	t->ranges_known = 1;
	if (!li || type > TB_EV_PVALLOC)
		return;
	base = PT_REGS_IP(ctx) - li->probe_off[type & 0xf];
	if (li->text_off_hi && li->probe_off[type & 0xf]) {
		t->libc_lo = base + li->text_off_lo;
		t->libc_hi = base + li->text_off_hi;
	}
	base = li->ldso_hi ? loader_base(task) : 0;
	if (base) {
		t->ldso_lo = base + li->ldso_lo;
		t->ldso_hi = base + li->ldso_hi;
	}
}

/*
 * The call was made by the C library or the dynamic loader, not by the
 * program: it returns into their code. Told at the return, where the return
 * address is in the registers: at the entry it would cost a read of the
 * user stack (most of a call's cost here).
 */
static __always_inline bool from_libc(const struct call *t, __u64 ret)
{
	return ret - t->libc_lo < t->libc_hi - t->libc_lo ||
	       ret - t->ldso_lo < t->ldso_hi - t->ldso_lo;
}

/* An allocating call begins: its arguments wait in the thread's slot for its return. */
static __always_inline void call_begin(struct pt_regs *ctx, struct task_struct *task,
				       struct call *t, __u64 cookie)
{
	struct call_state *cur = &t->s;
	__u64 sp = PT_REGS_SP(ctx);
	__u32 type = TB_COOKIE_TYPE(cookie);
	bool op = t->op_sp && cxx_take(t, sp, TB_PROBE_CXX_NEW);

	if (call_nested(t, task, sp)) {
		cur->depth++;
		return;
	}
	cur->type = type;
	cur->flags = op ? t->op_flags : cookie & TB_COOKIE_ENTRY_MASK;
	cur->old_addr = 0;
	cur->memptr = 0;
	cur->nmemb = 0;
	cur->entry_sp = sp;
	cur->window = sample_window;
	/* an own entry point's probe has no place in probe_off to find the library's base by */
	if (!t->ranges_known && !(cookie & TB_COOKIE_ENTRY_MASK))
		ranges_init(ctx, task, t, type);
	call_args(cur, ctx, cookie);
	cur->skip = sample_every > 1 && !sample_this(t, cur);
	cur->stack_late = !cur->skip && !op && stack_at_return();
	cur->stack_id = cur->skip || cur->stack_late ? 0 : op ? t->op_stack_id : stack_capture(ctx, t);
	cur->depth = 1;
	cur->ts_ns = bpf_ktime_get_ns();
}

/* Every allocator entry: free's, the exit mark's, and without sessions every other one. */
SEC("uprobe")
int BPF_KPROBE(alloc_enter)
{
	struct task_struct *task;
	struct call *cur;
	__u64 cookie;
	__u32 type;

	if (empty_probes)
		return 0;
	task = bpf_get_current_task_btf();
	cur = call_slot(task);
	if (!cur)
		return 0;
	cookie = probe_cookie(ctx);
	type = TB_COOKIE_TYPE(cookie);
	if (type == TB_PROBE_EXITING)
		cur->exiting = 1;
	else if (type == TB_PROBE_CXX_NEW || type == TB_PROBE_CXX_DELETE)
		cxx_enter(ctx, cur, cookie);
	else if (type == TB_EV_FREE)
		on_free(ctx, task, cur, cookie);
	else if (!uprobe_sessions)
		call_begin(ctx, task, cur, cookie);
	return 0;
}

static __always_inline __u64 call_result(struct call_state *c, __u64 ret, __u16 *flags,
					 __u64 *arg)
{
	__u64 addr = ret;

	if (c->type == TB_EV_POSIX_MEMALIGN) {
		addr = 0;
		/* the block is returned through memptr; the return value is an error */
		if ((__s32)ret == 0)
			bpf_probe_read_user(&addr, sizeof(addr), (void *)c->memptr);
		else
			*flags |= TB_RF_FAILED;
		*arg = (__u32)ret;
		return addr;
	}
	/* realloc(p, 0) returns NULL having freed p: not a failure */
	if (!addr && !((c->type == TB_EV_REALLOC || c->type == TB_EV_REALLOCARRAY) &&
		       !c->size && c->old_addr))
		*flags |= TB_RF_FAILED;
	return addr;
}

static __always_inline void remember_sampled(struct tb_rec_alloc *r)
{
	__u8 one = 1;

	r->h.flags |= TB_RF_SAMPLED;
	if (r->addr && bpf_map_update_elem(&sampled, &r->addr, &one, BPF_ANY))
		count_drop(TB_DROP_MAP_FULL);	/* its free will not be recorded: say so */
}

/*
 * An allocating call returns: one record with its arguments, result and time
 * taken. site: where it returns to, its call site.
 */
static __always_inline void call_end(struct task_struct *task, struct call *t, __u64 ret,
				     __u64 site)
{
	struct call_state *c = t ? &t->s : NULL;
	struct tb_rec_alloc *r;
	__u32 stack_id;
	__u64 now;

	if (!c || !c->depth)
		return;
	if (c->depth > 1) {
		c->depth--;
		return;
	}
	c->depth = 0;
	if (c->skip)
		return;
	/* the stack before the slot: a new one is placed in its files, which the reader need not wait for */
	stack_id = c->stack_late ? stack_site_global(t, site) : c->stack_id;
	r = alloc_reserve();
	if (r) {
		fill_hdr(&r->h, c->type, task_pid_tgid(task));
		now = r->h.ts_ns;
		r->h.flags = c->flags;
		if (from_libc(t, site))
			r->h.flags |= TB_RF_LIBC;
		r->h.aux = now - c->ts_ns > 0xffffffffULL ? 0xffffffff : now - c->ts_ns;
		r->size = c->size;
		r->arg = c->nmemb;
		r->addr = call_result(c, ret, &r->h.flags, &r->arg);
		r->old_addr = c->old_addr;
		if (sample_every > 1)
			remember_sampled(r);
		alloc_submit(r, stack_id);
	}
}

/* Without sessions: every allocating function's return, watched or not. */
SEC("uretprobe")
int BPF_KRETPROBE(alloc_exit, __u64 ret)
{
	struct task_struct *task;

	if (empty_probes)
		return 0;
	task = bpf_get_current_task_btf();
	call_end(task, bpf_task_storage_get(&inflight, task, 0, 0), ret, PT_REGS_IP(ctx));
	return 0;
}

extern bool bpf_session_is_return(void) __ksym __weak;

/*
 * With uprobe sessions (Linux 6.13): one program for an allocating function's
 * entry and its return, and the return is set up only when the entry asks
 * (returns 0). A process not watched then pays for the entry probe alone,
 * not for the return trampoline's trap and system call too.
 */
SEC("uprobe")
int BPF_KPROBE(alloc_call)
{
	struct task_struct *task;
	struct call *cur;

	if (empty_probes)
		return 0;	/* the floor: at entry this asks for the return, as a watched call does */
	task = bpf_get_current_task_btf();
	cur = call_slot(task);
	if (!cur)
		return 1;
	/*
	 * A return always finds its call begun: the kfunc call (a few ns) is
	 * needed only then, to tell it from a call made inside that call.
	 */
	if (cur->s.depth && bpf_session_is_return()) {
		call_end(task, cur, PT_REGS_RC(ctx), PT_REGS_IP(ctx));
		return 0;
	}
	call_begin(ctx, task, cur, probe_cookie(ctx));
	return 0;
}

/* A handler is about to run on this thread: what it interrupted waits for its rt_sigreturn. */
static __always_inline void signal_push(struct call *c, __u64 sp)
{
	__u32 n = c->nsaved;

	if (n >= SIG_LEVELS) {
		c->deep++;
		return;
	}
	c->saved[n & (SIG_LEVELS - 1)] = c->s;
	c->sig_sp[n & (SIG_LEVELS - 1)] = sp;
	c->nsaved = n + 1;
	c->s.depth = 0;
}

/* The handler returned: the call it interrupted, if any, goes on. */
static __always_inline void signal_pop(struct call *c)
{
	__u32 n = c->nsaved;

	if (c->deep) {
		c->deep--;
		return;
	}
	if (!n)
		return;
	call_abandon(&c->s);	/* a call the handler left unfinished: a handler of its own jumped */
	c->s = c->saved[(n - 1) & (SIG_LEVELS - 1)];
	c->nsaved = n - 1;
}

/* Fires for every signal delivered on the machine: only threads with a call slot look further. */
SEC("tp_btf/signal_deliver")
int BPF_PROG(signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct call *c = bpf_task_storage_get(&inflight, task, 0, 0);
	struct pt_regs *regs;
	__u64 handler;

	if (!c || !ka)
		return 0;
	/* SIG_DFL (0) and SIG_IGN (1) run no handler; the delivery of a kill has no action */
	handler = (__u64)BPF_CORE_READ(ka, sa.sa_handler);
	if (handler <= 1)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	signal_push(c, regs ? PT_REGS_SP_CORE(regs) : 0);
	return 0;
}

static __always_inline bool is_mem_syscall(long nr)
{
	return nr == NR_MMAP || nr == NR_MUNMAP || nr == NR_MREMAP || nr == NR_MPROTECT ||
	       nr == NR_MADVISE || nr == NR_BRK;
}

/*
 * sys_exit runs for every syscall on the machine, the uretprobe trampoline's
 * included: read the number straight from the BTF-typed registers, no helper.
 */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_arm64)
	return ((struct user_pt_regs *)regs)->syscallno;
#else
	return regs->orig_ax;
#endif
}

/* libbpf 1.1 has no sixth-argument macro: mmap's file offset. */
static __always_inline __u64 syscall_arg6(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ((struct user_pt_regs *)regs, regs[5]);
#else
	return BPF_CORE_READ(regs, r9);
#endif
}

/* Fires for every syscall on the machine: the cheap number test goes first. */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid;
	__u32 tid;
	struct sysargs a = {};
	struct call *c;

	if (id == NR_RT_SIGRETURN) {
		c = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
		if (c)
			signal_pop(c);
		return 0;
	}
	if (!is_mem_syscall(id))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (!is_active(pid_tgid >> 32))
		return 0;
	tid = (__u32)pid_tgid;
	a.nr = id;
	a.args[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
	a.args[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
	a.args[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
	a.args[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);
	a.args[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);
	a.args[5] = syscall_arg6(regs);
	if (id == NR_BRK) {
		struct task_struct *task = bpf_get_current_task_btf();

		a.old_brk = BPF_CORE_READ(task, mm, brk);
		a.start_brk = BPF_CORE_READ(task, mm, start_brk);
	}
	if (bpf_map_update_elem(&sysargs, &tid, &a, BPF_ANY))
		count_drop(TB_DROP_MAP_FULL);
	return 0;
}

static __always_inline void vm_fill(struct tb_rec_vm *r, struct sysargs *a, long ret)
{
	__s32 err = ret < 0 && ret > -4096 ? ret : 0;

	r->err = err;
	r->fd = -1;
	r->prot = 0;
	r->flags = 0;
	r->old_addr = 0;
	r->old_size = 0;
	r->addr = a->args[0];
	r->size = a->args[1];
	switch (a->nr) {
	case NR_MMAP:
		r->h.type = TB_EV_MMAP;
		r->addr = err ? 0 : ret;
		r->prot = a->args[2];
		r->flags = a->args[3];
		r->fd = a->args[4];
		r->old_size = a->args[5];
		break;
	case NR_MUNMAP:
		r->h.type = TB_EV_MUNMAP;
		break;
	case NR_MREMAP:
		r->h.type = TB_EV_MREMAP;
		r->old_addr = a->args[0];
		r->old_size = a->args[1];
		r->size = a->args[2];
		r->flags = a->args[3];
		r->addr = err ? 0 : ret;
		break;
	case NR_MPROTECT:
		r->h.type = TB_EV_MPROTECT;
		r->prot = a->args[2];
		break;
	case NR_MADVISE:
		r->h.type = TB_EV_MADVISE;
		r->flags = a->args[2];
		break;
	default: /* brk: the result is the new break, whether or not it moved */
		r->h.type = TB_EV_BRK;
		r->err = 0;
		r->addr = ret;
		r->old_addr = a->old_brk;
		r->old_size = a->start_brk;
		r->size = 0;
	}
}

#define PROT_EXEC 0x4

/*
 * --stacks=dwarf: code newly mapped wakes the consumer at once, so that user
 * space reads the process's mappings, which unwinding its samples needs, while
 * it still runs.
 */
static __always_inline void submit_vm(struct tb_rec_vm *r)
{
	if (stack_mode == TB_STACKS_DWARF && stack_depth && !r->err && (r->prot & PROT_EXEC) &&
	    (r->h.type == TB_EV_MMAP || r->h.type == TB_EV_MPROTECT))
		bpf_ringbuf_submit(r, forced_wakeup(wake_state()));
	else
		submit(r);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid;
	__u32 tid;
	struct sysargs *a;
	struct tb_rec_vm *r;

	if (!is_mem_syscall(syscall_nr(regs)))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tid = (__u32)pid_tgid;
	a = bpf_map_lookup_elem(&sysargs, &tid);
	if (!a)
		return 0;
	r = reserve(sizeof(*r));
	if (r) {
		fill_hdr(&r->h, 0, pid_tgid);
		vm_fill(r, a, ret);
		submit_vm(r);
	}
	bpf_map_delete_elem(&sysargs, &tid);
	return 0;
}

static __always_inline void task_fill(struct tb_rec_task *r, struct task_struct *task)
{
	r->h.pid = BPF_CORE_READ(task, tgid);
	r->h.tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&r->comm, task, comm);
}

/* A watched process made a thread or a process: children are watched from birth. */
SEC("tp_btf/task_newtask")
int BPF_PROG(task_newtask, struct task_struct *task, __u64 clone_flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 child, state = TB_WATCH_ACTIVE;
	bool thread = clone_flags & CLONE_THREAD;
	struct tb_rec_task *r;
	struct pt_regs *regs;

	if (!is_active(pid_tgid >> 32))
		return 0;
	child = BPF_CORE_READ(task, tgid);
	if (!thread && bpf_map_update_elem(&watched, &child, &state, BPF_ANY))
		count_drop(TB_DROP_MAP_FULL);
	r = reserve(sizeof(*r));
	if (!r)
		return 0;
	fill_hdr(&r->h, thread ? TB_EV_THREAD : TB_EV_FORK, pid_tgid);
	task_fill(r, task);
	r->clone_flags = clone_flags;
	r->origin_pid = pid_tgid >> 32;
	r->origin_tid = (__u32)pid_tgid;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	r->stack = regs ? PT_REGS_SP_CORE(regs) : 0;
	submit(r);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(task_rename, struct task_struct *task, const char *comm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct tb_rec_task *r;

	if (!is_active(tgid))
		return 0;
	r = reserve(sizeof(*r));
	if (!r)
		return 0;
	fill_hdr(&r->h, TB_EV_COMM, 0);
	r->h.pid = tgid;
	r->h.tid = BPF_CORE_READ(task, pid);
	r->clone_flags = 0;
	r->stack = 0;
	r->origin_pid = 0;
	r->origin_tid = 0;
	bpf_probe_read_kernel_str(&r->comm, sizeof(r->comm), comm);
	submit(r);
	return 0;
}

/* -a: a process is watched from its exec when its new name passes the filter. */
static __always_inline __u32 *watch_on_exec(struct task_struct *p, __u32 tgid)
{
	__u32 state = TB_WATCH_ACTIVE;
	char comm[TB_COMM_LEN] = {};

	if (tgid == self_tgid)
		return NULL;
	if (filter_comm) {
		BPF_CORE_READ_STR_INTO(&comm, p, comm);
		if (!bpf_map_lookup_elem(&comms, comm)) {
			/* a watched process that became something else leaves the filter */
			bpf_map_delete_elem(&watched, &tgid);
			return NULL;
		}
	}
	if (bpf_map_update_elem(&watched, &tgid, &state, BPF_ANY))
		count_drop(TB_DROP_MAP_FULL);
	return bpf_map_lookup_elem(&watched, &tgid);
}

/* The new image's argv, from its own stack: the exec is done, p runs in its new memory. */
static __always_inline void exec_args(struct tb_rec_exec *r, struct task_struct *p)
{
	__u64 start = BPF_CORE_READ(p, mm, arg_start), end = BPF_CORE_READ(p, mm, arg_end);
	__u32 len = end > start ? end - start : 0;

	if (len > TB_ARGS_LEN)
		len = TB_ARGS_LEN;
	/* keep clang from merging the bound into the read's size, which the verifier wants proven */
	asm volatile("" : "+r"(len));
	if (len > TB_ARGS_LEN || bpf_probe_read_user(r->args, len, (void *)start))
		len = 0;
	r->args_len = len;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), state = TB_WATCH_ACTIVE, *cur;
	struct tb_rec_exec *r;

	/* the new image may be watched differently (-a --comm): ask the map again */
	bpf_task_storage_delete(&inflight, p);
	cur = watch_all ? watch_on_exec(p, tgid) : bpf_map_lookup_elem(&watched, &tgid);
	if (!cur)
		return 0;
	/* a launched command starts recording here, with its own program's image */
	if (*cur != TB_WATCH_ACTIVE)
		bpf_map_update_elem(&watched, &tgid, &state, BPF_ANY);
	r = reserve(sizeof(*r));
	if (!r)
		return 0;
	fill_hdr(&r->h, TB_EV_EXEC, 0);
	r->h.pid = tgid;
	r->h.tid = BPF_CORE_READ(p, pid);
	r->h.aux = old_pid;
	BPF_CORE_READ_STR_INTO(&r->comm, p, comm);
	bpf_probe_read_kernel_str(&r->filename, sizeof(r->filename), BPF_CORE_READ(bprm, filename));
	exec_args(r, p);
	submit(r);
	return 0;
}

/* Every thread's end; the last one's is also its process's end. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid), tid = BPF_CORE_READ(task, pid);
	__u32 *state = bpf_map_lookup_elem(&watched, &tgid);
	bool group_dead;
	struct tb_rec_task *r;

	if (!state || (*state != TB_WATCH_ACTIVE && *state != TB_WATCH_EXITING))
		return 0;
	/*
	 * Threads dying together (exit_group) each pass here after their own
	 * decrement of live: several can read 0. The first claims the process's
	 * exit row; the others, even later, still write theirs, as the entry stays
	 * (EXITING) until the loader sees the thread group gone.
	 */
	group_dead = BPF_CORE_READ(task, signal, live.counter) == 0 &&
		     __sync_val_compare_and_swap(state, TB_WATCH_ACTIVE, TB_WATCH_EXITING) ==
			     TB_WATCH_ACTIVE;
	bpf_map_delete_elem(&sysargs, &tid);
	if (group_dead && pages_mode != TB_PAGES_OFF)
		bpf_map_delete_elem(&rss_last, &tgid);
	r = reserve(sizeof(*r));
	if (r) {
		fill_hdr(&r->h, group_dead ? TB_EV_EXIT : TB_EV_EXIT_THREAD, 0);
		task_fill(r, task);
		r->h.aux = BPF_CORE_READ(task, exit_code);
		r->clone_flags = 0;
		r->stack = 0;
		r->origin_pid = 0;
		r->origin_tid = 0;
		/* the loader may be waiting on this very record to finish */
		bpf_ringbuf_submit(r, group_dead ? forced_wakeup(wake_state()) : BPF_RB_NO_WAKEUP);
	}
	return 0;
}

/*
 * --pages. Every user page fault on the machine passes page_fault_user, so
 * the watched test comes first; mm_page_alloc passes every page allocation,
 * so it asks only the current task's storage, which no unwatched task has.
 */

#define PC_SLOTS 8	/* page_counts entries, TB_PC_MAX rounded up for the index mask */

/* tgid -> each kind of fault it took, counted whether or not its row was written */
struct page_counts {
	__u64 n[PC_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TB_MAX_WATCHED);
	__type(key, __u32);
	__type(value, struct page_counts);
} page_counts SEC(".maps");

/* A thread's last write fault on a present page, until the kernel copies for it or not. */
struct wp_fault {
	__u64 addr, ip, sp;
	__u64 err;
	__u64 pending;	/* no copy seen for it yet */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct wp_fault);
} wp_faults SEC(".maps");

/* gfp bits (stable since 6.8; earlier kernels had the same values as macros) */
#define GFP_MOVABLE (1u << 3)
#define GFP_HARDWALL (1u << 20)
#define GFP_ZERO (1u << 8)	/* the copy of the zero page: a zeroed page, nothing to copy */

static __always_inline void page_count(__u32 tgid, __u32 which)
{
	struct page_counts *pc = bpf_map_lookup_elem(&page_counts, &tgid), zero = {};

	if (!pc) {
		bpf_map_update_elem(&page_counts, &tgid, &zero, BPF_NOEXIST);
		pc = bpf_map_lookup_elem(&page_counts, &tgid);
		if (!pc) {
			count_drop(TB_DROP_MAP_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&pc->n[which & (PC_SLOTS - 1)], 1);
}

static __always_inline void page_emit(__u16 type, __u64 pid_tgid, __u64 addr, __u64 ip, __u32 err,
				      __u32 order)
{
	struct tb_rec_page *r = reserve(sizeof(*r));

	if (!r)
		return;
	fill_hdr(&r->h, type, pid_tgid);
	r->addr = addr;
	r->ip = ip;
	r->error_code = err;
	r->order = order;
	submit(r);
}

/* A write to a present page: remembered, so that a copy the kernel makes for it is told. */
static __always_inline void wp_remember(__u64 addr, struct pt_regs *regs, __u64 err)
{
	struct wp_fault *f = bpf_task_storage_get(&wp_faults, bpf_get_current_task_btf(), 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!f) {
		count_drop(TB_DROP_MAP_FULL);
		return;
	}
	f->addr = addr;
	f->ip = regs->ip;
	f->sp = regs->sp;
	f->err = err;
	f->pending = 1;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 which;
	__u16 type;

	if (!is_active(pid_tgid >> 32))
		return 0;
	if (!(error_code & TB_PF_PRESENT)) {
		type = TB_EV_TOUCH;
		which = error_code & TB_PF_WRITE ? TB_PC_TOUCH_WRITE : TB_PC_TOUCH_READ;
	} else if (error_code & TB_PF_WRITE) {
		type = TB_EV_WP;
		which = TB_PC_WP;
		wp_remember(address, regs, error_code);
	} else {
		type = TB_EV_PAGE_FAULT;
		which = TB_PC_OTHER;
	}
	page_count(pid_tgid >> 32, which);
	if (pages_mode == TB_PAGES_ON)
		page_emit(type, pid_tgid, address, regs->ip, error_code, 0);
	return 0;
}

/*
 * A page allocated for user memory while the thread is still in the write
 * fault it took last: the kernel is copying the page (from a page shared
 * since a fork, the zero page, or a file's page). Still in that fault means
 * the user registers saved at the kernel's entry are the fault's own: its ip,
 * its stack pointer, and orig_ax -1, which x86's exception entry writes there
 * (a system call leaves its number); a later system call or another fault
 * saved other values there. An interrupt's allocation
 * on the thread's time is not for user memory (no HARDWALL, not MOVABLE).
 */
SEC("tp_btf/mm_page_alloc")
int BPF_PROG(mm_page_alloc, struct page *page, unsigned int order, gfp_t gfp, int migratetype)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct wp_fault *f = bpf_task_storage_get(&wp_faults, task, 0, 0);
	struct pt_regs *regs;

	if (!f || !f->pending)
		return 0;
	if ((gfp & (GFP_MOVABLE | GFP_HARDWALL)) != (GFP_MOVABLE | GFP_HARDWALL))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs || BPF_CORE_READ(regs, ip) != f->ip || BPF_CORE_READ(regs, sp) != f->sp ||
	    BPF_CORE_READ(regs, orig_ax) != (unsigned long)-1)
		return 0;
	f->pending = 0;
	page_count(task->tgid, TB_PC_COW);
	if (gfp & GFP_ZERO)
		page_count(task->tgid, TB_PC_ZERO_COPY);
	page_emit(gfp & GFP_ZERO ? TB_EV_ZERO_COPY : TB_EV_COW, task_pid_tgid(task), f->addr, f->ip,
		  f->err, order);
	return 0;
}

/* The counter as the kernel's own rss_stat event reads it: its shared part, not per-CPU parts. */
static __always_inline __s64 rss_read(struct mm_struct *mm, int member)
{
	switch (member) {
	case 0: return BPF_CORE_READ(mm, rss_stat[0].count);
	case 1: return BPF_CORE_READ(mm, rss_stat[1].count);
	case 2: return BPF_CORE_READ(mm, rss_stat[2].count);
	default: return BPF_CORE_READ(mm, rss_stat[3].count);
	}
}

/*
 * A watched process's resident pages of one kind changed (every fault's page
 * does it): a row once the count moved TB_RSS_STEP pages from the last row's.
 * Only the process's own changes: its memory's teardown at exit runs with no
 * mm of its own, and another process's reclaim of its pages is not its doing.
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = task->tgid;
	struct rss_rows *last, none = { { -TB_RSS_STEP, -TB_RSS_STEP, -TB_RSS_STEP, -TB_RSS_STEP } };
	__s64 pages, d;
	__u32 k;

	if (task->mm != mm || member < 0 || member >= TB_RSS_KINDS || !is_active(tgid))
		return 0;
	last = bpf_map_lookup_elem(&rss_last, &tgid);
	if (!last) {
		bpf_map_update_elem(&rss_last, &tgid, &none, BPF_NOEXIST);
		last = bpf_map_lookup_elem(&rss_last, &tgid);
		if (!last) {
			count_drop(TB_DROP_MAP_FULL);
			return 0;
		}
		/*
		 * Its first change: every kind's count, once. A forked child's
		 * came with the fork, counted in the parent's time, and may not
		 * change for a long while (copies after fork leave them as they are).
		 */
		for (int i = 0; i < TB_RSS_KINDS; i++) {
			pages = rss_read(mm, i);
			last->pages[i] = pages > 0 ? pages : 0;
			page_emit(TB_EV_RSS, task_pid_tgid(task), last->pages[i], 0, i, 0);
		}
		return 0;
	}
	pages = rss_read(mm, member);
	if (pages < 0)
		pages = 0;
	/* the range test above let clang drop the mask, which the verifier wants to see */
	k = member;
	asm volatile("" : "+r"(k));
	k &= TB_RSS_KINDS - 1;
	d = pages - last->pages[k];
	if (d < TB_RSS_STEP && d > -TB_RSS_STEP)
		return 0;
	last->pages[k] = pages;
	page_emit(TB_EV_RSS, task_pid_tgid(task), pages, 0, member, 0);
	return 0;
}
