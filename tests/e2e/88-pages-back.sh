#!/usr/bin/env bash
# --pages: pages given back tied to the blocks they held, against the program's own page
# table. tp_giveback frees blocks in the heap and a thread's arena and trims (madvise of the
# free chunks' inner pages, then the break coming down), and gives back one page of a live
# block with madvise(MADV_DONTNEED); it prints each page whose present bit went from 1 to 0,
# and the block it belonged to. Each such (page, block) must be on a munmap, madvise or brk
# row covering the page that names the block (freed or LIVE), no row may name a block with no
# such page in its range, and only the live block's row, and the reports (text, JSON,
# Markdown), may say LIVE.
. "$(dirname "$0")/lib.sh"
need_bpf

if ! grep -q btf_trace_page_fault_user /sys/kernel/btf/vmlinux 2>/dev/null; then
	skip "--pages given back" "this kernel has no page_fault_user tracepoint"
	exit 0
fi

cat >"$T/labq.py" <<'PY'
import csv, json, re, sys
def rows(path):
    return list(csv.DictReader(open(path, newline='')))
def prog(path):
    return [l.split() for l in open(path).read().split('\n') if l.strip()]
def runs(rs, pid):
    """Each give-back row of pid: (seq, start, end, live blocks, freed blocks, more)."""
    out = []
    for r in rs:
        if r['event'] not in ('munmap', 'madvise', 'brk') or int(r['pid']) != pid:
            continue
        d = r['detail']
        if 'given back' not in d:
            continue
        if r['event'] == 'brk':
            lo, hi = int(r['addr'], 16), int(r['old_addr'], 16)
        else:
            lo, hi = int(r['addr'], 16), int(r['addr'], 16) + int(r['size'])
        live = re.search(r'LIVE blocks((?: 0x[0-9a-f]+)+)', d)
        freed = re.search(r'freed blocks((?: 0x[0-9a-f]+)+)', d)
        out.append((int(r['seq']), lo & ~4095, (hi + 4095) & ~4095,
                    {int(a, 16) for a in live.group(1).split()} if live else set(),
                    {int(a, 16) for a in freed.group(1).split()} if freed else set(),
                    'more' in d))
    return out
PY

$TLSBPF -q --pages --csv "$T/g.csv" --summary "$T/g.txt" --summary-json "$T/g.json" \
	--report "$T/g.md" -- \
	"$PROGS/tp_giveback" >"$T/g.out" 2>"$T/g.err"
check "tp_giveback runs under --pages (status $?)" [ $? -eq 0 ]

verify "each page a trim gave back is on a row that names its freed block" "$T/g.csv" "$T/g.out" <<'PY'
rs, out = rows(sys.argv[1]), prog(sys.argv[2])
pid = int(out[0][1])
rn = runs(rs, pid)
gone = [(int(l[2], 16), int(l[3], 16)) for l in out if l[0] == 'gone']
assert len(gone) >= 40, 'the program saw %d pages go' % len(gone)
assert len({b for _, b in gone}) == 13, 'blocks with pages gone: %d' % len({b for _, b in gone})
for page, block in gone:
    assert any(lo <= page < hi and block in freed for _, lo, hi, _, freed, _ in rn), \
        'no row names freed block %#x for page %#x' % (block, page)
assert any(r['event'] == 'brk' for r in rs if 'given back' in r['detail']), 'no brk trim row'
print('%d pages of %d blocks, on %d rows' % (len(gone), len({b for _, b in gone}), len(rn)))
PY

verify "no row names a block none of whose pages in its range went" "$T/g.csv" "$T/g.out" <<'PY'
rs, out = rows(sys.argv[1]), prog(sys.argv[2])
pid = int(out[0][1])
went = [(int(l[2], 16), int(l[3], 16)) for l in out if l[0] in ('gone', 'live')]
for seq, lo, hi, live, freed, more in runs(rs, pid):
    assert not more, 'row %d names only some blocks' % seq
    for b in live | freed:
        assert any(lo <= p < hi and pb == b for p, pb in went), \
            'row %d names block %#x, whose pages in it the program saw stay' % (seq, b)
print('right')
PY

verify "the live block's page is flagged LIVE on its madvise row, and only there" "$T/g.csv" "$T/g.out" <<'PY'
rs, out = rows(sys.argv[1]), prog(sys.argv[2])
pid = int(out[0][1])
page, block = [(int(l[2], 16), int(l[3], 16)) for l in out if l[0] == 'live'][0]
flagged = [(seq, lo, hi, live) for seq, lo, hi, live, _, _ in runs(rs, pid) if live]
assert len(flagged) == 1, 'rows with LIVE blocks: %s' % flagged
seq, lo, hi, live = flagged[0]
assert live == {block} and lo <= page < hi, 'row %d: LIVE %s, range %#x-%#x' % (seq, live, lo, hi)
r = next(r for r in rs if int(r['seq']) == seq)
assert r['event'] == 'madvise' and int(r['sysflags'], 16) == 4, r
print('row %d' % seq)
PY

verify "the reports say it: one LIVE block, the freed blocks counted" "$T/g.json" "$T/g.txt" "$T/g.out" "$T/g.md" <<'PY'
j = json.load(open(sys.argv[1]))
out = prog(sys.argv[3])
pid = int(out[0][1])
p = next(p for p in j['processes'] if p['pid'] == pid)
assert p['pages']['given_back_live_blocks'] == 1, p['pages']
assert p['pages']['given_back_freed_blocks'] >= 13, p['pages']
live = [g for g in p['given_back'] if g['live_count']]
block = [l[3] for l in out if l[0] == 'live'][0]
assert len(live) == 1 and int(live[0]['live'][0], 16) == int(block, 16), live
txt = open(sys.argv[2]).read()
assert re.search(r'LIVE blocks 1: 0x%x' % int(block, 16), txt), 'text report'
md = open(sys.argv[4]).read()
assert re.search(r'\*\*Live block `0x%x` lost a page\*\*: `madvise`' % int(block, 16), md), 'md report'
print('right')
PY

$TLSBPF analyze --summary-json "$T/a.json" "$T/g.csv" >/dev/null 2>&1
verify "analyze rebuilds the ties from the CSV" "$T/g.json" "$T/a.json" <<'PY'
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for p, q in zip(a['processes'], b['processes']):
    assert p['given_back'] == q['given_back'], (p['pid'], p['given_back'], q['given_back'])
    for k in ('given_back_freed_blocks', 'given_back_live_blocks'):
        assert p['pages'][k] == q['pages'][k], k
print('right')
PY
