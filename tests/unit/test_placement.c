// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_placement.c: where probes go, on real glibc prologues and on crafted traps. */
#include <string.h>
#include "check.h"
#include "placement.h"

/* Where a probe reading all three argument registers goes in these bytes. */
#define PLACE(...)                                                                        \
	({                                                                                \
		static const uint8_t code_[] = { __VA_ARGS__ };                           \
		struct placement p_;                                                      \
		placement__choose(code_, sizeof(code_), 0x1000, 3, &p_);                  \
	})

/* Which probes the entry program can tell apart by where in its page each sits. */
static void test_page_offsets(void)
{
	/* one glibc: each function at its own page offset, the exit mark too */
	static const struct probe_page glibc[] = {
		{ 0x0a0, TB_EV_MALLOC }, { 0x5b3, TB_EV_FREE }, { 0x2c0, TB_EV_CALLOC },
		{ 0x7d0, TB_EV_REALLOC }, { 0x910, TB_PROBE_EXITING },
	};
	/* a second library: its free at glibc malloc's page offset, its malloc at one of its own */
	static const struct probe_page two[] = {
		{ 0x0a0, TB_EV_MALLOC }, { 0x5b3, TB_EV_FREE },
		{ 0x0a0, TB_EV_FREE }, { 0x140, TB_EV_MALLOC },
	};
	/* two libraries whose frees sit at the same page offset: still only frees there */
	static const struct probe_page same[] = {
		{ 0x0a0, TB_EV_MALLOC }, { 0x5b3, TB_EV_FREE }, { 0x5b3, TB_EV_FREE },
		{ 0x0a0, TB_EV_MALLOC },
	};
	/* the exit mark at free's page offset */
	static const struct probe_page mark[] = {
		{ 0x0a0, TB_EV_MALLOC }, { 0x5b3, TB_EV_FREE }, { 0x5b3, TB_PROBE_EXITING },
	};

	CHECK_EQ_U64(placement__sole_page_off(glibc, 5, TB_EV_FREE), 0x5b3,
		     "glibc: free by its page offset");
	CHECK_EQ_U64(placement__sole_page_off(glibc, 5, TB_EV_MALLOC), 0x0a0,
		     "glibc: malloc by its page offset");
	CHECK_EQ_U64(placement__sole_page_off(two, 4, TB_EV_FREE), TB_NO_PAGE_OFF,
		     "frees at two page offsets: the cookie");
	CHECK_EQ_U64(placement__sole_page_off(two, 4, TB_EV_MALLOC), TB_NO_PAGE_OFF,
		     "a malloc sharing a free's page offset: the cookie");
	CHECK_EQ_U64(placement__sole_page_off(same, 4, TB_EV_FREE), 0x5b3,
		     "two libraries' frees at one page offset: still told apart");
	CHECK_EQ_U64(placement__sole_page_off(mark, 3, TB_EV_FREE), TB_NO_PAGE_OFF,
		     "the exit mark at free's page offset: the cookie");
	CHECK_EQ_U64(placement__sole_page_off(mark, 3, TB_EV_MALLOC), 0x0a0,
		     "... malloc still by its own");
	CHECK_EQ_U64(placement__sole_page_off(glibc, 5, TB_EV_MEMALIGN), TB_NO_PAGE_OFF,
		     "a function not probed: none");
	CHECK_EQ_U64(placement__sole_page_off(NULL, 0, TB_EV_FREE), TB_NO_PAGE_OFF, "no probes: none");
}

/* Where a probe reading nargs arguments goes in these bytes, placed at 0x1000; p says the rest. */
#define PLACE_ARGS(p, nargs, ...)                                                         \
	({                                                                                \
		static const uint8_t code_[] = { __VA_ARGS__ };                           \
		placement__choose(code_, sizeof(code_), 0x1000, nargs, p);                \
	})

/* The note says what it must: the reason for the entry, or where the arguments are. */
static void check_note(const struct placement *p, const char *want, const char *what)
{
	CHECK(strstr(p->note, want), "%s: '%s' in '%s'", what, want, p->note);
}

/* Prologues of the allocators Debian 12 ships, as their libraries have them. */
static void test_allocators(void)
{
	struct placement p;

	/* jemalloc 5.3 free: nine instructions copying rdi and computing a TLS address; jne */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a, 0x00,
				0x48, 0x89, 0xf9, 0x48, 0xc1, 0xe8, 0x1a, 0x48, 0x81, 0xe1, 0x00,
				0x00, 0x00, 0xc0, 0x25, 0xf0, 0x00, 0x00, 0x00, 0x64, 0x48, 0x03,
				0x04, 0x25, 0x00, 0x00, 0x00, 0x00, 0x48, 0x01, 0xd0, 0x48, 0x3b,
				0x88, 0xb0, 0x01, 0x00, 0x00, 0x0f, 0x85, 0x8a, 0x00, 0x00, 0x00,
				0xc3),
		     48, "jemalloc free: onto the jne past nine register instructions");
	CHECK_EQ_U64(p.argregs, 0, "jemalloc free: the pointer still in rdi");
	check_note(&p, "arguments in %rdi", "jemalloc free: -v says where the pointer is");
	/* mimalloc 2.0 malloc: mov x(%rip),%rax; mov %rdi,%rsi; mov %fs:(%rax),%rdi; cmp; ja */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x8b, 0x05, 0x49, 0xb4, 0x00, 0x00, 0x48, 0x89, 0xfe,
				0x64, 0x48, 0x8b, 0x38, 0x48, 0x81, 0xfe, 0x00, 0x04, 0x00, 0x00,
				0x77, 0x29, 0xc3),
		     21, "mimalloc malloc: onto the ja");
	CHECK_EQ_U64(p.argregs, TB_ARG_AT(0, TB_REG_SI), "mimalloc malloc: the size read from rsi");
	check_note(&p, "arguments in %rsi", "mimalloc malloc: -v says rsi");
	/* mimalloc calloc: the count copied to rax before rdi is overwritten; cmp $1,%rax; je */
	CHECK_EQ_U64(PLACE_ARGS(&p, 2, 0x48, 0x8b, 0x15, 0xc9, 0xad, 0x00, 0x00, 0x48, 0x89, 0xf8,
				0x64, 0x48, 0x8b, 0x3a, 0x48, 0x83, 0xf8, 0x01, 0x74, 0x08, 0xc3),
		     18, "mimalloc calloc: onto the je");
	CHECK_EQ_U64(p.argregs, TB_ARG_AT(0, TB_REG_AX),
		     "mimalloc calloc: count in rax, size in rsi");
	/* mimalloc realloc: rsi to rdx, then rdi to rsi, then rdi overwritten; jmp */
	CHECK_EQ_U64(PLACE_ARGS(&p, 2, 0x48, 0x8b, 0x05, 0x49, 0xa9, 0x00, 0x00, 0x48, 0x89, 0xf2,
				0x48, 0x89, 0xfe, 0x64, 0x48, 0x8b, 0x00, 0x48, 0x89, 0xc7, 0xe9,
				0xf7, 0x4e, 0xff, 0xff),
		     20, "mimalloc realloc: onto the tail jump");
	CHECK_EQ_U64(p.argregs, TB_ARG_AT(0, TB_REG_SI) | TB_ARG_AT(1, TB_REG_DX),
		     "mimalloc realloc: the pointer in rsi, the size in rdx");
	check_note(&p, "arguments in %rsi, %rdx", "mimalloc realloc: -v says both");
	/* tcmalloc free: mov x(%rip),%rax; test %rax,%rax; jne */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x8b, 0x05, 0x59, 0xb1, 0x1b, 0x00, 0x48, 0x85, 0xc0,
				0x0f, 0x85, 0x10, 0x00, 0x00, 0x00, 0xc3),
		     10, "tcmalloc free: past a load into a scratch register");
}

/* What a new library version may do in its first instructions, and the entry it keeps. */
static void test_refusals(void)
{
	struct placement p;

	/* mov %rdi,%rax; mov %rax,8(%rsp); test; je: a store */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x89, 0xf8, 0x48, 0x89, 0x44, 0x24, 0x08, 0x48, 0x85,
				0xc0, 0x74, 0x01, 0xc3, 0xc3),
		     0, "a store to memory before the branch: entry");
	check_note(&p, "a store to memory at +0x3", "... -v names the store");
	/* mov %rdi,%rax; test %rax,%rax; je +1; ret; jmp back to the test */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x89, 0xf8, 0x48, 0x85, 0xc0, 0x74, 0x01, 0xc3, 0xeb,
				0xf8, 0xc3),
		     0, "a branch later in the function lands inside the prefix: entry");
	check_note(&p, "a branch lands inside", "... -v says so");
	/* mov x(%rip),%rax; mov %fs:(%rax),%rdi; ja: the size is gone from every register */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x8b, 0x05, 0x49, 0xb4, 0x00, 0x00, 0x64, 0x48, 0x8b,
				0x38, 0x77, 0x29, 0xc3),
		     0, "an argument overwritten with no copy: entry");
	check_note(&p, "overwrites an argument", "... -v says which instruction");
	/* the same, but the copy is 32 bits (mov %edi,%esi): the upper half is lost */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x89, 0xfe, 0x64, 0x48, 0x8b, 0x38, 0x77, 0x29, 0xc3), 0,
		     "a 32-bit copy does not keep a 64-bit argument: entry");
	/* the copy overwritten afterwards: mov %rdi,%rsi; mov %fs:0,%rdi; xor %esi,%esi */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x89, 0xfe, 0x64, 0x48, 0x8b, 0x3c, 0x25, 0x00, 0x00,
				0x00, 0x00, 0x31, 0xf6, 0x77, 0x29, 0xc3),
		     0, "the only copy overwritten later: entry");
	/* mov %rdi,%rsi; mov %fs:0,%rdi; ja: with one argument, fine; with two, rsi's is lost */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x89, 0xfe, 0x64, 0x48, 0x8b, 0x3c, 0x25, 0x00, 0x00,
				0x00, 0x00, 0x77, 0x29, 0xc3),
		     12, "one argument: rsi may take rdi's value");
	CHECK_EQ_U64(PLACE_ARGS(&p, 2, 0x48, 0x89, 0xfe, 0x64, 0x48, 0x8b, 0x3c, 0x25, 0x00, 0x00,
				0x00, 0x00, 0x77, 0x29, 0xc3),
		     0, "two arguments: the second one's register taken: entry");
	/* mov %rdi,%rax; xchg %rax,%rbx; je: not on the list of plain instructions */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x89, 0xf8, 0x48, 0x93, 0x74, 0x01, 0xc3, 0xc3), 0,
		     "an instruction off the list: entry");
	check_note(&p, "neither a register move", "... -v says so");
	/* mov %rdi,%rax; lea -8(%rsp),%rsp; je: the return address would move */
	CHECK_EQ_U64(PLACE_ARGS(&p, 1, 0x48, 0x89, 0xf8, 0x48, 0x8d, 0x64, 0x24, 0xf8, 0x74, 0x01,
				0xc3, 0xc3),
		     0, "a lea writing rsp: entry");
	check_note(&p, "writes the stack pointer", "... -v says so");
	/* the entry itself emulated: nothing skipped, arguments where they came */
	CHECK_EQ_U64(PLACE_ARGS(&p, 3, 0x41, 0x54, 0xc3), 0, "push at the entry: stays");
	check_note(&p, "arguments in %rdi, %rsi, %rdx", "... -v says where the arguments are");
}

int main(void)
{
	/* glibc 2.36 free: test %rdi,%rdi; je +0xbf; push %rbp; ret */
	CHECK_EQ_U64(PLACE(0x48, 0x85, 0xff, 0x0f, 0x84, 0x04, 0x00, 0x00, 0x00, 0x55, 0xc3, 0xc3,
			   0xc3, 0xc3),
		     3, "free: past the single-stepped test, onto the emulated je");
	/* malloc: push %r12 first: already emulated */
	CHECK_EQ_U64(PLACE(0x41, 0x54, 0x55, 0x53, 0xc3), 0, "malloc: push at entry stays");
	/* posix_memalign: cmpb $0,x(%rip) only reads memory and writes flags, then push %r12 */
	CHECK_EQ_U64(PLACE(0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54, 0xc3), 7,
		     "posix_memalign: past the rip-relative cmpb");
	/* reallocarray: mov %rsi,%rax; mul %rdx writes rdx, an argument */
	CHECK_EQ_U64(PLACE(0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2, 0x48, 0x89, 0xc6, 0x70, 0x05, 0xc3),
		     0, "reallocarray: mul writes an argument register: entry");
	/* mov %rdi,%rsi; push %rbp: the skipped mov would change an argument */
	CHECK_EQ_U64(PLACE(0x48, 0x89, 0xfe, 0x55, 0xc3), 0, "a write to rsi is not skipped");
	/* sub $8,%rsp; push: the stack pointer moves, the return address would be lost */
	CHECK_EQ_U64(PLACE(0x48, 0x83, 0xec, 0x08, 0x55, 0xc3), 0, "a write to rsp is not skipped");
	/* mov %rdi,(%rax); push: a memory write is not skipped */
	CHECK_EQ_U64(PLACE(0x48, 0x89, 0x38, 0x55, 0xc3), 0, "a memory write is not skipped");
	/* test %rdi,%rdi; push %rbp; ...; jmp back to the push: it would fire twice */
	CHECK_EQ_U64(PLACE(0x48, 0x85, 0xff, 0x55, 0x90, 0xeb, 0xfc, 0xc3), 0,
		     "a branch back onto the chosen instruction keeps the entry");
	/* test %rdi,%rdi; xor %eax,%eax (writes rax only); push: both skipped */
	CHECK_EQ_U64(PLACE(0x48, 0x85, 0xff, 0x31, 0xc0, 0x55, 0xc3), 5,
		     "scratch-register writes are skipped");
	/* thirteen harmless instructions: more than the bound, entry */
	CHECK_EQ_U64(PLACE(0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff,
			   0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff,
			   0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff,
			   0x48, 0x85, 0xff, 0x55, 0xc3),
		     0, "no more than twelve instructions are skipped");
	/* bytes that do not decode to the end: cannot check for branches back in */
	CHECK_EQ_U64(PLACE(0x48, 0x85, 0xff, 0x55, 0x48, 0x8b), 0, "a truncated last instruction: entry");
	CHECK_EQ_U64(placement__choose(NULL, 0, 0, 1, &(struct placement){ 0 }), 0,
		     "no bytes: entry");
	test_allocators();
	test_refusals();
	test_page_offsets();
	return check_done();
}
