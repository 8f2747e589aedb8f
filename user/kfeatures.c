// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kfeatures.c: what the running kernel offers the probes, read from its own BTF. */
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "kfeatures.h"

static bool has_enum_value(const struct btf *btf, const char *type, const char *value)
{
	__s32 id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	const struct btf_enum *e = t ? btf_enum(t) : NULL;

	for (int i = 0; e && i < btf_vlen(t); i++)
		if (strcmp(btf__name_by_offset(btf, e[i].name_off), value) == 0)
			return true;
	return false;
}

void kfeatures__probe(struct kfeatures *f)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool oldest = getenv("TLSBPF_OLDEST") != NULL;

	memset(f, 0, sizeof(*f));
	if (!btf)
		return;
	f->uprobe_multi = !oldest && has_enum_value(btf, "bpf_attach_type", "BPF_TRACE_UPROBE_MULTI");
	f->sessions = f->uprobe_multi && !getenv("TLSBPF_NO_SESSIONS") &&
		      has_enum_value(btf, "bpf_attach_type", "BPF_TRACE_UPROBE_SESSION") &&
		      btf__find_by_name_kind(btf, "bpf_session_is_return", BTF_KIND_FUNC) > 0;
	btf__free(btf);
}
