#!/usr/bin/env bash
# Children that share their parent's memory (vfork, clone(CLONE_VM)): rows and every report
# against what the program says its child did; no report path may crash on such a child.
. "$(dirname "$0")/lib.sh"
need_bpf

# The program's alloc/free/leak lines against the CSV and the JSON report. One
# "ok|fail<TAB>what" line per comparison.
compare() {
	python3 - "$T/prog.out" "$T/out.csv" "$T/live.json" <<'PY'
import csv, json, sys
prog, path, jpath = sys.argv[1:4]
said = {'alloc': [], 'free': [], 'leak': []}
for line in open(prog):
    f = line.split()
    if f and f[0] in said:
        said[f[0]].append(dict(x.split('=', 1) for x in f[1:]))
rows = list(csv.DictReader(open(path, newline='')))

def find(event, d):
    return [r for r in rows if r['event'] == event and r['pid'] == d['pid'] and
            r['addr'] and int(r['addr'], 16) == int(d['addr'], 16)]

def report(ok, msg):
    print(('ok' if ok else 'fail') + '\t' + msg)

child = {d['pid'] for d in said['alloc']} - {d['pid'] for d in said['leak']}
bad = [d for d in said['alloc'] if not (len(find('malloc', d)) == 1 and
       find('malloc', d)[0]['size'] == d['size'] and find('malloc', d)[0]['region'] == d['region'])]
report(not bad and len(child) == 1,
       f"{len(said['alloc']) - len(bad)}/{len(said['alloc'])} allocations (the child's too) are "
       f"one row each with the size and the chunk header's region; first bad: {bad[:1]}")
bad = []
for d in said['free']:
    got = find('free', d)
    fl = set(got[0]['flags'].split('|')) - {''} if len(got) == 1 else set()
    if len(got) != 1 or got[0]['origin_pid'] != d['alloc_pid'] or \
       fl & {'invalid_free', 'double_free', 'inherited', 'unknown_origin'}:
        bad.append((d, [(r['origin_pid'], r['flags']) for r in got]))
report(not bad and len(said['free']) >= 2,
       f"{len(said['free']) - len(bad)}/{len(said['free'])} frees across the shared memory: "
       f"origin is the process that allocated, no invalid/double/inherited; first bad: {bad[:1]}")
j = json.load(open(jpath))
procs = {str(p['pid']): p for p in j['processes']}
parent = procs.get(said['leak'][0]['pid']) if said['leak'] else None
sizes = {l['size']: l['count'] for l in parent['leaks']} if parent else {}
report(parent is not None and sizes.get(int(said['leak'][0]['size']), 0) >= 1,
       f"the block the child kept is a leak of the parent, whose memory it is: {sizes}")
c = procs.get(next(iter(child))) if child else None
arenas = [a for t in c['threads'] for a in t['arenas']] if c else []
report(c is not None and c['ran_in'] is not None and
       j['processes'][c['ran_in']]['pid'] == int(said['leak'][0]['pid']) and
       arenas == [said['leak'][0]['pid'] + ':heap'],
       f"the child ran in its parent's memory and was served by the parent's heap: {arenas}")
PY
}

run() { # mode
	local mode=$1 rc status msg
	$TLSBPF -q --csv "$T/out.csv" --summary "$T/live.txt" --summary-json "$T/live.json" \
		-- "$PROGS/tp_vfork" "$mode" >"$T/prog.out" 2>"$T/err"
	rc=$?
	check "$mode: tlsbpf exits with the program's status 0 (got $rc)" [ "$rc" -eq 0 ]
	check "$mode: the text report reaches its totals" grep -q '^totals: ' "$T/live.txt"
	compare >"$T/cmp" 2>&1 || echo "fail	comparison crashed: $(tail -1 "$T/cmp")" >>"$T/cmp"
	while IFS=$'\t' read -r status msg; do
		check "$mode: $msg" [ "$status" = ok ]
	done <"$T/cmp"
	$TLSBPF analyze --summary "$T/a.txt" --summary-json "$T/a.json" \
		--report "$T/a.md" "$T/out.csv" >"$T/a.out" 2>&1
	rc=$?
	check "$mode: analyze writes text, JSON and markdown (rc $rc)" \
		[ "$rc" -eq 0 -a -s "$T/a.md" ]
	check_sh "$mode: analyze's JSON parses and names the child's arena as the parent's" \
		"python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); \
sys.exit(not any(a.endswith(\":heap\") for p in j[\"processes\"] for t in p[\"threads\"] \
for a in t[\"arenas\"]))' '$T/a.json'"
}

run vfork
run clone
