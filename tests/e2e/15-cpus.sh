#!/usr/bin/env bash
# Each CPU's events travel in its own ring buffer: the merge must still put every malloc before its free.
. "$(dirname "$0")/lib.sh"
need_bpf

# verdict KIND: the program's own lines against the CSV's malloc and free rows, per thread
verdict() {
	python3 - "$T/prog.out" "$T/out.csv" "$1" <<'PY'
import csv, sys
prog, path, kind = sys.argv[1:4]
rows = list(csv.DictReader(open(path, newline='')))
said = [dict(x.split('=', 1) for x in l.split()[1:]) for l in open(prog) if l.startswith(kind + ' ')]
bad = {'invalid_free', 'unknown_origin', 'double_free'}
problems, total = [], 0
for s in said:
    tid = s['tid']
    mallocs = sum(1 for r in rows if r['event'] == 'malloc' and r['tid'] == tid)
    frees = [r for r in rows if r['event'] == 'free' and r['tid'] == tid
             and 'internal' not in r['flags'].split('|')]
    flagged = [r['seq'] for r in frees if bad & set(r['flags'].split('|'))]
    if kind == 'side':
        other = [o['tid'] for o in said if o['tid'] != tid][0]
        want_made, want_freed = int(s['made']), int(s['freed_of_other'])
        wrong = [r['seq'] for r in frees if r['origin_tid'] != other
                 or 'cross_thread' not in r['flags'].split('|')]
    else:
        want_made = want_freed = int(s['count'])
        wrong = [r['seq'] for r in frees if r['origin_tid'] != tid]
    total += len(frees)
    if mallocs < want_made or len(frees) != want_freed or flagged or wrong:
        problems.append(f"tid {tid}: {mallocs} mallocs for {want_made}, {len(frees)} frees for "
                        f"{want_freed}, flagged {flagged[:3]}, wrong origin {wrong[:3]}")
print(f"{total} frees checked" + ("; " + "; ".join(problems) if problems else ""))
sys.exit(1 if problems or not said else 0)
PY
}

# Small rings (1 MiB a CPU, a forced wakeup once 128 KiB wait) under a busy program: every round
# the consumer begins early must answer a wakeup the probes forced. A wait that stays ready while
# records remain (level-triggered) would begin hundreds of thousands of rounds nobody asked for.
$TLSBPF -v -q --ringbuf-mb 2 -- "$PROGS/tp_count" -t 2 -n 200000 >/dev/null 2>"$T/wake.err"
read -r rounds woken forced < <(sed -n 's/.*consumer rounds: \([0-9]*\), \([0-9]*\) of them .*: \([0-9]*\)$/\1 \2 \3/p' "$T/wake.err")
nrings=$(sed -n 's/.*for each of \([0-9]*\) online CPUs.*/\1/p' "$T/wake.err")
check "the probes forced wakeups with small rings (forced=${forced:-none})" [ "${forced:-0}" -ge 1 ]
check "each early round answers a forced wakeup: woken ${woken:-?} <= forced ${forced:-?} + \
${nrings:-?} rings (each may read ready once when first watched); rounds ${rounds:-?}" \
	[ "${woken:-99999999}" -le $((${forced:-0} + ${nrings:-0})) ]

# Six threads on one CPU write one allocation ring: every call the program made, exactly.
$TLSBPF -v -q --csv "$T/one.csv" -- taskset -c 0 "$PROGS/tp_count" -t 6 -n 20000 -s 123 \
	>"$T/one.out" 2>"$T/one.err"
raced=$(sed -n 's/.*took first: \([0-9]*\)$/\1/p' "$T/one.err")
msg=$(python3 - "$T/one.out" "$T/one.csv" <<'PY'
import csv, collections, sys
rows = list(csv.DictReader(open(sys.argv[2], newline='')))
def said(kind):
    c = collections.Counter()
    for line in open(sys.argv[1]):
        f = line.split()
        if f and f[0] == kind:
            d = dict(x.split('=', 1) for x in f[1:])
            c[(d['pid'], d['tid'], int(d['addr'], 16))] += 1
    return c
def seen(ev, size=None):
    return collections.Counter((r['pid'], r['tid'], int(r['addr'], 16)) for r in rows
                               if r['event'] == ev and (size is None or r['size'] == size)
                               and 'internal' not in r['flags'].split('|'))
a, fa = said('alloc'), said('free')
b, fb = seen('malloc', '123'), seen('free')
fb = collections.Counter({k: v for k, v in fb.items() if k in fa})
print(f"{sum(a.values())} mallocs said, {sum(b.values())} rows; {sum(fa.values())} frees said, "
      f"{sum(fb.values())} rows")
sys.exit(0 if a == b and fa == fb and sum(a.values()) == 120000 else 1)
PY
)
exact=$?
check "six threads on one CPU share its allocation ring: every malloc and free exactly \
($msg; slots taken first by another program: ${raced:-?})" [ "$exact" -eq 0 ]

"$PROGS/tp_handoff" -n 1 >"$T/cpus.out"
second=$(awk '$1 == "cpus" { split($3, a, "="); print a[2] }' "$T/cpus.out")
if [ "$second" = -1 ]; then
	skip "blocks handed across CPUs" "this machine lets the tests use one CPU only"
	skip "a thread moving between CPUs" "this machine lets the tests use one CPU only"
	exit 0
fi

$TLSBPF -q --csv "$T/out.csv" --summary-json "$T/sum.json" -- "$PROGS/tp_handoff" -n 20000 \
	>"$T/prog.out" 2>"$T/err"
rc=$?
check "tp_handoff -n 20000 exits 0 under tlsbpf (got $rc)" [ "$rc" -eq 0 ]
msg=$(verdict side)
check "blocks malloc'd on one CPU and freed on the other: each free is cross_thread with the \
other thread as origin, none unknown or invalid ($msg)" verdict side
check_sh "no record arrived out of time order" '! grep -q "out of time order" "$T/err"'
check_sh "the JSON report agrees: events_out_of_order is 0" \
	'python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))[\"events_out_of_order\"] != 0)" "$T/sum.json"'

$TLSBPF -q --csv "$T/out.csv" -- "$PROGS/tp_handoff" -m -n 20000 >"$T/prog.out" 2>"$T/err"
moves=$(awk '$1 == "migrate" { split($4, a, "="); print a[2] }' "$T/prog.out")
check "the thread really moved between each malloc and its free (moves=$moves of 20000; the first may start there)" \
	[ "${moves:-0}" -ge 19999 ]
msg=$(verdict migrate)
check "a thread moving to the other CPU between each malloc and its free: every free finds its \
block ($msg)" verdict migrate
check_sh "no record arrived out of time order" '! grep -q "out of time order" "$T/err"'
