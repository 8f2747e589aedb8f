#!/usr/bin/env bash
# Probes moved past single-stepped instructions see exactly what probes at the entry see, and
# exactly what the program says it did, for every allocator.
. "$(dirname "$0")/lib.sh"
need_bpf
LIBDIR=/usr/lib/x86_64-linux-gnu
JEMALLOC=$(realpath $LIBDIR/libjemalloc.so.2 2>/dev/null)
MIMALLOC=$(realpath $LIBDIR/libmimalloc.so.2.0 2>/dev/null)
TCMALLOC=$(realpath $LIBDIR/libtcmalloc_minimal.so.4 2>/dev/null)
musl-gcc -O1 -pthread -fno-builtin -o "$T/tp_count_musl" tests/progs/tp_count.c 2>/dev/null

# exact CSV PROG_OUT: the program's own alloc and free lines, each matched by exactly one row
# (pid, tid, addr; allocations of its size 123; frees not made from inside the allocator, as
# glibc's thread-exit cache flush is); prints "allocs=N frees=N", fails on any other
exact() {
	python3 - "$1" "$2" <<'PY'
import csv, sys, collections
said = collections.Counter()
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] in ('alloc', 'free'):
        d = dict(x.split('=', 1) for x in f[1:])
        said[(f[0], d['pid'], d['tid'], int(d['addr'], 16))] += 1
seen = collections.Counter()
for r in csv.DictReader(open(sys.argv[1], newline='')):
    if not r['addr'] or 'internal' in r['flags'].split('|'):
        continue
    kind = 'free' if r['event'] == 'free' else 'alloc' if r['event'] in \
        ('malloc', 'calloc', 'realloc') and r['size'] == '123' else None
    k = (kind, r['pid'], r['tid'], int(r['addr'], 16))
    if k in said:
        seen[k] += 1
n = lambda c, kind: sum(v for k, v in c.items() if k[0] == kind)
print(f"allocs={n(seen, 'alloc')} frees={n(seen, 'free')}", end='')
sys.exit(0 if seen == said and said else 1)
PY
}
exact_q() { exact "$@" >/dev/null; }

compare() { # name, command...
	local name=$1 a b moved
	shift
	$TLSBPF ${TBARGS:-} -v -q --csv "$T/placed.csv" -- "$@" >"$T/placed.out" 2>"$T/placed.err"
	$TLSBPF ${TBARGS:-} -q --probe-at-entry --csv "$T/entry.csv" -- "$@" >"$T/entry.out" 2>/dev/null
	a=$(exact "$T/placed.csv" "$T/placed.out")
	check "$name: probes placed: every call the program made, once ($a)" \
		exact_q "$T/placed.csv" "$T/placed.out"
	b=$(exact "$T/entry.csv" "$T/entry.out")
	check "$name: --probe-at-entry: every call the program made, once ($b)" \
		exact_q "$T/entry.csv" "$T/entry.out"
	moved=$(grep -c 'entry+[1-9]' "$T/placed.err")
	check "$name: the same counts both ways; $moved probes moved" [ -n "$a" -a "$a" = "$b" ]
}

# name LIB: every count for one preloaded allocator, and its free off the single-step
preloaded() {
	local name=$1 lib=$2
	if [ -z "$lib" ]; then
		not_ok "$name is installed (make deps installs it)"
		return
	fi
	TBARGS="--lib $lib" compare "$name" env LD_PRELOAD="$lib" "$PROGS/tp_count" -t 2 -n 300 -f
	check "$name: free's probe moved off the entry ($(grep -o "probing free in $lib.*" "$T/placed.err"))" \
		grep -q "probing free in $lib .* (entry+[1-9]" "$T/placed.err"
	check "$name: malloc's probe moved off the entry or emulated there" \
		grep -Eq "probing malloc in $lib .* \(entry\+([1-9]|0: arguments)" "$T/placed.err"
	TBARGS="--lib $lib" compare "$name calloc" env LD_PRELOAD="$lib" "$PROGS/tp_count" -t 2 -n 300 -C
	TBARGS="--lib $lib" compare "$name realloc" env LD_PRELOAD="$lib" "$PROGS/tp_count" -t 2 -n 300 -R
}

compare glibc "$PROGS/tp_count" -t 2 -n 300 -f
check "glibc: free's probe moved off its single-stepped first instruction" \
	grep -q "probing free in .* (entry+[1-9]" "$T/placed.err"
# the counts above were taken with free and malloc told apart by their page offsets, the
# other functions by their attach cookies: both ways into the entry program are exercised
check "glibc: free's and malloc's entry probes known by their page offsets ($(grep -o "entry probes: .*" "$T/placed.err"))" \
	grep -q "entry probes: free's known by their page offset 0x[0-9a-f]*, malloc's by their page offset" "$T/placed.err"
# glibc's reallocarray multiplies into rdx, its third argument's register, before any branch
check "glibc: a function left at its entry is named with the reason ($(grep -o "probing reallocarray.*" "$T/placed.err"))" \
	grep -q "probing reallocarray in .* (entry+0: single-stepped, not moved: .*mul" "$T/placed.err"
compare "glibc calloc" "$PROGS/tp_count" -t 2 -n 300 -C
compare "glibc realloc" "$PROGS/tp_count" -t 2 -n 300 -R
compare musl "$T/tp_count_musl" -t 2 -n 300 -f
preloaded jemalloc "$JEMALLOC"
preloaded mimalloc "$MIMALLOC"
# mimalloc's malloc finds its size in rsi: read from there, never by its page offset
check "mimalloc: malloc's size read from the register it was moved to" \
	grep -q "probing malloc in $MIMALLOC .*arguments in %rsi)" "$T/placed.err"
preloaded tcmalloc "$TCMALLOC"
