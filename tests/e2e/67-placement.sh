#!/usr/bin/env bash
# Probes moved past single-stepped instructions see exactly what probes at the entry see.
. "$(dirname "$0")/lib.sh"
need_bpf
JEMALLOC=$(realpath /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null)
musl-gcc -O1 -pthread -fno-builtin -o "$T/tp_count_musl" tests/progs/tp_count.c 2>/dev/null

# rows: the multiset of (event, size, pid, tid, addr) the program's own calls produced
rows() {
	python3 - "$1" "$2" <<'PY'
import csv, sys, collections
said = set()
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] in ('alloc', 'free'):
        d = dict(x.split('=', 1) for x in f[1:])
        said.add((d['pid'], d['tid'], int(d['addr'], 16)))
c = collections.Counter()
for r in csv.DictReader(open(sys.argv[1], newline='')):
    if r['event'] in ('malloc', 'free', 'calloc', 'realloc') and r['addr'] and \
       (r['pid'], r['tid'], int(r['addr'], 16)) in said:
        c[r['event']] += 1
print(' '.join(f"{k}={v}" for k, v in sorted(c.items())))
PY
}

compare() { # name, env-prefix..., -- command...
	local name=$1
	shift
	$TLSBPF ${TBARGS:-} -v -q --csv "$T/placed.csv" -- "$@" >"$T/placed.out" 2>"$T/placed.err"
	$TLSBPF ${TBARGS:-} -q --probe-at-entry --csv "$T/entry.csv" -- "$@" >"$T/entry.out" 2>/dev/null
	local a b moved
	a=$(rows "$T/placed.csv" "$T/placed.out")
	b=$(rows "$T/entry.csv" "$T/entry.out")
	moved=$(grep -c 'entry+[1-9]' "$T/placed.err")
	check "$name: the same calls seen with probes placed ($a) and at entry ($b); $moved probes moved" \
		[ -n "$a" -a "$a" = "$b" ]
}

compare glibc "$PROGS/tp_count" -t 2 -n 300 -f
check "glibc: free's probe moved off its single-stepped first instruction" \
	grep -q "probing free in .* (entry+[1-9]" "$T/placed.err"
# the counts above were taken with free and malloc told apart by their page offsets, the
# other functions by their attach cookies: both ways into the entry program are exercised
check "glibc: free's and malloc's entry probes known by their page offsets ($(grep -o "entry probes: .*" "$T/placed.err"))" \
	grep -q "entry probes: free's known by their page offset 0x[0-9a-f]*, malloc's by their page offset" "$T/placed.err"
compare "glibc calloc" "$PROGS/tp_count" -t 2 -n 300 -C
compare "glibc realloc" "$PROGS/tp_count" -t 2 -n 300 -R
compare musl "$T/tp_count_musl" -t 2 -n 300
TBARGS="--lib $JEMALLOC" compare jemalloc env LD_PRELOAD="$JEMALLOC" "$PROGS/tp_count" -t 2 -n 300
