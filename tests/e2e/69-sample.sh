#!/usr/bin/env bash
# --sample N: one allocation call in N per thread, with the free of each, said everywhere.
. "$(dirname "$0")/lib.sh"
need_bpf

$TLSBPF -q --sample 10 --csv "$T/s.csv" --summary "$T/s.sum" --summary-json "$T/s.json" -- \
	"$PROGS/tp_count" -t 2 -n 1000 >"$T/s.out" 2>"$T/s.err"
res=$(python3 - "$T/s.csv" "$T/s.out" <<'PY'
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
said = set()
workers = set()
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] == 'alloc':
        d = dict(x.split('=', 1) for x in f[1:])
        said.add((d['tid'], int(d['addr'], 16)))
        workers.add(d['tid'])
mal = [(r['tid'], int(r['addr'], 16)) for r in rows if r['event'] == 'malloc' and r['size'] == '123']
per = collections.Counter(t for t, _ in mal)
frees = [(r['tid'], int(r['addr'], 16)) for r in rows
         if r['event'] == 'free' and 'internal' not in r['flags'].split('|')]
alloc_rows = [r for r in rows if r['event'] in ('malloc', 'calloc', 'realloc', 'free')]
recorded = {(r['tid'], int(r['addr'], 16)) for r in alloc_rows if r['event'] != 'free'}
recorded_pids = {int(r['addr'], 16) for r in alloc_rows if r['event'] != 'free'}
unflagged = sum(1 for r in alloc_rows if 'sampled' not in r['flags'].split('|'))
print(' '.join(str(per[w]) for w in sorted(workers)),
      sum(1 for k in mal if k in said), len(mal),
      sum(1 for k in frees if k in set(mal)), sum(1 for t, a in frees if a in recorded_pids),
      len(frees), unflagged)
PY
)
read -r w1 w2 inprog nmal nfree_match nfree_rec nfree unflagged <<<"$res"
check "--sample 10: each worker thread's 1000 calls give 100 rows ($w1, $w2)" [ "$w1" = 100 -a "$w2" = 100 ]
check "every recorded malloc is one the program made ($inprog of $nmal)" [ "$inprog" = "$nmal" ]
check "every recorded malloc(123)'s free is recorded ($nfree_match of $nmal)" [ "$nfree_match" = "$nmal" ]
check "no free of a block whose allocation was not recorded ($nfree_rec of $nfree frees)" \
	[ "$nfree_rec" = "$nfree" ]
check "every allocator row carries the flag sampled ($unflagged without)" [ "$unflagged" = 0 ]
check "the summary says one call in 10 was recorded" grep -q "one allocation call in 10" "$T/s.sum"
check "the JSON says sample_every 10" \
	python3 -c "import json,sys; sys.exit(json.load(open('$T/s.json'))['sample_every'] != 10)"
$TLSBPF analyze "$T/s.csv" >"$T/a.sum" 2>&1
check "analyze of a sampled CSV says it was sampled" grep -q "^sampled:" "$T/a.sum"
