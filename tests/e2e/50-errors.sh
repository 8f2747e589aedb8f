#!/usr/bin/env bash
# Bad input: one clear line, a non-zero exit, and the command never started half-way.
. "$(dirname "$0")/lib.sh"

expect_error() { # description, pattern, args...
	local what=$1 pat=$2 rc
	shift 2
	$TLSBPF "$@" >"$T/out" 2>"$T/err"
	rc=$?
	check_sh "$what: non-zero exit ($rc) and one line matching '$pat': $(head -c 160 "$T/err")" \
		'[ "$rc" -ne 0 -a "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- "$pat" "$T/err"'
}

expect_error "unknown option" "unknown option '--frobnicate'" --frobnicate -- /bin/true
expect_error "option without its value" "needs a value" --csv
expect_error "no command" "no command given" -q
expect_error "empty command after --" "no command given" --
expect_error "ring buffer not a power of two" "power of two" --ringbuf-mb 3 -- /bin/true
expect_error "analyze without a file" "analyze wants one CSV file" analyze
expect_error "analyze of a missing file" "cannot read" analyze "$T/none.csv"

$TLSBPF --version >"$T/out" 2>&1
check "--version prints the version" grep -q "^tlsbpf [0-9]" "$T/out"
$TLSBPF --help >"$T/out" 2>&1
for opt in --quiet --output --csv --summary --summary-json --lib --ringbuf-mb --user --as-root \
	--verbose --help --version --empty-probes --no-free-stacks; do
	check "--help documents $opt" grep -q -- "$opt" "$T/out"
done

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups $TLSBPF -q -- /bin/true >"$T/out" 2>"$T/err"
	rc=$?
	check_sh "not root: exit $rc and says to use sudo: $(head -1 "$T/err")" \
		'[ "$rc" -ne 0 ] && grep -q "sudo" "$T/err"'
else
	skip "not root is refused" "needs root to drop to another user"
fi

need_bpf
expect_error "unwritable CSV path" "cannot open '/nonexistent-dir/x.csv'" \
	--csv /nonexistent-dir/x.csv -- /bin/true
rm -f "$T/ran"
$TLSBPF -q --csv /nonexistent-dir/x.csv -- /bin/touch "$T/ran" 2>/dev/null
check "with an unwritable output the command is not run" [ ! -e "$T/ran" ]
expect_error "a directory as the command" "is a directory" -q -- /tmp
expect_error "--lib on a file with no malloc" "no malloc in '/etc/hostname'" -q \
	--lib /etc/hostname -- /bin/true

# The entry program is verified on a thread beside libbpf's loading of the others (parload.c).
# A refusal there is the load's failure: one line, the command not run; -v adds the verifier's
# log as libbpf gives it for the programs it loads itself. The other program refused, for
# contrast, on the path libbpf loads.
refuse() { # program, tlsbpf args...
	local prog=$1
	shift
	TLSBPF_TEST_REFUSE=$prog LD_PRELOAD=$PROGS/refuse_prog.so \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		$TLSBPF "$@" -- /bin/touch "$T/ran" >"$T/out" 2>"$T/err"
}
for prog in alloc_enter sys_enter; do
	rm -f "$T/ran"
	refuse $prog -q
	rc=$?
	check_sh "$prog refused by the verifier: exit $rc, one line, the command not run: $(head -c 160 "$T/err")" \
		'[ "$rc" -ne 0 -a "$(wc -l <"$T/err")" -eq 1 -a ! -e "$T/ran" ] &&
		 grep -q "cannot load the BPF programs: Permission denied (run with -v" "$T/err"'
	refuse $prog -q -v
	check_sh "$prog refused, -v: the verifier's log, under the program's name" \
		'grep -q "prog .$prog.: BPF program load failed: Permission denied" "$T/err" &&
		 grep -q "^refuse_prog.so: R1 invalid mem access" "$T/err"'
done
