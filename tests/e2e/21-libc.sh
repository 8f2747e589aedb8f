#!/usr/bin/env bash
# Allocations the C library and the dynamic loader make for themselves carry the flag libc;
# the program's own never do. tp_count prints every block it allocated: those are the program's.
# glibc's loader allocates each new thread's DTV (calloc), and stdio a buffer for stdout.
. "$(dirname "$0")/lib.sh"
need_bpf

for threads in 0 3; do
	$TLSBPF -q --csv "$T/l.csv" -- "$PROGS/tp_count" -t $threads -n 50 -s 123 >"$T/out" 2>"$T/err"
	check "tp_count -t $threads runs (status $?)" [ $? -eq 0 ]
	res=$(python3 - "$T/l.csv" "$T/out" "$threads" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
mine = {int(l.split('addr=')[1], 16) for l in open(sys.argv[2]) if l.startswith('alloc ')}
threads = int(sys.argv[3])
pid = next(r['pid'] for r in rows if r['event'] == 'exec')
allocs = [r for r in rows if r['pid'] == pid and r['event'] in
          ('malloc', 'calloc', 'realloc', 'posix_memalign', 'memalign')]
libc = [r for r in allocs if 'libc' in r['flags'].split('|')]
own = [r for r in allocs if int(r['addr'], 16) in mine and r['size'] == '123']
problems = []
if len(own) != len(mine):
    problems.append('%d of the program\'s %d blocks are rows' % (len(own), len(mine)))
if any('libc' in r['flags'].split('|') for r in own):
    problems.append('a block of the program flagged libc')
dtv = [r for r in libc if r['event'] == 'calloc']
if len(dtv) != threads:
    problems.append('%d callocs flagged libc for %d threads' % (len(dtv), threads))
if not any(r['event'] == 'malloc' for r in libc):
    problems.append("stdio's buffer not flagged libc")
print('; '.join(problems) or 'right (%d flagged)' % len(libc))
PY
	)
	check "tp_count -t $threads: $res" [ "${res%% (*}" = right ]
done
