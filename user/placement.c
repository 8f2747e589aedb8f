// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* placement.c: moving a probe off an instruction the kernel must single-step, when that is safe. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <capstone/capstone.h>
#include "placement.h"

#define MAX_SKIP_INSNS 4
#define MAX_SCAN_BYTES (64 * 1024)

/*
 * What x86 uprobes emulate instead of single-stepping out of line: push of a
 * register, relative jumps, conditional jumps and calls, and a one-byte nop.
 * A single-step trap costs over ten times an emulated hit on a VM, and glibc's
 * free begins with one (test %rdi,%rdi).
 */
static bool kernel_emulates(const uint8_t *b, size_t n)
{
	if (n == 1 && ((b[0] >= 0x50 && b[0] <= 0x57) || b[0] == 0x90))
		return true;
	if (n == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57)
		return true;
	if ((n == 5 && (b[0] == 0xe8 || b[0] == 0xe9)) || (n == 2 && b[0] == 0xeb))
		return true;
	if (n == 2 && b[0] >= 0x70 && b[0] <= 0x7f)
		return true;
	return n == 6 && b[0] == 0x0f && b[1] >= 0x80 && b[1] <= 0x8f;
}

/* Registers whose value a probe reads: the arguments, and the stack pointer for the return address. */
static bool is_watched_reg(uint16_t reg)
{
	static const uint16_t watched[] = {
		X86_REG_RDI, X86_REG_EDI, X86_REG_DI,	X86_REG_DIL,  X86_REG_RSI,  X86_REG_ESI,
		X86_REG_SI,  X86_REG_SIL, X86_REG_RDX,	X86_REG_EDX,  X86_REG_DX,   X86_REG_DL,
		X86_REG_DH,  X86_REG_RCX, X86_REG_ECX,	X86_REG_CX,   X86_REG_CL,   X86_REG_CH,
		X86_REG_R8,  X86_REG_R8D, X86_REG_R8W,	X86_REG_R8B,  X86_REG_R9,   X86_REG_R9D,
		X86_REG_R9W, X86_REG_R9B, X86_REG_RSP,	X86_REG_ESP,  X86_REG_SP,   X86_REG_SPL,
		X86_REG_RIP,
	};

	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		if (reg == watched[i])
			return true;
	return false;
}

/* May the probe skip this instruction? It must leave everything the probe reads as it was. */
static bool harmless(csh h, const cs_insn *insn)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr;
	const cs_x86 *x = &insn->detail->x86;

	for (int g = 0; g < insn->detail->groups_count; g++) {
		uint8_t grp = insn->detail->groups[g];

		if (grp == CS_GRP_JUMP || grp == CS_GRP_CALL || grp == CS_GRP_RET ||
		    grp == CS_GRP_INT || grp == CS_GRP_IRET || grp == CS_GRP_BRANCH_RELATIVE)
			return false;
	}
	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr))
		return false;
	for (int i = 0; i < nwr; i++)
		if (is_watched_reg(wr[i]))
			return false;
	for (int i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && (x->operands[i].access & CS_AC_WRITE))
			return false;
	return true;
}

/* Does any direct branch in the function land inside (start, end]? Then the probe could fire twice. */
static bool branched_into(csh h, const cs_insn *insn, size_t count, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < count; i++) {
		const cs_x86 *x = &insn[i].detail->x86;

		for (int k = 0; k < x->op_count; k++) {
			uint64_t t = x->operands[k].imm;

			if (x->operands[k].type == X86_OP_IMM &&
			    (cs_insn_group(h, &insn[i], CS_GRP_JUMP) ||
			     cs_insn_group(h, &insn[i], CS_GRP_CALL)) &&
			    t > start && t <= end)
				return true;
		}
	}
	return false;
}

static size_t choose(csh h, const cs_insn *insn, size_t count, uint64_t func_vaddr, size_t len)
{
	uint64_t covered = insn[count - 1].address + insn[count - 1].size - func_vaddr;

	/* a function not decoded to its end cannot be checked for branches back in */
	if (covered < len)
		return 0;
	for (size_t i = 0; i < count && i <= MAX_SKIP_INSNS; i++) {
		if (kernel_emulates(insn[i].bytes, insn[i].size)) {
			if (i && branched_into(h, insn, count, func_vaddr, insn[i].address))
				return 0;
			return insn[i].address - func_vaddr;
		}
		if (!harmless(h, &insn[i]))
			return 0;
	}
	return 0;
}

size_t placement__choose(const uint8_t *code, size_t len, uint64_t func_vaddr)
{
	cs_insn *insn = NULL;
	size_t count, skip = 0;
	csh h;

	if (!len || cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return 0;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	count = cs_disasm(h, code, len, func_vaddr, 0, &insn);
	if (count)
		skip = choose(h, insn, count, func_vaddr, len);
	cs_free(insn, count);
	cs_close(&h);
	return skip;
}

int placement__apply(struct alloc_lib *lib)
{
#if defined(__x86_64__)
	uint8_t *code = malloc(MAX_SCAN_BYTES);
	int fd = open(lib->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !code) {
		free(code);
		if (fd >= 0)
			close(fd);
		return -errno ?: -ENOMEM;
	}
	for (int i = 0; i < lib->n; i++) {
		size_t len = lib->sizes[i] < MAX_SCAN_BYTES ? lib->sizes[i] : 0;
		ssize_t got = len ? pread(fd, code, len, lib->offsets[i]) : 0;

		lib->skipped[i] = got == (ssize_t)len ? placement__choose(code, len, lib->offsets[i]) : 0;
		lib->offsets[i] += lib->skipped[i];
	}
	free(code);
	close(fd);
#endif
	return 0;
}

uint32_t placement__sole_page_off(const struct probe_page *p, size_t n, uint16_t type)
{
	uint32_t off = TB_NO_PAGE_OFF;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i].type != type)
			continue;
		if (off != TB_NO_PAGE_OFF && off != p[i].page_off)
			return TB_NO_PAGE_OFF;
		off = p[i].page_off;
	}
	for (i = 0; off != TB_NO_PAGE_OFF && i < n; i++)
		if (p[i].type != type && p[i].page_off == off)
			return TB_NO_PAGE_OFF;
	return off;
}
