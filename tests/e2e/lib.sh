# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# lib.sh: the end-to-end tests' harness; sourced by every tests/e2e/NN-*.sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-.output}
TLSBPF=${TLSBPF:-./tlsbpf}
PROGS=$OUTPUT/progs
T=$(mktemp -d /tmp/tlsbpf-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # description, then a command that must succeed
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# BPF tests need root and a kernel that allows them. In CI they must run: a skip there fails.
# wait_live FILE: until tlsbpf -v has said in FILE that its probes are live; at most 120 s, as a
# slow machine (an emulated guest) may take seconds to load them, and -p on the tracefs path
# waits for an earlier run's probes to be released (tens of seconds under the sanitizers)
wait_live() {
	for _ in $(seq 1200); do grep -q "probes live" "$1" && return 0; sleep 0.1; done
	return 1
}

need_bpf() {
	local why=""
	if [ "$(id -u)" -ne 0 ]; then
		why="not root (run: sudo make test)"
	elif [ ! -r /sys/kernel/btf/vmlinux ]; then
		why="kernel has no BTF"
	fi
	[ -z "$why" ] && return 0
	if [ "${CI:-}" = true ]; then
		not_ok "BPF tests cannot run in CI: $why"
	else
		skip "BPF tests" "$why"
	fi
	exit 0
}

# csvq FILE EXPR: evaluate a python expression over the CSV rows (list of dicts `rows`).
csvq() {
	python3 - "$1" "$2" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
print(eval(sys.argv[2]))
PY
}

# check_sh "what" 'condition': a whole shell condition, && and || included, decides
check_sh() {
	local what=$1
	if eval "$2"; then ok "$what"; else not_ok "$what"; fi
}

# verify WHAT ARGS... <<'PY': run a Python check read from stdin, after labrec.py's helpers
# and the test's own in $T/labq.py when it wrote one, with ARGS; its last line of output joins WHAT.
verify() {
	local what=$1 out rc
	shift
	out=$(python3 -c "import sys; sys.path.insert(0, 'tests/e2e'); from labrec import *
$(cat "$T/labq.py" 2>/dev/null; cat)" "$@" 2>&1)
	rc=$?
	check "$what: $(echo "$out" | tail -n 1)" [ "$rc" -eq 0 ]
}
