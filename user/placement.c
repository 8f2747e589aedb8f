// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* placement.c: moving a probe off an instruction the kernel must single-step, when that is safe. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <capstone/capstone.h>
#include "placement.h"

/* jemalloc's free computes a TLS address in nine before its first branch */
#define MAX_SKIP_INSNS 12
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

/* Each general register by enum tb_reg, with its parts: writing any part changes the whole. */
static const uint16_t gprs[TB_REG_R15 + 1][5] = {
	[TB_REG_AX] = { X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH },
	[TB_REG_BX] = { X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH },
	[TB_REG_CX] = { X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH },
	[TB_REG_DX] = { X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH },
	[TB_REG_SI] = { X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL },
	[TB_REG_DI] = { X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL },
	[TB_REG_BP] = { X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL },
	[TB_REG_R8] = { X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B },
	[TB_REG_R9] = { X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B },
	[TB_REG_R10] = { X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B },
	[TB_REG_R11] = { X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B },
	[TB_REG_R12] = { X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B },
	[TB_REG_R13] = { X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B },
	[TB_REG_R14] = { X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B },
	[TB_REG_R15] = { X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B },
};

static const char *const reg_names[TB_REG_R15 + 1] = {
	"", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* The arguments' own registers at the entry, in order. */
static const int own_reg[TB_PROBE_ARGS] = { TB_REG_DI, TB_REG_SI, TB_REG_DX };

#define REG_SP (-1)	/* the stack pointer or the instruction pointer: never skipped over */

/* enum tb_reg of the general register reg is part of; REG_SP; 0 for flags and the rest. */
static int gpr(uint16_t reg)
{
	if (reg == X86_REG_RSP || reg == X86_REG_ESP || reg == X86_REG_SP || reg == X86_REG_SPL ||
	    reg == X86_REG_RIP || reg == X86_REG_EIP)
		return REG_SP;
	for (int r = TB_REG_AX; reg && r <= TB_REG_R15; r++)
		for (int k = 0; k < 5; k++)
			if (gprs[r][k] == reg)
				return r;
	return 0;
}

/*
 * The instructions a probe may skip: moves, loads and ALU instructions, whose
 * only effects are on registers and flags. Anything else (calls, branches,
 * push, pop, string and system instructions, multiplies writing rdx) keeps
 * the probe before it: a short list is the conservative rule.
 */
static bool plain(unsigned id)
{
	static const unsigned ok[] = {
		X86_INS_MOV,  X86_INS_MOVABS, X86_INS_MOVZX, X86_INS_MOVSX, X86_INS_MOVSXD,
		X86_INS_LEA,  X86_INS_ADD,    X86_INS_SUB,   X86_INS_AND,   X86_INS_OR,
		X86_INS_XOR,  X86_INS_CMP,    X86_INS_TEST,  X86_INS_SHL,   X86_INS_SHR,
		X86_INS_SAR,  X86_INS_INC,    X86_INS_DEC,   X86_INS_NEG,   X86_INS_NOT,
		X86_INS_NOP,  X86_INS_ENDBR64,
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (id == ok[i])
			return true;
	return false;
}

/* A 64-bit mov from one general register to another: src's value then lives in dst too. */
static bool reg_copy(const cs_insn *insn, int *src, int *dst)
{
	const cs_x86 *x = &insn->detail->x86;

	if (insn->id != X86_INS_MOV || x->op_count != 2)
		return false;
	for (int k = 0; k < 2; k++) {
		const cs_x86_op *op = &x->operands[k];

		if (op->type != X86_OP_REG || op->size != 8)
			return false;
		*(op->access & CS_AC_WRITE ? dst : src) = gpr(op->reg);
	}
	return *src > 0 && *dst > 0;
}

/*
 * One instruction the probe would skip: why it cannot be, or NULL after
 * updating holds[i], the registers that hold argument i's entry value.
 */
static const char *track(csh h, const cs_insn *insn, uint16_t *holds, int nargs)
{
	const cs_x86 *x = &insn->detail->x86;
	int src = 0, dst = 0;
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (!plain(insn->id))
		return "neither a register move, a load nor ALU";
	for (int k = 0; k < x->op_count; k++)
		if (x->operands[k].type == X86_OP_MEM && (x->operands[k].access & CS_AC_WRITE))
			return "a store to memory";
	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr))
		return "registers it writes unknown";
	for (int k = 0; k < nwr; k++)
		if (gpr(wr[k]) == REG_SP)
			return "writes the stack pointer";
	if (reg_copy(insn, &src, &dst)) {
		for (int i = 0; i < TB_PROBE_ARGS; i++)
			holds[i] = (holds[i] & ~(1u << dst)) | ((holds[i] >> src & 1) << dst);
	} else {
		for (int k = 0; k < nwr; k++)
			for (int i = 0, r = gpr(wr[k]); r > 0 && i < TB_PROBE_ARGS; i++)
				holds[i] &= ~(1u << r);
	}
	for (int i = 0; i < nargs; i++)
		if (!holds[i])
			return "overwrites an argument no other register holds";
	return NULL;
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

static void note_add(struct placement *p, const char *fmt, const char *a, const char *b)
{
	size_t used = strlen(p->note);

	if (used < sizeof(p->note))
		snprintf(p->note + used, sizeof(p->note) - used, fmt, a, b);
}

/* The probe stays at the entry, single-stepped: say why. */
static size_t refuse(struct placement *p, const cs_insn *insn, uint64_t func_vaddr,
		     const char *why)
{
	char at[24];

	p->skip = 0;
	p->argregs = 0;
	if (!insn) {
		snprintf(p->note, sizeof(p->note), "single-stepped, not moved: %s", why);
		return 0;
	}
	snprintf(at, sizeof(at), "+%#llx", (unsigned long long)(insn->address - func_vaddr));
	snprintf(p->note, sizeof(p->note), "single-stepped, not moved: %s at %s (", why, at);
	note_add(p, "%s %s)", insn->mnemonic, insn->op_str);
	return 0;
}

/* The probe goes on insn[n]: each argument from its own register if it still holds it. */
static size_t place(struct placement *p, const cs_insn *insn, size_t n, uint64_t func_vaddr,
		    const uint16_t *holds, int nargs)
{
	p->skip = insn[n].address - func_vaddr;
	p->argregs = 0;
	p->note[0] = 0;
	for (size_t i = 0; i < n; i++)
		note_add(p, i ? "; %s %s" : "skipped %s %s", insn[i].mnemonic, insn[i].op_str);
	for (int i = 0; i < nargs; i++) {
		int r = own_reg[i];

		for (int k = TB_REG_AX; !(holds[i] >> r & 1) && k <= TB_REG_R15; k++)
			r = k;
		if (r != own_reg[i])
			p->argregs |= TB_ARG_AT(i, r);
		note_add(p, "%s%%%s", i ? ", " : n ? "; arguments in " : "arguments in ",
			 reg_names[r]);
	}
	return p->skip;
}

static size_t choose(csh h, const cs_insn *insn, size_t count, uint64_t func_vaddr, size_t len,
		     int nargs, struct placement *p)
{
	uint64_t covered = insn[count - 1].address + insn[count - 1].size - func_vaddr;
	uint16_t holds[TB_PROBE_ARGS];
	const char *why;

	for (int i = 0; i < TB_PROBE_ARGS; i++)
		holds[i] = 1u << own_reg[i];
	if (kernel_emulates(insn[0].bytes, insn[0].size))
		return place(p, insn, 0, func_vaddr, holds, nargs);
	/* a function not decoded to its end cannot be checked for branches back in */
	if (covered < len)
		return refuse(p, NULL, func_vaddr, "the function does not decode to its end");
	for (size_t i = 0; i < count && i <= MAX_SKIP_INSNS; i++) {
		if (kernel_emulates(insn[i].bytes, insn[i].size)) {
			if (branched_into(h, insn, count, func_vaddr, insn[i].address))
				return refuse(p, NULL, func_vaddr,
					      "a branch lands inside the instructions before the "
					      "first emulated one");
			return place(p, insn, i, func_vaddr, holds, nargs);
		}
		why = track(h, &insn[i], holds, nargs);
		if (why)
			return refuse(p, &insn[i], func_vaddr, why);
	}
	return refuse(p, NULL, func_vaddr, "no emulated instruction among the first few");
}

size_t placement__choose(const uint8_t *code, size_t len, uint64_t func_vaddr, int nargs,
			 struct placement *p)
{
	cs_insn *insn = NULL;
	size_t count;
	csh h;

	*p = (struct placement){ 0 };
	if (nargs > TB_PROBE_ARGS)
		nargs = TB_PROBE_ARGS;
	if (!len || cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return refuse(p, NULL, func_vaddr, "no code to decode");
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	cs_option(h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	count = cs_disasm(h, code, len, func_vaddr, 0, &insn);
	if (count)
		choose(h, insn, count, func_vaddr, len, nargs, p);
	else
		refuse(p, NULL, func_vaddr, "the first instruction does not decode");
	cs_free(insn, count);
	cs_close(&h);
	return p->skip;
}

int placement__nargs(uint16_t type)
{
	switch (type) {
	case TB_EV_REALLOCARRAY:
	case TB_EV_POSIX_MEMALIGN:
		return 3;
	case TB_EV_CALLOC:
	case TB_EV_REALLOC:
	case TB_EV_ALIGNED_ALLOC:
	case TB_EV_MEMALIGN:
		return 2;
	case TB_PROBE_CXX_NEW:
	case TB_PROBE_CXX_DELETE:
		return 0;	/* it only notes where it was called from */
	default: /* malloc, free, valloc, pvalloc */
		return 1;
	}
}

int placement__apply(struct alloc_lib *lib)
{
#if defined(__x86_64__)
	uint8_t *code = malloc(MAX_SCAN_BYTES);
	int fd = open(lib->path, O_RDONLY | O_CLOEXEC);
	struct placement p;

	if (fd < 0 || !code) {
		free(code);
		if (fd >= 0)
			close(fd);
		return -errno ?: -ENOMEM;
	}
	for (int i = 0; i < lib->n; i++) {
		size_t len = lib->sizes[i] < MAX_SCAN_BYTES ? lib->sizes[i] : 0;
		ssize_t got = len ? pread(fd, code, len, lib->offsets[i]) : 0;

		if (got == (ssize_t)len)
			placement__choose(code, len, lib->offsets[i],
					  placement__nargs(lib->cookies[i]), &p);
		else
			refuse(&p, NULL, 0, "the function's size is unknown");
		lib->skipped[i] = p.skip;
		lib->argregs[i] = p.argregs;
		lib->offsets[i] += p.skip;
		snprintf(lib->placed[i], sizeof(lib->placed[i]), "%s", p.note);
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
