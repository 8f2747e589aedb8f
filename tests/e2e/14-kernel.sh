#!/usr/bin/env bash
# A kernel without what tlsbpf needs gets one clear line naming it, a non-zero exit, and the
# command never runs. The kernel is made to lack BTF or uprobes inside a mount namespace of the
# test's own, so nothing else on the machine sees the difference.
. "$(dirname "$0")/lib.sh"
need_bpf

# without FILE_OR_DIR PATTERN WHAT: hide a kernel file from tlsbpf and expect one line
without() {
	local hide=$1 pat=$2 what=$3 rc
	rm -f "$T/ran"
	unshare --mount --propagation private sh -c \
		'mount -t tmpfs none "$1" && shift && exec "$@"' sh "$hide" \
		$TLSBPF -q -- touch "$T/ran" >"$T/out" 2>"$T/err"
	rc=$?
	check_sh "$what: exit $rc, one line: $(head -c 200 "$T/err")" \
		'[ "$rc" -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- "$pat" "$T/err"'
	check "$what: the command never ran" test ! -e "$T/ran"
}

if command -v unshare >/dev/null && unshare --mount true 2>/dev/null; then
	without /sys/kernel/btf "this kernel has no BTF" "a kernel without BTF"
	without /sys/bus/event_source/devices/uprobe "this kernel has no uprobes" \
		"a kernel without uprobes"
else
	skip "a kernel without BTF or uprobes" "no mount namespaces here"
fi

