#!/usr/bin/env bash
# The program's frees against the allocator's own, with the allocator in libc.so, inside a
# static glibc binary and inside a static musl binary: the frees tp_frees prints are its own
# (never `internal`), the free of a stack address is invalid, and glibc's cache flush at
# thread exit is never the program's double free.
. "$(dirname "$0")/lib.sh"
need_bpf

verdict() { # csv, program output, whether the thread cache flush must show as internal
	python3 - "$1" "$2" "$3" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
out = open(sys.argv[2]).read().split('\n')
pid = next(r['pid'] for r in rows if r['event'] == 'exec')
frees = {int(r['addr'], 16): set(r['flags'].split('|')) - {''} for r in rows
         if r['event'] == 'free' and r['pid'] == pid}
mine = [int(l.split()[1], 16) for l in out if l.startswith('free ')]
bad = [int(l.split()[1], 16) for l in out if l.startswith('invalid ')]
all_flags = [set(r['flags'].split('|')) for r in rows if r['event'] == 'free' and r['pid'] == pid]
problems = []
if len(mine) != 8 or any(frees.get(a) != set() for a in mine):
    problems.append("the program's frees: %s" % [frees.get(a) for a in mine])
if len(bad) != 1 or frees.get(bad[0]) != {'invalid_free'}:
    problems.append('the stack address: %s' % [frees.get(a) for a in bad])
if any('double_free' in f for f in all_flags):
    problems.append('a double free')
if sys.argv[3] == 'flush' and not any('internal' in f for f in all_flags):
    problems.append("no internal free at thread exit, where glibc flushes the threads' caches")
print('; '.join(problems) or 'right')
PY
}

run() { # what, binary, flush|noflush
	$TLSBPF -q --csv "$T/f.csv" -- "$2" >"$T/f.out" 2>"$T/f.err"
	check "$1: the free of a stack address ends the program (status $?)" [ $? -ge 128 ]
	res=$(verdict "$T/f.csv" "$T/f.out" "$3")
	check "$1: $res" [ "$res" = right ]
}

run "glibc, shared" "$PROGS/tp_frees" flush
if gcc -static -O1 -fno-builtin -pthread -o "$T/tp_frees_static" tests/progs/tp_frees.c; then
	run "glibc, static" "$T/tp_frees_static" flush
else
	not_ok "gcc -static builds a test program (libc6-dev's static library)"
fi
if musl-gcc -static -O1 -fno-builtin -o "$T/tp_frees_musl" tests/progs/tp_frees.c -lpthread; then
	run "musl, static" "$T/tp_frees_musl" noflush
else
	not_ok "musl-gcc builds a static test program (musl-tools)"
fi
