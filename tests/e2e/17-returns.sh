#!/usr/bin/env bash
# Return probes: uprobe sessions where the kernel has them, so that a process tlsbpf does not
# watch skips the return; uretprobes otherwise (TLSBPF_NO_SESSIONS=1 forces them).
. "$(dirname "$0")/lib.sh"
need_bpf
unset TLSBPF_NO_SESSIONS TLSBPF_OLDEST	# set here where wanted, whatever the run was given

# What the kernel offers, read independently of tlsbpf: its BTF names the attach type and kfunc.
btf=$(bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null)
if grep -q "FUNC 'bpf_session_is_return'" <<<"$btf" && grep -q "'BPF_TRACE_UPROBE_SESSION'" <<<"$btf"; then
	has_sessions=1 want="a uprobe session"
else
	has_sessions=0 want="uretprobes"
fi
unset btf
$TLSBPF -v -q -- true 2>"$T/err" >/dev/null
check "-v says the return probes are ${want}: $(grep 'return probes' "$T/err")" \
	grep -q "return probes: $want" "$T/err"
TLSBPF_NO_SESSIONS=1 $TLSBPF -v -q -- true 2>"$T/err" >/dev/null
check "TLSBPF_NO_SESSIONS=1: uretprobes ($(grep 'return probes' "$T/err"))" \
	grep -q "return probes: uretprobes" "$T/err"

# runs IDS FILE...: the run counts of the allocator programs with those ids (one tlsbpf's: others
# may run at the same time) in each bpftool listing, as "enter call exit" (read from files, so
# that no counted malloc runs between the readings)
runs() {
	python3 - "$@" <<'PY'
import json, sys
ids = {int(i) for i in sys.argv[1].split()}
for path in sys.argv[2:]:
    n = {"alloc_enter": 0, "alloc_call": 0, "alloc_exit": 0}
    for p in json.load(open(path)):
        if p.get("name") in n and p.get("id") in ids:
            n[p["name"]] += p.get("run_cnt", 0)
    print(n["alloc_enter"], n["alloc_call"], n["alloc_exit"])
PY
}

# An unwatched program's 20,000 malloc+free pairs while tlsbpf watches a sleeper. The kernel's
# own count of each program's runs says whether the returns were probed: a session's entry
# and return are two runs of one program; without sessions each return is a run of alloc_exit.
unwatched() { # mode: prints "enter call exit" run counts over the unwatched program's run
	local stats pid before after tpid ids
	stats=$(sysctl -n kernel.bpf_stats_enabled)
	cp /bin/sleep "$T/sleeper"
	# the sleeper on a private copy of its C library, the unwatched program on a copy of its
	# own that tlsbpf probes too: no other process on the machine runs these probes
	mkdir -p "$T/lc"
	cp "$(ldd "$PROGS/tp_count" | awk '$1 == "libc.so.6" { print $3 }')" "$T/lc/libc.so.6"
	if [ "$1" = uretprobes ]; then
		TLSBPF_NO_SESSIONS=1 $TLSBPF -q --confine --lib "$T/lc/libc.so.6" -- "$T/sleeper" 30 >/dev/null 2>&1 &
	else
		$TLSBPF -q --confine --lib "$T/lc/libc.so.6" -- "$T/sleeper" 30 >/dev/null 2>&1 &
	fi
	tpid=$!
	for _ in $(seq 200); do pid=$(pgrep -f "^$T/sleeper") && break; sleep 0.05; done
	# this tlsbpf's programs, by the ids its file descriptors hold
	ids=$(cat /proc/$tpid/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:[[:space:]]*//p' | tr '\n' ' ')
	sysctl -qw kernel.bpf_stats_enabled=1
	bpftool prog show -j >"$T/before.json"
	LD_LIBRARY_PATH=$T/lc "$PROGS/tp_count" -t 0 -n 20000 -s 123 >/dev/null
	bpftool prog show -j >"$T/after.json"
	sysctl -qw kernel.bpf_stats_enabled="$stats"
	kill "$pid" 2>/dev/null
	wait
	runs "$ids" "$T/before.json" "$T/after.json" | python3 -c 'import sys
b, a = (l.split() for l in sys.stdin)
print(*(int(y) - int(x) for x, y in zip(b, a)))'
}

if [ "$has_sessions" = 1 ]; then
	read -r enter call exit <<<"$(unwatched sessions)"
	check "sessions: an unwatched program's 20,000 mallocs run the session's entry alone (alloc_call ran $call times, alloc_exit $exit)" \
		[ "$call" -ge 20000 -a "$call" -lt 30000 -a "$exit" -eq 0 ]
else
	skip "sessions: an unwatched program skips the return" "this kernel has no uprobe sessions"
fi
read -r enter call exit <<<"$(unwatched uretprobes)"
check "uretprobes: an unwatched program's 20,000 mallocs each run the return program too (alloc_exit ran $exit times, alloc_call $call)" \
	[ "$exit" -ge 20000 -a "$call" -eq 0 ]

# A kernel without sessions, as the loader meets it: a preloaded shim makes the bpf system call
# refuse the session program. tlsbpf says so, loads the uretprobe links instead, and is exact.
LD_PRELOAD=$PROGS/no_sessions.so ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	$TLSBPF -v -q --csv "$T/old.csv" -- "$PROGS/tp_count" -t 2 -n 300 -s 123 >"$T/old.out" 2>"$T/old.err"
rc=$?
if [ "$has_sessions" = 1 ]; then
	check_sh "sessions refused: tlsbpf falls back to uretprobes and says so (exit $rc): $(grep -m1 'no uprobe sessions' "$T/old.err")" \
		'[ "$rc" -eq 0 ] && grep -q "no uprobe sessions here (Invalid argument): uretprobes instead" "$T/old.err" &&
		 grep -q "return probes: uretprobes (this kernel has no uprobe sessions)" "$T/old.err"'
else
	# nothing to refuse: the BTF already said no, so no load is tried and fails first
	check_sh "no sessions in this kernel: uretprobes from the first load (exit $rc): $(grep -m1 'return probes' "$T/old.err")" \
		'[ "$rc" -eq 0 ] && ! grep -q "no uprobe sessions here" "$T/old.err" &&
		 grep -q "return probes: uretprobes (this kernel has no uprobe sessions)" "$T/old.err"'
fi
said=$(grep -c '^alloc' "$T/old.out")
seen=$(csvq "$T/old.csv" "sum(1 for r in rows if r['event'] == 'malloc' and r['size'] == '123')")
check "sessions refused: every malloc(123) is still a row ($seen of $said)" [ "$said" -eq 600 -a "$seen" -eq "$said" ]
