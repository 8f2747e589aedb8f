#!/usr/bin/env bash
# --top: the text report shows the N largest processes, threads and leak sizes, and says what
# it left out in numbers that add up to what the program itself printed; --top 0 shows all.
. "$(dirname "$0")/lib.sh"
need_bpf

CHILDREN=60 THREADS=40 SIZES=60 LIMIT=60

# says WHAT CMD...: one check; its description ends with the last line CMD printed
says() {
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $(echo "$out" | tail -n 1)" [ "$rc" -eq 0 ]
}

# The program's own lines ("child pid=.. allocs=.. bytes=..", "thread tid=..", "leak size=..")
# and the text report's tables, for the checks below.
cat >"$T/q.py" <<'PY'
import re, sys
def recs(path, kind):
    out = []
    for line in open(path):
        f = line.split()
        if f and f[0] == kind:
            out.append({k: int(v) for k, v in (x.split('=', 1) for x in f[1:])})
    return out
def procs(text):
    """pid -> the lines of its section in the text report"""
    out, pid = {}, None
    for line in text.splitlines():
        m = re.match(r'\s*process (\d+) ', line)
        if m:
            pid = int(m.group(1))
            out[pid] = []
        elif pid is not None:
            out[pid].append(line)
    return out
def rows(lines):
    """tid -> (allocs, frees, requested) of the thread rows"""
    out = {}
    for line in lines:
        f = line.split()
        if len(f) > 6 and re.match(r'T\d+$', f[0]) and f[1].isdigit():
            out[int(f[1])] = (int(f[3]), int(f[4]), int(f[5]))
    return out
def more(lines, what):
    for line in lines:
        m = re.search(rf'and (\d+) more {what}: (\d+) allocations, (\d+) frees, (\d+) B requested',
                      line)
        if m:
            return tuple(int(x) for x in m.groups())
    return (0, 0, 0, 0)
def done(ok, msg):
    print(msg)
    sys.exit(0 if ok else 1)
PY
verify() { # WHAT ARGS... <<'PY'
	local what=$1
	shift
	says "$what" python3 -c "$(cat "$T/q.py"; cat)" "$@"
}

timeout "$LIMIT" $TLSBPF -q --csv "$T/a.csv" --summary "$T/a.txt" --summary-json "$T/a.json" \
	-- "$PROGS/tp_scale" -c "$CHILDREN" -t "$THREADS" >"$T/a.out" 2>"$T/a.err"
rc=$?
check "tp_scale -c $CHILDREN -t $THREADS under tlsbpf exits 0 (got $rc)" [ "$rc" -eq 0 ]

verify "the report stays small: at most 20 thread rows a table, no line past 400 bytes" \
	"$T/a.txt" <<'PY'
text = open(sys.argv[1]).read()
lines = text.splitlines()
tables = [len(rows(v)) for v in procs(text).values()]
longest = max(len(l) for l in lines)
done(max(tables) <= 20 and longest <= 400 and len(lines) < 400,
     f"{len(lines)} lines, longest {longest} bytes, largest thread table {max(tables)} rows")
PY

verify "threads: the rows shown and 'and N more threads' add up to the program's $THREADS \
workers and their calls" "$T/a.out" "$T/a.txt" <<'PY'
said = {r['tid']: r for r in recs(sys.argv[1], 'thread')}
pid = recs(sys.argv[1], 'summary')[0]['pid']
lines = procs(open(sys.argv[2]).read())[pid]
shown = rows(lines)
n, a, f, b = more(lines, 'threads?')
hidden = [r for t, r in said.items() if t not in shown]
exact = all(shown[t][:2] == (r['allocs'], r['allocs']) for t, r in said.items() if t in shown)
want = (len(hidden), sum(r['allocs'] for r in hidden), sum(r['allocs'] for r in hidden),
        sum(r['bytes'] for r in hidden))
done(len(said) == 40 and pid in shown and len(shown) == 20 and len(shown) + n == 41
     and (n, a, f, b) == want and exact,
     f"{len(shown)} rows (main thread {'in' if pid in shown else 'NOT in'} them) + {n} more = "
     f"{len(shown) + n} threads; more line {(n, a, f, b)}, program {want}; shown rows exact: {exact}")
PY

verify "processes: those shown and 'and N more descendant processes' add up to the program's \
$CHILDREN children and their calls" "$T/a.out" "$T/a.txt" <<'PY'
said = {r['pid']: r for r in recs(sys.argv[1], 'child')}
pid = recs(sys.argv[1], 'summary')[0]['pid']
sec = procs(open(sys.argv[2]).read())
n, a, f, b = more(sec[pid], r'descendant process(?:es)? \(not shown\)')
shown = [p for p in said if p in sec]
hidden = [r for p, r in said.items() if p not in sec]
want = (len(hidden), sum(r['allocs'] for r in hidden), sum(r['allocs'] for r in hidden),
        sum(r['bytes'] for r in hidden))
big = sorted(said, key=lambda p: -said[p]['bytes'])[:19]
done(len(said) == 60 and len(sec) == 20 and len(shown) + n == 60 and (n, a, f, b) == want
     and set(shown) == set(big),
     f"{len(sec)} processes shown ({len(shown)} children, the largest: {set(shown) == set(big)})"
     f" + {n} more = {len(shown) + n} children; more line {(n, a, f, b)}, program {want}")
PY

timeout "$LIMIT" $TLSBPF -q --summary "$T/b.txt" --summary-json "$T/b.json" \
	-- "$PROGS/tp_scale" -s "$SIZES" >"$T/b.out" 2>"$T/b.err"
rc=$?
check "tp_scale -s $SIZES under tlsbpf exits 0 (got $rc)" [ "$rc" -eq 0 ]

verify "leaks: the 20 sizes with most bytes, largest first, then 'and 40 more sizes' with the \
rest of what the program leaked" "$T/b.out" "$T/b.txt" <<'PY'
said = sorted(recs(sys.argv[1], 'leak'), key=lambda r: (-r['size'] * r['count'], -r['size']))
line = [l for l in open(sys.argv[2]) if l.strip().startswith('leaks: ')][0].strip()
top = ', '.join(f"{r['count']} x {r['size']} B" for r in said[:20])
rest = said[20:]
tail = (f", and {len(rest)} more sizes ({sum(r['size'] * r['count'] for r in rest)} B in "
        f"{sum(r['count'] for r in rest)} blocks) ({sum(r['size'] * r['count'] for r in said)} B "
        f"in {sum(r['count'] for r in said)} blocks)")
want = 'leaks: ' + top + tail
done(len(said) == 60 and line == want, f"{len(line)} bytes: {line[:70]}...{line[-80:]}"
     + ("" if line == want else f"; wanted ...{want[-80:]}"))
PY

# --top 0: everything, from the same run's CSV
$TLSBPF analyze --top 0 --summary "$T/all.txt" "$T/a.csv" 2>"$T/all.err"
rc=$?
check "analyze --top 0 exits 0 (got $rc)" [ "$rc" -eq 0 ]
verify "--top 0: every child and every worker thread has its own lines, none cut" \
	"$T/a.out" "$T/all.txt" <<'PY'
text = open(sys.argv[2]).read()
sec = procs(text)
pid = recs(sys.argv[1], 'summary')[0]['pid']
kids = [r['pid'] for r in recs(sys.argv[1], 'child')]
tids = [r['tid'] for r in recs(sys.argv[1], 'thread')]
shown = rows(sec[pid])
done(all(p in sec for p in kids) and all(t in shown for t in tids) and ' more ' not in text,
     f"{sum(p in sec for p in kids)} of {len(kids)} children, {sum(t in shown for t in tids)} of "
     f"{len(tids)} threads; 'more' in the text: {' more ' in text}")
PY
$TLSBPF -q --top 0 --summary "$T/ball.txt" -- "$PROGS/tp_scale" -s "$SIZES" >"$T/ball.out" 2>&1
verify "--top 0: every leaked size the program printed is on the leak line" \
	"$T/ball.out" "$T/ball.txt" <<'PY'
said = recs(sys.argv[1], 'leak')
line = [l for l in open(sys.argv[2]) if l.strip().startswith('leaks: ')][0]
found = [r for r in said if f"{r['count']} x {r['size']} B" in line]
done(len(said) == 60 and len(found) == 60 and 'more' not in line,
     f"{len(found)} of {len(said)} sizes on the line")
PY
$TLSBPF -q --summary-json "$T/j.json" -- "$PROGS/tp_scale" -s "$SIZES" >"$T/j.out" 2>&1
says "JSON keeps every leaked size whatever --top says" python3 - "$T/j.json" "$T/j.out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
said = [l.split() for l in open(sys.argv[2]) if l.startswith('leak ')]
pid = int([l.split()[1].split('=')[1] for l in open(sys.argv[2]) if l.startswith('summary')][0])
p = [x for x in j['processes'] if x['pid'] == pid][0]
print(f"{len(p['leaks'])} sizes in JSON, program {len(said)}")
sys.exit(0 if len(p['leaks']) == len(said) == 60 else 1)
PY
