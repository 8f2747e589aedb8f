#!/usr/bin/env bash
# Other allocators: a musl program and a jemalloc-preloaded one, launched and attached to.
. "$(dirname "$0")/lib.sh"
need_bpf
JEMALLOC=$(realpath /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null)
MUSL=$(realpath /lib/ld-musl-x86_64.so.1 2>/dev/null)
command -v musl-gcc >/dev/null && [ -n "$MUSL" ] && [ -n "$JEMALLOC" ] || {
	not_ok "musl-tools and libjemalloc2 are installed (make test installs them)"
	exit 0
}
musl-gcc -O1 -pthread -fno-builtin -o "$T/tp_count_musl" tests/progs/tp_count.c
musl-gcc -O1 -pthread -fno-builtin -o "$T/08a_musl" labs/08a_tls_malloc_layout_map.c

# compare PROG_OUT CSV: the program's own "alloc ... addr=" lines all appear as malloc rows
compare() {
	python3 - "$1" "$2" <<'PY'
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[2], newline='')))
said = collections.Counter()
for line in open(sys.argv[1]):
    f = line.split()
    if f and f[0] == 'alloc':
        d = dict(x.split('=', 1) for x in f[1:])
        said[(d['pid'], d['tid'], int(d['addr'], 16))] += 1
seen = collections.Counter((r['pid'], r['tid'], int(r['addr'], 16)) for r in rows
                           if r['event'] == 'malloc' and r['size'] == '123')
print(f"{sum(said.values())} said, {sum(seen.values())} seen")
sys.exit(0 if said == seen and said else 1)
PY
}

$TLSBPF -v -q --csv "$T/m.csv" -- "$T/tp_count_musl" -t 2 -n 100 >"$T/m.out" 2>"$T/m.err"
check "a musl program: tlsbpf finds musl's own malloc ($(grep -o 'probing malloc in [^ ]*' "$T/m.err" | head -1))" \
	grep -q "probing malloc in $MUSL" "$T/m.err"
check "a musl program: every malloc it made is a row: $(compare "$T/m.out" "$T/m.csv")" \
	compare "$T/m.out" "$T/m.csv"

if [ "${TLSBPF_SANITIZE:-}" = 1 ]; then
	# tlsbpf itself would run on jemalloc, under AddressSanitizer's own allocator
	skip "LD_PRELOAD jemalloc in tlsbpf's environment" "not under AddressSanitizer"
else
	LD_PRELOAD=$JEMALLOC $TLSBPF -v -q --csv "$T/j.csv" -- "$PROGS/tp_count" -t 2 -n 100 \
		>"$T/j.out" 2>"$T/j.err"
	check "LD_PRELOAD jemalloc: tlsbpf probes jemalloc" grep -q "probing malloc in $JEMALLOC" "$T/j.err"
	check "LD_PRELOAD jemalloc: every malloc is a row: $(compare "$T/j.out" "$T/j.csv")" \
		compare "$T/j.out" "$T/j.csv"
fi

$TLSBPF -q --lib "$JEMALLOC" --csv "$T/k.csv" -- env LD_PRELOAD="$JEMALLOC" "$PROGS/tp_count" -t 2 -n 100 \
	>"$T/k.out" 2>"$T/k.err"
check "--lib jemalloc with the preload set for the command only: $(compare "$T/k.out" "$T/k.csv")" \
	compare "$T/k.out" "$T/k.csv"

# mimalloc and tcmalloc, preloaded for the command with --lib naming them
for lib in libmimalloc.so.2.0 libtcmalloc_minimal.so.4; do
	path=$(realpath "/usr/lib/x86_64-linux-gnu/$lib" 2>/dev/null)
	if [ -z "$path" ]; then
		not_ok "$lib is installed (make deps installs it)"
		continue
	fi
	$TLSBPF -q --lib "$path" --csv "$T/o.csv" -- env LD_PRELOAD="$path" "$PROGS/tp_count" -t 2 \
		-n 100 >"$T/o.out" 2>"$T/o.err"
	check "--lib $lib with the preload set for the command only: $(compare "$T/o.out" "$T/o.csv")" \
		compare "$T/o.out" "$T/o.csv"
done

$TLSBPF -q --lib /lib/x86_64-linux-gnu/libc.so.6 --csv "$T/d.csv" -- "$PROGS/tp_count" -t 2 -n 100 \
	>"$T/d.out" 2>"$T/d.err"
frees=$(csvq "$T/d.csv" "sum(1 for r in rows if r['event'] == 'free' and 'internal' not in r['flags'])")
check "--lib naming the C library already probed: each free once ($frees rows for 200 frees)" \
	[ "$frees" -ge 200 -a "$frees" -lt 210 ]

attach_check() { # name, lib it must probe, command...
	local name=$1 lib=$2 pid rows
	shift 2
	# until told to stop: attaching may wait for an earlier run's classic uprobes to be released
	"$@" -L 0 -l 50 >/dev/null 2>&1 &
	pid=$!
	sleep 0.8
	$TLSBPF -v -q --csv "$T/at.csv" --duration 2 -p "$pid" 2>"$T/at.err"
	kill -TERM "$pid"
	wait "$pid"
	rows=$(csvq "$T/at.csv" "sum(1 for r in rows if r['event'] in ('malloc', 'free') and r['pid'] == '$pid')")
	check "-p on a $name program probes $lib" grep -q "probing malloc in /proc/$pid/root$lib" "$T/at.err"
	check "-p on a $name program: its malloc and free calls are rows ($rows)" [ "$rows" -gt 10 ]
	[ "$rows" -gt 10 ] || attach_diagnose
}
attach_diagnose() { # what tlsbpf said, and when the rows came, for a failure's report
	sed 's/^/# /' "$T/at.err"
	csvq "$T/at.csv" "'\\n'.join('# ' + r['ts_ns'] + ' ' + r['event'] + ' ' + r['pid'] for r in rows[:40])"
}
attach_check musl "$MUSL" "$T/08a_musl"
attach_check jemalloc-preloaded "$JEMALLOC" env LD_PRELOAD="$JEMALLOC" ./labs/08a_tls_malloc_layout_map
for lib in libmimalloc.so.2.0 libtcmalloc_minimal.so.4; do
	path=$(realpath "/usr/lib/x86_64-linux-gnu/$lib" 2>/dev/null)
	[ -n "$path" ] && attach_check "${lib%%.so*}-preloaded" "$path" \
		env LD_PRELOAD="$path" ./labs/08a_tls_malloc_layout_map
done

# A static binary: its own malloc, found in its symbol table.
if gcc -static -O1 -fno-builtin -pthread -o "$T/tp_static" tests/progs/tp_count.c 2>/dev/null; then
	$TLSBPF -v -q --csv "$T/st.csv" -- "$T/tp_static" -t 2 -n 100 >"$T/st.out" 2>"$T/st.err"
	check "a static binary: tlsbpf probes the binary itself" \
		grep -q "probing malloc in $T/tp_static" "$T/st.err"
	check "a static binary: every malloc is a row: $(compare "$T/st.out" "$T/st.csv")" \
		compare "$T/st.out" "$T/st.csv"
else
	not_ok "gcc -static builds a test program (libc6-dev's static library)"
fi

# A watched process that execs a program with another allocator: probed at its exec.
# Before that, such a program's calls were never seen: a row count well above zero is the test.
# late CSV JSON: "pid allocations unknown_origin invalid_or_double late_ms" of the musl 08a
late() {
	python3 - "$@" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
pids = {r['pid'] for r in rows if r['event'] == 'exec' and r['detail'].endswith('08a_musl')}
pid = pids.pop() if len(pids) == 1 else None
mine = [r for r in rows if r['pid'] == pid]
allocs = sum(1 for r in mine if r['event'] in ('malloc', 'calloc'))
unk = sum(1 for r in mine if 'unknown_origin' in r['flags'])
bad = sum(1 for r in mine if {'invalid_free', 'double_free'} & set(r['flags'].split('|')))
p = [p for p in json.load(open(sys.argv[2]))['processes'] if str(p['pid']) == pid]
late = p[0]['probed_late_ns'] if p else None
print(pid, allocs, unk, bad, 'none' if late is None else f"{late / 1e6:.1f}")
PY
}
$TLSBPF -q --csv "$T/x.csv" --summary-json "$T/x.json" -- \
	sh -c "$T/08a_musl -L 2 -l 50 >$T/x.out; true" 2>"$T/x.err"
read -r pid allocs unk bad late_ms <<<"$(late "$T/x.csv" "$T/x.json")"
check "a glibc shell runs a musl program: its calls are rows once musl is probed at its exec \
(pid $pid: $allocs allocations, probed $late_ms ms after the exec)" \
	[ "$pid" != None -a "${allocs:-0}" -gt 100 -a "$late_ms" != none ]
check "the calls before the probe went unseen: their frees are unknown_origin ($unk), never \
invalid or double ($bad)" [ "${bad:-1}" -eq 0 ]

# -a: a musl program started after tlsbpf, whose allocator no process had mapped at the start
$TLSBPF -v -a -q --comm 08a_musl --csv "$T/y.csv" --summary-json "$T/y.json" --duration 5 \
	2>"$T/y.err" &
tb=$!
wait_live "$T/y.err"
"$T/08a_musl" -L 2 -l 50 >"$T/y.out"
wait "$tb"
read -r pid allocs unk bad late_ms <<<"$(late "$T/y.csv" "$T/y.json")"
check "-a: a musl program started later gets its allocator probed at its exec (pid $pid: \
$allocs allocations, probed $late_ms ms after the exec)" \
	[ "$pid" != None -a "${allocs:-0}" -gt 100 -a "$late_ms" != none -a "${bad:-1}" -eq 0 ]
