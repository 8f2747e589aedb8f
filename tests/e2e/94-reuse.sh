#!/usr/bin/env bash
# A pid or a tid given twice in one run (steered with ns_last_pid): two processes or threads
# in the report, each with its own counts, never one merged; the same from the CSV.
. "$(dirname "$0")/lib.sh"
need_bpf

says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $out" [ "$rc" -eq 0 ]
}

LAST=/proc/sys/kernel/ns_last_pid
if [ ! -w "$LAST" ]; then
	skip "pid and tid reuse" "$LAST cannot be written"
	exit 0
fi
# the program moves the pid counter back; put it where it was, or past what was handed out
saved=$(cat "$LAST")
trap 'now=$(cat "$LAST"); [ "$now" -lt "$saved" ] && echo "$saved" >"$LAST"; rm -rf "$T"' EXIT

# two_uses JSON PROG_OUT SOURCE: the two users of the id are apart, each with its own counts
two_uses() {
	python3 - "$@" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
uses = {}
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] in ('first', 'second'):
        uses[f[0]] = {k: int(v) for k, v in (x.split('=') for x in f[1:])}
a, b = uses['first'], uses['second']
procs = j['processes']
def threads_with(pid, tid):
    return [t for p in procs if p['pid'] == pid for t in p['threads'] if t['tid'] == tid]
def bytes_of(u):
    return u['allocs'] * u['size']
if a['pid'] == b['pid'] and a['tid'] == b['tid'] and a['pid'] != a['tid']:
    what = f"tid {a['tid']} in process {a['pid']}"	# two threads of one process
    found = threads_with(a['pid'], a['tid'])
    nprocs = sum(1 for p in procs if p['pid'] == a['pid'])
    apart = nprocs == 1
else:	# two processes with one pid, or a thread's tid become a process's pid
    what = f"id {b['pid']}"
    same = [p for p in procs if p['pid'] == b['pid']]
    found = threads_with(b['pid'], b['tid'])
    if a['pid'] != b['pid']:
        found += threads_with(a['pid'], a['tid'])
    apart = len(same) == (2 if a['pid'] == b['pid'] else 1)
got = sorted((t['allocations'], t['frees'], t['bytes_requested']) for t in found)
want = sorted((u['allocs'], u['frees'], bytes_of(u)) for u in (a, b))
# a merge would also match one user's frees against the other's blocks
odd = sum(t[k] for t in found for k in ('double_frees', 'invalid_frees', 'unknown_origin_frees'))
print(f"{sys.argv[3]}: {what}: {len(found)} threads (allocations, frees, bytes) {got}, "
      f"the program says {want}; processes apart: {apart}; {odd} double, invalid or "
      f"unknown-origin frees")
sys.exit(0 if apart and got == want and odd == 0 else 1)
PY
}

for mode in pid tid cross; do
	timeout -s KILL 60 $TLSBPF -q --as-root --csv "$T/$mode.csv" --summary-json "$T/$mode.json" -- \
		"$PROGS/tp_reuse" -n 100 "$mode" >"$T/$mode.out" 2>"$T/$mode.err"
	rc=$?
	said=$(grep '^summary ' "$T/$mode.out")
	check "tp_reuse $mode: exit 0 (got $rc), the id came round again: $said" \
		grep -q 'reused=1' "$T/$mode.out"
	[ "$rc" -eq 0 ] || continue
	says "tp_reuse $mode, report" two_uses "$T/$mode.json" "$T/$mode.out" report
	timeout -s KILL 60 $TLSBPF analyze --summary-json "$T/$mode.again.json" "$T/$mode.csv" >/dev/null 2>&1
	says "tp_reuse $mode, analyze of the CSV" two_uses "$T/$mode.again.json" "$T/$mode.out" \
		analyze
done

says "the exited first user's leak stays with it: pid mode" python3 - "$T/pid.json" \
	"$T/pid.out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
pid = int(open(sys.argv[2]).read().split('first pid=')[1].split()[0])
same = [(p['leaked_blocks'], p['state']) for p in j['processes'] if p['pid'] == pid]
print(f"processes {pid}: (leaked blocks, state) {same}, the program kept 1 then 3")
sys.exit(0 if same == [(1, 'exited'), (3, 'exited')] else 1)
PY
