#!/usr/bin/env bash
# Names: threads renamed after creation, threads seen only by -p, and each program a process
# runs (sh -c 'exec prog args', a shell's children) on a line of its own with its arguments.
. "$(dirname "$0")/lib.sh"
need_bpf

LIMIT=30
NAMES=$PROGS/tp_names

says() { # WHAT CMD...: one check; its description ends with the last line CMD printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $(echo "$out" | tail -n 1)" [ "$rc" -eq 0 ]
}

# Exec rows carry the new program's arguments in the `args` column; a tlsbpf built before that
# column writes none, and the checks on arguments are skipped for it.
has_args() { head -n 1 "$1" | tr ',' '\n' | grep -qx args; }

cat >"$T/q.py" <<'PY'
import json, sys
def said(path, kind):
    out = []
    for line in open(path):
        f = line.split()
        if f and f[0] == kind:
            out.append(dict(x.split('=', 1) for x in f[1:]))
    return out
def proc(path, pid):
    return [p for p in json.load(open(path))['processes'] if p['pid'] == int(pid)][0]
def done(ok, msg):
    print(msg)
    sys.exit(0 if ok else 1)
PY
verify() { # WHAT ARGS... <<'PY'
	local what=$1
	shift
	says "$what" python3 -c "$(cat "$T/q.py"; cat)" "$@"
}

# ---- sh -c 'exec tp_names -t 6 a b': renamed threads, two images ----

timeout "$LIMIT" $TLSBPF -q --csv "$T/a.csv" --summary "$T/a.txt" --summary-json "$T/a.json" \
	-- sh -c "exec $NAMES -t 6 a b" >"$T/a.out" 2>"$T/a.err"
rc=$?
check "sh -c 'exec tp_names -t 6 a b' under tlsbpf exits 0 (got $rc)" [ "$rc" -eq 0 ]

verify "every thread is named in the report as /proc named it at the end, calls after its \
rename or none" "$T/a.out" "$T/a.json" "$T/a.txt" <<'PY'
pid = said(sys.argv[1], 'summary')[0]['pid']
p = proc(sys.argv[2], pid)
got = {t['tid']: t['comm'] for t in p['threads']}
text = open(sys.argv[3]).read().split()
want = {int(t['tid']): t['name'] for t in said(sys.argv[1], 'thread')}
bad = {t: (n, got.get(t)) for t, n in want.items() if got.get(t) != n}
intext = all(n in text for n in want.values())
done(len(want) == 6 and not bad and intext,
     f"{len(want) - len(bad)} of {len(want)} names right in JSON, all in the text: {intext}"
     + (f"; wrong: {bad}" if bad else ""))
PY

verify "a CSV row made after a rename carries the new name" "$T/a.out" "$T/a.csv" <<'PY'
import csv
want = {t['tid']: t['name'] for t in said(sys.argv[1], 'thread') if t['calls_after'] != '0'}
rows = [r for r in csv.DictReader(open(sys.argv[2])) if r['tid'] in want and r['event'] == 'malloc']
bad = [r['comm'] for r in rows if r['comm'] != want[r['tid']]]
done(len(want) == 2 and len(rows) >= 2 and not bad,
     f"{len(rows)} malloc rows of the {len(want)} threads that allocate after their rename; "
     f"wrong names: {bad}")
PY

verify "the process shows its two programs apart: sh, then tp_names with every thread of the \
program in the second" "$T/a.out" "$T/a.json" "$T/a.txt" <<'PY'
pid = said(sys.argv[1], 'summary')[0]['pid']
p = proc(sys.argv[2], pid)
im = p['images']
tids = {int(t['tid']) for t in said(sys.argv[1], 'thread')}
second = {t['tid'] for t in p['threads'] if t['image'] == 1}
first = [t for t in p['threads'] if t['image'] == 0]
text = open(sys.argv[3]).read()
lines = [l.strip() for l in text.splitlines() if l.strip().startswith('image ')]
ok = (len(im) == 2 and im[0]['how'] == im[1]['how'] == 'exec' and im[0]['comm'] == 'sh'
      and im[1]['exe'].endswith('/tp_names') and tids | {int(pid)} == second
      and len(first) == 1 and first[0]['comm'] == 'sh' and len(lines) == 2
      and lines[0].startswith('image 1 of 2, exec ') and '/tp_names' in lines[1])
done(ok, f"images {[(i['how'], i['exe'], i['comm']) for i in im]}; image 2 threads "
     f"{len(second)} (program: {len(tids)} + main); text: {lines}")
PY

if has_args "$T/a.csv"; then
	verify "each image has its own arguments" "$T/a.json" "$T/a.out" "$NAMES" <<'PY'
pid = said(sys.argv[2], 'summary')[0]['pid']
im = proc(sys.argv[1], pid)['images']
want = [f"sh -c exec {sys.argv[3]} -t 6 a b", f"{sys.argv[3]} -t 6 a b"]
done([i['args'] for i in im] == want, f"args {[i['args'] for i in im]}, wanted {want}")
PY
else
	skip "each image has its own arguments" "the CSV has no args column: exec arguments come from the BPF side"
fi

# ---- the last thread alive, renamed by another thread and silent since, ends the process ----

timeout "$LIMIT" $TLSBPF -q --summary-json "$T/l.json" -- "$NAMES" -t 4 -l >"$T/l.out" 2>"$T/l.err"
rc=$?
check "tp_names -l under tlsbpf exits 0 (got $rc)" [ "$rc" -eq 0 ]
verify "a thread renamed by another and silent since, whose exit ends the process, has its name" \
	"$T/l.out" "$T/l.json" <<'PY'
pid = said(sys.argv[1], 'summary')[0]['pid']
got = {t['tid']: t['comm'] for t in proc(sys.argv[2], pid)['threads']}
want = {int(t['tid']): t['name'] for t in said(sys.argv[1], 'thread')}
bad = {t: (n, got.get(t)) for t, n in want.items() if got.get(t) != n}
done(len(want) == 4 and not bad, f"{len(want) - len(bad)} of {len(want)} names right"
     + (f"; wrong: {bad}" if bad else ""))
PY

# ---- a shell's two children running the same program: told apart by their arguments ----

timeout "$LIMIT" $TLSBPF -q --csv "$T/b.csv" --summary "$T/b.txt" --summary-json "$T/b.json" \
	-- sh -c "$NAMES -t 2 first; $NAMES -t 3 second" >"$T/b.out" 2>"$T/b.err"
rc=$?
check "a shell running tp_names twice under tlsbpf exits 0 (got $rc)" [ "$rc" -eq 0 ]
if has_args "$T/b.csv"; then
	verify "the shell's two tp_names children, each with its arguments on its exec image" \
		"$T/b.out" "$T/b.json" "$T/b.txt" <<'PY'
pids = [s['pid'] for s in said(sys.argv[1], 'summary')]
args = [proc(sys.argv[2], p)['images'][-1]['args'] for p in pids]
text = open(sys.argv[3]).read()
ok = (len(pids) == 2 and args[0].endswith('-t 2 first') and args[1].endswith('-t 3 second')
      and all(f"[{a}]" in text for a in args))
done(ok, f"children {pids}: args {args}")
PY
else
	skip "the shell's two children with their arguments" "the CSV has no args column: exec arguments come from the BPF side"
fi
verify "the shell's children are each a fork of sh, then an exec of tp_names with its own threads" \
	"$T/b.out" "$T/b.json" <<'PY'
pids = [s['pid'] for s in said(sys.argv[1], 'summary')]
want = [int(s['threads']) + 1 for s in said(sys.argv[1], 'summary')]
ims = [proc(sys.argv[2], p)['images'] for p in pids]
got = [(i[0]['how'], i[-1]['how'], i[-1]['exe'].split('/')[-1], i[-1]['threads']) for i in ims]
done(got == [('fork', 'exec', 'tp_names', w) for w in want], f"{got}, threads wanted {want}")
PY

# ---- -p: threads renamed before tlsbpf attached, which make no call while watched ----

"$NAMES" -t 4 -w >"$T/w.out" 2>&1 &
prog=$!
for _ in $(seq 100); do grep -q '^ready' "$T/w.out" && break; sleep 0.1; done
timeout 150 $TLSBPF -q --duration 2 --summary-json "$T/w.json" -p "$prog" \
	>"$T/w.tl" 2>"$T/w.err"
rc=$?
kill -TERM "$prog" 2>/dev/null
wait "$prog" 2>/dev/null
check "-p on tp_names -w exits 0 (got $rc)" [ "$rc" -eq 0 ]
verify "-p: each thread has its own name, not its process's" "$T/w.out" "$T/w.json" <<'PY'
pid = said(sys.argv[1], 'ready')[0]['pid']
got = {t['tid']: t['comm'] for t in proc(sys.argv[2], pid)['threads']}
want = {int(t['tid']): t['name'] for t in said(sys.argv[1], 'thread')}
bad = {t: (n, got.get(t)) for t, n in want.items() if got.get(t) != n}
done(len(want) == 4 and not bad, f"{len(want) - len(bad)} of {len(want)} names right"
     + (f"; wrong: {bad}" if bad else ""))
PY
