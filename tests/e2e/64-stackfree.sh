#!/usr/bin/env bash
# A free of an address on the main thread's stack, which no mmap event maps in launch mode, is
# placed on the stack: the program says where it freed, and glibc's own words: it is invalid.
. "$(dirname "$0")/lib.sh"
need_bpf

$TLSBPF -q --csv "$T/out.csv" -- "$PROGS/tp_stackfree" >"$T/prog.out" 2>"$T/err"
rc=$?
check "tp_stackfree exits 0 under tlsbpf (got $rc)" [ "$rc" -eq 0 ]
res=$(python3 - "$T/prog.out" "$T/out.csv" <<'PY'
import csv, sys
said = [dict(x.split('=', 1) for x in l.split()[1:]) for l in open(sys.argv[1])
        if l.startswith('free ')]
rows = list(csv.DictReader(open(sys.argv[2], newline='')))
bad = []
for d in said:
    got = [r for r in rows if r['event'] == 'free' and r['tid'] == d['tid'] and
           int(r['addr'], 16) == int(d['addr'], 16)]
    if len(got) != 1 or got[0]['region'] != d['region'] or \
       'invalid_free' not in got[0]['flags'].split('|'):
        bad.append((d['addr'], [(r['region'], r['flags']) for r in got]))
print('ok' if said and not bad else f'fail said={len(said)} bad={bad}')
PY
)
check "the free of a main-stack address is one row, region stack, invalid_free ($res)" \
	[ "$res" = ok ]
