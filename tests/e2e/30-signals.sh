#!/usr/bin/env bash
# SIGINT or SIGTERM to tlsbpf mid-run: the command gets it, the CSV is complete and parses.
. "$(dirname "$0")/lib.sh"
need_bpf

for sig in INT TERM; do
	$TLSBPF -q --csv "$T/sig.csv" -- "$PROGS/tp_exit" sleep 20000 then code 0 >"$T/prog.out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 100); do grep -q pid= "$T/prog.out" 2>/dev/null && break; sleep 0.05; done
	sleep 0.2
	kill -s "$sig" "$pid"
	wait "$pid"
	rc=$?
	want=$((128 + $(kill -l "$sig")))
	check "SIG$sig to tlsbpf: the command ends by it, status $want (got $rc)" [ "$rc" -eq "$want" ]
	parsed=$(python3 - "$T/sig.csv" <<'PY'
import csv, sys
data = open(sys.argv[1], newline='').read()
rows = list(csv.reader(data.splitlines()))
good = data.endswith('\n') and all(len(r) == len(rows[0]) for r in rows)
ev = [r[5] for r in rows[1:]]
print('yes' if good and 'exit' in ev and 'malloc' in ev else 'no')
PY
	)
	check "SIG$sig: the CSV parses, every row whole, through the exit row" [ "$parsed" = yes ]
	check "SIG$sig: the summary was printed" grep -q "events lost" "$T/err"
done
