#!/usr/bin/env bash
# The command's exit status comes through as a shell would give it, and the CSV says how it ended.
. "$(dirname "$0")/lib.sh"
need_bpf

expect_status() { # want, args...
	local want=$1 rc
	shift
	$TLSBPF -q --csv "$T/exit.csv" -- "$PROGS/tp_exit" "$@" >"$T/prog.out" 2>"$T/err"
	rc=$?
	check "tp_exit $*: status $want (got $rc)" [ "$rc" -eq "$want" ]
	local row
	row=$(csvq "$T/exit.csv" "[r['size'] for r in rows if r['event'] == 'exit'][-1:]")
	check "tp_exit $*: exit row says $want (got $row)" [ "$row" = "['$want']" ]
}

expect_status 0 code 0
expect_status 3 code 3
expect_status 139 signal SEGV
expect_status 134 abort
expect_status 5 thread-exit 5

$TLSBPF -q -- /nonexistent/prog >"$T/out" 2>"$T/err"
rc=$?
check "a missing command exits 127 (got $rc)" [ "$rc" -eq 127 ]
check "and says so in one line: $(head -c 200 "$T/err")" \
	grep -q "command not found: /nonexistent/prog" "$T/err"
check "in exactly one line" [ "$(wc -l <"$T/err")" -eq 1 ]
