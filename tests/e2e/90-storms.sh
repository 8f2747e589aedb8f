#!/usr/bin/env bash
# Storms: 1000 threads, then a tree of 500 processes that exec; every one followed, none extra,
# exec starts a process over, and nothing stays attached once tlsbpf has exited.
. "$(dirname "$0")/lib.sh"
need_bpf

says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $out" [ "$rc" -eq 0 ]
}

# bpf_state save FILE | left FILE: tlsbpf's programs and links loaded now; `left` fails when
# some appeared since `save` that no running tlsbpf holds (another run's are its own business).
bpf_state() { python3 tests/e2e/bpf_state.py "$@"; }

# run_session NAME ARGS...: tlsbpf in a session of its own, at most 120 s; sets rc, and sid
# so that what is left of the run can be found afterwards.
run_session() {
	local name=$1
	shift
	setsid timeout -s KILL 120 $TLSBPF "$@" >"$T/$name.out" 2>"$T/$name.err" &
	sid=$!
	wait "$sid"
	rc=$?
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

left_in_session() { # the processes still in the run's session, as "pid comm" pairs
	procs 6 "$sid" | tr '\n' ' '
}

bpf_state save "$T/bpf.before"

# ---- 1000 threads, each 10 malloc+free pairs ----

run_session threads -q --csv "$T/threads.csv" --summary-json "$T/threads.json" -- \
	"$PROGS/tp_storm" -T 1000 -n 10
check "tp_storm -T 1000 -n 10 exits 0 under tlsbpf (got $rc) $(head -c 200 "$T/threads.err")" \
	[ "$rc" -eq 0 ]
said=$(grep '^summary ' "$T/threads.out")
check "the program did its work: $said" \
	grep -q '^summary threads=1000 allocs=10000 frees=10000 ' "$T/threads.out"
left=$(left_in_session)
check "no process of the run left (${left:-none})" [ -z "$left" ]

says "every thread has its thread row, its exit row and its own 10 mallocs and 10 frees" \
	python3 - "$T/threads.csv" "$said" <<'PY'
import csv, collections, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
said = dict(f.split('=') for f in sys.argv[2].split()[1:])
root = rows[0]['pid']
sizes = {str(16 << k) for k in range(8)}
made = {r['tid'] for r in rows if r['event'] == 'thread' and r['pid'] == root}
ended = {r['tid'] for r in rows if r['event'] == 'exit_thread' and r['tid'] in made}
mallocs = collections.Counter(r['tid'] for r in rows if r['event'] == 'malloc'
                              and r['tid'] in made and r['size'] in sizes)
frees = collections.Counter(r['tid'] for r in rows if r['event'] == 'free' and r['tid'] in made
                            and 'internal' not in r['flags'].split('|'))
lost = sum(int(r['size']) for r in rows if r['event'] == 'lost')
recorded = sum(mallocs.values()) + sum(frees.values())
want = int(said['allocs']) + int(said['frees'])
print(f"{len(made)} thread rows, {len(ended)} exit_thread rows, {sum(mallocs.values())} malloc "
      f"and {sum(frees.values())} free rows in them (program: {said['allocs']} and "
      f"{said['frees']}), {lost} lost")
if lost == 0:
    ok = len(made) == int(said['threads']) and ended == made and \
        all(mallocs[t] == 10 and frees[t] == 10 for t in made) and recorded == want
else:	# a lost event may be any kind: the rows recorded and the ones lost must still add up
    ok = recorded <= want and want - recorded <= lost
sys.exit(0 if ok else 1)
PY

says "the report has 1001 threads, each of the 1000 with 10 allocations and 10 frees" \
	python3 - "$T/threads.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
p = j['processes'][0]
ts = [t for t in p['threads'] if t['tid'] != p['pid']]
good = [t for t in ts if t['allocations'] == 10 and t['frees'] == 10 and t['exited']]
print(f"{j['totals']['threads']} threads, {len(good)} of {len(ts)} with 10/10, "
      f"threads_created {p['threads_created']}, lost {j['events_lost']}")
sys.exit(0 if j['totals']['threads'] == 1001 and len(good) == len(ts) == 1000
         and p['threads_created'] == 1000 or j['events_lost'] > 0 else 1)
PY

# ---- a tree of 500 processes, every 5th of which execs /bin/true ----

run_session forks -q --csv "$T/forks.csv" --summary-json "$T/forks.json" -- \
	"$PROGS/tp_storm" -T 0 -F 500 -n 10
check "tp_storm -F 500 exits 0 under tlsbpf (got $rc) $(head -c 200 "$T/forks.err")" \
	[ "$rc" -eq 0 ]
said=$(grep '^summary ' "$T/forks.out")
check "the program did its work: $said" \
	grep -q '^summary threads=0 allocs=5000 frees=5000 processes=500 execs=100$' "$T/forks.out"
left=$(left_in_session)
check "no process of the run left (${left:-none})" [ -z "$left" ]

says "one fork row per process, one exec row per exec, every pid a descendant of the command" \
	python3 - "$T/forks.csv" "$said" <<'PY'
import csv, collections, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
said = dict(f.split('=') for f in sys.argv[2].split()[1:])
root = rows[0]['pid'] if rows[0]['event'] == 'exec' else None
parent = {r['pid']: r['origin_pid'] for r in rows if r['event'] == 'fork'}
forks = sum(1 for r in rows if r['event'] == 'fork')
execs = [r for r in rows if r['event'] == 'exec']
true_execs = sum(1 for r in execs if r['detail'] == '/bin/true')
def descends(pid):
    for _ in range(len(parent) + 1):
        if pid == root:
            return True
        if pid not in parent:
            return False
        pid = parent[pid]
    return False
pids = {r['pid'] for r in rows}
strays = sorted(p for p in pids if not descends(p))
exits = sum(1 for r in rows if r['event'] == 'exit')
lost = sum(int(r['size']) for r in rows if r['event'] == 'lost')
print(f"{forks} fork rows (program: {said['processes']} processes), {len(execs)} exec rows "
      f"({true_execs} of /bin/true; program: {said['execs']} execs), {len(pids)} pids, "
      f"{len(strays)} not descended from {root} {strays[:5]}, {exits} exit rows, {lost} lost")
ok = root and not strays and (lost > 0 or (forks == int(said['processes']) and
     true_execs == int(said['execs']) and len(execs) == true_execs + 1 and exits == forks + 1))
sys.exit(0 if ok else 1)
PY

says "mallocs and frees of the tree match the program's counts" \
	python3 - "$T/forks.csv" "$said" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
said = dict(f.split('=') for f in sys.argv[2].split()[1:])
root = rows[0]['pid']
sizes = {str(16 << k) for k in range(8)}
m = sum(1 for r in rows if r['event'] == 'malloc' and r['pid'] != root and r['size'] in sizes)
f = sum(1 for r in rows if r['event'] == 'free' and r['pid'] != root
        and 'internal' not in r['flags'].split('|'))
lost = sum(int(r['size']) for r in rows if r['event'] == 'lost')
want = int(said['allocs']) + int(said['frees'])
print(f"{m} malloc and {f} free rows in the children (program: {said['allocs']} and "
      f"{said['frees']}), {lost} lost")
sys.exit(0 if (m + f == want if lost == 0 else m + f <= want and want - m - f <= lost) else 1)
PY

says "the report: 501 processes, the 100 that exec'd are /bin/true with nothing live" \
	python3 - "$T/forks.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
ps = j['processes']
ex = [p for p in ps if p['exe'] == '/bin/true']
clean = [p for p in ex if p['execs'] == 1 and p['live_blocks'] == 0 and not p['leaks']
         and p['inherited_leaked_blocks'] == 0 and p['state'] == 'exited']
print(f"{len(ps)} processes ({j['totals']['processes']} in totals), {len(ex)} exec'd, "
      f"{len(clean)} of them clean")
sys.exit(0 if len(ps) == 501 and len(ex) == 100 and len(clean) == 100 else 1)
PY

# ---- exec drops what a child inherited; a child that does not exec keeps it ----

run_session execkeep -q --summary-json "$T/execkeep.json" -- "$PROGS/tp_execkeep" -n 50
said=$(grep '^summary ' "$T/execkeep.out")
check "tp_execkeep -n 50 exits 0 (got $rc): $said" [ "$rc" -eq 0 ]
says "the child that exec'd holds none of the 50 inherited blocks, its sibling all 50" \
	python3 - "$T/execkeep.json" "$said" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
said = dict(f.split('=') for f in sys.argv[2].split()[1:])
by = {p['pid']: p for p in j['processes']}
e, k = by.get(int(said['exec_child'])), by.get(int(said['plain_child']))
if not e or not k:
    print(f"a child is missing from the report: {sorted(by)}")
    sys.exit(1)
print(f"exec'd child {e['pid']} ({e['exe']}, execs {e['execs']}): inherited leaked "
      f"{e['inherited_leaked_blocks']}, leaked {e['leaked_blocks']}, live {e['live_blocks']}; "
      f"plain child {k['pid']}: inherited leaked {k['inherited_leaked_blocks']}")
sys.exit(0 if e['exe'] == '/bin/true' and e['execs'] == 1 and e['inherited_leaked_blocks'] == 0
         and e['leaked_blocks'] == 0 and e['live_blocks'] == 0
         and k['inherited_leaked_blocks'] == int(said['kept']) else 1)
PY

says "no tlsbpf program or link left attached" bpf_state left "$T/bpf.before"
