#!/usr/bin/env bash
# Soak: minutes of allocation churn; tlsbpf's memory stays flat and its counts do not drift.
# SOAK_SECONDS sets the length (default 600 in CI, 60 otherwise): three quarters of it with a
# fixed set of threads, a quarter with a lab that starts new threads all the time.
. "$(dirname "$0")/lib.sh"
need_bpf

SOAK=${SOAK_SECONDS:-$([ "${CI:-}" = true ] && [ "${TLSBPF_SANITIZE:-}" != 1 ] && echo 600 || echo 60)}
CHURN=$((SOAK * 3 / 4 > 4 ? SOAK * 3 / 4 : 4))
LAB=$((SOAK - CHURN > 2 ? SOAK - CHURN : 2))

says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $out" [ "$rc" -eq 0 ]
}

# procs FIELD VALUE: "pid comm" of each live (not zombie) process whose /proc/PID/stat field
# FIELD (4: parent, 6: session) is VALUE
procs() {
	local f s comm
	local -a st
	for f in /proc/[0-9]*/stat; do
		{ s=$(<"$f"); } 2>/dev/null || continue
		comm=${s#*\(}
		comm=${comm%\)*}
		read -r -a st <<<"${s##*\) }"
		# a zombie has ended: tlsbpf reaps it only once its reports are written
		[ "${st[$(($1 - 3))]}" = "$2" ] && [ "${st[0]}" != Z ] && echo "${f//[!0-9]/} $comm"
	done
}

# tlsbpf's own memory: its anonymous RSS. The ring buffer is a file-backed mapping whose pages
# become resident as the producer first reaches them, at any time in a run: bounded by
# --ringbuf-mb, and not tlsbpf's to leak (a 10-minute run saw VmRSS step up 6 MiB at 350 s).
rss_kb() { awk '$1 == "RssAnon:" { print $2 }' "/proc/$1/status" 2>/dev/null; }

# soak NAME SECONDS COMMAND...: run it under tlsbpf and take tlsbpf's anonymous RSS 1 s in
# (first_kb), once warm (start_kb: a tenth of the run in, at least 3 s), and every SECONDS/20
# while the command runs (end_kb, the last; peak_kb).
soak() {
	local name=$1 secs=$2 pid step kb t=1 warm
	shift 2
	timeout -s KILL $((secs + 60)) $TLSBPF -q --summary "$T/$name.sum" \
		--summary-json "$T/$name.json" -- "$@" >"$T/$name.out" 2>"$T/$name.err" &
	for _ in $(seq 100); do
		pid=$(procs 4 $! | awk '$2 == "tlsbpf" { print $1 }')
		[ -n "$pid" ] && break
		sleep 0.01
	done
	step=$((secs / 20 > 1 ? secs / 20 : 1))
	warm=$((secs / 10 > 3 ? secs / 10 : 3))
	sleep 1
	first_kb=$(rss_kb "$pid") start_kb="" end_kb=""
	# while the command runs: once it has ended, tlsbpf tears its ring buffer down and writes
	# its reports (symbols, sites: megabytes at once). A sample counts only if the command is
	# still running after it was read.
	while kb=$(rss_kb "$pid") && [ -n "$kb" ] && [ -n "$(procs 4 "$pid")" ]; do
		[ -z "$start_kb" ] && [ "$t" -ge "$warm" ] && start_kb=$kb
		end_kb=$kb
		echo "$t $kb" >>"$T/$name.rss"
		sleep "$step"
		t=$((t + step))
	done
	start_kb=${start_kb:-$first_kb}
	peak_kb=$(sort -n -k2 "$T/$name.rss" | tail -1 | cut -d' ' -f2)
	wait $!
	rc=$?
}

# ---- a fixed set of threads: nothing may grow ----

soak churn "$CHURN" "$PROGS/tp_churn" -t 2 -k 256 -L "$CHURN" -p 100
check "tp_churn -t 2 -k 256 -L $CHURN under tlsbpf: exit 0 (got $rc) $(head -c 160 "$T/churn.err")" \
	[ "$rc" -eq 0 ]
events=$(python3 -c "import json; print(json.load(open('$T/churn.json'))['events'])")
growth=$((end_kb - start_kb))
series=$(awk '{ s = s (NR > 1 ? " " : "") $1 "s:" $2 } END { print s }' "$T/churn.rss")
# The block table keeps a freed address as a tombstone (double-free and reuse detection), so it
# grows with the distinct addresses malloc handed out, which the program counts: with random
# sizes they keep growing slowly as the heap fragments, and the table doubles at some point of
# the run. 96 B an address: a doubled table is 64 B a record, and the old one (32 B a record)
# may stay in tlsbpf's heap. Anything growing with the events would pass that bound many times.
addrs=$(sed -n 's/^summary .*addresses=\([0-9]*\).*/\1/p' "$T/churn.out")
bound=$((start_kb / 20 > 4096 ? start_kb / 20 : 4096))
bound=$((bound + ${addrs:-0} * 96 / 1024))
check "tlsbpf's anonymous RSS over $CHURN s and $events events: $first_kb kB at 1 s, $start_kb kB once \
warm, $end_kb kB at the end, peak $peak_kb kB; growth since warm $growth kB (bound $bound kB: \
4 MiB or 5%, and 96 B for each of the ${addrs:-?} distinct addresses the program got); kB by \
second: $series" \
	[ -n "$start_kb" -a -n "$addrs" -a "$growth" -le "$bound" ]

says "the counts: every thread's allocations, frees and live bytes are the program's" \
	python3 - "$T/churn.json" "$T/churn.out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
said = {}
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] == 'thread':
        d = {k: int(v) for k, v in (x.split('=') for x in f[1:])}
        said[d['tid']] = d
ts = {t['tid']: t for p in j['processes'] for t in p['threads']}
bad = [tid for tid, d in said.items() if tid not in ts or
       (ts[tid]['allocations'], ts[tid]['frees'], ts[tid]['live_bytes']) !=
       (d['allocs'], d['frees'], d['live_bytes'])]
tot = j['totals']
print(f"{len(said)} threads, {sum(d['allocs'] for d in said.values())} allocations and "
      f"{sum(d['live'] for d in said.values())} live blocks said; {len(bad)} threads differ; "
      f"totals {tot['allocations']} allocations = {tot['frees']} frees + "
      f"{tot['leaked_blocks']} live at the end + {tot['libc_kept_blocks']} kept by the C library; "
      f"{j['events_lost']} lost")
sys.exit(0 if said and not bad and tot['allocations'] == tot['frees'] + tot['leaked_blocks'] +
         tot['libc_kept_blocks']
         and j['events_lost'] == 0 else 1)
PY

# ---- a lab that starts 4 threads per round: only the per-thread records may grow ----

soak lab "$LAB" labs/08a_tls_malloc_layout_map -L "$LAB" -t 4 -n 1000 -l 20
check "08a -L $LAB -t 4 -n 1000 -l 20 under tlsbpf: exit 0 (got $rc) $(head -c 160 "$T/lab.err")" \
	[ "$rc" -eq 0 ]
says "tlsbpf's RSS grows by the threads it reports, not by the events" \
	python3 - "$T/lab.json" "$first_kb" "$start_kb" "$end_kb" "$peak_kb" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
first, start, end, peak = map(int, sys.argv[2:6])
threads = j['totals']['threads']
per = (end - start) * 1024 / max(threads, 1)
print(f"{first} kB at 1 s, {start} kB once warm, {end} kB at the end, peak {peak} kB; "
      f"{threads} threads and "
      f"{j['events']} events: {per:.0f} B per thread (bound 2048: the thread's record; "
      f"each thread makes 2000 events)")
sys.exit(0 if per <= 2048 else 1)
PY
says "the counts: each round's threads made 1000 allocations and 1000 frees" \
	python3 - "$T/lab.json" "$T/lab.out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
rounds = int(open(sys.argv[2]).read().split('iterations=')[1].split()[0])
p = j['processes'][0]
side = [t for t in p['threads'] if t['tid'] != p['pid']]
good = sum(1 for t in side if t['allocations'] == 1000 and t['frees'] == 1000)
tot = j['totals']
print(f"{rounds} rounds, {len(side)} threads (want {4 * rounds}), {good} with 1000/1000; totals "
      f"{tot['allocations']} allocations = {tot['frees']} frees + {tot['leaked_blocks']} live + "
      f"{tot['libc_kept_blocks']} kept by the C library; "
      f"{j['events_lost']} lost")
sys.exit(0 if len(side) == good == 4 * rounds and j['events_lost'] == 0 and
         tot['allocations'] == tot['frees'] + tot['leaked_blocks'] + tot['libc_kept_blocks']
         else 1)
PY
