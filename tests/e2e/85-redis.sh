#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Debian's redis-server (jemalloc) attached with -p under redis-benchmark: tlsbpf's CSV counts
# each allocator function's calls exactly as bpftrace, counting on the same libraries, does.
. "$(dirname "$0")/lib.sh"
need_bpf
for c in redis-server redis-benchmark bpftrace; do
	command -v $c >/dev/null || {
		not_ok "$c is installed (make test installs redis-server, redis-tools, bpftrace)"
		exit 0
	}
done

srv= tb= bt=
cleanup() {
	# only what this test started, by pid; a stopped server must be continued to see SIGTERM
	[ -n "$tb" ] && kill -TERM "$tb" 2>/dev/null
	[ -n "$bt" ] && kill -TERM "$bt" 2>/dev/null
	if [ -n "$srv" ]; then
		kill -TERM "$srv" 2>/dev/null
		kill -CONT "$srv" 2>/dev/null
	fi
	wait
	rm -rf "$T"
}
trap cleanup EXIT

# A private server: no persistence, its own directory, a unix socket in it, a TCP port nobody
# else has (the system's redis, if one runs, is on 6379 and is never talked to).
start_server() {
	local port
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 30000))
		rm -f "$T/redis.log"
		redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$T/redis.sock" --save '' \
			--appendonly no --dir "$T" --logfile "$T/redis.log" --daemonize no &
		srv=$!
		for _ in $(seq 200); do
			grep -q "Ready to accept connections" "$T/redis.log" 2>/dev/null && return 0
			kill -0 "$srv" 2>/dev/null || break
			sleep 0.05
		done
		kill -TERM "$srv" 2>/dev/null
		wait "$srv"
		srv=
	done
	return 1
}
start_server
check "redis-server starts on a private port and socket: $(tail -1 "$T/redis.log" 2>/dev/null)" \
	[ -n "$srv" ]
[ -n "$srv" ] || exit 0
JE=$(awk '$6 ~ /\/libjemalloc\.so/ { print $6; exit }' "/proc/$srv/maps")
LIBC=$(awk '$6 ~ /\/libc\.so\.6$/ { print $6; exit }' "/proc/$srv/maps")
check "Debian's redis-server maps libjemalloc ($JE) beside libc ($LIBC)" [ -n "$JE" -a -n "$LIBC" ]
nfd=$(ls "/proc/$srv/fd" | wc -l)

# freeze: stop the server with every thread outside the allocator, the main thread waiting in
# epoll and the others blocked in a system call. Idle redis is not silent: serverCron mallocs
# and frees a dict iterator every second (migrateCloseTimedoutSockets), at any hz. Frozen,
# it makes no call while the two tracers attach or detach one after the other, so both see the
# same calls: those from the first thaw to the second freeze. A thread stopped inside a call
# could be half seen (jemalloc's free is probed 48 bytes in by tlsbpf, at its entry by
# bpftrace), so a freeze that finds one is undone and tried again.
freeze() {
	local t nr state ok
	for _ in $(seq 100); do
		kill -STOP "$srv"
		for _ in $(seq 100); do
			ok=1
			for t in /proc/$srv/task/*; do
				state=$(sed 's/.*) \(.\).*/\1/' "$t/stat")
				[ "$state" = T ] || ok=
			done
			[ -n "$ok" ] && break
			sleep 0.01
		done
		for t in /proc/$srv/task/*; do
			nr=$(cut -d' ' -f1 "$t/syscall")
			if [ "${t##*/}" = "$srv" ]; then
				# epoll_wait, epoll_pwait, epoll_pwait2
				case $nr in 232 | 281 | 441) ;; *) ok= ;; esac
			else
				case $nr in -1 | running) ok= ;; esac
			fi
		done
		[ -n "$ok" ] && return 0
		kill -CONT "$srv"
		sleep 0.03
	done
	return 1
}

# until every connection is closed (the fds the server had before any client)
wait_clients_gone() {
	for _ in $(seq 600); do
		[ "$(ls "/proc/$srv/fd" | wc -l)" -eq "$nfd" ] && return 0
		sleep 0.05
	done
	return 1
}

# bpftrace on the same pid and the same library files: every function tlsbpf probes there that
# redis or its libraries could call (free(NULL) is no call to count: tlsbpf writes no row)
{
	for f in malloc calloc realloc posix_memalign aligned_alloc memalign valloc mallocx rallocx \
		dallocx sdallocx; do
		echo "uprobe:$JE:$f /pid == $srv/ { @n[probe] = count(); }"
	done
	for f in malloc calloc realloc reallocarray posix_memalign memalign valloc pvalloc; do
		echo "uprobe:$LIBC:$f /pid == $srv/ { @n[probe] = count(); }"
	done
	echo "uprobe:$JE:free, uprobe:$LIBC:free /pid == $srv && arg0 != 0/ { @n[probe] = count(); }"
	echo 'BEGIN { printf("ready\n"); }'
} >"$T/count.bt"

check "the server freezes idle before the tracers attach" freeze
$TLSBPF -v -q -p "$srv" --csv "$T/r.csv" >"$T/tb.out" 2>"$T/tb.err" &
tb=$!
# -p: the probes go on the files, so they are in place before the server runs again; bpftrace
# with -p traps in this process alone, not in every process that maps libc
bpftrace -p "$srv" "$T/count.bt" >"$T/bt.out" 2>"$T/bt.err" &
bt=$!
for _ in $(seq 2400); do
	grep -q "probes live" "$T/tb.err" && grep -q "^ready" "$T/bt.out" && break
	kill -0 "$tb" 2>/dev/null && kill -0 "$bt" 2>/dev/null || break
	sleep 0.05
done
check "tlsbpf is live: $(grep -o 'probes live.*' "$T/tb.err")" grep -q "probes live" "$T/tb.err"
check "bpftrace is live: $(grep -o 'Attaching.*' "$T/bt.out") $(grep -v RLIMIT "$T/bt.err" | head -c 200)" \
	grep -q "^ready" "$T/bt.out"
check "tlsbpf probes redis's jemalloc" grep -q "probing malloc in /proc/$srv/root$JE" "$T/tb.err"
kill -CONT "$srv"

# -q still draws progress lines ended by \r
redis-benchmark -s "$T/redis.sock" -t set,get -n 20000 -c 10 -q 2>&1 | tr '\r' '\n' |
	grep "requests per second" >"$T/bench.out"
check "redis-benchmark ran SET and GET: $(paste -sd' ' "$T/bench.out")" \
	grep -q "^GET: .*requests per second" "$T/bench.out"
check "the benchmark's connections are all closed" wait_clients_gone
check "the server freezes idle again before the tracers detach" freeze
kill -INT "$tb"
wait "$tb"
rc=$?
tb=
kill -INT "$bt"
wait "$bt"
tb_bt=$?
bt=
check "tlsbpf exits 0 on SIGINT (got $rc)" [ "$rc" -eq 0 ]
check "bpftrace exits 0 on SIGINT (got $tb_bt)" [ "$tb_bt" -eq 0 ]

# compare: per allocator function, redis-server's calls as rows of tlsbpf's CSV (the function is
# the event, or the detail for jemalloc's own ones) against bpftrace's counts
res=$(python3 - "$T/r.csv" "$T/bt.out" "$srv" <<'PY'
import collections, csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
pid = sys.argv[3]
calls = ('malloc', 'calloc', 'realloc', 'reallocarray', 'free', 'posix_memalign',
         'aligned_alloc', 'memalign', 'valloc', 'pvalloc')
tl = collections.Counter(r['detail'] or r['event'] for r in rows
                         if r['pid'] == pid and r['event'] in calls)
lost = sum(int(r['size'] or 0) for r in rows if r['event'] == 'lost')
others = sum(1 for r in rows if r['pid'] != pid and r['event'] in calls)
bt = collections.Counter()
for line in open(sys.argv[2]):
    m = re.match(r'@n\[uprobe:[^:]*:(\w+)\]: (\d+)$', line.strip())
    if m:
        bt[m.group(1)] += int(m.group(2))
fns = sorted(set(tl) | set(bt), key=lambda f: -bt[f])
print(','.join(f"{f}={tl[f]}/{bt[f]}" for f in fns) or 'none', lost, others,
      int(tl == bt), min(bt['malloc'], bt['free']), min(bt['realloc'], bt['calloc']))
PY
)
read -r counts lost others same many few <<<"$res"
check "no event lost ($lost), no other process's call in the CSV ($others)" \
	[ "$lost" = 0 -a "$others" = 0 ]
check "redis made calls of malloc and free (fewest: $many), realloc and calloc (fewest: $few) in the window" \
	[ "${many:-0}" -gt 1000 -a "${few:-0}" -gt 0 ]
check "tlsbpf's rows equal bpftrace's counts per function (tlsbpf/bpftrace: $counts)" \
	[ "$same" = 1 ]
