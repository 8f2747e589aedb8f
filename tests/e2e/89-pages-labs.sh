#!/usr/bin/env bash
# 08c and 08e under --pages, against the labs' own /proc/self/pagemap readings (-p): the pages
# their docs/labs reports say were copied, and by whom, are the cow rows tlsbpf wrote.
. "$(dirname "$0")/lib.sh"
need_bpf

if ! grep -q btf_trace_page_fault_user /sys/kernel/btf/vmlinux 2>/dev/null; then
	skip "--pages on the labs" "this kernel has no page_fault_user tracepoint"
	exit 0
fi

cat >"$T/labq.py" <<'PY'
import csv, sys
def copies(rs, pid):
    return [r for r in rs if r['event'] in ('cow', 'zero_copy') and r['pid'] == pid]
def on_page(rs, page):
    return [r for r in rs if int(r['addr'], 16) & ~4095 == page]
PY

# ---- 08c: who copies which page after the fork ---------------------------------------------
$TLSBPF -q --pages --csv "$T/c.csv" -- ./labs/08c_fork_inject -p >"$T/c.out" 2>"$T/c.err"
check "08c -p runs under --pages (status $?)" [ $? -eq 0 ]
verify "08c: the pages whose frames changed are the cow rows, and only they" "$T/c.out" "$T/c.csv" <<'PY'
f = {(r['who'], r['when']): r for r in recs(sys.argv[1], 'pagemap')}
rs = rows(sys.argv[2])
if any(r['block_page'] == 'na' for r in f.values()):
    print('no frames: /proc/self/pagemap hides them from this user'); sys.exit(0)
parent = next(r['pid'] for r in rs if r['event'] == 'exec')
child = next(r['pid'] for r in rs if r['event'] == 'fork')
probe, page, arena = (int(f['parent', 'before_fork'][k], 16) for k in ('probe', 'page', 'arena'))
pc, cc = copies(rs, parent), copies(rs, child)
# the child's write to the probe block's whole page: a new frame, and a cow row in that block
changed = f['child', 'after_fork']['block_page'] != f['child', 'after_child_write']['block_page']
rows_ = on_page(cc, page)
assert changed == bool(rows_), 'child frame changed %s, cow rows %s' % (changed, rows_)
assert all(int(r['old_addr'], 16) == probe and 'inherited' in r['flags'] for r in rows_), rows_
# the arena's first page: the process whose frame changed at the fork has its cow row there
for who, pid, cs, before, after in (('parent', parent, pc, ('parent', 'before_fork'), ('parent', 'after_fork')),
                                    ('child', child, cc, ('parent', 'before_fork'), ('child', 'after_fork'))):
    moved = f[before]['arena_page'] != f[after]['arena_page']
    got = on_page(cs, arena)
    assert moved == bool(got), '%s: arena frame moved %s, cow rows %s' % (who, moved, got)
# the parent's probe page kept its frame to the end: no copy of it in the parent
kept = f['parent', 'before_fork']['block_page'] == f['parent', 'after_child_exit']['block_page']
assert kept == (not on_page(pc, page)), 'parent probe page kept %s, rows %s' % (kept, on_page(pc, page))
print('child copied the probe page: %s; parent copied the arena page: %s' %
      (changed, f['parent', 'before_fork']['arena_page'] != f['parent', 'after_fork']['arena_page']))
PY

# ---- 08e: a private mapping and a heap block are copied, a shared mapping is not -------------
$TLSBPF -q --pages --csv "$T/e.csv" -- ./labs/08e_heapmap -p >"$T/e.out" 2>"$T/e.err"
check "08e -p runs under --pages (status $?)" [ $? -eq 0 ]
verify "08e: the child's marks it saw copied are its cow rows, the shared one a first touch of the parent's page" "$T/e.out" "$T/e.csv" <<'PY'
out, rs = sys.argv[1], rows(sys.argv[2])
marks = {r['mark']: r for r in recs(out, 'pagemap') if r['who'] == 'child'}
if any(r.get('copied') == 'na' for r in marks.values()):
    print('no frames: /proc/self/pagemap hides them from this user'); sys.exit(0)
parent = {r['mark']: r for r in recs(out, 'pagemap') if r['who'] == 'parent'}
child = next(r['pid'] for r in rs if r['event'] == 'fork')
small = next(int(b['addr'], 16) for b in recs(out, 'block') if b['who'] == 'main' and b['size'] == '32')
for name, m in marks.items():
    addr = int(m['addr'], 16)
    cow = [r for r in copies(rs, child) if int(r['addr'], 16) == addr]
    assert (m['copied'] == '1') == bool(cow), '%s: copied=%s, rows %s' % (name, m['copied'], cow)
    if name == 'malloc':
        assert cow and int(cow[0]['old_addr'], 16) == small and 'inherited' in cow[0]['flags'], cow
    if name == 'shared':
        assert m['after'] == parent['1']['frame'], 'the child mapped another frame'
        t = [r for r in rs if r['pid'] == child and r['event'] == 'touch' and int(r['addr'], 16) == addr]
        assert t and t[0]['detail'].startswith('shared page'), t
print(', '.join('%s copied=%s' % (k, v['copied']) for k, v in sorted(marks.items())))
PY
