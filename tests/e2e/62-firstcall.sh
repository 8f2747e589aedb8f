#!/usr/bin/env bash
# A thread arena is an arena whichever allocator call glibc made it in (a thread's first free,
# realloc, calloc, memalign) and whichever thread it serves later: regions against the chunk
# header bits and glibc's heap_for_ptr, which the program prints.
. "$(dirname "$0")/lib.sh"
need_bpf

compare() {
	python3 - "$T/prog.out" "$T/out.csv" "$T/live.json" <<'PY'
import csv, json, sys
prog, path, jpath = sys.argv[1:4]
said = []
for line in open(prog):
    f = line.split()
    if f and f[0] == 'alloc':
        said.append(dict(x.split('=', 1) for x in f[1:]))
allocs = {'malloc', 'calloc', 'realloc', 'memalign'}
rows = {}
for r in csv.DictReader(open(path, newline='')):
    if r['event'] in allocs and r['addr']:
        rows.setdefault((r['pid'], r['tid'], int(r['addr'], 16)), []).append(r)

def report(ok, msg):
    print(('ok' if ok else 'fail') + '\t' + msg)

for first in ['free', 'realloc', 'calloc', 'memalign', 'malloc']:
    mine = [d for d in said if d['first'] == first]
    bad = []
    for d in mine:
        got = rows.get((d['pid'], d['tid'], int(d['addr'], 16)), [])
        want_base = None if d['base'] == '-' else int(d['base'], 16)
        if len(got) != 1 or got[0]['region'] != d['region'] or \
           (want_base is not None and int(got[0]['region_base'] or '0', 16) != want_base):
            bad.append((d['addr'], d['region'], d['base'],
                        [(r['region'], r['region_base']) for r in got]))
    narena = sum(d['region'] == 'arena' for d in mine)
    what = 'a later thread reusing an arena' if first == 'malloc' else f'first call {first}'
    report(not bad and narena >= 7,
           f"{what}: {len(mine) - len(bad)}/{len(mine)} blocks' region and base agree with "
           f"glibc ({narena} in an arena); first bad: {bad[:2]}")

bases = {d['base'] for d in said if d['base'] != '-'}
news = {b: 0 for b in bases}
for rs in rows.values():
    for r in rs:
        if 'new_arena' in r['flags'].split('|') and r['region_base'] in news:
            news[r['region_base']] += 1
report(len(bases) >= 4 and all(n == 1 for n in news.values()),
       f"each of the {len(bases)} arenas glibc used is flagged new_arena exactly once: {news}")

j = json.load(open(jpath))
tids = {}
for p in j['processes']:
    for t in p['threads']:
        tids[str(t['tid'])] = set(t['arenas'])
bad = [(d['tid'], d['base'], sorted(tids.get(d['tid'], ())))
       for d in said if d['base'] != '-' and d['base'] not in tids.get(d['tid'], ())]
report(not bad, f"every thread's arenas in the report hold the arena glibc served it from; "
       f"first bad: {bad[:2]}")
PY
}

$TLSBPF -q --csv "$T/out.csv" --summary-json "$T/live.json" -- "$PROGS/tp_firstcall" \
	>"$T/prog.out" 2>"$T/err"
rc=$?
check "tp_firstcall exits 0 under tlsbpf (got $rc)" [ "$rc" -eq 0 ]
compare >"$T/cmp" 2>&1 || echo "fail	comparison crashed: $(tail -1 "$T/cmp")" >>"$T/cmp"
while IFS=$'\t' read -r status msg; do
	check "$msg" [ "$status" = ok ]
done <"$T/cmp"
