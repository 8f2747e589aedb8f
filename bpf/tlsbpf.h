/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tlsbpf.h: the ring-buffer records, the one file both the BPF and the user side include. */
#ifndef TLSBPF_H
#define TLSBPF_H

#define TB_COMM_LEN 16
#define TB_PATH_LEN 256
#define TB_ARGS_LEN 256	/* exec: bytes of the new image's argument strings kept */
#define TB_MAX_WATCHED 65536	/* processes watched at once */
#define TB_MAX_INFLIGHT 65536	/* threads inside a probed call at once */
#define TB_MAX_SAMPLED (1 << 20)	/* --sample: recorded blocks live at once */

/*
 * Event types. The numbering is internal (never written out: the CSV carries
 * names), but TB_EV_MALLOC..TB_EV_PVALLOC must stay contiguous: the BPF side
 * receives the allocator function as a uprobe cookie in that range.
 */
enum tb_event_type {
	TB_EV_NONE = 0,
	TB_EV_MALLOC,
	TB_EV_CALLOC,
	TB_EV_REALLOC,
	TB_EV_REALLOCARRAY,
	TB_EV_FREE,
	TB_EV_POSIX_MEMALIGN,
	TB_EV_ALIGNED_ALLOC,
	TB_EV_MEMALIGN,
	TB_EV_VALLOC,
	TB_EV_PVALLOC,
	TB_EV_MMAP,
	TB_EV_MUNMAP,
	TB_EV_MREMAP,
	TB_EV_MPROTECT,
	TB_EV_MADVISE,
	TB_EV_BRK,
	TB_EV_FORK,
	TB_EV_THREAD,
	TB_EV_EXEC,
	TB_EV_EXIT_THREAD,
	TB_EV_EXIT,
	TB_EV_LOST,	/* made by the loader from the drop counters */
	TB_EV_SAMPLE_OFF,	/* --sample-by time: the loader took the allocator probes off */
	TB_EV_SAMPLE_ON,	/* and put them back */
	TB_EV_COMM,	/* a thread renamed itself; updates names, never a CSV row */
	TB_EV_MAX,
};

/* tb_hdr.flags */
#define TB_RF_FAILED	0x1	/* the allocation returned NULL or an error */
#define TB_RF_OVERFLOW	0x2	/* calloc/reallocarray: nmemb * size overflowed */
#define TB_RF_VFORK	0x4	/* fork: the child shares the parent's memory until exec */
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
	__u32 pad;
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

/* Values of the watched map. */
#define TB_WATCH_PENDING 1	/* launched, waiting for its exec: record nothing yet */
#define TB_WATCH_ACTIVE 2
#define TB_WATCH_EXITING 3	/* its exit row written; closed by the loader once the group is gone */

#endif /* TLSBPF_H */
