#!/usr/bin/env bash
# Programs that crash, abort, are killed or exit from a side thread: the CSV holds every event
# up to the end, in whole rows, the last one the exit; the report says how the program ended.
. "$(dirname "$0")/lib.sh"
need_bpf

says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $out" [ "$rc" -eq 0 ]
}

# ended NAME STATUS DETAIL [ADDR]: the CSV is whole and ends with the exit row (STATUS, DETAIL),
# followed at most by exit_thread rows of threads that died with the process (docs/csv.md);
# the text and JSON reports say the same; with ADDR, a free of that block precedes the end.
ended() {
	python3 - "$T/$1.csv" "$T/$1.sum" "$T/$1.json" "$2" "$3" "${4:-}" <<'PY'
import csv, json, sys
path, summary, js, status, detail, addr = sys.argv[1:7]
data = open(path, newline='').read()
rows = list(csv.reader(data.splitlines(keepends=True)))
head, body = rows[0], rows[1:]
whole = data.endswith('\n') and all(len(r) == len(head) for r in rows) and \
    [r[0] for r in body] == [str(i) for i in range(1, len(body) + 1)]
ends = [r for r in body if r[5] == 'exit']
last = ends[-1] if ends else [''] * len(head)
after = body[body.index(last) + 1:] if ends else []
whole = whole and len(ends) == 1 and all(r[5] == 'exit_thread' and r[2] == last[2] for r in after)
ev, size, det = last[5], last[6], last[head.index('detail')]
allocs = sum(1 for r in body if r[5] == 'malloc')
freed = not addr or any(r[5] == 'free' and r[7] == addr for r in body)
text = open(summary).read()
how = detail or f'exited with status {status}'
says = f"command exit status: {status}" in text and how in text
j = json.load(open(js))
root = j['processes'][0]
jok = j['exit_status'] == int(status) and (root['exit_detail'] or '') == detail
print(f"{len(body)} whole rows: {whole}, {allocs} malloc rows, last row {ev} {size} "
      f"'{det}'; report says '{how}': {says}; "
      f"JSON {j['exit_status']} '{root['exit_detail']}'" + (f"; free of {addr}: {freed}" if addr else ''))
sys.exit(0 if whole and allocs and ev == 'exit' and size == status and det == detail and says
         and jok and freed else 1)
PY
}

run() { # NAME, the command and its arguments
	local name=$1
	shift
	timeout -s KILL 60 $TLSBPF -q --csv "$T/$name.csv" --summary "$T/$name.sum" \
		--summary-json "$T/$name.json" -- "$@" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
}

run segv "$PROGS/tp_exit" signal SEGV
check "SIGSEGV (a NULL write): tlsbpf exits 139 (got $rc)" [ "$rc" -eq 139 ]
says "SIGSEGV: the CSV is complete and the report says so" ended segv 139 "killed by SIGSEGV"

run overrun labs/08b_tls_corruption_chain --overrun
addr=$(sed -n 's/^overrun addr=\(0x[0-9a-f]*\) .*/\1/p' "$T/overrun.out")
check "glibc's heap check aborts 08b --overrun: tlsbpf exits 134 (got $rc), glibc said: \
$(grep -v '^tlsbpf' "$T/overrun.err" | head -1)" [ "$rc" -eq 134 ]
says "abort: the CSV is complete through the fatal free and the report says so" \
	ended overrun 134 "killed by SIGABRT" "$addr"

timeout -s KILL 60 $TLSBPF -q --csv "$T/kill.csv" --summary "$T/kill.sum" \
	--summary-json "$T/kill.json" -- "$PROGS/tp_exit" sleep 20000 then code 0 \
	>"$T/kill.out" 2>"$T/kill.err" &
tl=$!
for _ in $(seq 200); do grep -q pid= "$T/kill.out" 2>/dev/null && break; sleep 0.05; done
victim=$(sed -n 's/^pid=//p' "$T/kill.out")
sleep 0.2
t0=$(date +%s%N)
kill -9 "$victim"
wait "$tl"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "SIGKILL to the program ($victim): tlsbpf exits 137 (got $rc) after ${ms} ms (bound 5000)" \
	[ "$rc" -eq 137 -a "$ms" -lt 5000 ]
says "SIGKILL: the CSV is complete and the report says so" ended kill 137 "killed by SIGKILL"

run thread "$PROGS/tp_exit" thread-exit 5
check "exit(5) from a second thread: tlsbpf exits 5 (got $rc)" [ "$rc" -eq 5 ]
says "exit from a thread: the CSV is complete and the report says so" ended thread 5 ""
says "exit from a thread: its churn is recorded in that thread, the main thread ends too" \
	python3 - "$T/thread.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
pid = rows[0]['pid']
made = [r['tid'] for r in rows if r['event'] == 'thread']
side = made[0] if made else None
mine = sorted(r['size'] for r in rows if r['event'] == 'malloc' and r['tid'] == side)
gone = [r['tid'] for r in rows if r['event'] == 'exit_thread']
ends = [r['tid'] for r in rows if r['event'] == 'exit']
print(f"thread {side}: malloc sizes {mine}; exit_thread rows for {gone}; "
      f"the exit row from {ends[0] if ends else None}")
sys.exit(0 if side and mine == ['100', '200'] and pid in gone + ends else 1)
PY

# Threads dying together each read the process empty in the kernel: exactly one
# exit row, and the end of every thread recorded once, whichever passes last.
for i in 1 2 3 4 5 6; do
	run among "$PROGS/tp_exit" thread-exit 7 among 12
	says "exit(7) from one of 14 threads, run $i: tlsbpf exits $rc, one exit row, every thread's end once" \
		python3 - "$T/among.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
pid = rows[0]['pid']
tids = {pid} | {r['tid'] for r in rows if r['event'] == 'thread'}
ends = [r['tid'] for r in rows if r['event'] in ('exit', 'exit_thread') and r['pid'] == pid]
exits = [r for r in rows if r['event'] == 'exit']
print(f"{len(tids)} threads, {len(ends)} ends, {len(exits)} exit rows "
      f"(status {exits[0]['size'] if exits else '-'})")
sys.exit(0 if len(tids) == 14 and sorted(ends) == sorted(tids) and len(exits) == 1
         and exits[0]['size'] == '7' else 1)
PY
	check "exit(7) among 14 threads, run $i: tlsbpf exits 7 (got $rc)" [ "$rc" -eq 7 ]
done
