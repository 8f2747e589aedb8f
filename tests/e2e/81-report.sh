#!/usr/bin/env bash
# --report FILE.md: the lab report's findings and layout agree with what the labs printed.
. "$(dirname "$0")/lib.sh"
need_bpf

LIMIT=20

# The lab's record lines and the report's layout boxes, for the checks below.
cat >"$T/mdq.py" <<'PY'
import re, sys
sys.path.insert(0, 'tests/e2e')
from labrec import recs
def regions(md):
    """the boxes of every layout diagram: (start, end, what, who)"""
    out, start, box = [], None, None
    for line in md.splitlines():
        m = re.match(r'\s*(0x[0-9a-f]+) \+-+\+$', line)
        if m and box:
            out.append((start, int(m.group(1), 16)) + box)
            box = None
        if m:
            start = int(m.group(1), 16)
        b = re.match(r'\s+\| (.*?)\s{2,}\S+ \S+ \| (.*)$', line)
        if b:
            box = (b.group(1), b.group(2))
    return out
def done(ok, msg):
    print(msg)
    sys.exit(0 if ok else 1)
PY

# verify WHAT ARGS... <<'PY': run the Python check on stdin once; its line of figures joins WHAT.
verify() {
	local what=$1 out rc
	shift
	out=$(python3 -c "$(cat "$T/mdq.py"; cat)" "$@" 2>&1)
	rc=$?
	check "$what: $(echo "$out" | tail -n 1)" [ "$rc" -eq 0 ]
}

report() { # TAG LAB ARGS...: the lab under tlsbpf with --report; $T/TAG.{out,md}, $rc
	local tag=$1 lab=$2
	shift 2
	timeout "$LIMIT" $TLSBPF -q --report "$T/$tag.md" -- "./labs/$lab" "$@" \
		>"$T/$tag.out" 2>"$T/$tag.err"
	rc=$?
}

report 08a 08a_tls_malloc_layout_map -t 4 -n 3
check "08a: tlsbpf --report exits 0 (got $rc)" [ "$rc" -eq 0 ]
title=$(head -n 1 "$T/08a.md")
check "the title names the command: '$title'" \
	[ "$title" = '# Lab report: `./labs/08a_tls_malloc_layout_map -t 4 -n 3`' ]
kernel=$(uname -r)
check "the report names the kernel uname gives ($kernel)" grep -qF "Linux $kernel" "$T/08a.md"
libc=$(getconf GNU_LIBC_VERSION)
check "the report names the glibc getconf gives ($libc)" grep -qF "$libc" "$T/08a.md"
for h in '## Findings' '## Address-space layout' '## What this means' '## Follow-up questions'
do
	check "the report has the heading '$h'" grep -qx "$h" "$T/08a.md"
done
marks=$(grep -c '^_to be written from this run_$' "$T/08a.md")
check "both sections for the author hold the placeholder ($marks)" [ "$marks" -eq 2 ]
verify "08a: every block the lab printed lies in a drawn region of its kind, 3 blocks each" \
	"$T/08a.out" "$T/08a.md" <<'PY'
md = open(sys.argv[2]).read()
boxes, hits = regions(md), 0
kind = {'arena': 'thread arena of', 'heap': 'brk heap'}
for b in recs(sys.argv[1], 'block'):
    a = int(b['addr'], 16)
    hits += any(s <= a < e and what.startswith(kind[b['region']]) and who.endswith(': 3 blocks')
                for s, e, what, who in boxes)
n = len(recs(sys.argv[1], 'block'))
done(n == 12 and hits == n, f"{hits} of {n} blocks inside a box of their region; "
     f"{len(boxes)} boxes drawn")
PY
verify "08a: the findings give each thread arena's base and the lab's chunk size as spacing" \
	"$T/08a.out" "$T/08a.md" <<'PY'
md = open(sys.argv[2]).read()
blocks = recs(sys.argv[1], 'block')
bases = {int(b['addr'], 16) & ~((64 << 20) - 1) for b in blocks if b['region'] == 'arena'}
named = [x for x in bases if f"its own thread arena at {x:#x}" in md]
chunk = blocks[0]['chunk']
done(len(bases) == 4 and len(named) == 4 and re.search(rf"\b{chunk} B in T\d", md),
     f"{len(named)} of {len(bases)} arena bases named; spacing {chunk} B stated: "
     f"{bool(re.search(rf'{chunk} B in T', md))}")
PY

report 08c 08c_fork_inject
verify "08c: the child's inherited frees and its parent are stated as the lab printed them" \
	"$T/08c.out" "$T/08c.md" <<'PY'
md = open(sys.argv[2]).read()
fork = recs(sys.argv[1], 'fork')[0]
inh = sum(1 for v in recs(sys.argv[1], 'child_free') if v['inherited'] == '1')
want = f"Process {fork['child']} `08c_fork_inject` (forked by {fork['parent']}): {inh} frees of" \
       " blocks inherited at fork"
done(inh == 6 and want in md, f"lab: child {fork['child']} of {fork['parent']} freed {inh} "
     f"inherited blocks; sentence found: {want in md}")
PY

# the lines named are the lab source's own: its worker's malloc and its child's free(b)
alloc_line=$(grep -n 'w->blocks\[j\] = malloc(cfg.size);' labs/08c_fork_inject.c | cut -d: -f1)
free_line=$(awk '/^static .*child_inherited/ { f = 1 } f && /free\(b\);/ { print NR; exit }' \
	labs/08c_fork_inject.c)
verify "08c: the inherited frees name the lab's lines that allocated and freed the blocks ($alloc_line, $free_line)" \
	"$T/08c.out" "$T/08c.md" "$alloc_line" "$free_line" <<'PY'
md = open(sys.argv[2]).read()
inh = sum(1 for v in recs(sys.argv[1], 'child_free') if v['inherited'] == '1')
fork = recs(sys.argv[1], 'fork')[0]
m = re.search(rf"- Process {fork['child']}: (\d+) frees of blocks inherited at fork, allocated at "
              r"`\w+ \(08c_fork_inject\.c:(\d+)\)`, freed at `\w+ \(08c_fork_inject\.c:(\d+)\)`", md)
got = m.groups() if m else None
done(sys.argv[3] and got == (str(inh), sys.argv[3], sys.argv[4]),
     f"lab: {inh} inherited frees, malloc at line {sys.argv[3]}, free at {sys.argv[4]}; report: {got}")
PY

report 08e 08e_heapmap
verify "08e: the direct mmap chunks counted per process match the lab's mmap_chunk blocks" \
	"$T/08e.out" "$T/08e.md" <<'PY'
md = open(sys.argv[2]).read()
per = {}
for b in recs(sys.argv[1], 'block'):
    per[b['pid']] = per.get(b['pid'], 0) + (b['region'] == 'mmap_chunk')
said = {p: re.search(rf"Process {p}: (\d+) blocks? got a direct mmap chunk", md) for p in per}
got = {p: int(m.group(1)) if m else 0 for p, m in said.items()}
done(got == per and sum(per.values()) == 4, f"lab per pid {per}, report {got}")
PY

verify "08e: the child, which exits holding what it inherited, has every direct mmap chunk of \
its parent drawn where the lab put it, mapped by the thread that allocated it" "$T/08e.out" "$T/08e.md" <<'PY'
md = open(sys.argv[2]).read()
child = recs(sys.argv[1], 'block')[-1]['pid']
parent = [b for b in recs(sys.argv[1], 'block') if b['pid'] != child and b['region'] == 'mmap_chunk']
section = md.split(f"### Process {child} ", 1)[-1].split("\n### ", 1)[0]
boxes = regions(section) if f"### Process {child} " in md else []
hits = [b for b in parent if any(s <= int(b['addr'], 16) < e and what == 'direct mmap chunk'
                                 and who == f"mapped by {b['pid']}/{b['tid']}"
                                 for s, e, what, who in boxes)]
done(len(parent) == 3 and len(hits) == 3, f"{len(hits)} of the parent's {len(parent)} chunks "
     f"drawn in child {child}'s layout; {len(boxes)} boxes there")
PY

{ timeout "$LIMIT" ./labs/08b_tls_corruption_chain --overrun >/dev/null 2>&1; } 2>/dev/null
want=$?
report 08b 08b_tls_corruption_chain --overrun
check "08b --overrun: the report says the process ended with status $want, as it does alone" \
	grep -q "ended: killed by SIGABRT (status $want)" "$T/08b.md"
