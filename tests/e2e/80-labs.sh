#!/usr/bin/env bash
# Every lab under tlsbpf: the CSV agrees with what the lab printed and read from glibc's headers.
. "$(dirname "$0")/lib.sh"
need_bpf

LIMIT=20	# seconds for one run of a lab, alone or traced

# The lab's own record lines ("kind key=value ..."), the CSV rows, and a verdict with its figures.
cat >"$T/labq.py" <<'PY'
import collections, csv, re, sys
def flags(r):
    return r['flags'].split('|') if r['flags'] else []
def allocs(rs):
    """malloc rows by (tid, addr)"""
    return {(r['tid'], int(r['addr'], 16)): r for r in rs if r['event'] == 'malloc'}
def done(ok, msg):
    print(msg)
    sys.exit(0 if ok else 1)
PY

# run_lab TAG LAB ARGS...: the lab alone, then under tlsbpf; $T/TAG.{plain,out,csv}, rc_*.
run_lab() {
	local tag=$1 lab=$2
	shift 2
	# braces: the shell's own "Aborted" notice for 08b --overrun goes to /dev/null too
	{ timeout "$LIMIT" "./labs/$lab" "$@" >"$T/$tag.plain" 2>"$T/$tag.plain.err"; } 2>/dev/null
	rc_plain=$?
	timeout "$LIMIT" $TLSBPF -q --csv "$T/$tag.csv" -- "./labs/$lab" "$@" \
		>"$T/$tag.out" 2>"$T/$tag.err"
	rc_traced=$?
}

summary_of() { # the summary line, addresses blanked
	grep '^summary ' "$1" | sed 's/0x[0-9a-f]*/0x/g'
}

# same_behaviour TAG WANT: same exit status alone and traced, and the same summary.
same_behaviour() {
	local tag=$1 want=$2 a b
	check "$tag exits $want alone and under tlsbpf (got $rc_plain, $rc_traced)" \
		[ "$rc_plain/$rc_traced" = "$want/$want" ]
	a=$(summary_of "$T/$tag.plain")
	b=$(summary_of "$T/$tag.out")
	check "$tag prints the same summary alone ('$a') and under tlsbpf ('$b')" \
		[ "${a:-none}" = "$b" ]
}

# ---- 08a: threads allocating at once get separate arenas ------------------------------------
run_lab 08a 08a_tls_malloc_layout_map -t 4
same_behaviour 08a 0
verify "08a: the CSV puts each block where its glibc header says" "$T/08a.out" "$T/08a.csv" <<'PY'
blocks, rs = recs(sys.argv[1], 'block'), allocs(rows(sys.argv[2]))
same = [b for b in blocks if (b['tid'], int(b['addr'], 16)) in rs and
        rs[(b['tid'], int(b['addr'], 16))]['region'] == b['region']]
lab = collections.Counter(b['region'] for b in blocks)
done(len(blocks) == 12 and len(same) == len(blocks),
     f"{len(blocks)} blocks printed (lab regions {dict(lab)}), "
     f"{len(same)} malloc rows with the same tid, addr and region")
PY
verify "08a: the blocks lie in as many arenas in the CSV as the lab counted" \
	"$T/08a.out" "$T/08a.csv" <<'PY'
blocks, rs = recs(sys.argv[1], 'block'), allocs(rows(sys.argv[2]))
bases = {rs[k]['region_base'] for k in ((b['tid'], int(b['addr'], 16)) for b in blocks) if k in rs}
lab = int(recs(sys.argv[1], 'summary')[0]['distinct_arenas'])
done(len(bases) >= 2 and len(bases) == lab,
     f"{len(bases)} distinct region_base values for 4 threads, lab counted {lab} arenas")
PY

# ---- 08b: writing over one thread's block damages that block only ---------------------------
run_lab 08b 08b_tls_corruption_chain
same_behaviour 08b 0
verify "08b: only the block written on purpose is damaged, alone and under tlsbpf" \
	"$T/08b.plain" "$T/08b.out" <<'PY'
def seen(path):
    return sorted((v['thread'], v['block'], v['intact'], v['expected_corrupt'])
                  for v in recs(path, 'verify'))
plain, traced = seen(sys.argv[1]), seen(sys.argv[2])
bad = [v for v in traced if v[2] != '1' and v[3] != '1']
hit = [v for v in traced if v[2] == '0' and v[3] == '1']
done(plain == traced and len(traced) == 9 and not bad and len(hit) == 1,
     f"{len(traced)} blocks verified; damaged as intended {len(hit)}, damaged otherwise "
     f"{len(bad)}; the same verdicts alone: {plain == traced}")
PY

run_lab 08b-overrun 08b_tls_corruption_chain --overrun
check "08b --overrun: glibc aborts it alone and under tlsbpf (status $rc_plain, $rc_traced)" \
	[ "$rc_plain/$rc_traced" = 134/134 ]
verify "08b --overrun: the CSV is whole" "$T/08b-overrun.csv" <<'PY'
lines = list(csv.reader(open(sys.argv[1], newline='')))
widths = collections.Counter(len(l) for l in lines)
done(len(lines) > 10 and len(widths) == 1 and lines[0][0] == 'seq',
     f"{len(lines) - 1} rows, field counts {dict(widths)}")
PY
timeout "$LIMIT" $TLSBPF analyze "$T/08b-overrun.csv" >/dev/null 2>"$T/analyze.err"
rc=$?
check "08b --overrun: tlsbpf analyze reads the CSV back (status $rc)" [ "$rc" -eq 0 ]
verify "08b --overrun: the CSV ends with the fatal free and the exit" \
	"$T/08b-overrun.out" "$T/08b-overrun.csv" <<'PY'
o = recs(sys.argv[1], 'overrun')[0]
start, n = int(o['addr'], 16), int(o['bytes'])
rs = rows(sys.argv[2])
tid = allocs(rs)[next(k for k in allocs(rs) if k[1] == start)]['tid']
mine = [r for r in rs if r['tid'] == tid and r['event'] in ('malloc', 'free')]
last = mine[-1]
hdr = int(last['addr'], 16) - 8	# the size word glibc read on that free
# the exit row, which only exit_thread rows of threads dying with it may follow (docs/csv.md)
ends = [i for i, r in enumerate(rs) if r['event'] == 'exit']
end = rs[ends[-1]] if ends else rs[-1]
after = rs[ends[-1] + 1:] if ends else []
done(last['event'] == 'free' and start <= hdr < start + n and end['event'] == 'exit'
     and end['size'] == '134' and len(ends) == 1
     and all(r['event'] == 'exit_thread' and r['pid'] == end['pid'] for r in after),
     f"lab wrote {n} B at {o['addr']}; thread {tid}'s last call frees {last['addr']}, whose "
     f"size word at {hdr:#x} lies in that write; exit row {end['event']} {end['size']} "
     f"{end['detail']!r}, then {len(after)} exit_thread rows")
PY

# ---- 08c: what a child forked while threads hold blocks may free ----------------------------
run_lab 08c 08c_fork_inject
same_behaviour 08c 0
verify "08c: frees carry the inherited flag exactly where the lab freed inherited blocks" \
	"$T/08c.out" "$T/08c.csv" <<'PY'
rs = [r for r in rows(sys.argv[2]) if r['event'] == 'free' and 'internal' not in flags(r)]
frees = collections.defaultdict(list)
for r in rs:
    frees[(r['pid'], r['tid'], int(r['addr'], 16))].append(r)
def matched(kind, want):
    """pair each lab line with the next free row of the same pid, tid and address: the
    child's own blocks can reuse an inherited block's address, so order decides"""
    got, n = 0, 0
    for v in recs(sys.argv[1], kind):
        if kind == 'child_free' and v['inherited'] != want:
            continue
        n += 1
        k = (v['pid'], v['tid'], int(v['addr'], 16))
        r = frees[k].pop(0) if frees[k] else None
        got += r is not None and ('inherited' in flags(r)) == (want == '1')
    return n, got
inh = matched('child_free', '1')
own = matched('child_free', '0')
par = matched('parent_free', '0')
done(inh == (6, 6) and own == (3, 3) and par == (12, 12),
     f"child frees of inherited blocks {inh[0]}, flagged inherited {inh[1]}; child frees of "
     f"its own {own[0]}, not flagged {own[1]}; parent frees {par[0]}, not flagged {par[1]}")
PY

# ---- 08d: consecutive blocks of one thread lie one chunk apart ------------------------------
for size in 64 100; do
	run_lab "08d-$size" 08d_tls_alloc_inspector -s "$size"
	same_behaviour "08d-$size" 0
	verify "08d -s $size: consecutive malloc rows of a thread are one glibc chunk apart" \
		"$T/08d-$size.out" "$T/08d-$size.csv" "$size" <<'PY'
lab = recs(sys.argv[1], 'alloc')
rs = [r for r in rows(sys.argv[2]) if r['event'] == 'malloc' and r['size'] == sys.argv[3]]
chunks = {int(a['chunk']) for a in lab}
deltas, same = collections.Counter(), 0
for tid in {a['tid'] for a in lab}:
    want = [int(a['addr'], 16) for a in lab if a['tid'] == tid]
    got = [int(r['addr'], 16) for r in rs if r['tid'] == tid]
    same += want == got
    deltas.update(b - a for a, b in zip(got, got[1:]))
done(len(chunks) == 1 and set(deltas) == chunks and same == 4,
     f"4 threads, {same} with the lab's addresses in order; CSV deltas {dict(deltas)}, "
     f"chunk size in glibc's header {sorted(chunks)}")
PY
done

# ---- 08e: large blocks get their own mapping, small ones an arena ---------------------------
run_lab 08e 08e_heapmap
same_behaviour 08e 0
verify "08e: the CSV region of every block is the one glibc's header gives" \
	"$T/08e.out" "$T/08e.csv" <<'PY'
blocks, rs = recs(sys.argv[1], 'block'), rows(sys.argv[2])
got = {(r['pid'], r['tid'], r['size'], int(r['addr'], 16)): r['region']
       for r in rs if r['event'] == 'malloc'}
pairs = collections.Counter((b['size'], b['region'], got.get((b['pid'], b['tid'], b['size'],
                                                              int(b['addr'], 16))))
                            for b in blocks)
same = sum(n for (s, lab, csv_), n in pairs.items() if lab == csv_)
large = all(lab == 'mmap_chunk' for (s, lab, _), n in pairs.items() if s == '1048576')
small = all(lab != 'mmap_chunk' for (s, lab, _), n in pairs.items() if s != '1048576')
done(len(blocks) == 12 and same == 12 and large and small,
     f"{len(blocks)} blocks, {same} regions agree; (size, lab, csv): "
     + ", ".join(f"{s} {l} {c} x{n}" for (s, l, c), n in sorted(pairs.items())))
PY
