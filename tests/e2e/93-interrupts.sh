#!/usr/bin/env bash
# tlsbpf interrupted 50 times by SIGINT, SIGTERM or SIGHUP, 0 to 300 ms after it starts: every
# output is whole, the report is there whenever it watched, and nothing is left behind.
# INTERRUPT_SEED=N repeats a run's delays.
. "$(dirname "$0")/lib.sh"
need_bpf

RUNS=50
seed=${INTERRUPT_SEED:-$(($(date +%s) % 100000))}
RANDOM=$seed

# bpf_state save FILE | left FILE | held PID: tlsbpf's programs and links. `left` fails when some
# appeared since `save` that no running tlsbpf holds; `held` counts the ones PID holds.
bpf_state() { python3 tests/e2e/bpf_state.py "$@"; }

# verdict SIG: what one interrupted run left, as one line; fails on anything half-done.
verdict() {
	python3 - "$T/i.csv" "$T/i.sum" "$T/i.out" "$T/i.err" "$rc" "$(kill -l "$1")" "$1" <<'PY'
import csv, os, sys
path, summary, out, err, rc, sig, name = sys.argv[1:8]
rc, want = int(rc), 128 + int(sig)
data = open(path, newline='').read() if os.path.exists(path) else None
text = open(summary).read() if os.path.exists(summary) else ''
ran = 'pid=' in open(out).read()
errs = open(err).read().splitlines()
rows = list(csv.reader(data.splitlines(keepends=True))) if data else []
whole = data is None or data == '' or data.endswith('\n') and \
    all(len(r) == len(rows[0]) for r in rows) and rows[0][0] == 'seq' and \
    [r[0] for r in rows[1:]] == [str(i) for i in range(1, len(rows))]
ends = [r for r in rows[1:] if r[5] == 'exit']
csv_says = ('no CSV' if data is None else 'empty CSV' if not data else
            f"CSV of {len(rows) - 1} whole rows" if whole else f"a broken CSV of {len(rows)} rows")
if text:
    complete = text.startswith('tlsbpf report: ') and 'events lost: ' in text and \
        text.rstrip('\n').splitlines()[-1].startswith('processes still running: 0')
    exit_row = ends[-1][6] if ends else None
    ok = complete and whole and exit_row == str(want) and rc == want and not errs
    print(f"watched: exit {rc}, {csv_says}, exit row {exit_row}, "
          f"report {'complete' if complete else 'CUT SHORT'}, {len(errs)} stderr lines")
else:	# stopped while starting: nothing may have run, nothing may be half there
    # the line, unless the signal came before tlsbpf's first step (its default action)
    said = errs == [f"tlsbpf: SIG{name} while starting: the command was not run"]
    ok = rc == want and whole and not ends and not ran and (said or not errs)
    print(f"stopped in start-up: exit {rc}, {csv_says}, no report, command ran: {ran}, "
          f"{'said so' if said else 'stderr: ' + str(errs[:2])}")
sys.exit(0 if ok else 1)
PY
}

# procs FIELD VALUE: "pid comm" of each process whose /proc/PID/stat field FIELD (4: parent,
# 6: session) is VALUE
procs() {
	local f s comm
	local -a st
	for f in /proc/[0-9]*/stat; do
		{ s=$(<"$f"); } 2>/dev/null || continue
		comm=${s#*\(}
		comm=${comm%\)*}
		read -r -a st <<<"${s##*\) }"
		[ "${st[$(($1 - 3))]}" = "$2" ] && echo "${f//[!0-9]/} $comm"
	done
}

kill_session() { # SID: SIGKILL to what is left in it
	local p
	for p in $(procs 6 "$1" | cut -d' ' -f1); do kill -9 "$p" 2>/dev/null; done
}

gone() { # is the process PID over (gone, or a zombie waiting for us)?
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ]
}

bpf_state save "$T/bpf.before"
sigs=(INT TERM HUP)
watched=0 early=0 said=0 bad=0 t0=$(date +%s%N)
for i in $(seq 0 $((RUNS - 1))); do
	sig=${sigs[$((i % 3))]}
	delay=$((i < 6 ? 0 : RANDOM % 301))
	rm -f "$T/i.csv" "$T/i.sum"
	# the default action for INT, as from a terminal: a background job of a script ignores it
	setsid env --default-signal=INT,QUIT,HUP,TERM $TLSBPF -q --csv "$T/i.csv" \
		--summary "$T/i.sum" -- "$PROGS/tp_exit" sleep 20000 then code 0 \
		>"$T/i.out" 2>"$T/i.err" &
	pid=$!
	# the delay counts from tlsbpf's own start: before its exec the signal would hit the shell
	for _ in $(seq 10000); do [ /proc/$pid/exe -ef "$TLSBPF" ] && break; done
	if [ "$i" -eq 6 ]; then
		# once, while it surely watches: the names above are the ones it loads
		for _ in $(seq 200); do grep -q pid= "$T/i.out" && break; sleep 0.05; done
		held=$(bpf_state held "$pid")
		check "while watching, tlsbpf holds $held with the names looked for" \
			[ "${held%% *}" -gt 0 ]
	fi
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -s "$sig" "$pid"
	for _ in $(seq 120); do gone "$pid" && break; sleep 0.05; done
	hung=""
	if ! gone "$pid"; then
		hung="still running 6 s after the signal; "
		kill -9 "$pid"
	fi
	{ wait "$pid"; } 2>/dev/null	# no "Hangup" from the shell: the verdict says it all
	rc=$?
	left=$(procs 6 "$pid" | tr '\n' ' ')
	if [ -n "$left" ]; then
		hung="${hung}left in its session: $left; "
		kill_session "$pid"
	fi
	out=$(verdict "$sig")
	vrc=$?
	[ -s "$T/i.sum" ] && watched=$((watched + 1)) || early=$((early + 1))
	[[ "$out" == *"said so" ]] && said=$((said + 1))
	check "run $i (seed $seed): SIG$sig after $delay ms: $hung$out" [ "$vrc" -eq 0 -a -z "$hung" ]
	[ "$vrc" -eq 0 ] && [ -z "$hung" ] || bad=$((bad + 1))
done 2>"$T/shell.err"	# the shell's notes on jobs ended by a signal; errors show below
grep -v ' Hangup \| Killed \| Terminated ' "$T/shell.err" >&2
secs=$((($(date +%s%N) - t0) / 1000000000))
check "$RUNS interrupts in $secs s: $watched while watching, $early in start-up, $bad bad" \
	[ "$bad" -eq 0 ]
# caught from the first step, never a default death halfway through placing the probes
check "of the $early stopped in start-up, $said said which signal stopped them" [ "$said" -gt 0 ]
# ---- a command the forwarded signal does not end ----

# deaf SIGNALS...: tlsbpf on a command that ignores SIGINT; the signals go to tlsbpf 0.3 s
# apart, once it watches. Sets rc, ms (from the last signal to tlsbpf's exit) and left.
deaf() {
	local t0=""
	rm -f "$T/d.csv" "$T/d.sum" "$T/d.json" "$T/i.out"
	setsid $TLSBPF -q --csv "$T/d.csv" --summary "$T/d.sum" --summary-json "$T/d.json" -- \
		sh -c "trap '' INT; exec '$PROGS/tp_exit' sleep 20000 then code 0" \
		>"$T/i.out" 2>"$T/d.err" &
	pid=$!
	for _ in $(seq 200); do grep -q pid= "$T/i.out" 2>/dev/null && break; sleep 0.05; done
	sleep 0.2
	for sig in "$@"; do
		[ -n "${t0:-}" ] && sleep 0.3
		kill -s "$sig" "$pid"
		t0=$(date +%s%N)
	done
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	left=$(procs 6 "$pid" | cut -d' ' -f2 | tr '\n' ' ')
	kill_session "$pid"
}

# told: what the report and the CSV say about a command still running when tlsbpf stopped
told() {
	python3 - "$T/d.csv" "$T/d.sum" "$T/d.json" <<'PY'
import csv, json, re, sys
data = open(sys.argv[1], newline='').read()
rows = list(csv.reader(data.splitlines(keepends=True)))
whole = data.endswith('\n') and all(len(r) == len(rows[0]) for r in rows)
text = open(sys.argv[2]).read()
m = re.search(r'^command exit status: (.*)$', text, re.M)
running = re.search(r'^processes still running: (\d+)$', text, re.M)
j = json.load(open(sys.argv[3]))
states = [p['state'] for p in j['processes']]
print(f"CSV {len(rows) - 1} whole rows: {whole}; report: 'command exit status: "
      f"{m.group(1) if m else '(none)'}', {running.group(1) if running else '?'} still "
      f"running; JSON exit_status {j['exit_status']}, states {states}")
# a command that has not ended has no exit status: the report must not claim 0
sys.exit(0 if whole and running and running.group(1) == '1' and states == ['running']
         and j['exit_status'] != 0 and not (m and m.group(1) == '0') else 1)
PY
}

deaf INT
check "SIGINT to tlsbpf, the command ignores it: tlsbpf stops after the 2 s grace (${ms} ms, \
bound 4000) with status 130, not the command's (got $rc); left running: ${left:-nothing}" \
	[ "$ms" -lt 4000 -a "$rc" -eq 130 ]
out=$(told)
vrc=$?
check "and the report does not give the running command an exit status: $out" [ "$vrc" -eq 0 ]
deaf INT TERM
check "a second signal (TERM) stops at once: ${ms} ms (bound 1000), status 128+INT or \
128+TERM, not 0 (got $rc); left running: ${left:-nothing}" \
	[ "$ms" -lt 1000 -a \( "$rc" -eq 130 -o "$rc" -eq 143 \) ]
out=$(told)
vrc=$?
check "and the report does not give the running command an exit status: $out" [ "$vrc" -eq 0 ]

out=$(bpf_state left "$T/bpf.before")
rc=$?
check "no tlsbpf program or link left behind: $out" [ "$rc" -eq 0 ]
