#!/usr/bin/env bash
# Allocator calls from signal handlers that interrupt malloc and free, and handlers that
# siglongjmp out of them: every call the program counted is a row, or is counted as lost.
. "$(dirname "$0")/lib.sh"
need_bpf

# compare CSV OUT MODE: the program's own counts (OUT) against the rows of its pid
compare() {
	python3 - "$1" "$2" "$3" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
out = open(sys.argv[2]).read().split('\n')
mode = sys.argv[3]
made = {int(l.split()[1]): int(l.split()[2]) for l in out if l.startswith('made ')}
jumps = int(next(l.split()[1] for l in out if l.startswith('jumps ')))
addrs = [int(l.split()[1], 16) for l in out if l.startswith('addr ')]
pid = next(r['pid'] for r in rows if r['event'] == 'exec')
mine = [r for r in rows if r['pid'] == pid]
lost = sum(int(r['size']) for r in rows if r['event'] == 'lost')
mallocs = {}
for r in mine:
    if r['event'] == 'malloc':
        mallocs[int(r['size'])] = mallocs.get(int(r['size']), 0) + 1
big = [int(r['addr'], 16) for r in mine if r['event'] == 'malloc' and r['size'] == '12345']
bad = [r['seq'] for r in mine if set(r['flags'].split('|')) & {'double_free', 'invalid_free'}]
problems = []
if big != addrs:
    problems.append('malloc(12345) rows %d, the program made %d' % (len(big), len(addrs)))
if bad:
    problems.append('false double/invalid frees at rows %s' % bad[:5])
if mode == 'jump':
    # a jump abandons at most one call; a malloc that returned just before it is a row
    # the program could not count
    rows40, made40 = mallocs.get(40, 0), made[40]
    if not (rows40 + lost >= made40 and rows40 <= made40 + jumps and lost <= jumps):
        problems.append('malloc(40): %d rows, %d lost, %d made, %d jumps' %
                        (rows40, lost, made40, jumps))
else:
    for size in (7, 40):
        if mallocs.get(size, 0) != made[size]:
            problems.append('malloc(%d): %d rows, the program made %d' %
                            (size, mallocs.get(size, 0), made[size]))
    if lost:
        problems.append('%d events lost' % lost)
print('; '.join(problems) or 'exact')
PY
}

for alt in "" alt; do
	for run in 1 2 3; do
		for spec in "jump 50" "keep 300" "pair 3000"; do
			what="$spec${alt:+ on an alternate stack}, run $run"
			$TLSBPF -q --csv "$T/s.csv" -- "$PROGS/tp_signals" $spec $alt >"$T/out" 2>"$T/err"
			rc=$?
			if [ $rc -ne 0 ]; then
				not_ok "$what: tlsbpf exited $rc: $(tail -n 2 "$T/err" | tr '\n' ' ')"
				continue
			fi
			res=$(compare "$T/s.csv" "$T/out" "${spec%% *}")
			check "$what: $res" [ "$res" = exact ]
			if [ "${spec%% *}" = jump ]; then
				lost=$(csvq "$T/s.csv" "sum(int(r['size']) for r in rows if r['event'] == 'lost')")
				check_sh "$what: the summary says what was lost ($lost)" \
					"grep -q 'events lost: $lost' '$T/err'"
			fi
		done
	done
done
