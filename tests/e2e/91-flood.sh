#!/usr/bin/env bash
# A flood into a 1 MiB ring buffer: every lost event is counted, in the CSV and in the report,
# what was recorded and what was lost add up to what the program did, and tlsbpf keeps up.
. "$(dirname "$0")/lib.sh"
need_bpf

says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $out" [ "$rc" -eq 0 ]
}

mono_ns() { python3 -c 'import time; print(time.monotonic_ns())'; }

# account CSV PROG_OUT SUMMARY JSON: the CSV is whole, its lost rows are the report's, and the
# program's malloc(64)+free pairs are all either recorded or among the lost. A lost event may
# be of any kind, so with losses the comparison is an inequality both ways.
account() {
	python3 - "$@" <<'PY'
import csv, json, re, sys
path, prog, summary, js = sys.argv[1:5]
said = dict(f.split('=') for f in open(prog).read().split('summary ')[1].split())
want = int(said['mallocs']) + int(said['frees'])
m = re.search(r'^events lost: (\d+)$', open(summary).read(), re.M)
reported = int(m.group(1)) if m else None
jlost = json.load(open(js))['events_lost']
width, seqs_ok, lost, mallocs, frees, n = None, True, 0, 0, 0, 0
with open(path, newline='') as f:
    r = csv.reader(f)
    head = next(r)
    width = len(head)
    for row in r:
        n += 1
        if len(row) != width or row[0] != str(n):
            seqs_ok = False
            break
        ev = row[5]
        if ev == 'lost':
            lost += int(row[6])
        elif ev == 'malloc' and row[6] == '64':
            mallocs += 1
        elif ev == 'free' and row[2] != row[3] and 'internal' not in row[14].split('|'):
            frees += 1	# a worker thread's free: the workers free only their own blocks
rec = mallocs + frees
print(f"{n} rows, whole and in sequence: {seqs_ok}; lost rows sum to {lost}, report says "
      f"{reported}, JSON {jlost}; recorded {mallocs} malloc(64) + {frees} frees = {rec} of the "
      f"program's {want}, {want - rec} missing")
ok = seqs_ok and lost == reported == jlost and rec <= want and want - rec <= lost
if len(sys.argv) > 5 and sys.argv[5] == 'need-loss':
    ok = ok and lost > 0
sys.exit(0 if ok else 1)
PY
}

# ---- back-pressure: the CSV goes to a pipe nobody reads for the first second ----

timeout -s KILL 120 $TLSBPF -q --ringbuf-mb 1 --csv - --summary "$T/sum.txt" --summary-json "$T/sum.json" -- \
	sh -c "exec '$PROGS/tp_flood' -n 1000000 -t 2 >'$T/prog.out'" 2>"$T/err" |
	{ sleep 1; cat >"$T/flood.csv"; }
rc=${PIPESTATUS[0]}
done_ns=$(mono_ns)
check "tp_flood -n 1000000 -t 2, --ringbuf-mb 1, CSV held back 1 s: exit 0 (got $rc)" \
	[ "$rc" -eq 0 ]
check "the program made its pairs: $(grep summary "$T/prog.out")" \
	grep -q '^summary pairs=1000000 mallocs=1000000 frees=1000000$' "$T/prog.out"
says "events were lost and every one is accounted for" \
	account "$T/flood.csv" "$T/prog.out" "$T/sum.txt" "$T/sum.json" need-loss
end_ns=$(tail -n 1 "$T/flood.csv" | cut -d, -f2)
drain_ms=$(((done_ns - end_ns) / 1000000))
check "tlsbpf was done ${drain_ms} ms after the program's last event (bound 10000 ms)" \
	[ "$drain_ms" -ge 0 -a "$drain_ms" -lt 10000 ]

# ---- the same tiny ring with nothing in the way: exact when nothing was lost ----

timeout -s KILL 120 $TLSBPF -q --ringbuf-mb 1 --csv "$T/free.csv" --summary "$T/sum.txt" \
	--summary-json "$T/sum.json" -- "$PROGS/tp_flood" -n 200000 -t 2 >"$T/prog.out" 2>"$T/err"
rc=$?
check "tp_flood -n 200000 -t 2, --ringbuf-mb 1, CSV to a file: exit 0 (got $rc)" [ "$rc" -eq 0 ]
says "recorded + lost = what the program did" \
	account "$T/free.csv" "$T/prog.out" "$T/sum.txt" "$T/sum.json"
