#!/usr/bin/env bash
# -p attaches to a running program; -a --comm catches one started later; bad PIDs are refused.
. "$(dirname "$0")/lib.sh"

expect_error() { # description, pattern, args...
	local what=$1 pat=$2 rc
	shift 2
	$TLSBPF "$@" >"$T/out" 2>"$T/err"
	rc=$?
	check_sh "$what: exit $rc, one line matching '$pat': $(head -c 160 "$T/err")" \
		'[ "$rc" -ne 0 -a "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- "$pat" "$T/err"'
}
expect_error "-p of a pid that does not exist" "no such process" -p 999999
expect_error "-p 0" "wants process ids" -p 0
expect_error "-p with a command too" "one of a command, -p or -a" -p 1 -- /bin/true
expect_error "--comm without -a" "--comm goes with -a" --comm x -- /bin/true
need_bpf
expect_error "-p of a kernel thread" "a kernel thread" -p 2
# Said before anything waits: while an earlier run's probes are being released (its
# tlsbpf-release process alive), -p waits up to a minute to place its own; a kernel thread is
# refused first. A sleep named tlsbpf-release stands in for the release; timeout ends a wait.
cp /bin/sleep "$T/tlsbpf-release"
"$T/tlsbpf-release" 120 &
fake=$!
timeout 30 $TLSBPF -q -p 2 >"$T/out" 2>"$T/err"
rc=$?
kill "$fake"
wait "$fake" 2>/dev/null
check_sh "-p of a kernel thread while a release runs: refused at once (exit $rc): $(head -c 160 "$T/err")" \
	'[ "$rc" -eq 2 ] && grep -q "a kernel thread" "$T/err"'
# A zombie (its parent, now a sleep, never reaps it) has ended: its maps read empty, as a
# kernel thread's do, and it is no kernel thread.
sh -c 'sleep 0 & exec sleep 30' &
zparent=$!
for _ in $(seq 50); do
	zombie=$(pgrep -P "$zparent" | head -1)
	[ -n "$zombie" ] && [ "$(awk '{print $3}' "/proc/$zombie/stat" 2>/dev/null)" = Z ] && break
	sleep 0.1
done
$TLSBPF -q -p "$zombie" >"$T/out" 2>"$T/err"
rc=$?
check_sh "-p of a zombie: it has ended, not a kernel thread (exit $rc): $(head -c 160 "$T/err")" \
	'[ "$rc" -ne 0 ] && grep -q "has it ended" "$T/err" && ! grep -q "kernel thread" "$T/err"'
# One that ends while tlsbpf waits for a (stand-in) release: said as ended, not as a kernel
# thread. Where the probes are on the library files (no per-process probes) nothing waits,
# and tlsbpf watches it to its end, or (a slow start, under emulation) says it ended first.
"$T/tlsbpf-release" 3 &
fake=$!
sleep 1 &
short=$!
$TLSBPF -v -q --summary /dev/null -p "$short" >"$T/out" 2>"$T/err"
rc=$?
wait "$fake" "$short" 2>/dev/null
if grep -q "waited" "$T/err"; then
	check_sh "-p of one that ends during the wait: said as ended (exit $rc): $(grep -v '^libbpf' "$T/err" | head -c 200)" \
		'[ "$rc" -ne 0 ] && grep -q "ended before tlsbpf could watch it" "$T/err" && ! grep -q "kernel thread" "$T/err"'
else
	check_sh "-p of one that ends, nothing to wait for: watched to its end, or said as ended (exit $rc): $(grep -v '^libbpf' "$T/err" | head -c 200)" \
		'! grep -q "kernel thread" "$T/err" && { [ "$rc" -eq 0 ] || grep -q "ended before tlsbpf could watch it" "$T/err"; }'
fi
kill "$zparent" 2>/dev/null
wait "$zparent" 2>/dev/null
# A signal while -p waits for a (stand-in) release ends the wait and the start: one line, exit
# 128+N, nothing opened left behind. Where nothing waits it is an ordinary -p run's end (exit 0).
"$T/tlsbpf-release" 60 &
fake=$!
sleep 30 &
target=$!
$TLSBPF -v -q --summary /dev/null -p "$target" >"$T/out" 2>"$T/err" &
tb=$!
sleep 1.5
kill -INT "$tb"
wait "$tb"
rc=$?
kill "$fake" "$target"
wait "$fake" "$target" 2>/dev/null
check_sh "-p stopped by SIGINT in its wait for a release: exit $rc: $(grep -v '^libbpf' "$T/err" | head -c 200)" \
	'{ [ "$rc" -eq 130 ] && grep -qx "tlsbpf: SIGINT while starting: nothing was watched" "$T/err"; } ||
	 { [ "$rc" -eq 0 ] && ! grep -q "waited" "$T/err"; }'
# A process whose main thread ended first (pthread_exit: a zombie, its maps empty) while
# another thread allocates on: a live process, watched through that thread.
"$PROGS/tp_leaderless" >"$T/ll.out" &
ll=$!
for _ in $(seq 50); do grep -q ready "$T/ll.out" && break; sleep 0.1; done
$TLSBPF -q --duration 2 --csv "$T/ll.csv" -p "$ll" >"$T/out" 2>"$T/err"
rc=$?
kill -TERM "$ll"
wait "$ll"
res=$(python3 - "$T/ll.csv" "$ll" "$(sed -n 's/^pairs=//p' "$T/ll.out")" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline='')) if r['pid'] == sys.argv[2]]
m = [r for r in rows if r['event'] == 'malloc']
f = [r for r in rows if r['event'] == 'free']
said = int(sys.argv[3] or 0)
ok = 0 < len(m) <= said and abs(len(m) - len(f)) <= 1 and all(r['tid'] != sys.argv[2] for r in m)
print('%s: %d mallocs, %d frees of the %d pairs it made, none on the ended main thread' %
      ('right' if ok else 'wrong', len(m), len(f), said))
PY
)
check "-p of a process whose main thread ended (exit $rc): $res $(head -c 160 "$T/err")" \
	[ "$rc" -eq 0 -a "${res%%:*}" = right ]
sh -c 'exec '"$TLSBPF"' -q -p $$' >"$T/out" 2>"$T/err"
rc=$?
check_sh "-p of tlsbpf's own pid is refused (exit $rc): $(head -c 160 "$T/err")" \
	'[ "$rc" -ne 0 ] && grep -q "tlsbpf itself" "$T/err"'

# A program running before tlsbpf: 08c in loop mode forks a child every round.
# It loops until told to stop, however long attaching takes (seconds under emulation).
./labs/08c_fork_inject -L 0 >"$T/lab.out" 2>&1 &
lab=$!
sleep 1
$TLSBPF -q --csv "$T/p.csv" --summary "$T/p.sum" --duration 3 -p "$lab" 2>"$T/err"
rc=$?
check "-p on a running 08c: exit 0 after --duration (got $rc)" [ "$rc" -eq 0 ]
check "the program still runs after tlsbpf detached" kill -0 "$lab"
kill -TERM "$lab"
wait "$lab"
lrc=$?
check "and ends unharmed with status 0 (got $lrc): $(tail -1 "$T/lab.out")" [ "$lrc" -eq 0 ]
res=$(python3 - "$T/p.csv" "$lab" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
lab = sys.argv[2]
own = [r for r in rows if r['pid'] == lab]
threads = {r['tid'] for r in own if r['event'] in ('malloc', 'free')}
forks = [r for r in rows if r['event'] == 'fork' and r['origin_pid'] == lab]
kids = {r['pid'] for r in forks}
kid_frees = [r for r in rows if r['pid'] in kids and r['event'] == 'free']
unknown = [r for r in own if r['event'] == 'free' and 'unknown_origin' in r['flags']]
invalid = [r for r in rows if 'invalid_free' in r['flags'] or 'double_free' in r['flags']]
print(len(threads), len(forks), len(kid_frees), len(unknown), len(invalid))
PY
)
read -r nthreads nforks nkidfrees nunknown nbad <<<"$res"
check "events from several of its threads ($nthreads threads with malloc/free rows)" [ "$nthreads" -ge 3 ]
check "its children forked after attach are followed ($nforks forks, $nkidfrees frees in them)" \
	[ "$nforks" -ge 1 -a "$nkidfrees" -ge 1 ]
check "no free is called invalid or double after attach ($nbad)" [ "$nbad" -eq 0 ]
check "the summary says pre-attach allocations are not counted" \
	grep -q "blocks allocated before tlsbpf attached are not counted" "$T/p.sum"

# Blocks allocated before attach: tp_exit sleeps holding none, so use 08a's loop, which frees
# blocks it got in the round that was running when tlsbpf arrived.
./labs/08a_tls_malloc_layout_map -L 0 -l 300 >"$T/lab.out" 2>&1 &
lab=$!
sleep 0.45
$TLSBPF -q --csv "$T/u.csv" --duration 1 -p "$lab" 2>"$T/err"
kill -TERM "$lab"
wait "$lab"
unk=$(csvq "$T/u.csv" "sum(1 for r in rows if r['event'] == 'free' and 'unknown_origin' in r['flags'])")
bad=$(csvq "$T/u.csv" "sum(1 for r in rows if 'invalid_free' in r['flags'] or 'double_free' in r['flags'])")
check "frees of blocks from before attach are unknown_origin ($unk), never invalid or double ($bad)" \
	[ "$unk" -ge 1 -a "$bad" -eq 0 ]

# -a --comm: a program started after tlsbpf is seen, tlsbpf's own allocations are not.
$TLSBPF -v -a --comm 08d_tls_alloc_i --csv "$T/a.csv" --duration 4 >"$T/a.out" 2>"$T/a.err" &
tb=$!
wait_live "$T/a.err"
./labs/08d_tls_alloc_inspector >"$T/lab.out"
wait "$tb"
res=$(python3 - "$T/a.csv" "$T/lab.out" "$tb" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
said = set()
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] == 'alloc':
        d = dict(x.split('=', 1) for x in f[1:])
        said.add((d['tid'], int(d['addr'], 16)))
seen = {(r['tid'], int(r['addr'], 16)) for r in rows if r['event'] == 'malloc'}
comms = {r['comm'] for r in rows}
mine = sum(1 for r in rows if r['pid'] == sys.argv[3])
print(len(said), len(said & seen), len(comms), mine)
PY
)
read -r nsaid nseen ncomms nmine <<<"$res"
check "-a --comm: every block the lab printed is a malloc row ($nseen of $nsaid)" \
	[ "$nsaid" -gt 0 -a "$nseen" -eq "$nsaid" ]
check "-a --comm: only that name in the CSV ($ncomms names), none of tlsbpf's own ($nmine rows)" \
	[ "$ncomms" -eq 1 -a "$nmine" -eq 0 ]
check "-a prints a status line on stderr instead of a line per event" \
	grep -q "events/s" "$T/a.err"

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups $TLSBPF -a -q --duration 1 >"$T/out" 2>"$T/err"
	rc=$?
	check_sh "-a without root: exit $rc and says to use sudo" '[ "$rc" -ne 0 ] && grep -q sudo "$T/err"'
fi
