#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# 88-stacks: the call stack of every allocation and free, checked against the program's own:
# its call instructions (found in its code) and glibc's backtrace(), which unwinds by DWARF.
# tp_stacks is built with frame pointers at -O0 and without them at -O2; sites at depths 1, 5
# and 30, recursion, a thread, a forked child, a dlopen'd library. The -O2 build is also checked
# whole under --stacks=dwarf.
. "$(dirname "$0")/lib.sh"
need_bpf

cat >"$T/labq.py" <<'PY'
import csv, sys

def load(truth_path, csv_path, stacks_path):
    truth = [l.split() for l in open(truth_path) if l.strip()]
    rows = [r for r in csv.DictReader(open(csv_path, newline='')) if r['event'] in ('malloc', 'free')]
    stacks = {}
    for r in csv.DictReader(open(stacks_path, newline='')):
        stacks.setdefault(int(r['stack_id']), []).append(r)
    return truth, rows, stacks

def pair(truth, rows):
    """Each program event with its row: the next row of its process, event and address (and
    size, for a malloc: the C library's own calls have other sizes); a free after its malloc."""
    used, out, after = set(), [], {}
    for t in truth:
        ev, pid, size, addr = t[0], int(t[1]), int(t[2]), int(t[3], 16)
        start = after.get((pid, addr), 0)
        hit = None
        for r in rows:
            seq = int(r['seq'])
            if seq in used or seq <= start or r['event'] != ev or int(r['pid']) != pid:
                continue
            if int(r['addr'], 16) != addr or (ev == 'malloc' and int(r['size']) != size):
                continue
            hit = r
            break
        if hit:
            used.add(int(hit['seq']))
            after[(pid, addr)] = int(hit['seq'])
        out.append((t, hit))
    return out

def frames(stacks, r):
    """The stack's frames: each frame's first row (inline 0), the rest name its inline chain."""
    sid = r['stack_id']
    return [x for x in stacks.get(int(sid), []) if x['inline'] == '0'] if sid else []

def chain(stacks, sid, i):
    """Frame i's rows, innermost first: (function, source file's base name, line)."""
    import os
    return [(x['function'], os.path.basename(x['file']), x['line'])
            for x in stacks[sid] if x['frame'] == str(i)]

truth, rows, stacks = load(*sys.argv[1:4])
pairs = pair(truth, rows)
def fail(msg):
    print(msg)
    sys.exit(1)
PY

# run NAME BUILD [OPTIONS]: tp_stacks_BUILD with its library, under tlsbpf
run() {
	local name=$1 build=$2
	shift 2
	"$TLSBPF" -q --csv "$T/$name.csv" "$@" -- "$PROGS/tp_stacks_$build" \
		"$PWD/$PROGS/tp_stacks_lib_$build.so" >"$T/$name.out" 2>"$T/$name.err"
}

# Each build twice: 8 frames, and by default (--stack-depth 1) the call site alone, which an
# allocation takes at its return (where the kernel has put it in the registers) and a free
# reads at its entry. The whole-stack checks below read the first runs (fp, nofp).
for r in fp:fp:8 nofp:nofp:8 sitefp:fp: sitenofp:nofp:; do
	name=${r%%:*} b=${r#*:} depth=${r##*:}
	b=${b%%:*}
	opts=() kept=" (by default, that alone)"
	[ -n "$depth" ] && opts=(--stack-depth "$depth") kept=" ($depth frames kept)"
	run "$name" "$b" "${opts[@]}"
	check "$name: the run ends well, with a stacks file beside the CSV" \
		test $? -eq 0 -a -s "$T/$name.stacks.csv"
	verify "$name: each of the program's calls is a row whose stack begins at its call instruction$kept" \
		"$T/$name.out" "$T/$name.csv" "$T/$name.stacks.csv" "$depth" <<'PY'
kinds = {}
alone = sys.argv[4] == ''
for t, r in pairs:
    if r is None:
        fail('no row for %s' % ' '.join(t[:4]))
    f = frames(stacks, r)
    if not f:
        fail('row %s has no stack' % r['seq'])
    if int(f[0]['addr'], 16) != int(t[4], 16):
        fail('row %s: call site %s, the program says %s' % (r['seq'], f[0]['addr'], t[4]))
    if alone and (len(f) != 1 or 'truncated' not in f[0]['flags']):
        fail('row %s: by default the call site alone, marked truncated: %s' % (r['seq'], f))
    kinds[t[0]] = kinds.get(t[0], 0) + 1
if len(set(t[1] for t, r in pairs)) != 2 or len(truth) < 20:
    fail('the program did not run in two processes: %d events' % len(truth))
print('%d mallocs, %d frees, every call site exact' % (kinds['malloc'], kinds['free']))
PY
	verify "$name: each call site is placed in its file at the program's own offset" \
		"$T/$name.out" "$T/$name.csv" "$T/$name.stacks.csv" <<'PY'
import os
for t, r in pairs:
    f0 = frames(stacks, r)[0]
    if int(f0['offset'], 16) != int(t[5], 16):
        fail('row %s: offset %s, the program says %s' % (r['seq'], f0['offset'], t[5]))
    want = 'tp_stacks_lib_' if t[2] == '1040' else 'tp_stacks_'
    if not os.path.basename(f0['module']).startswith(want) or len(f0['build_id']) != 40:
        fail('row %s: module %s build-id %s' % (r['seq'], f0['module'], f0['build_id']))
print('%d call sites in the program and its dlopen\'d library' % len(pairs))
PY
done

# Names: each call site's function and line are the program's own (its __LINE__ at the call),
# and every frame in the program's files is named as eu-addr2line -f -i names it.
for b in fp nofp; do
	verify "$b: each call site's line is the program's own __LINE__, in its function" \
		"$T/$b.out" "$T/$b.csv" "$T/$b.stacks.csv" <<'PY'
for t, r in pairs:
    f0 = chain(stacks, int(r['stack_id']), 0)
    fn = 'lib_site_malloc' if t[2] == '1040' else 'site_' + t[0]
    if f0[0] != (fn, 'tp_stacks.c', t[-1][1:]):
        fail('row %s: call site %s, the program says %s at tp_stacks.c:%s' % (r['seq'], f0, fn, t[-1][1:]))
print('%d call sites named with their function and line' % len(pairs))
PY
	verify "$b: every frame in the program's files is named as eu-addr2line -f -i names it" \
		"$T/$b.out" "$T/$b.csv" "$T/$b.stacks.csv" <<'PY'
import os, subprocess
def vaddr(module, off):
    """The link-time address of a file offset, from the file's program headers."""
    for l in subprocess.run(['readelf', '-lW', module], capture_output=True, text=True).stdout.splitlines():
        w = l.split()
        if w and w[0] == 'LOAD':
            po, pv, fs = int(w[1], 16), int(w[2], 16), int(w[4], 16)
            if po <= off < po + fs:
                return off - po + pv
    fail('%s: offset %#x in no segment' % (module, off))
asked = 0
for sid, rows in stacks.items():
    for x in rows:
        if x['inline'] != '0' or 'tp_stacks' not in os.path.basename(x['module']):
            continue
        a = vaddr(x['module'], int(x['offset'], 16) - 1)
        out = subprocess.run(['eu-addr2line', '-f', '-i', '-e', x['module'], hex(a)],
                             capture_output=True, text=True).stdout.split('\n')
        want = [(out[i], os.path.basename(out[i + 1].split(':')[0]), out[i + 1].split(':')[1])
                for i in range(0, len(out) - 1, 2)]
        got = chain(stacks, sid, x['frame'])
        if got != want:
            fail('stack %s frame %s: %s, eu-addr2line says %s' % (sid, x['frame'], got, want))
        asked += 1
if asked < 3:
    fail("only %d frames in the program, not its three sites" % asked)
print('%d frames named as eu-addr2line names them' % asked)
PY
done

# One code path, one id: the program's stacks that are equal (its own call site and callers, as
# far as 8 frames keep them) in the parent, its thread and the forked child share an
# id, and stacks the program says differ do not.
verify "fp: equal stacks in the parent, its thread and its child share one id, others do not" \
	"$T/fp.out" "$T/fp.csv" "$T/fp.stacks.csv" <<'PY'
ids, keys = {}, {}
for t, r in pairs:
    key = (t[0], t[4]) + tuple(t[7:7 + int(t[6])][:7])
    ids.setdefault(key, set()).add(r['stack_id'])
    keys.setdefault(r['stack_id'], set()).add(key)
shared = [k for k, v in ids.items() if len(v) == 1 and
          len(set(t[1] for t, r in pairs if r['stack_id'] in v)) == 2]
if any(len(v) != 1 for v in ids.values()) or any(len(v) != 1 for v in keys.values()):
    fail('ids by stack %s' % ids)
if not shared:
    fail('no stack seen in both processes has one id')
print('%d stacks, %d of them in both processes under one id' % (len(ids), len(shared)))
PY

# With frame pointers, the whole stack up to main's caller (or the thread's) is the program's,
# or the first 7 callers and the mark truncated at depth 8.
for depth in 8 64; do
	run "fp$depth" fp --stack-depth "$depth"
	verify "frame pointers, depth $depth: every stack is the program's backtrace()" \
		"$T/fp$depth.out" "$T/fp$depth.csv" "$T/fp$depth.stacks.csv" "$depth" <<'PY'
depth = int(sys.argv[4])
cut = whole = 0
for t, r in pairs:
    f = frames(stacks, r)
    want = [int(a, 16) for a in t[7:7 + int(t[6])]]
    got = [int(x['addr'], 16) for x in f[1:]]
    if len(want) + 1 > depth:
        if got != want[:depth - 1] or 'truncated' not in f[0]['flags']:
            fail('row %s: %d frames %s, truncated at %d expected' % (r['seq'], len(f), f[0]['flags'], depth))
        cut += 1
    elif got[:len(want)] != want:
        fail('row %s: callers %s, the program says %s' % (r['seq'], [hex(a) for a in got], [hex(a) for a in want]))
    else:
        whole += 1
print('%d stacks whole up to main or the thread start, %d cut at depth %d and so marked' % (whole, cut, depth))
PY
done

# Without frame pointers, a stack is the program's as far as it goes, then marked truncated.
verify "no frame pointers: every frame kept is the program's, a stack cut short is marked" \
	"$T/nofp.out" "$T/nofp.csv" "$T/nofp.stacks.csv" <<'PY'
short = 0
for t, r in pairs:
    f = frames(stacks, r)
    want = [int(a, 16) for a in t[7:7 + int(t[6])]]
    got = [int(x['addr'], 16) for x in f[1:]]
    if got != want[:len(got)]:
        fail('row %s: callers %s, the program says %s' % (r['seq'], [hex(a) for a in got], [hex(a) for a in want]))
    if len(got) < len(want):
        short += 1
        if 'truncated' not in f[0]['flags']:
            fail('row %s: %d of %d callers, not marked truncated' % (r['seq'], len(got), len(want)))
print('%d of %d stacks cut short, each marked truncated' % (short, len(pairs)))
PY

# --stacks=dwarf: the build without frame pointers, its stacks copied at each call and unwound
# in tlsbpf by the files' CFI: every stack is the program's, from its call instruction through
# backtrace()'s callers up to the C library, whole or cut at the depth asked and so marked; and
# equal stacks in the parent, its thread and the forked child share one id.
for depth in default 64; do
	opts=(--stacks=dwarf)
	[ "$depth" = default ] || opts+=(--stack-depth "$depth")
	# a process that ends before tlsbpf has read its mappings leaves its rows without a
	# stack, counted (the shell's case below says more): on a loaded machine (the sanitizers'
	# run in CI) that happened to every row once, so up to three tries for a whole run
	for try in 1 2 3; do
		run "dwarf$depth" nofp "${opts[@]}"
		rc=$?
		grep -q 'no stack_id' "$T/dwarf$depth.err" || break
	done
	check "dwarf, depth $depth: the run ends well, every row with a stack (try $try)" \
		test $rc -eq 0 -a -s "$T/dwarf$depth.stacks.csv" -a \
		"$(grep -c 'no stack_id' "$T/dwarf$depth.err")" = 0
	verify "dwarf, depth $depth, no frame pointers: every stack is the program's backtrace()" \
		"$T/dwarf$depth.out" "$T/dwarf$depth.csv" "$T/dwarf$depth.stacks.csv" "$depth" <<'PY'
depth = 8 if sys.argv[4] == "default" else int(sys.argv[4])
cut = whole = 0
for t, r in pairs:
    if r is None:
        fail('no row for %s' % ' '.join(t[:4]))
    f = frames(stacks, r)
    if not f:
        fail('row %s has no stack' % r['seq'])
    if int(f[0]['addr'], 16) != int(t[4], 16):
        fail('row %s: call site %s, the program says %s' % (r['seq'], f[0]['addr'], t[4]))
    want = [int(a, 16) for a in t[7:7 + int(t[6])]]
    got = [int(x['addr'], 16) for x in f[1:]]
    if len(want) + 1 > depth:
        if got != want[:depth - 1] or 'truncated' not in f[0]['flags']:
            fail('row %s: %d frames %s, the first %d of the program\'s and truncated expected' %
                 (r['seq'], len(f), f[0]['flags'], depth))
        cut += 1
    elif got[:len(want)] != want:
        fail('row %s: callers %s, the program says %s' % (r['seq'], [hex(a) for a in got],
             [hex(a) for a in want]))
    else:
        whole += 1
if len(set(t[1] for t, r in pairs)) != 2 or not any(len(t) > 30 for t in truth):
    fail('the program did not run in two processes, or never 30 deep')
print('%d stacks whole up to main or the thread start, %d cut at depth %d and so marked' % (whole, cut, depth))
PY
done
verify "dwarf: equal stacks in the parent, its thread and its child share one id, others do not" \
	"$T/dwarfdefault.out" "$T/dwarfdefault.csv" "$T/dwarfdefault.stacks.csv" <<'PY'
ids, keys = {}, {}
for t, r in pairs:
    key = (t[0], t[4]) + tuple(t[7:7 + int(t[6])][:7])
    ids.setdefault(key, set()).add(r['stack_id'])
    keys.setdefault(r['stack_id'], set()).add(key)
shared = [k for k, v in ids.items() if len(v) == 1 and
          len(set(t[1] for t, r in pairs if r['stack_id'] in v)) == 2]
if any(len(v) != 1 for v in ids.values()) or any(len(v) != 1 for v in keys.values()):
    fail('ids by stack %s' % ids)
if not shared:
    fail('no stack seen in both processes has one id')
print('%d stacks, %d of them in both processes under one id' % (len(ids), len(shared)))
PY
# A shell that allocates and forks, then execs the program: each image is unwound with its own
# mappings (the shell's are gone when its samples' turn comes). A process that ends before
# tlsbpf has read its mappings leaves its rows without a stack, counted: the program stays a
# second after its last call, as a longer program would, since under the sanitizers the
# reading may wait behind the unwinding of the shell's stacks; on a loaded machine it may still
# happen, so the run is tried up to three times for one with every row's stack; in every
# try, a row that has a stack has the program's whole one.
cat >"$T/dwarfexec.py" <<'PY'
import re
said = re.search(r'(\d+) rows have no stack_id', open(sys.argv[4]).read())
bare = 0
for t, r in pairs:
    if r is None:
        fail('%s: no row' % ' '.join(t[:4]))
    f = frames(stacks, r)
    want = [int(a, 16) for a in t[7:7 + int(t[6])]]
    if not r['stack_id']:
        bare += 1
    elif not f or int(f[0]['addr'], 16) != int(t[4], 16) or \
            [int(x['addr'], 16) for x in f[1:]][:len(want)] != want:
        fail('%s: not the program\'s stack' % ' '.join(t[:4]))
if bare > (int(said.group(1)) if said else 0):
    fail('%d of the program\'s rows without a stack, tlsbpf said %s' % (bare, said.group(1) if said else 0))
if said:
    print('%s rows without a stack (counted): %s' % (said.group(1), open(sys.argv[4]).read().splitlines()[0]))
    sys.exit(2)
print('%d calls after the exec, each with its whole stack; the shell\'s rows too' % len(pairs))
PY
for try in 1 2 3; do
	"$TLSBPF" -q --csv "$T/dwarfexec.csv" --stacks=dwarf --stack-depth 64 -- \
		sh -c 'x=$(echo hi); exec "$0" "$1" 1000' "$PROGS/tp_stacks_nofp" \
		"$PWD/$PROGS/tp_stacks_lib_nofp.so" >"$T/dwarfexec.out" 2>"$T/dwarfexec.err"
	python3 -c "$(cat "$T/labq.py" "$T/dwarfexec.py")" "$T/dwarfexec.out" "$T/dwarfexec.csv" \
		"$T/dwarfexec.stacks.csv" "$T/dwarfexec.err" >"$T/dwarfexec.check" 2>&1
	rc=$?
	[ $rc -ne 2 ] && break
done
check "dwarf: a shell that forks and execs the program: every row with a stack, the program's whole \
(try $try): $(tail -n 1 "$T/dwarfexec.check")" [ $rc -eq 0 ]
run dwarfsample nofp --stacks=dwarf --stack-depth 64 --sample 2
verify "dwarf with --sample 2: each sampled call's stack is the program's backtrace()" \
	"$T/dwarfsample.out" "$T/dwarfsample.csv" "$T/dwarfsample.stacks.csv" \
	"$T/dwarfsample.err" <<'PY'
import re
# Sampled, a call may have no row: a malloc is paired only with the one row of its process,
# address and size, and a free only with the first free of its address after its malloc's
# row (the block is live between them, so no other free of that address comes first).
mallocs, last, pairs = {}, {}, []
for t in truth:
    if t[0] == 'malloc':
        mallocs[(t[1], t[3], t[2])] = mallocs.get((t[1], t[3], t[2]), 0) + 1
for t in truth:
    pid, addr = int(t[1]), int(t[3], 16)
    same = [r for r in rows if r['event'] == t[0] and int(r['pid']) == pid and
            int(r['addr'], 16) == addr]
    if t[0] == 'malloc':
        mine = [r for r in same if r['size'] == t[2]]
        hit = mine[0] if len(mine) == 1 and mallocs[(t[1], t[3], t[2])] == 1 else None
        last[(pid, addr)] = int(hit['seq']) if hit else None
    else:
        after = last.pop((pid, addr), None)
        hit = next((r for r in same if after is not None and int(r['seq']) > after), None)
    pairs.append((t, hit))
said = re.search(r'(\d+) rows have no stack_id', open(sys.argv[4]).read())
n = bare = 0
for t, r in pairs:
    if r is None:
        continue
    n += 1
    if not r['stack_id']:
        bare += 1   # its process gone before its mappings were read: counted, checked below
        continue
    f = frames(stacks, r)
    want = [int(a, 16) for a in t[7:7 + int(t[6])]]
    got = [int(x['addr'], 16) for x in f]
    if not f or got[0] != int(t[4], 16) or got[1:1 + len(want)] != want:
        fail('row %s (stack %s) of %s: frames %s, the program says %s then %s' %
             (r['seq'], r['stack_id'], ' '.join(t[:4]), [hex(a) for a in got[:12]], t[4],
              [hex(a) for a in want[:11]]))
if bare > (int(said.group(1)) if said else 0):
    fail('%d sampled rows without a stack, tlsbpf said %s' % (bare, said.group(1) if said else 0))
if not 0 < n - bare < len(truth):
    fail('%d of %d calls recorded, %d with a stack' % (n, len(truth), n - bare))
print('%d of %d calls sampled, each with its whole stack%s' %
      (n, len(truth), ' but %d counted without one' % bare if bare else ''))
PY

# Sites: the JSON report's bytes and blocks per call site add up to what the program says it
# allocated at each of its lines, and none of it is live at the end (the program frees all).
run sites fp --summary-json "$T/sites.json"
verify "sites: bytes and blocks per call site are the program's own, by its __LINE__" \
	"$T/sites.out" "$T/sites.csv" "$T/sites.stacks.csv" "$T/sites.json" <<'PY'
import json
sites = json.load(open(sys.argv[4]))['sites']
want = {}
for t in truth:
    if t[0] == 'malloc':
        fn = 'lib_site_malloc' if t[2] == '1040' else 'site_malloc'
        w = want.setdefault('%s (tp_stacks.c:%s)' % (fn, t[-1][1:]), [0, 0])
        w[0] += int(t[2]); w[1] += 1
got = {}
for x in sites['bytes']:
    if x['site'] in want:
        g = got.setdefault(x['site'], [0, 0, 0])
        g[0] += x['bytes']; g[1] += x['blocks']; g[2] += x['live_bytes']
if len(want) != 2 or any(got.get(k, [0, 0, 1]) != v + [0] for k, v in want.items()):
    fail('program %s, report %s' % (want, got))
print(' '.join('%s: %d B in %d blocks' % (k, v[0], v[1]) for k, v in sorted(want.items())))
PY

"$TLSBPF" analyze --summary-json "$T/sites-an.json" "$T/sites.csv" 2>"$T/sites-an.err"
verify "analyze rebuilds the live run's sites and bad frees from the CSV and its stacks file" \
	"$T/sites.out" "$T/sites.csv" "$T/sites.stacks.csv" "$T/sites.json" "$T/sites-an.json" <<'PY'
import json
a, b = (json.load(open(p))['sites'] for p in sys.argv[4:6])
if a != b or not a['bytes']:
    fail('live %s, analyze %s' % (a, b))
print('%d sites, the same' % len(a['bytes']))
PY

# Bad frees: tp_handoff's two threads free each other's blocks; each cross-thread free names
# the program's own lines of its malloc and its free, and the invalid free tp_frees makes last
# (of an address on its stack, which glibc aborts on) names its line.
"$TLSBPF" -q --summary-json "$T/handoff.json" -- "$PROGS/tp_handoff" -n 200 >"$T/handoff.out" 2>&1
"$TLSBPF" -q --summary-json "$T/frees.json" -- "$PROGS/tp_frees" >"$T/frees.out" 2>&1
lines() { grep -n -- "$2" "tests/progs/$1" | cut -d: -f1 | tr '\n' ' '; }
verify "bad frees: each names the lines of the program that allocated and freed its block" \
	"$T/sites.out" "$T/sites.csv" "$T/sites.stacks.csv" "$T/handoff.json" "$T/handoff.out" \
	"$T/frees.json" "$(lines tp_handoff.c 'pending = malloc(')" \
	"$(awk '/^static void \*side_run\(/ { f = 1 } f && /free\(p\);/ { print NR; exit }' tests/progs/tp_handoff.c)" \
	"$(lines tp_frees.c 'free(b + 16)')" <<'PY'
import json, re
made = sum(int(m) for m in re.findall(r'^side .* freed_of_other=(\d+)', open(sys.argv[5]).read(), re.M))
alloc_l, free_l, bad_l = sys.argv[7].split(), sys.argv[8].split(), sys.argv[9].split()
want = ('cross_thread', 'side_run (tp_handoff.c:%s)' % alloc_l[0], 'side_run (tp_handoff.c:%s)' % free_l[0])
bad = json.load(open(sys.argv[4]))['sites']['bad_frees']
got = set((b['kind'], b['alloc_site'], b['free_site']) for b in bad)
if len(alloc_l) != 1 or len(free_l) != 1 or made != 400 or len(bad) != made or got != {want}:
    fail('program: %d cross-thread frees at %s; report: %d, %s' % (made, want, len(bad), got))
inv = [b for b in json.load(open(sys.argv[6]))['sites']['bad_frees'] if b['kind'] == 'invalid_free']
if len(inv) != 1 or inv[0]['free_site'] != 'main (tp_frees.c:%s)' % bad_l[0] or inv[0]['alloc_stack_id']:
    fail('invalid free: %s, the program frees at line %s' % (inv, bad_l))
print('%d cross-thread frees at lines %s -> %s; the invalid free at line %s' % (len(bad), alloc_l[0], free_l[0], bad_l[0]))
PY

# --pprof and --folded, live and from analyze: go tool pprof reads the profile, and its totals
# (blocks and bytes allocated, and live at the end) and the folded file's are the CSV's own,
# added up here from its rows.
cat >"$T/csvtot.py" <<'PY'
import csv, sys
live, alloc = {}, [0, 0]
for r in csv.DictReader(open(sys.argv[1], newline='')):
    ev, pid = r['event'], r['pid']
    if ev == 'exec':
        live = {k: v for k, v in live.items() if k[0] != pid}
    if ev in ('realloc', 'reallocarray') and r['old_addr'] not in ('', '0x0') and r['addr'] != '0x0':
        live.pop((pid, int(r['old_addr'], 16)), None)
    if ev == 'free':
        live.pop((pid, int(r['addr'], 16)), None)
    elif ev in ('malloc', 'calloc', 'realloc', 'reallocarray', 'posix_memalign', 'aligned_alloc',
                'memalign', 'valloc', 'pvalloc') and r['addr'] not in ('', '0x0') \
            and 'failed' not in r['flags']:
        alloc[0] += 1; alloc[1] += int(r['size'])
        live[(pid, int(r['addr'], 16))] = int(r['size'])
print(alloc[0], alloc[1], len(live), sum(live.values()))
PY
pprof_totals() { # the four totals of go tool pprof -raw's samples
	HOME=$T GOCACHE=$T/go timeout 120 go tool pprof -raw "$1" 2>/dev/null | awk '
		/^Samples:/ { s = 1; next } /^Locations/ { s = 0 }
		s && $4 ~ /:$/ { sub(/:$/, "", $4); a += $1; b += $2; c += $3; d += $4 }
		END { print a + 0, b + 0, c + 0, d + 0 }'
}
run prof fp --pprof "$T/prof.pb.gz" --folded "$T/prof.folded"
"$TLSBPF" analyze --pprof "$T/prof-an.pb.gz" --folded "$T/prof-an.folded" "$T/prof.csv" \
	>/dev/null 2>&1
want=$(python3 "$T/csvtot.py" "$T/prof.csv")
for how in live analyze; do
	f=prof; [ $how = analyze ] && f=prof-an
	if command -v go >/dev/null; then
		got=$(pprof_totals "$T/$f.pb.gz")
		check "--pprof, $how: go tool pprof reads it, blocks and bytes allocated and live at the end as the CSV's ($want): $got" \
			[ "$got" = "$want" -a "${want%% *}" -gt 20 ]
	else
		skip "--pprof, $how: go tool pprof reads it" "needs go (golang-go)"
	fi
	got=$(awk '{ n += $NF } END { print n + 0 }' "$T/$f.folded")
	check "--folded, $how: bytes allocated as the CSV's ($(echo $want | cut -d' ' -f2)): $got" \
		[ "$got" = "$(echo $want | cut -d' ' -f2)" ]
done

# The live view ends each of the program's rows with its call site, the program's own line.
"$TLSBPF" --csv "$T/livesite.csv" -o "$T/livesite.txt" -- "$PROGS/tp_stacks_fp" \
	"$PWD/$PROGS/tp_stacks_lib_fp.so" >"$T/livesite.out" 2>"$T/livesite.err"
verify "live view: each of the program's calls shows its call site as function (file:__LINE__)" \
	"$T/livesite.out" "$T/livesite.csv" "$T/livesite.stacks.csv" "$T/livesite.txt" <<'PY'
lines = open(sys.argv[4]).read().splitlines()
for t in truth:
    fn = 'lib_site_malloc' if t[2] == '1040' else 'site_' + t[0]
    want = ' at %s (tp_stacks.c:%s)' % (fn, t[-1][1:])
    if not any(' %s ' % t[0] in l and t[3] in l and l.endswith(want) for l in lines):
        fail('no live line for %s of %s ending %r' % (t[0], t[3], want))
print('%d calls, each line ending with its site' % len(truth))
PY

# --top N cuts each list of sites to N rows
"$TLSBPF" analyze --top 2 "$T/sites.csv" >"$T/top2.txt" 2>/dev/null
check_sh "--top 2: each list of sites has 2 rows, then the rest summed to the CSV's total" \
	'[ "$(awk "/^allocation sites by bytes allocated:/ { f = 1; getline; next } f && /^  +[0-9]/ { n++; b += \$1 } f && /^  and [0-9]+ more sites: / { b += \$5 } f && !/^  / { f = 0 } END { print n, b }" "$T/top2.txt")" = "2 $(python3 "$T/csvtot.py" "$T/sites.csv" | cut -d" " -f2)" ] &&
	 [ "$(python3 -c "import json; print(len(json.load(open(\"$T/sites.json\"))[\"sites\"][\"bytes\"]) > 2)")" = True ]'

# analyze reads the stacks file back: the same report as from the CSV alone; a stacks file that
# is missing, cut short, not the CSV's, or holding a bad field is one line naming the file and
# the line, and exit status 1.
"$TLSBPF" analyze "$T/fp.csv" >"$T/an.out" 2>"$T/an.err"
check_sh "analyze: the CSV and its stacks file read back, the live run's stack counts" \
	'[ $? -eq 0 ] && [ ! -s "$T/an.err" ] && grep "^call stacks" "$T/an.out" >"$T/an.st" &&
	 grep "^call stacks" "$T/fp.err" | cmp -s - "$T/an.st" &&
	 grep -q "^call stacks: $(cut -d, -f1 "$T/fp.stacks.csv" | sort -u | grep -c "^[0-9]") distinct" "$T/an.st"'
# bad CASE 'WANT': the CSV with the stacks file CASE made, one line on stderr matching WANT
bad() {
	local name=$1 want=$2 rc
	mkdir -p "$T/$name"
	cp "$T/fp.csv" "$T/$name/run.csv"
	[ -e "$T/$name.stacks" ] && mv "$T/$name.stacks" "$T/$name/run.stacks.csv"
	"$TLSBPF" analyze "$T/$name/run.csv" >/dev/null 2>"$T/$name.err"
	rc=$?
	check_sh "analyze, stacks file $name: exit 1 and one line: $(head -c 160 "$T/$name.err")" \
		'[ $rc -eq 1 ] && [ "$(wc -l <"$T/$name.err")" -eq 1 ] && grep -q -- "$want" "$T/$name.err"'
}
bad missing "run.csv: line [0-9]*: stack_id [0-9]*, but there is no stacks file .*run.stacks.csv"
head -c $(( $(stat -c %s "$T/fp.stacks.csv") - 5 )) "$T/fp.stacks.csv" >"$T/cut.stacks"
bad cut "run.stacks.csv: line [0-9]*: the file ends in the middle of a row"
last=$(tail -n 1 "$T/fp.stacks.csv" | cut -d, -f1)
grep -v "^$last," "$T/fp.stacks.csv" >"$T/short.stacks"
bad short "run.csv: line [0-9]*: stack_id $last is not in .*run.stacks.csv"
sed '3s/,0x[0-9a-f]*,/,0xzz,/' "$T/fp.stacks.csv" >"$T/badhex.stacks"
bad badhex "run.stacks.csv: line 3: bad hex in addr: '0xzz'"
sed '1s/^stack_id/stack/' "$T/fp.stacks.csv" >"$T/header.stacks"
bad header "run.stacks.csv: line 1: not a tlsbpf stacks file header"
awk 'NR == 1 || $0 !~ /^2,/' "$T/fp.stacks.csv" >"$T/gap.stacks"
bad gap "run.stacks.csv: line [0-9]*: stack_id 3 out of order: 2 expected"

# debuginfod only when asked: a server standing in for DEBUGINFOD_URLS' counts what it is asked
# for a copy of the program without its debug info; none without --debuginfod.
cat >"$T/srv.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[1], 'a') as f:
            f.write(self.path + '\n')
        self.send_response(404)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(sys.argv[2], 'w').write(str(s.server_address[1]))
s.serve_forever()
PY
cp "$PROGS/tp_stacks_nofp" "$T/tp_nodebug" && strip --strip-debug "$T/tp_nodebug"
python3 "$T/srv.py" "$T/asked" "$T/port" & srv=$!
for i in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
for ask in no yes; do
	: >"$T/asked"
	opt=(); [ $ask = yes ] && opt=(--debuginfod)
	DEBUGINFOD_URLS=http://127.0.0.1:$(cat "$T/port") DEBUGINFOD_CACHE_PATH=$T/dcache-$ask \
		"$TLSBPF" -q "${opt[@]}" --csv "$T/dbg-$ask.csv" -- "$T/tp_nodebug" \
		"$PWD/$PROGS/tp_stacks_lib_nofp.so" >/dev/null 2>&1
	echo $? >"$T/dbg-$ask.rc"
	cp "$T/asked" "$T/dbg-$ask.asked"
done
kill "$srv"
build_id=$(readelf -n "$T/tp_nodebug" | sed -n 's/.*Build ID: //p')
check_sh "DEBUGINFOD_URLS alone asks no server; --debuginfod asks for the program's build-id ($build_id)" \
	'[ "$(cat "$T/dbg-no.rc")$(cat "$T/dbg-yes.rc")" = 00 ] && [ -e "$T/dbg-no.asked" ] &&
	 [ ! -s "$T/dbg-no.asked" ] && [ -n "$build_id" ] &&
	 grep -q "^/buildid/$build_id/debuginfo$" "$T/dbg-yes.asked"'

# --no-stacks: no stack_id, no stacks file
run none fp --no-stacks
check_sh "--no-stacks: the stack_id column is empty and no stacks file is written" \
	'[ "$(csvq "$T/none.csv" "sum(1 for r in rows if r[\"stack_id\"])")" = 0 ] && [ ! -e "$T/none.stacks.csv" ]'

# The depth each way of asking gives, as the summary says it and as the stacks file shows it
# (the program's stacks are 5 frames and more): the call site by default, 8 frames for the
# outputs made of whole stacks (--html: its icicle), and what --stack-depth says over either.
for c in "1:" "8:--folded $T/d.folded" "8:--pprof $T/d.pb.gz" "8:--html $T/d.html" \
	"3:--stack-depth 3 --folded $T/d.folded"; do
	want=${c%%:*}
	# shellcheck disable=SC2086	# the options, word by word
	run depth fp ${c#*:} --summary-json "$T/depth.json"
	got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stacks"]["depth"])' "$T/depth.json")
	deepest=$(python3 -c '
import csv, sys
n = {}
for r in csv.DictReader(open(sys.argv[1], newline="")):
    n.setdefault(r["stack_id"], set()).add(r["frame"])
print(max(len(v) for v in n.values()))' "$T/depth.stacks.csv")
	check "depth ${c#*:}: $want frames (summary $got, deepest stack $deepest)" \
		[ "$got" = "$want" -a "$deepest" = "$want" ]
done

# --no-free-stacks: the allocations' stacks as by default, the frees' none
run nofree fp --no-free-stacks
check "--no-free-stacks: the run ends well" test $? -eq 0
verify "--no-free-stacks: every allocation's stack begins at its call instruction, no free has one" \
	"$T/nofree.out" "$T/nofree.csv" "$T/nofree.stacks.csv" <<'PY'
kinds = {}
for t, r in pairs:
    if r is None:
        fail('no row for %s' % ' '.join(t[:4]))
    f = frames(stacks, r)
    if t[0] == 'free':
        if r['stack_id']:
            fail('free row %s has stack %s' % (r['seq'], r['stack_id']))
    elif not f or int(f[0]['addr'], 16) != int(t[4], 16):
        fail('row %s: call site %s, the program says %s' % (r['seq'], f and f[0]['addr'], t[4]))
    kinds[t[0]] = kinds.get(t[0], 0) + 1
if not kinds.get('free') or not kinds.get('malloc'):
    fail('the program made no frees or no mallocs: %s' % kinds)
print('%d mallocs with their call sites, %d frees without a stack' % (kinds['malloc'], kinds['free']))
PY
"$TLSBPF" --no-stacks --pprof "$T/none.pb.gz" -- /bin/true >/dev/null 2>"$T/nopprof.err"
rc=$?
check_sh "--no-stacks with --pprof: refused in one line, nothing written" \
	'[ $rc -eq 2 ] && [ "$(wc -l <"$T/nopprof.err")" = 1 ] && grep -q -- "--no-stacks" "$T/nopprof.err" &&
	 [ ! -e "$T/none.pb.gz" ]'

echo "1..$n"
