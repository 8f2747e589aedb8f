#!/usr/bin/env bash
# --sample-by time: the allocator probes on 1/N of the time. The share of a steadily paced
# program's calls seen matches the share of time stated; nothing is claimed that the full run
# does not claim; the windows are rows in the CSV, and analyze reads them back.
. "$(dirname "$0")/lib.sh"
need_bpf

paced="$PROGS/tp_paced"

# kernels without uprobe_multi links (below 6.6, by the kernel's own BTF; TLSBPF_OLDEST stands
# for them) refuse in one line
$TLSBPF -q --sample 4 --sample-by time -- "$paced" 100 1000 0 >"$T/o.out" 2>"$T/o.err"
rc=$?
if [ -n "${TLSBPF_OLDEST:-}" ] ||
	! bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null | grep -q BPF_TRACE_UPROBE_MULTI; then
	check "classic uprobes: --sample-by time is refused in one line (rc $rc): $(cat "$T/o.err")" \
		[ "$rc" -ne 0 -a "$(wc -l <"$T/o.err")" -eq 1 ]
	check_sh "classic uprobes: nothing ran" '! grep -q pid= "$T/o.out"'
	exit 0
fi
check "a short run under --sample-by time ends with the program's status (rc $rc)" [ "$rc" -eq 0 ]

# truth NAME: the program's own counts against what tlsbpf wrote; prints a line, fails on a lie
truth() {
	python3 - "$T/$1.csv" "$T/$1.json" "$T/$1.out" "$T/$1.sum" "$2" "${TLSBPF_GUEST:-}" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
j = json.load(open(sys.argv[2]))
said = dict(x.split('=') for x in open(sys.argv[3]).read().split() if '=' in x)
text = open(sys.argv[4]).read()
mode = sys.argv[5]
# in tests/vm's guest (emulated CPU, root on 9p) the windows were seen to miss calls: a program
# run late by the emulator, probes made again on a 9p file; what is claimed is still checked
real = not sys.argv[6]
pid = said['pid']
st = j['sample_by_time']
on, inside, life = False, 0, [None, None]
for r in rows:
    t = int(r['ts_ns'])
    if r['event'] in ('sample_on', 'sample_off'):
        on = r['event'] == 'sample_on'
    elif r['pid'] == pid and r['event'] in ('exec', 'exit'):
        life[r['event'] == 'exit'] = t
    elif r['event'] == 'malloc' and r['pid'] == pid and on:
        inside += 1
# the loop is paced at one call per period, slow enough to keep under the probes (an emulated
# machine too): the share of the program's own lifetime the probes were on is the share of its
# calls seen (the first window opens with the session, before the program even starts)
# attached (-p), the program ran before: its watched life begins with the session
life[0] = life[0] if life[0] is not None else int(rows[0]['ts_ns'])
life[1] = life[1] if life[1] is not None else int(rows[-1]['ts_ns'])
clip = 0
on = False
for r in rows:
    if r['event'] in ('sample_on', 'sample_off'):
        t = min(max(int(r['ts_ns']), life[0]), life[1])
        if r['event'] == 'sample_off' and on:
            clip += t - since
        on, since = r['event'] == 'sample_on', t
if on:
    clip += life[1] - since
frac = clip / (life[1] - life[0])
seen = inside / int(said['mallocs'])
ons = sum(r['event'] == 'sample_on' for r in rows)
offs = sum(r['event'] == 'sample_off' for r in rows)
flags = [f for r in rows for f in r['flags'].split('|') if f in ('double_free', 'invalid_free')]
proc = [p for p in j['processes'] if str(p['pid']) == pid][0]
leaks = {(l['size'], l['count']) for l in proc['leaks']}
hedged = proc['sample_unseen_blocks'] == 0 or 'free may have come while the probes were off' in text
ok = ((abs(seen / frac - 1) < 0.2 or not real) and st['windows'] == ons and offs in (ons - 1, ons)
      and not flags and leaks <= {(777, 1), (777, 2), (777, 3)} and hedged
      and j['events_lost'] == 0)
print(f"{mode}: stated {100 * st['on_ns'] / st['span_ns']:.2f}% of the time in {st['windows']} "
      f"windows, {100 * frac:.2f}% of the program's lifetime; "
      f"{inside} of the program's {said['mallocs']} mallocs seen in them ({100 * seen:.2f}%"
      f"{'' if real else ', not compared in the emulated guest'}); "
      f"rows sample_on {ons}, sample_off {offs}; double/invalid flags {len(flags)}; "
      f"leaks {sorted(leaks)}, {proc['sample_unseen_blocks']} hedged: {hedged}; "
      f"lost {j['events_lost']}")
sys.exit(0 if ok else 1)
PY
}

run_paced() { # NAME, tlsbpf options...
	local name=$1
	shift
	$TLSBPF -q "$@" --csv "$T/$name.csv" --summary "$T/$name.sum" \
		--summary-json "$T/$name.json" -- "$paced" 3000 1000 3 >"$T/$name.out" 2>"$T/$name.err"
}

run_paced full
check "the full run: exit 0, and the program's 3 leaked blocks of 777 B are its only leaks" \
	python3 -c "
import json, sys
j = json.load(open('$T/full.json'))
p = j['processes'][0]
print([(l['size'], l['count']) for l in p['leaks']])
sys.exit(0 if [(l['size'], l['count']) for l in p['leaks']] == [(777, 3)] else 1)"

run_paced quarter --sample 4 --sample-by time
check "1 in 4 by time: the share of calls seen is the share stated, no false claim: \
$(truth quarter "launch")" truth quarter launch

TLSBPF_NO_SESSIONS=1 run_paced quarter-ret --sample 4 --sample-by time --sample-window 10
check "1 in 4 by time with uretprobes, 10 ms windows: $(truth quarter-ret uretprobes)" \
	truth quarter-ret uretprobes

# every window sees the calls made in it: with calls 100 us apart, an entry probe put back before
# its return probe left a call open, and the thread's later calls looked nested in it, unreported
TLSBPF_NO_SESSIONS=1 $TLSBPF -q --sample 4 --sample-by time --sample-window 10 \
	--csv "$T/fast.csv" -- "$paced" 2000 100 0 >"$T/fast.out" 2>"$T/fast.err"
fast=$(python3 - "$T/fast.csv" "$T/fast.out" "${TLSBPF_GUEST:-}" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
pid = dict(x.split('=') for x in open(sys.argv[2]).read().split() if '=' in x)['pid']
calls = [int(r['ts_ns']) for r in rows if r['pid'] == pid and r['event'] == 'malloc']
# windows wholly inside the loop: from the first call seen to the last
wins, since = [], None
for r in rows:
    if r['event'] == 'sample_on':
        since = int(r['ts_ns'])
    elif r['event'] == 'sample_off' and since is not None:
        if calls and since > calls[0] and int(r['ts_ns']) < calls[-1]:
            wins.append((since, int(r['ts_ns'])))
        since = None
short = []
for a, b in wins:
    n = sum(a <= t <= b for t in calls)
    want = (b - a) / 100e3
    if n < want / 2:
        short.append((round((b - a) / 1e6, 1), n))
# an emulated guest may run the program late: there the windows are only counted
ok = len(wins) >= 5 and (not short or bool(sys.argv[3]))
print(f"{len(wins)} windows, {len(short)} with under half their calls {short[:5]}; ok={ok}")
PY
)
check "uretprobes, calls 100 us apart: each whole window of the loop holds its calls: $fast" \
	[ "${fast##*ok=}" = True ]

# one window longer than the program: its leaks are seen as the full run sees them
$TLSBPF -q --sample 2 --sample-by time --sample-window 20000 --summary-json "$T/long.json" \
	-- "$paced" 300 2000 3 >"$T/long.out" 2>&1
check "a window that outlasts the program: its 3 leaks of 777 B are claimed, none hedged" \
	python3 -c "
import json, sys
p = json.load(open('$T/long.json'))['processes'][0]
got = ([(l['size'], l['count']) for l in p['leaks']], p['sample_unseen_blocks'])
print(got)
sys.exit(0 if got == ([(777, 3)], 0) else 1)"

# attach: -p toggles the library file's probes the same way
"$paced" 4000 1000 3 >"$T/attach.out" 2>&1 &
victim=$!
for _ in $(seq 100); do grep -q pid= "$T/attach.out" && break; sleep 0.05; done
$TLSBPF -q -p "$victim" --sample 4 --sample-by time --csv "$T/attach.csv" \
	--summary "$T/attach.sum" --summary-json "$T/attach.json" >/dev/null 2>"$T/attach.err"
wait "$victim"
check "-p, 1 in 4 by time: $(truth attach "attach")" truth attach attach

# a hot loop: calls cut by a window are no loss (a busy machine may still fill a ring: that
# loss is counted apart), and no block is freed twice or invalidly
$TLSBPF -v -q --sample 10 --sample-by time --sample-window 10 --csv "$T/hot.csv" \
	--summary "$T/hot.sum" -- "$OUTPUT/bench/workload" -d 1500 >/dev/null 2>"$T/hot.err"
rc=$?
res=$(csvq "$T/hot.csv" "(sum(r['event'] == 'sample_off' for r in rows), sum(f in ('double_free', 'invalid_free') for r in rows for f in r['flags'].split('|')))")
cut=$(sed -n 's/.*map full, \([0-9]*\) calls whose return never came.*/\1/p' "$T/hot.err")
check "a 2-thread malloc+free loop, 1 in 10 by time (rc $rc): (windows closed, double/invalid \
flags) = $res; calls lost uncut: ${cut:-?}; $(grep 'records lost' "$T/hot.err")" \
	[ "$rc" -eq 0 -a "$(echo "$res" | cut -d, -f2)" = " 0)" -a "${cut:-x}" = 0 ]

# analyze reads the windows back and states the same
$TLSBPF analyze --summary "$T/again.sum" --summary-json "$T/again.json" "$T/quarter.csv" 2>/dev/null
check "analyze of the CSV states the same windows and time" python3 -c "
import json, sys
a, b = (json.load(open(f))['sample_by_time'] for f in ('$T/quarter.json', '$T/again.json'))
print(a, b)
sys.exit(0 if a == b else 1)"
check "the text report of analyze says it was sampled by time" \
	grep -q "^sampled by time: the allocator probes were on" "$T/again.sum"

# bad input: one line, non-zero
for bad in "--sample-by time" "--sample 4 --sample-by sometimes" "--sample 4 --sample-window 5" \
	"--sample 4 --sample-by time --sample-window 0"; do
	# shellcheck disable=SC2086
	$TLSBPF -q $bad -- /bin/true >/dev/null 2>"$T/bad.err"
	rc=$?
	check "'$bad' is refused in one line (rc $rc): $(cat "$T/bad.err")" \
		[ "$rc" -ne 0 -a "$(wc -l <"$T/bad.err")" -eq 1 ]
done
