// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kfeatures.c: what the running kernel offers the probes, read from its own BTF. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "kfeatures.h"

/*
 * What every path needs beyond BTF and uprobes (session.c checks those first), each
 * named in the kernel's BTF as an enum value or a tracepoint's type, with the release
 * that brought it. The atomics the programs use (5.12) and bpf_get_current_task_btf
 * (5.11) come before the newest of these.
 */
static const struct need {
	const char *type, *name, *what, *since;
} needs[] = {
	{ "bpf_func_id", "BPF_FUNC_ringbuf_reserve", "BPF ring buffers", "5.8" },
	{ "bpf_map_type", "BPF_MAP_TYPE_TASK_STORAGE", "BPF task storage", "5.11" },
	{ "bpf_func_id", "BPF_FUNC_get_attach_cookie", "the BPF attach cookie", "5.15" },
	{ "bpf_func_id", "BPF_FUNC_task_pt_regs", "bpf_task_pt_regs", "5.15" },
	{ NULL, "btf_trace_sys_enter", "the sys_enter tracepoint", "5.5" },
	{ NULL, "btf_trace_sys_exit", "the sys_exit tracepoint", "5.5" },
	{ NULL, "btf_trace_task_newtask", "the task_newtask tracepoint", "5.5" },
	{ NULL, "btf_trace_task_rename", "the task_rename tracepoint", "5.5" },
	{ NULL, "btf_trace_sched_process_exec", "the sched_process_exec tracepoint", "5.5" },
	{ NULL, "btf_trace_sched_process_exit", "the sched_process_exit tracepoint", "5.5" },
	{ NULL, "btf_trace_signal_deliver", "the signal_deliver tracepoint", "5.5" },
};

/*
 * The types looked up, found in one pass over the kernel's BTF: each lookup by name is a
 * scan of all its types (over 100,000), and sixteen of them were a tenth of start-up.
 */
static struct lookup {
	const char *name;
	int kind;
	__s32 id;
} lookups[] = {
	{ "bpf_func_id", BTF_KIND_ENUM },
	{ "bpf_map_type", BTF_KIND_ENUM },
	{ "bpf_attach_type", BTF_KIND_ENUM },
	{ "bpf_session_is_return", BTF_KIND_FUNC },
	{ "btf_trace_sys_enter", BTF_KIND_TYPEDEF },
	{ "btf_trace_sys_exit", BTF_KIND_TYPEDEF },
	{ "btf_trace_task_newtask", BTF_KIND_TYPEDEF },
	{ "btf_trace_task_rename", BTF_KIND_TYPEDEF },
	{ "btf_trace_sched_process_exec", BTF_KIND_TYPEDEF },
	{ "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF },
	{ "btf_trace_signal_deliver", BTF_KIND_TYPEDEF },
	{ "btf_trace_page_fault_user", BTF_KIND_TYPEDEF },
	{ "btf_trace_mm_page_alloc", BTF_KIND_TYPEDEF },
	{ "btf_trace_rss_stat", BTF_KIND_TYPEDEF },
};
#define NLOOKUPS (sizeof(lookups) / sizeof(lookups[0]))

static void look_up_all(const struct btf *btf)
{
	__u32 n = btf__type_cnt(btf);

	for (size_t k = 0; k < NLOOKUPS; k++)
		lookups[k].id = 0;
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		int kind = btf_kind(t);
		const char *name;

		if (kind != BTF_KIND_ENUM && kind != BTF_KIND_FUNC && kind != BTF_KIND_TYPEDEF)
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		for (size_t k = 0; name && k < NLOOKUPS; k++)
			if (!lookups[k].id && lookups[k].kind == kind && strcmp(lookups[k].name, name) == 0)
				lookups[k].id = id;
	}
}

/* The id of a type looked up, 0 if the kernel has none of that name and kind. */
static __s32 found(const char *name, int kind)
{
	for (size_t k = 0; k < NLOOKUPS; k++)
		if (lookups[k].kind == kind && strcmp(lookups[k].name, name) == 0)
			return lookups[k].id;
	return 0;
}

static bool has_enum_value(const struct btf *btf, const char *type, const char *value)
{
	__s32 id = found(type, BTF_KIND_ENUM);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	const struct btf_enum *e = t ? btf_enum(t) : NULL;

	for (int i = 0; e && i < btf_vlen(t); i++)
		if (strcmp(btf__name_by_offset(btf, e[i].name_off), value) == 0)
			return true;
	return false;
}

static bool has(const struct btf *btf, const struct need *n)
{
	if (n->type)
		return has_enum_value(btf, n->type, n->name);
	return found(n->name, BTF_KIND_TYPEDEF) > 0;
}

/* Names in buf the first thing every path needs that this kernel lacks. */
static bool lacking(const struct btf *btf, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
		if (has(btf, &needs[i]))
			continue;
		snprintf(buf, len, "%s (Linux %s)", needs[i].what, needs[i].since);
		return true;
	}
	return false;
}

int kfeatures__probe(struct kfeatures *f)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool oldest = getenv("TLSBPF_OLDEST") != NULL;

	memset(f, 0, sizeof(*f));
	if (!btf) {
		snprintf(f->missing, sizeof(f->missing), "BTF that libbpf can read (%s)",
			 strerror(errno));
		return -EOPNOTSUPP;
	}
	look_up_all(btf);
	lacking(btf, f->missing, sizeof(f->missing));
	f->uprobe_multi = !oldest && has_enum_value(btf, "bpf_attach_type", "BPF_TRACE_UPROBE_MULTI");
	f->sessions = f->uprobe_multi && !getenv("TLSBPF_NO_SESSIONS") &&
		      has_enum_value(btf, "bpf_attach_type", "BPF_TRACE_UPROBE_SESSION") &&
		      found("bpf_session_is_return", BTF_KIND_FUNC) > 0;
	/* x86's user fault tracepoint; other architectures have none */
	f->page_faults = found("btf_trace_page_fault_user", BTF_KIND_TYPEDEF) > 0 &&
			 found("btf_trace_mm_page_alloc", BTF_KIND_TYPEDEF) > 0 &&
			 found("btf_trace_rss_stat", BTF_KIND_TYPEDEF) > 0 &&
			 !getenv("TLSBPF_NO_PAGES");
	btf__free(btf);
	return f->missing[0] ? -EOPNOTSUPP : 0;
}
