#!/usr/bin/env bash
# A short-lived static child whose own allocator nobody had probed: it may end before tlsbpf
# can probe it. Its report must then say it was never watched, never "0 allocations, leaks:
# none"; or, if tlsbpf was in time, say how late it was probed, or show its malloc.
. "$(dirname "$0")/lib.sh"
need_bpf

if ! gcc -static -O1 -fno-builtin -o "$T/one" tests/progs/tp_static_one.c; then
	not_ok "gcc -static builds a test program (libc6-dev's static library)"
	exit 0
fi
for run in 1 2 3; do
	$TLSBPF -q --csv "$T/c.csv" --summary "$T/s.txt" --summary-json "$T/s.json" \
		-- sh -c "$T/one; true" >"$T/out" 2>"$T/err"
	res=$(python3 - "$T/s.json" "$T/c.csv" "$T/out" "$T/s.txt" <<'PY'
import csv, json, sys
j = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2], newline='')))
said = open(sys.argv[3]).read().split()
text = open(sys.argv[4]).read()
kid = [p for p in j['processes'] if p['comm'] == 'one']
if len(kid) != 1 or said[:2] != ['malloc', '4321']:
    print('no child named one in the report, or it printed %s' % said[:2])
    sys.exit()
k = kid[0]
seen = any(r['event'] == 'malloc' and r['size'] == '4321' and r['pid'] == str(k['pid']) and
           int(r['addr'], 16) == int(said[2], 16) for r in rows)
section = text.split('process %d ' % k['pid'], 1)[1].split('\ntotals', 1)[0]
if k['never_probed']:
    ok = 'never watched' in section and 'leaks: none' not in section
    how = 'never watched'
elif k['probed_late_ns']:
    ok = 'probed' in section
    how = 'probed %.1f ms late, its malloc %s' % (k['probed_late_ns'] / 1e6,
                                                'seen' if seen else 'before that')
else:
    ok = seen
    how = 'its malloc is a row' if seen else 'neither said never watched nor seen'
print(('right: ' if ok else 'wrong: ') + how)
PY
	)
	check "run $run: the static child's report: $res" [ "${res%%:*}" = right ]
done
