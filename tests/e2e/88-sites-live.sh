#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# 88-sites-live: the bytes each allocation site still holds at the end (leaks by site), in the
# live run's JSON report and in analyze's, against the CSV replayed here by its own rules: a
# block is live from its allocation row until a free or realloc of its address in the same
# process, or that process's exec; a fork's copies are the parent's blocks, not the child's.
# Lab 08c forks while threads hold blocks (the child frees some it inherited) and 08a
# allocates from threads that end; tp_execkeep's children inherit blocks, one execs them away.
. "$(dirname "$0")/lib.sh"
need_bpf

for prog in labs/08c_fork_inject labs/08a_tls_malloc_layout_map "$PROGS/tp_execkeep"; do
	name=$(basename "$prog")
	"$TLSBPF" -q --top 100000 --csv "$T/$name.csv" --summary-json "$T/$name.json" -- "$prog" \
		>"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	"$TLSBPF" analyze --top 100000 --summary-json "$T/$name.an.json" "$T/$name.csv" \
		>/dev/null 2>"$T/$name.an.err"
	check "$name: the run and analyze end well (exit $rc, $?) $(head -c 200 "$T/$name.err")" \
		[ "$rc" -eq 0 -a -s "$T/$name.an.json" ]
	for json in "$T/$name.json" "$T/$name.an.json"; do
		verify "$name, $(basename "$json"): each site's live bytes and blocks are the CSV's" \
			"$T/$name.csv" "$json" <<'PY'
import csv, json, sys
from collections import Counter
ALLOC = {'malloc', 'calloc', 'realloc', 'reallocarray', 'posix_memalign', 'aligned_alloc',
         'memalign', 'valloc', 'pvalloc'}
live = {}
for r in csv.DictReader(open(sys.argv[1], newline='')):
    pid, ev = r['pid'], r['event']
    if ev == 'exec':
        live = {k: v for k, v in live.items() if k[0] != pid}
    elif ev == 'free':
        live.pop((pid, r['addr']), None)
    elif ev in ALLOC and 'failed' not in r['flags'].split('|'):
        if r['old_addr'] and int(r['old_addr'], 16):
            live.pop((pid, r['old_addr']), None)
        if int(r['addr'] or '0', 16):
            live[(pid, r['addr'])] = (int(r['stack_id'] or 0), int(r['size']))
want_b, want_n = Counter(), Counter()
for sid, size in live.values():
    want_b[sid] += size
    want_n[sid] += 1
sites = json.load(open(sys.argv[2]))['sites']['bytes']
got_b = Counter({s['stack_id']: s['live_bytes'] for s in sites if s['live_bytes']})
got_n = Counter({s['stack_id']: s['live_blocks'] for s in sites if s['live_blocks']})
want_b = Counter({k: v for k, v in want_b.items() if k})
want_n = Counter({k: v for k, v in want_n.items() if k})
print('%d sites hold %d B in %d blocks by the CSV; the report: %d sites, %d B, %d blocks' %
      (len(want_b), sum(want_b.values()), sum(want_n.values()), len(got_b),
       sum(got_b.values()), sum(got_n.values())))
sys.exit(not (want_b == got_b and want_n == got_n and sites))
PY
	done
done

echo "1..$n"
