#!/usr/bin/env bash
# --pages: a crash's context. tp_guard takes all access away from a page inside a live block
# (an mmap chunk) and writes to it; it prints the address and the block. The kernel refuses
# the fault and SIGSEGV ends it: the reports must name that fault (its row, thread, address,
# block, and the words `guard page`) next to how the process ended.
. "$(dirname "$0")/lib.sh"
need_bpf

if ! grep -q btf_trace_page_fault_user /sys/kernel/btf/vmlinux 2>/dev/null; then
	skip "--pages crash context" "this kernel has no page_fault_user tracepoint"
	exit 0
fi

$TLSBPF -q --pages --csv "$T/g.csv" --summary "$T/g.txt" --summary-json "$T/g.json" -- \
	"$PROGS/tp_guard" >"$T/g.out" 2>"$T/g.err"
rc=$?
check "tp_guard is killed by SIGSEGV under --pages (status $rc)" [ $rc -eq 139 ]

verify "the JSON report's last refused fault is the program's write, on its block's guard page" \
	"$T/g.json" "$T/g.out" "$T/g.csv" <<'PY'
import csv, json, sys
j, out = json.load(open(sys.argv[1])), open(sys.argv[2]).read().split()
pid, addr, block = int(out[1]), int(out[2], 16), int(out[3], 16)
p = next(p for p in j['processes'] if p['pid'] == pid)
assert p['exit_detail'] == 'killed by SIGSEGV', p['exit_detail']
r = p['last_refused_fault']
assert r and int(r['addr'], 16) == addr and int(r['block'], 16) == block, r
assert r['tid'] == pid and r['detail'].startswith('guard page'), r
row = next(x for x in csv.DictReader(open(sys.argv[3])) if int(x['seq']) == r['seq'])
assert int(row['addr'], 16) == addr and row['event'] in ('touch', 'page_fault'), row
print('row %d' % r['seq'])
PY

verify "the text report says it, and analyze says the same from the CSV" "$T/g.txt" "$T/g.out" "$T/g.csv" <<'PY'
import subprocess, sys, os
out = open(sys.argv[2]).read().split()
want = 'thread %s at %s in mmap_chunk, block %s: guard page' % (out[1], out[2], out[3])
line = [l for l in open(sys.argv[1]) if 'last fault refused by the kernel' in l]
assert len(line) == 1 and want in line[0], line
again = subprocess.run([os.environ['TLSBPF'], 'analyze', '--summary', '-', sys.argv[3]],
                       capture_output=True, text=True).stdout
assert line[0] in again.splitlines(keepends=True), again
print(line[0].strip())
PY
