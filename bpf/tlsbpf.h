/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tlsbpf.h: the ring-buffer records, the one file both the BPF and the user side include. */
#ifndef TLSBPF_H
#define TLSBPF_H

/* the programs' license, which a program loaded outside libbpf states too (parload.c) */
#define TB_LICENSE "Dual BSD/GPL"
#define TB_COMM_LEN 16
#define TB_PATH_LEN 256
#define TB_ARGS_LEN 256	/* exec: bytes of the new image's argument strings kept */
#define TB_MAX_WATCHED 65536	/* processes watched at once */
#define TB_MAX_INFLIGHT 65536	/* threads inside a watched memory syscall at once (sysargs) */
#define TB_MAX_SAMPLED (1 << 20)	/* --sample: recorded blocks live at once */

/*
 * Every event kind, once: X(KIND, name, record, row, cols) makes TB_EV_KIND.
 * name: the word in the CSV event column and in --events; record: the
 * ring-buffer record it comes in (NONE: the loader makes it, it never comes
 * from the kernel); row: whether it is a CSV row; cols: the columns whose
 * meaning depends on the kind that it fills (user/out/csv.h's TB_COL_*, expanded
 * only on the user side). docs/csv.md carries the same tables for people, and
 * tests/unit/test_schema.c holds the two in step.
 *
 * The numbering is internal (never written out: the CSV carries names), but
 * TB_EV_MALLOC..TB_EV_PVALLOC must stay contiguous: the BPF side receives the
 * allocator function as a uprobe cookie in that range.
 */
#define TB_EVENTS(X) \
	X(MALLOC, malloc, ALLOC, 1, TB_COLS_ALLOC) \
	X(CALLOC, calloc, ALLOC, 1, TB_COLS_ALLOC | TB_COL_OLD_SIZE) \
	X(REALLOC, realloc, ALLOC, 1, TB_COLS_REALLOC) \
	X(REALLOCARRAY, reallocarray, ALLOC, 1, TB_COLS_REALLOC | TB_COL_OLD_SIZE) \
	X(FREE, free, ALLOC, 1, TB_COL_ADDR) \
	X(POSIX_MEMALIGN, posix_memalign, ALLOC, 1, TB_COLS_ALIGNED) \
	X(ALIGNED_ALLOC, aligned_alloc, ALLOC, 1, TB_COLS_ALIGNED) \
	X(MEMALIGN, memalign, ALLOC, 1, TB_COLS_ALIGNED) \
	X(VALLOC, valloc, ALLOC, 1, TB_COLS_ALLOC) \
	X(PVALLOC, pvalloc, ALLOC, 1, TB_COLS_ALLOC) \
	/* mmap: old_size (the offset) only for a file, the writer's one exception */ \
	X(MMAP, mmap, VM, 1, TB_COL_SIZE | TB_COL_ADDR | TB_COL_PROT | TB_COL_SYSFLAGS | TB_COL_FD | \
	  TB_COL_OLD_SIZE) \
	X(MUNMAP, munmap, VM, 1, TB_COL_SIZE | TB_COL_ADDR) \
	X(MREMAP, mremap, VM, 1, TB_COL_SIZE | TB_COL_ADDR | TB_COL_OLD_ADDR | TB_COL_SYSFLAGS | \
	  TB_COL_OLD_SIZE) \
	X(MPROTECT, mprotect, VM, 1, TB_COL_SIZE | TB_COL_ADDR | TB_COL_PROT) \
	X(MADVISE, madvise, VM, 1, TB_COL_SIZE | TB_COL_ADDR | TB_COL_SYSFLAGS) \
	X(BRK, brk, VM, 1, TB_COL_SIZE | TB_COL_ADDR | TB_COL_OLD_ADDR) \
	X(FORK, fork, TASK, 1, TB_COL_SYSFLAGS) \
	X(THREAD, thread, TASK, 1, TB_COL_ADDR | TB_COL_SYSFLAGS) \
	X(EXEC, exec, EXEC, 1, 0) \
	X(EXIT_THREAD, exit_thread, TASK, 1, 0) \
	X(EXIT, exit, TASK, 1, TB_COL_SIZE) \
	/* made by the loader from the drop counters */ \
	X(LOST, lost, NONE, 1, TB_COL_SIZE) \
	/* --sample-by time: the loader took the allocator probes off, and put them back */ \
	X(SAMPLE_OFF, sample_off, NONE, 1, TB_COL_SIZE) \
	X(SAMPLE_ON, sample_on, NONE, 1, 0) \
	/* a thread renamed itself; updates names, never a CSV row */ \
	X(COMM, comm, TASK, 0, 0) \
	/* --pages: a user page fault, by what the kernel was asked (docs/csv.md, "Pages") */ \
	X(TOUCH, touch, PAGE, 1, TB_COLS_PAGE) \
	X(WP, wp, PAGE, 1, TB_COLS_PAGE) \
	X(COW, cow, PAGE, 1, TB_COLS_PAGE) \
	X(ZERO_COPY, zero_copy, PAGE, 1, TB_COLS_PAGE) \
	X(PAGE_FAULT, page_fault, PAGE, 1, TB_COLS_PAGE) \
	/* --pages: a process's resident pages of one kind moved by TB_RSS_STEP or more */ \
	X(RSS, rss, PAGE, 1, TB_COL_SIZE | TB_COL_SYSFLAGS)

enum tb_event_type {
	TB_EV_NONE = 0,
#define TB_X_ENUM(kind, name, record, row, cols) TB_EV_##kind,
	TB_EVENTS(TB_X_ENUM)
#undef TB_X_ENUM
	TB_EV_MAX,
};

/* The ring-buffer record an event kind comes in: the record argument of TB_EVENTS. */
enum tb_rec_kind {
	TB_REC_NONE = 0,
	TB_REC_ALLOC,	/* struct tb_rec_alloc, through the allocation ring's slots */
	TB_REC_VM,	/* struct tb_rec_vm */
	TB_REC_TASK,	/* struct tb_rec_task */
	TB_REC_EXEC,	/* struct tb_rec_exec */
	TB_REC_PAGE,	/* struct tb_rec_page */
};

/* Bit masks of the kinds in a class, one bit per kind: a class test is a shift, not a table. */
#define TB_X_BIT_IF(kind, cond) | ((cond) ? 1u << TB_EV_##kind : 0u)
#define TB_X_ALLOC(kind, name, rec, row, cols) TB_X_BIT_IF(kind, TB_REC_##rec == TB_REC_ALLOC)
#define TB_X_VM(kind, name, rec, row, cols) TB_X_BIT_IF(kind, TB_REC_##rec == TB_REC_VM)
#define TB_X_TASK(kind, name, rec, row, cols) TB_X_BIT_IF(kind, TB_REC_##rec == TB_REC_TASK)
#define TB_X_PAGE(kind, name, rec, row, cols) TB_X_BIT_IF(kind, TB_REC_##rec == TB_REC_PAGE)
#define TB_X_ROW(kind, name, rec, row, cols) TB_X_BIT_IF(kind, row)
#define TB_EV_ALLOC_MASK (0u TB_EVENTS(TB_X_ALLOC))
#define TB_EV_VM_MASK (0u TB_EVENTS(TB_X_VM))
#define TB_EV_TASK_MASK (0u TB_EVENTS(TB_X_TASK))
#define TB_EV_PAGE_MASK (0u TB_EVENTS(TB_X_PAGE))
#define TB_EV_ROW_MASK (0u TB_EVENTS(TB_X_ROW))

_Static_assert(TB_EV_MAX <= 32, "a class mask has a bit per event kind");
_Static_assert(TB_EV_ALLOC_MASK == (1u << (TB_EV_PVALLOC + 1)) - (1u << TB_EV_MALLOC),
	       "malloc .. pvalloc are contiguous and are all the allocation ring's kinds");

static inline int tb_ev_in(unsigned mask, unsigned type)
{
	return type < TB_EV_MAX && ((mask >> type) & 1);
}

/* The malloc family and free: what the allocation ring carries. */
static inline int tb_ev_is_alloc(unsigned type)
{
	return tb_ev_in(TB_EV_ALLOC_MASK, type);
}

/* An allocation that hands out a block: the malloc family but free. */
static inline int tb_ev_allocates(unsigned type)
{
	return tb_ev_is_alloc(type) && type != TB_EV_FREE;
}

/* mmap, munmap, mremap, mprotect, madvise, brk */
static inline int tb_ev_is_vm(unsigned type)
{
	return tb_ev_in(TB_EV_VM_MASK, type);
}

/* Kinds carried by struct tb_rec_task: fork, thread, exit_thread, exit, comm. */
static inline int tb_ev_is_task(unsigned type)
{
	return tb_ev_in(TB_EV_TASK_MASK, type);
}

/* touch, wp, cow, page_fault: --pages */
static inline int tb_ev_is_page(unsigned type)
{
	return tb_ev_in(TB_EV_PAGE_MASK, type);
}

/* Kinds written as CSV rows, and read back from them. */
static inline int tb_ev_is_row(unsigned type)
{
	return tb_ev_in(TB_EV_ROW_MASK, type);
}

/*
 * Why records were lost, once: X(CAUSE, phrase) makes TB_DROP_CAUSE, the
 * drops map's index, and the words tlsbpf -v counts it with.
 */
#define TB_DROP_CAUSES(X) \
	X(RING_FULL, "with a ring full") \
	/* inflight, watched, sysargs */ \
	X(MAP_FULL, "with a map full") \
	/* a signal handler jumped out of an allocating call, or handlers nested too deep */ \
	X(NO_RETURN, "calls whose return never came")

enum tb_drop_cause {
#define TB_X_DROP(cause, phrase) TB_DROP_##cause,
	TB_DROP_CAUSES(TB_X_DROP)
#undef TB_X_DROP
	TB_DROP_MAX,
};

/*
 * tb_hdr.flags. Not the CSV's TB_F_* bits, which the decoder translates to:
 * these have the low 8 bits (the entry index takes 8-15), and TB_F_'s bit
 * order is the order the flags column names them in, fixed by the schema.
 */
#define TB_RF_FAILED	0x1	/* the allocation returned NULL or an error */
#define TB_RF_OVERFLOW	0x2	/* calloc/reallocarray: nmemb * size overflowed */
#define TB_RF_INTERNAL	0x8	/* free called from inside the allocator's own library */
#define TB_RF_SAMPLED	0x10	/* recorded under --sample: one call in N */
#define TB_RF_LIBC	0x20	/* allocation made by the C library or the dynamic loader */
#define TB_RF_ENTRY_SHIFT 8	/* bits 8-15: the allocator's own entry point called (tb_entries) */

#define TB_MAX_LIBS 32		/* allocator libraries probed at once */

/*
 * Uprobe cookies: the event type in the low 8 bits, the allocator's own entry
 * point (mallocx, tc_free_sized...: an index into the user side's tb_entries,
 * 0 for the standard function) in the next 8, copied as they are into the
 * record's flags; the library's index in the libs map above them, and from
 * bit 32 where each argument is read: a probe placed past the entry may find
 * an argument moved to another register.
 */
#define TB_COOKIE(type, lib) ((__u64)(type) | ((__u64)(lib) << 16))
#define TB_COOKIE_TYPE(cookie) ((cookie) & 0xff)
#define TB_COOKIE_ENTRY_MASK 0xff00
#define TB_MAX_ENTRIES 256	/* entry indexes the 8 bits hold, 0 included */
#define TB_COOKIE_LIB(cookie) (((cookie) >> 16) & 0xffff)
#define TB_COOKIE_ARG(cookie, i) (((cookie) >> (32 + 4 * (i))) & 0xf)
#define TB_ARG_AT(i, reg) ((__u64)(reg) << (32 + 4 * (i)))
#define TB_PROBE_ARGS 3		/* arguments a probe reads: rdi, rsi, rdx at the entry */

/* Where an argument is at the probe: TB_REG_OWN is its own register (rdi, rsi, rdx). */
enum tb_reg {
	TB_REG_OWN = 0,
	TB_REG_AX,
	TB_REG_BX,
	TB_REG_CX,
	TB_REG_DX,
	TB_REG_SI,
	TB_REG_DI,
	TB_REG_BP,
	TB_REG_R8,
	TB_REG_R9,
	TB_REG_R10,
	TB_REG_R11,
	TB_REG_R12,
	TB_REG_R13,
	TB_REG_R14,
	TB_REG_R15,
};
#define TB_PROBE_EXITING 0xff	/* cookie type of the exit-mark probe: no record of its own */
/*
 * Cookie types of a C++ operator's probe (libstdc++'s operator new and delete,
 * at entry only): no record of its own. It leaves its entry index and stack
 * for the malloc, aligned_alloc or free it calls, which reports them.
 */
#define TB_PROBE_CXX_NEW 0xfe	/* operator new, new[], their nothrow and aligned forms */
#define TB_PROBE_CXX_DELETE 0xfd	/* operator delete, delete[], sized, nothrow, aligned */
#define TB_CXX_REACH 64	/* bytes of stack between an operator's entry and the call it makes */
#define TB_LIB_UNKNOWN 0xffff	/* cookie library of a probe told apart by its page offset */
#define TB_NO_PAGE_OFF 0xffffffffu	/* no page offset tells this probe apart */

/* Per probed library: enough to tell whether a caller is the library itself. */
struct tb_lib {
	__u64 free_vaddr;	/* free's address in the ELF file's own numbering */
	__u64 text_lo;		/* the executable segment, same numbering */
	__u64 text_hi;
	__u64 sp_adjust;	/* where the return address is, from the probe's stack pointer */
	__u64 exit_gated;	/* the check runs only once the thread has reached the exit mark */
	__u64 text_off_lo;	/* the executable segment in file offsets; 0, 0: not the C library */
	__u64 text_off_hi;
	__u64 ldso_lo;		/* the dynamic loader's text, from where it is loaded; 0, 0: none */
	__u64 ldso_hi;
	__u64 probe_off[TB_EV_PVALLOC + 1];	/* each allocating function's probe, by event type */
};

/* Per CPU: how its rings' consumer has been woken (the wake map). */
struct tb_wake {
	__u64 forced;		/* wakeups forced */
	__u64 raced;		/* allocation-ring slots another program on this CPU took first */
	__u32 submitted;	/* records submitted, both rings */
	__u8 woke;		/* the ring buffer's fill is over the mark, and the consumer was woken */
	__u8 slots_woke;	/* the same for the allocation ring */
	__u16 pad;
};

/*
 * Per CPU: calls of processes not watched that trapped (bystander_calls), and
 * the process and epoch of the last, which say when the bystanders table needs
 * a write. An epoch is 2^TB_EPOCH_SHIFT ns of bpf_ktime_get_ns (1.07 s).
 */
#define TB_EPOCH_SHIFT 30
#define TB_MAX_BYSTANDERS 8192	/* processes the bystanders table holds, least recent dropped */

struct tb_bystander {
	__u64 calls;
	__u32 last_tgid;
	__u32 last_epoch;
};

/* Every record starts with this, so one ring buffer carries all kinds. */
struct tb_hdr {
	__u16 type;
	__u16 flags;
	__u32 pid;	/* tgid */
	__u32 tid;
	__u32 aux;	/* alloc: latency in ns (saturates); exit: raw exit code; exec: old tid */
	__u64 ts_ns;	/* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
};

/* malloc family and free */
struct tb_rec_alloc {
	struct tb_hdr h;
	__u64 size;	/* bytes asked for (calloc/reallocarray: nmemb * size, or with
			   TB_RF_OVERFLOW the element size, the product not fitting) */
	__u64 addr;	/* block returned or freed */
	__u64 old_addr;	/* realloc: input block; memalign family: the alignment */
	__u64 arg;	/* calloc/reallocarray: nmemb; posix_memalign: the value it returned */
};

/* mmap, munmap, mremap, mprotect, madvise, brk */
struct tb_rec_vm {
	struct tb_hdr h;
	__u64 size;	/* length (mremap: new length) */
	__u64 addr;	/* mapping start (mmap/mremap: the result; brk: the new break) */
	__u64 old_addr;	/* mremap: old address; brk: the break before the call */
	__u64 old_size;	/* mremap: old length; mmap: file offset */
	__u32 prot;
	__u32 flags;	/* mmap/mremap flags, madvise advice */
	__s32 fd;
	__s32 err;	/* 0, or the negative errno the call returned */
};

/*
 * The allocation ring: each CPU's malloc-family and free records, in fixed
 * slots of an array both sides map, so a record costs one compare-and-swap
 * instead of a ring buffer's lock. A slot's len is 0 until its record is
 * whole; the reader sets it back to 0 before it hands the slot on.
 */
#define TB_SLOT_SIZE 64

struct tb_slot {
	__u32 len;	/* sizeof(rec) once written, else 0 */
	__u32 stack_id;	/* the call's stack, an index of the stacks map; 0: none */
	struct tb_rec_alloc rec;
};

_Static_assert(sizeof(struct tb_slot) == TB_SLOT_SIZE, "one allocator record fills one slot");

/*
 * Byte positions in a CPU's slots, as a ring buffer counts them. The reader's
 * position sits on a cache line of its own; the probes keep a copy of it
 * beside theirs that lags behind, so that a probe reads the reader's line only
 * when the copy says the ring may be full.
 */
struct tb_slot_pos {
	__u64 prod;	/* advanced by the probes */
	__u64 cons_seen;	/* cons as a probe last read it: never ahead of cons */
	__u64 pad1[6];
	__u64 cons;	/* advanced by the reader */
	__u64 pad2[7];
};

/* fork, thread, exit_thread, exit, comm */
struct tb_rec_task {
	struct tb_hdr h;
	__u64 clone_flags;
	__u64 stack;		/* thread: the new thread's user stack pointer */
	__u32 origin_pid;	/* the parent process / creating thread's process */
	__u32 origin_tid;	/* the thread that called fork/clone */
	char comm[TB_COMM_LEN];
};

/* exec */
struct tb_rec_exec {
	struct tb_hdr h;
	__u32 args_len;		/* bytes of args read: argv's strings, each ended by a NUL */
	__u32 pad;
	char comm[TB_COMM_LEN];
	char filename[TB_PATH_LEN];
	char args[TB_ARGS_LEN];
};

/*
 * --pages: a user page fault of a watched thread (touch, wp, page_fault), or
 * the page the kernel allocated to copy in the middle of a wp fault (cow).
 */
struct tb_rec_page {
	struct tb_hdr h;
	__u64 addr;	/* the faulting address; rss: the pages the process has of that kind */
	__u64 ip;	/* the user instruction that faulted */
	__u32 error_code;	/* the x86 page-fault error code (TB_PF_*); rss: the kind */
	__u32 order;	/* cow: log2 of the pages allocated for the copy */
};

/* rss rows: a kind's count is written again once it moved this many pages from its last row */
#define TB_RSS_STEP 64
#define TB_RSS_KINDS 4	/* the kernel's mm counters: file, anon, swap entries, shmem */

/* x86 page-fault error code bits */
#define TB_PF_PRESENT	0x1
#define TB_PF_WRITE	0x2
#define TB_PF_USER	0x4
#define TB_PF_INSTR	0x10

/* --pages: what the probes record */
enum tb_pages_mode {
	TB_PAGES_OFF = 0,
	TB_PAGES_ON,	/* every user page fault a row, and every copy */
	TB_PAGES_COW,	/* only the copies are rows; every fault is still counted (page_counts) */
};

/* Per watched process, the page_counts map: every fault counted, row or not, lost or not. */
enum tb_page_count {
	TB_PC_TOUCH_READ = 0,	/* not present, read */
	TB_PC_TOUCH_WRITE,	/* not present, write */
	TB_PC_WP,		/* present, write */
	TB_PC_COW,		/* a page allocated to copy in a wp fault, zeroed ones too */
	TB_PC_OTHER,		/* present, not a write: protection or instruction fetch */
	TB_PC_ZERO_COPY,	/* of TB_PC_COW, those that replaced the zero page */
	TB_PC_MAX,
};

/* Each record's bytes, by TB_EVENTS's record argument: what the reader checks lengths against. */
#define TB_REC_SIZE_NONE 0
#define TB_REC_SIZE_ALLOC sizeof(struct tb_rec_alloc)
#define TB_REC_SIZE_VM sizeof(struct tb_rec_vm)
#define TB_REC_SIZE_TASK sizeof(struct tb_rec_task)
#define TB_REC_SIZE_EXEC sizeof(struct tb_rec_exec)
#define TB_REC_SIZE_PAGE sizeof(struct tb_rec_page)

/* Both sides compile these: a layout clang -target bpf and the host disagree on fails here. */
_Static_assert(sizeof(struct tb_hdr) == 24, "tb_hdr layout");
_Static_assert(sizeof(struct tb_rec_alloc) == 56, "tb_rec_alloc layout");
_Static_assert(sizeof(struct tb_rec_vm) == 72, "tb_rec_vm layout");
_Static_assert(sizeof(struct tb_rec_task) == 64, "tb_rec_task layout");
_Static_assert(sizeof(struct tb_rec_exec) == 32 + TB_COMM_LEN + TB_PATH_LEN + TB_ARGS_LEN,
	       "tb_rec_exec layout");
_Static_assert(sizeof(struct tb_rec_page) == 48, "tb_rec_page layout");
_Static_assert(sizeof(struct tb_slot_pos) == 128, "prod and cons on cache lines of their own");
_Static_assert(sizeof(struct tb_wake) == 24, "tb_wake layout");
_Static_assert(sizeof(struct tb_bystander) == 16, "tb_bystander layout");
_Static_assert(sizeof(struct tb_lib) == (9 + TB_EV_PVALLOC + 1) * 8, "tb_lib layout");

/*
 * Call stacks, each kept once in the stacks map (an array both sides map) at
 * the index the records carry as their stack_id. A stack is the return
 * addresses of one address space, innermost first: the call site (the return
 * address on top of the stack when the probe fires, exact with or without
 * frame pointers), then a walk of the frame-pointer chain. The process's start
 * time and exec count say which address space, so a pid used again or an exec
 * never shares another's stacks; user space maps them to files and offsets.
 */
#define TB_MAX_STACK 64		/* frames a stack keeps: --stack-depth's limit */
/*
 * --stack-depth's default: the call site alone, which fits in 1.45x the bare
 * probes' cost with --csv (docs/performance.md); whole stacks, for the outputs
 * made of them and for --stacks=dwarf, TB_WHOLE_STACK frames.
 */
#define TB_DEF_STACK 1
#define TB_WHOLE_STACK 8
#define TB_MAX_STACKS (1 << 14)	/* distinct stacks kept, index 0 (none) included */

/* Counted per CPU in the stack_counts map: the record is kept either way, so these are no drops. */
enum tb_stack_count {
	TB_STC_FULL = 0,	/* a new stack found the table full: its record has no stack_id */
	TB_STC_UNREAD,		/* the stack pointer could not be read: no stack_id */
	TB_STC_COLLIDED,	/* a hash shared with another stack, found and kept apart */
	TB_STC_UNPLACED,	/* frames not placed in their files (left to user space) */
	TB_STC_KEPT,		/* distinct stacks kept */
	TB_STC_TRUNCATED,	/* ... of which the walk stopped before the outermost frame */
	TB_STC_NO_SAMPLE,	/* --stacks=dwarf: the stack's sample found its ring full: no stack_id */
	TB_STC_MAX,
};

#define TB_STK_TRUNCATED 0x1	/* the walk stopped at a frame it could not trust, or at the depth */
#define TB_STK_GAP 0x2		/* it stopped at uprobes' return trampoline, which took a frame's place */
#define TB_STK_COLLIDED 0x4	/* its hash was another stack's: kept, never handed that stack's id */

/*
 * Where a frame's code is, found when its stack is first kept, so that it
 * holds when the process has ended or unmapped the file by the time user
 * space reads it: the file's index in the files map in the top 16 bits, the
 * offset in the file below them.
 */
#define TB_PLACE(file, off) ((__u64)(file) << 48 | ((off) & TB_PLACE_OFF_MASK))
#define TB_PLACE_OFF_MASK ((1ULL << 48) - 1)
#define TB_PLACE_FILE(place) ((__u32)((place) >> 48))
#define TB_FILE_NONE 0		/* code in no file (JIT, anonymous memory): the offset is 0 */
#define TB_FILE_UNPLACED 0xffff	/* not placed (the mappings were busy, or the files map full) */
#define TB_MAX_FILES 1024	/* files placed, index 0 (none) included */

struct tb_stack {
	__u64 start_ns;	/* the process's start (its leader's start_time): which pid this was */
	__u64 exec_id;	/* execs the thread had made: which image */
	__u64 hash;	/* of everything above and the frames; 0 while the entry is being written */
	__u32 tgid;
	__u16 nr;	/* frames in ip */
	__u16 flags;	/* TB_STK_* */
	__u64 ip[TB_MAX_STACK];
	__u64 place[TB_MAX_STACK];	/* TB_PLACE(file, offset) of each */
};

_Static_assert(sizeof(struct tb_stack) == 32 + 16 * TB_MAX_STACK, "tb_stack layout");

/*
 * A file some frame's code came from, by its device and inode, with its path
 * as the process saw it, kept as components from the file's own name up
 * (each cut at TB_COMP_LEN - 1 bytes; an empty one where the walk crossed
 * from a mount's root to where it is mounted), read from the kernel's dentries.
 */
#define TB_PATH_COMPS 24
#define TB_COMP_LEN 64
#define TB_FILE_CUT 0x1		/* more components than were kept: the path is cut at the top */

struct tb_file {
	__u64 ino;
	__u32 dev;
	__u16 ncomp;
	__u16 flags;	/* TB_FILE_* */
	__u64 ready;	/* set last: the entry is whole */
	char comp[TB_PATH_COMPS][TB_COMP_LEN];
};

_Static_assert(sizeof(struct tb_file) == 24 + TB_PATH_COMPS * TB_COMP_LEN, "tb_file layout");

/*
 * --stacks=dwarf: at each recorded call's entry the probes copy the top of
 * the user stack and the registers the CFI unwinder starts from into a
 * sample record, emitted on the thread just before its call's record; user
 * space unwinds it with the mapped files' .eh_frame / .debug_frame. The
 * call's stack_id then carries TB_STACK_SAMPLE and the sample's sequence
 * number instead of a stacks map index.
 */
enum tb_stacks_mode {
	TB_STACKS_FP = 0,	/* the call site, then the frame-pointer chain, in the probes */
	TB_STACKS_DWARF,	/* a window of the stack, unwound in user space */
};

#define TB_SAMPLE_TYPE 0x100	/* tb_hdr.type of a sample: above every event kind */
#define TB_SAMPLE_WINDOW 8192	/* bytes of stack copied (docs/performance.md, "Call stacks") */
#define TB_STACK_SAMPLE 0x80000000u	/* stack_id: the rest is a sample's seq, not an index */
#define TB_SAMPLE_SEQ_MASK 0x7fffffffu

/* Registers a sample keeps, x86-64: what the CFI of compiled code restores a caller's frame from. */
enum tb_sample_reg {
	TB_SR_IP = 0,
	TB_SR_SP,
	TB_SR_BP,
	TB_SR_BX,
	TB_SR_R12,
	TB_SR_R13,
	TB_SR_R14,
	TB_SR_R15,
	TB_SR_MAX,
};

struct tb_rec_sample {
	struct tb_hdr h;
	__u64 start_ns;	/* the process's start and exec count: which image (as tb_stack) */
	__u64 exec_id;
	__u64 regs[TB_SR_MAX];
	__u32 seq;	/* the call's stack_id without TB_STACK_SAMPLE */
	__u32 len;	/* bytes of stack valid in window, from regs[TB_SR_SP] up */
	__u8 window[TB_SAMPLE_WINDOW];
};

_Static_assert(sizeof(struct tb_rec_sample) == 40 + 8 * TB_SR_MAX + 8 + TB_SAMPLE_WINDOW,
	       "tb_rec_sample layout");

/* Values of the watched map. */
#define TB_WATCH_PENDING 1	/* launched, waiting for its exec: record nothing yet */
#define TB_WATCH_ACTIVE 2
#define TB_WATCH_EXITING 3	/* its exit row written; closed by the loader once the group is gone */

#endif /* TLSBPF_H */
