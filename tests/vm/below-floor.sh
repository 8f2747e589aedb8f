#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/vm/below-floor.sh: run in a guest whose kernel is older than tlsbpf's floor (Linux 5.15):
# one line naming what the kernel lacks, exit 1, the command never started, nothing loaded.
# Ends with "N passed, N failed" as tests/run does.
. "$(dirname "$0")/../e2e/lib.sh"

loaded() { bpftool prog show 2>/dev/null | grep -cE 'name (alloc_enter|alloc_exit|sys_enter)'; }
{
	before=$(loaded)
	$TLSBPF -q -- touch "$T/ran" >"$T/out" 2>"$T/err"
	rc=$?
	check_sh "Linux $(uname -r): exit $rc and one line: $(head -c 200 "$T/err")" \
		'[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
		 grep -q "this kernel lacks .*: tlsbpf needs Linux 5.15 or later" "$T/err"'
	check "the command never ran" test ! -e "$T/ran"
	check "no program of tlsbpf's is left loaded ($(loaded) after, $before before)" \
		[ "$(loaded)" -eq "$before" ]
	$TLSBPF --version >"$T/out" 2>&1
	check "--version still works: $(head -1 "$T/out")" grep -q "^tlsbpf " "$T/out"
} | tee "$T/res"
f=$(grep -c '^not ok' "$T/res")
echo
echo "$(($(grep -c '^ok' "$T/res"))) passed, $f failed, 0 skipped"
[ "$f" -eq 0 ]
