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
	/* five harmless instructions: more than the bound, entry */
	CHECK_EQ_U64(PLACE(0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff,
			   0x48, 0x85, 0xff, 0x55, 0xc3),
		     0, "no more than four instructions are skipped");
	/* bytes that do not decode to the end: cannot check for branches back in */
	CHECK_EQ_U64(PLACE(0x48, 0x85, 0xff, 0x55, 0x48, 0x8b), 0, "a truncated last instruction: entry");
	CHECK_EQ_U64(placement__choose(NULL, 0, 0, 1, &(struct placement){ 0 }), 0, "no bytes: entry");
	test_page_offsets();
	return check_done();
}
