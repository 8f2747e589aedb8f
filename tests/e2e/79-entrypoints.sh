#!/usr/bin/env bash
# The allocators' own entry points (mallocx, tc_new, mi_zalloc...): one row per call, under the
# standard event, named in detail; aliases of malloc and free stay malloc and free.
. "$(dirname "$0")/lib.sh"
need_bpf
LIBDIR=/usr/lib/x86_64-linux-gnu

# match PROG_OUT CSV: the program's calls, in its order, are a run of its thread's allocator rows
# with nothing between them; an alias (tc_malloc is malloc) has an empty detail, and so has a
# forwarder, reported by the function it jumps to (test_entries checks the library still does)
match() {
	python3 - "$1" "$2" <<'PY'
import csv, sys
forwarders = {'mi_free_size'}
want, who = [], None
for line in open(sys.argv[1]):
    f = line.split()
    if not f or f[0] != 'call':
        continue
    d = dict(x.split('=', 1) for x in f[1:])
    who = (d['pid'], d['tid'])
    ev, alloc = d['event'], d['event'] != 'free'
    # no fn: the program cannot say which name its call went through (C++ operators)
    name = None if 'fn' not in d else '' if d['alias'] == '1' or d['fn'] in forwarders else d['fn']
    want.append((ev, int(d['addr'], 16),
                 int(d['old'], 16) if ev == 'realloc' else 0, d['size'] if alloc else '', name))
events = ('malloc', 'calloc', 'realloc', 'reallocarray', 'free', 'posix_memalign',
          'aligned_alloc', 'memalign', 'valloc', 'pvalloc')
got = [(r['event'], int(r['addr'], 16), int(r['old_addr'] or '0', 16) if r['event'] == 'realloc'
        else 0, r['size'] if r['event'] != 'free' else '', r['detail'])
       for r in csv.DictReader(open(sys.argv[2], newline=''))
       if (r['pid'], r['tid']) == who and r['event'] in events]
same = lambda g, w: g[:4] == w[:4] and w[4] in (None, g[4])
run = lambda i: len(got) - i >= len(want) and all(map(same, got[i:i + len(want)], want))
named = sum(1 for w in want if w[4])
at = [i for i in range(len(got)) if run(i)]
print(f"{len(want)} calls, {named} by their own name, "
      + (f"a run of rows from the thread's row {at[0] + 1}" if at else "no run of rows matches"))
sys.exit(0 if at and want else 1)
PY
}
matches() { match "$@" >/dev/null; }

# attach SET LIB: tlsbpf -p on tp_entries, which makes its calls once tlsbpf's probes are live
attach() {
	local pid tpid
	rm -f "$T/go"
	env LD_PRELOAD="$2" "$PROGS/tp_entries" "$1" 50 "$T/go" >"$T/p.out" &
	pid=$!
	$TLSBPF -v -q --csv "$T/p.csv" -p "$pid" >/dev/null 2>"$T/p.err" &
	tpid=$!
	wait_live "$T/p.err"
	touch "$T/go"
	wait "$pid"
	wait "$tpid"
}

for spec in je:libjemalloc.so.2 tc:libtcmalloc_minimal.so.4 mi:libmimalloc.so.2.0; do
	set=${spec%%:*}
	lib=$(realpath "$LIBDIR/${spec#*:}" 2>/dev/null)
	if [ -z "$lib" ]; then
		not_ok "${spec#*:} is installed (make deps installs it)"
		continue
	fi
	for how in "" --probe-at-entry; do
		$TLSBPF -q $how --lib "$lib" --csv "$T/$set.csv" -- \
			env LD_PRELOAD="$lib" "$PROGS/tp_entries" "$set" 50 >"$T/$set.out" 2>"$T/$set.err"
		check "${spec#*:} ${how:-placed probes}: $(match "$T/$set.out" "$T/$set.csv")" \
			matches "$T/$set.out" "$T/$set.csv"
	done
	attach "$set" "$lib"
	check "${spec#*:}, -p: $(match "$T/p.out" "$T/p.csv")" matches "$T/p.out" "$T/p.csv"
done

# A glibc program: the C library has none of these names, so nothing changes
$TLSBPF -v -q --csv "$T/g.csv" -- "$PROGS/tp_count" -t 2 -n 100 >"$T/g.out" 2>"$T/g.err"
probed=$(grep -o 'probing [a-z_]* in [^ ]*libc.so.6' "$T/g.err" | awk '{print $2}' | sort | tr '\n' ' ')
check "a glibc program: only the standard functions and the exit mark are probed ($probed)" \
	[ "$probed" = "__call_tls_dtors calloc free malloc memalign posix_memalign pvalloc realloc reallocarray valloc " ]
named=$(csvq "$T/g.csv" "sum(1 for r in rows if r['event'] in ('malloc', 'free') and r['detail'])")
mallocs=$(csvq "$T/g.csv" "sum(1 for r in rows if r['event'] == 'malloc' and r['size'] == '123')")
check "a glibc program: no row names an entry point ($named), its 200 mallocs are rows ($mallocs)" \
	[ "$named" -eq 0 -a "$mallocs" -eq 200 ]

# mimalloc's segments are PROT_NONE reservations too, 64 MiB-aligned at times: no glibc arena
mi=$(realpath "$LIBDIR/libmimalloc.so.2.0" 2>/dev/null)
if [ -n "$mi" ]; then
	$TLSBPF -q --lib "$mi" --csv "$T/r.csv" -- env LD_PRELOAD="$mi" "$PROGS/tp_count" -t 3 \
		-n 300 -s 5000 >"$T/r.out" 2>"$T/r.err"
	arenas=$(csvq "$T/r.csv" "sum(1 for r in rows if r['region'] == 'arena' or 'new_arena' in r['flags'])")
	mine=$(csvq "$T/r.csv" "sum(1 for r in rows if r['event'] == 'malloc' and r['size'] == '5000')")
	check "mimalloc: its 900 blocks are rows ($mine), none in an arena ($arenas rows say arena)" \
		[ "$mine" -eq 900 -a "$arenas" -eq 0 ]
fi

# C++ under tcmalloc: operator new is tc_new, never malloc; delete is free, sized and aligned
# delete functions of their own
tc=$(realpath "$LIBDIR/libtcmalloc_minimal.so.4" 2>/dev/null)
if [ -z "$tc" ]; then
	not_ok "libtcmalloc_minimal.so.4 is installed (make deps installs it)"
elif g++ -O1 -fno-builtin -fsized-deallocation -o "$T/tp_newdelete" tests/progs/tp_newdelete.cc; then
	$TLSBPF -q --lib "$tc" --csv "$T/nd.csv" -- env LD_PRELOAD="$tc" "$T/tp_newdelete" 100 \
		>"$T/nd.out" 2>"$T/nd.err"
	check "C++ on tcmalloc, operator new and delete: $(match "$T/nd.out" "$T/nd.csv")" \
		matches "$T/nd.out" "$T/nd.csv"
else
	not_ok "g++ builds tests/progs/tp_newdelete.cc"
fi
