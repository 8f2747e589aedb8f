#!/usr/bin/env bash
# A launched command's probes trap in its private copy of the C library alone: a process tlsbpf
# does not watch runs none of its programs (the kernel's own run count says so); --no-confine
# probes the file, and then it does. -v and the report say which, and who pays.
. "$(dirname "$0")/lib.sh"
need_bpf
stats=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled="$stats"; rm -rf "$T"' EXIT

# runs IDS BEFORE AFTER: how many more times the allocator programs with those ids ran
runs() {
	python3 - "$@" <<'PY'
import json, sys
ids = {int(i) for i in sys.argv[1].split()}
def total(path):
    return sum(p.get("run_cnt", 0) for p in json.load(open(path))
               if p.get("id") in ids and p.get("name") in ("alloc_enter", "alloc_call", "alloc_exit"))
print(total(sys.argv[3]) - total(sys.argv[2]))
PY
}

# bystander [OPTION]: while tlsbpf watches a sleeper, an unwatched program makes 20,000
# malloc+free pairs; prints how many runs of tlsbpf's allocator programs that cost. With -p,
# tlsbpf attaches to a sleeper already running.
bystander() {
	local pid tpid ids
	cp /bin/sleep "$T/sleeper"
	if [ "${1-}" = -p ]; then
		shift
		"$T/sleeper" 150 &
		pid=$!
		$TLSBPF -v -q "$@" --summary "$T/sum" -p "$pid" >/dev/null 2>"$T/err" &
		tpid=$!
		wait_live "$T/err"
	else
		$TLSBPF -v -q "$@" --summary "$T/sum" --summary-json "$T/sum.json" -- "$T/sleeper" 30 \
			>/dev/null 2>"$T/err" &
		tpid=$!
		for _ in $(seq 200); do pid=$(pgrep -f "^$T/sleeper") && break; sleep 0.05; done
	fi
	# this tlsbpf's programs, by the ids its file descriptors hold: others may run meanwhile
	ids=$(cat /proc/$tpid/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:[[:space:]]*//p' | tr '\n' ' ')
	sysctl -qw kernel.bpf_stats_enabled=1
	bpftool prog show -j >"$T/before.json"
	"$PROGS/tp_count" -t 0 -n 20000 -s 123 >/dev/null
	bpftool prog show -j >"$T/after.json"
	sysctl -qw kernel.bpf_stats_enabled="$stats"
	kill "$pid" 2>/dev/null
	wait "$tpid"
	runs "$ids" "$T/before.json" "$T/after.json"
}

ran=$(bystander)
check "by default, an unwatched program's 20,000 mallocs run none of tlsbpf's probes (ran $ran times)" \
	[ "$ran" -eq 0 ]
check "-v says the probes are on a private copy that nobody else loads: $(grep 'tlsbpf: probes on' "$T/err")" \
	grep -q "probes on a private copy of the C library .*no other process pays the trap" "$T/err"
check "the report says so too: $(grep '^probes:' "$T/sum")" \
	grep -q "^probes: on a private copy of the C library" "$T/sum"
check "and the JSON report (\"probes\")" \
	python3 -c 'import json,sys; sys.exit("private copy" not in json.load(open(sys.argv[1]))["probes"])' "$T/sum.json"

ran=$(bystander --no-confine)
check "--no-confine: the same mallocs each run tlsbpf's entry probe (ran $ran times)" \
	[ "$ran" -ge 20000 ]
check "-v says every process that maps the file pays: $(grep 'tlsbpf: probes on' "$T/err")" \
	grep -q "probes on the library file: every process that maps it pays the trap" "$T/err"
check "the report says so too: $(grep '^probes:' "$T/sum")" \
	grep -q "^probes: on the library file: every process that maps it pays the trap" "$T/sum"

# -p: the breakpoints go into the watched process alone where the kernel can keep a child's
# inherited probes apart from its parent's (Linux 6.12 on); --no-confine puts them on the file.
read -r kmaj kmin _ <<<"$(uname -r | tr '.-' '  ')"
if [ $(( kmaj > 6 || (kmaj == 6 && kmin >= 12) )) = 1 ]; then
	ran=$(bystander -p)
	check "-p: an unwatched program's 20,000 mallocs run none of tlsbpf's probes (ran $ran times)" \
		[ "$ran" -eq 0 ]
	check "-p: -v says the probes are in the watched process alone: $(grep 'tlsbpf: probes placed' "$T/err")" \
		grep -q "probes placed in the 1 process watched alone" "$T/err"
	check "-p: the report says so too: $(grep '^probes:' "$T/sum")" \
		grep -q "^probes: placed in the 1 process watched alone.*no other process pays the trap" "$T/sum"
else
	skip "-p: an unwatched program runs none of tlsbpf's probes" "Linux $kmaj.$kmin: probes on the files"
fi
ran=$(bystander -p --no-confine)
check "-p --no-confine: the same mallocs each run tlsbpf's entry probe (ran $ran times)" \
	[ "$ran" -ge 20000 ]
check "-p --no-confine: the report says every process that maps the file pays: $(grep '^probes:' "$T/sum")" \
	grep -q "^probes: on the library file: every process that maps it pays the trap" "$T/sum"
taxed=$(sed -n 's/^probes: .*(\([0-9]*\) calls of [0-9]* process\(es\)\{0,1\} not watched did)$/\1/p' "$T/sum")
check "-p --no-confine: the report counts the calls of processes not watched that trapped (${taxed:-none}), at least the bystander's 20,000 mallocs and 20,000 frees" \
	[ "${taxed:-0}" -ge 40000 ]

payers=$(sed -n 's/^probes: .*calls of \([0-9]*\) process\(es\)\{0,1\} not watched did)$/\1/p' "$T/sum")
check "-p --no-confine: the report counts the bystander among the processes not watched that paid (${payers:-none})" \
	[ "${payers:-0}" -ge 1 ]

# -a taxes every process that maps the library: its status line says how many processes not
# watched paid the trap in the last second or two. Three churners of ours run throughout, so
# every line from the second on counts at least them (others on the machine may add to it).
for i in 1 2 3; do "$PROGS/tp_churn" -t 1 -L 6 -p 200 >/dev/null & done
$TLSBPF -a --comm tlsbpf-nobody --duration 4 >/dev/null 2>"$T/a.err"
rc=$?
wait
counts=$(sed -n "s/^tlsbpf: .* \([0-9]*\) process\(es\)\{0,1\} not watched paid the probes' trap (\([0-9]*\) calls\/s)$/\1/p" "$T/a.err" | tail -n +2)
check "-a --comm: exit 0 (got $rc) and a status line a second: $(tail -1 "$T/a.err")" \
	[ "$rc" -eq 0 -a "$(echo "$counts" | grep -c .)" -ge 2 ]
check "-a --comm: each status line counts the 3 churners among the processes taxed ($(echo $counts))" \
	awk 'NF && $1 < 3 { bad = 1 } END { exit bad }' <<<"$counts"

# A grandchild that clears its environment still loads the copy (bound over the library file in
# the command's own mount namespace), and the command's environment is its own.
$TLSBPF -q --csv "$T/e.csv" -- sh -c 'echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH-unset}"; env -i '"$PROGS/tp_count"' -t 0 -n 50 -s 321' \
	>"$T/out" 2>"$T/err"
rc=$?
seen=$(csvq "$T/e.csv" "sum(1 for r in rows if r['event'] == 'malloc' and r['size'] == '321')")
check "an env -i grandchild's calls are all seen ($seen of 50, exit $rc)" [ "$rc" -eq 0 -a "$seen" -eq 50 ]
check "the command's environment is left as it was: $(grep LD_LIBRARY_PATH "$T/out")" \
	grep -q "^LD_LIBRARY_PATH=${LD_LIBRARY_PATH-unset}\$" "$T/out"

# Where a private copy would miss calls, the file is probed, and -v says why.
cp "$PROGS/tp_count" "$T/suid" && chmod u+s "$T/suid"
$TLSBPF -v -q --csv "$T/s.csv" -- "$T/suid" -t 0 -n 50 >"$T/out" 2>"$T/err"
rc=$?
seen=$(csvq "$T/s.csv" "sum(1 for r in rows if r['event'] == 'malloc' and r['size'] == '123')")
check_sh "a set-user-ID command is not confined, and -v says why (exit $rc): $(grep 'not confined' "$T/err")" \
	'[ "$rc" -eq 0 ] && grep -q "not confined: .*set-user-ID" "$T/err" && grep -q "probes on the library file" "$T/err"'
check "its calls are all seen on the file ($seen of 50)" [ "$seen" -eq 50 ]
musl-gcc -O1 -fno-builtin -o "$T/musl_prog" tests/progs/tp_ids.c 2>/dev/null
if [ -x "$T/musl_prog" ]; then
	$TLSBPF -v -q -- "$T/musl_prog" >"$T/out" 2>"$T/err"
	rc=$?
	check_sh "a musl program is not confined: its C library is its interpreter (exit $rc)" \
		'[ "$rc" -eq 0 ] && grep -q "not confined: .*program interpreter" "$T/err"'
else
	skip "a musl program is not confined" "no musl-gcc"
fi
