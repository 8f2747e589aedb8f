#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# 88-cxx: C++'s operator new, new[], delete and delete[] in all their forms, in a thread and a
# forked child (tests/progs/tp_cxx.cc): each call is one row named by its operator, its stack
# begins at the program's own call (the instruction and its __LINE__, as the program finds
# them), the three mismatches the program makes are flagged and nothing else is, and the calls
# the program made of each operator are those bpftrace counts on libstdc++. Launched on private
# copies, on the files (--no-confine), and attached with -p (probes in the process).
. "$(dirname "$0")/lib.sh"
need_bpf

CXXLIB=$(realpath /usr/lib/x86_64-linux-gnu/libstdc++.so.6 2>/dev/null)
cat >"$T/labq.py" <<'PY'
import csv, os, sys

def load(truth_path, csv_path, stacks_path=None):
    truth = []
    for l in open(truth_path):
        if not l.startswith('call '):
            continue
        head, detail = l.rstrip('\n').split(' detail=', 1)
        t = dict(kv.split('=', 1) for kv in head.split()[1:])
        t['detail'] = detail
        truth.append(t)
    rows = [r for r in csv.DictReader(open(csv_path, newline=''))
            if r['event'] in ('malloc', 'memalign', 'free')]
    stacks = {}
    for r in csv.DictReader(open(stacks_path, newline='')) if stacks_path else []:
        stacks.setdefault(int(r['stack_id']), []).append(r)
    return truth, rows, stacks

def pair(truth, rows):
    """Each call with its row: the next row of its process, event and address (and size, for
    an allocation), after the row of the call before at that address."""
    used, out, after = set(), [], {}
    for t in truth:
        pid, addr = t['pid'], int(t['addr'], 16)
        hit = None
        for r in rows:
            seq = int(r['seq'])
            if seq in used or seq <= after.get((pid, addr), 0) or r['pid'] != pid:
                continue
            if r['event'] != t['event'] or int(r['addr'], 16) != addr:
                continue
            if t['event'] != 'free' and int(r['size']) != int(t['size']):
                continue
            hit = r
            break
        if hit:
            used.add(int(hit['seq']))
            after[(pid, addr)] = int(hit['seq'])
        out.append((t, hit))
    return out

def frame0(stacks, r):
    """The call site's row in the stacks file (frame 0, its innermost inline level)."""
    f = [x for x in stacks.get(int(r['stack_id'] or 0), []) if x['frame'] == '0']
    return f[0] if f else None

def fail(msg):
    print(msg)
    sys.exit(1)

truth, rows, stacks = load(*sys.argv[1:4])
pairs = pair(truth, rows)
pids = set(t['pid'] for t in truth)
PY

# pid MODE: tp_cxx started first, waiting on a FIFO; tlsbpf -p attaches, then the calls begin
pid() {
	local mode=$1 pid tpid
	shift
	rm -f "$T/go" && mkfifo "$T/go"
	"$PROGS/tp_cxx" 3 "$T/go" >"$T/$mode.out" &
	pid=$!
	"$TLSBPF" -v -q "$@" --csv "$T/$mode.csv" --summary-json "$T/$mode.json" \
		--summary "$T/$mode.txt" --report "$T/$mode.md" -p "$pid" 2>"$T/$mode.err" &
	tpid=$!
	wait_live "$T/$mode.err"
	echo >"$T/go"
	wait "$pid"
	wait "$tpid"
}

for mode in confined files pid; do
	case $mode in
	confined) opts=() ;;
	files) opts=(--no-confine) ;;
	esac
	if [ "$mode" = pid ]; then
		pid pid
	else
		"$TLSBPF" -q "${opts[@]}" --csv "$T/$mode.csv" --summary-json "$T/$mode.json" \
			--summary "$T/$mode.txt" --report "$T/$mode.md" -- "$PROGS/tp_cxx" 3 \
			>"$T/$mode.out" 2>"$T/$mode.err"
	fi
	check "$mode: the run ends well, with a stacks file beside the CSV" \
		test $? -eq 0 -a -s "$T/$mode.stacks.csv"
	[ "$mode" = pid ] && check "pid: libstdc++ is probed in the process, as the C library: $(grep -o 'probes placed in [^:]*' "$T/pid.err")" \
		grep -q "probing _Znwm in /proc/.*libstdc++" "$T/pid.err"

	verify "$mode: every call is one row, named by its operator, and the operators' rows are the calls" \
		"$T/$mode.out" "$T/$mode.csv" "$T/$mode.stacks.csv" <<'PY'
for t, r in pairs:
    if r is None:
        fail('no row for %s %s at %s (%s)' % (t['event'], t['detail'], t['addr'], t['pid']))
    if r['detail'] != t['detail']:
        fail('row %s: detail "%s", the program called "%s"' % (r['seq'], r['detail'], t['detail']))
paired = set(r['seq'] for t, r in pairs)
extra = [r['seq'] for r in rows if r['pid'] in pids and r['detail'] and r['seq'] not in paired]
if extra:
    fail('rows naming an operator the program did not call: %s' % extra[:5])
if len(pids) != 2 or len(set(t['tid'] for t in truth)) != 3 or len(truth) != 3 * 3 * 20:
    fail('the program did not run in two processes and three threads: %d calls' % len(truth))
print('%d calls, %d forms, each one row' % (len(truth), len(set(t['detail'] for t in truth))))
PY

	verify "$mode: each operator's row has its stack begin at the program's call, at its __LINE__" \
		"$T/$mode.out" "$T/$mode.csv" "$T/$mode.stacks.csv" <<'PY'
for t, r in pairs:
    f = frame0(stacks, r)
    if f is None:
        fail('row %s has no stack' % r['seq'])
    if int(t['ret'], 16) == 0:
        fail('the program found no call of its operator at line %s' % t['line'])
    if int(f['addr'], 16) != int(t['ret'], 16) or int(f['offset'], 16) != int(t['off'], 16):
        fail('row %s (%s): call site %s +%s, the program says %s +%s'
             % (r['seq'], t['detail'], f['addr'], f['offset'], t['ret'], t['off']))
    if os.path.basename(f['module']) != 'tp_cxx':
        fail('row %s: call site in %s' % (r['seq'], f['module']))
    if (os.path.basename(f['file']), f['line']) != ('tp_cxx.cc', t['line']):
        fail('row %s (%s): %s:%s, the program says tp_cxx.cc:%s'
             % (r['seq'], t['detail'], f['file'], f['line'], t['line']))
print('%d call sites exact, with their lines' % len(pairs))
PY

	verify "$mode: mismatched_free on the three mismatches the program made, and on nothing else" \
		"$T/$mode.out" "$T/$mode.csv" "$T/$mode.stacks.csv" <<'PY'
want = set(r['seq'] for t, r in pairs if t['mismatch'] == '1')
got = set(r['seq'] for r in rows if 'mismatched_free' in r['flags'])
if want != got or len(want) != 3 * 3 * 3:
    fail('flagged %s, the program mismatched %s' % (sorted(got)[:6], sorted(want)[:6]))
kinds = set((t['detail'], r['detail']) for t, r in pairs if t['mismatch'] == '1')
print('%d mismatched frees flagged (%s)' % (len(got), ', '.join(sorted(d or 'free' for d, _ in kinds))))
PY

	verify "$mode: the summary and the report count them, and list each with both stacks" \
		"$T/$mode.out" "$T/$mode.csv" "$T/$mode.stacks.csv" "$T/$mode.json" "$T/$mode.txt" \
		"$T/$mode.md" <<'PY'
import json
j = json.load(open(sys.argv[4]))
want = sum(1 for t in truth if t['mismatch'] == '1')
if j['totals']['mismatched_frees'] != want:
    fail('summary: %s mismatched frees, %d made' % (j['totals']['mismatched_frees'], want))
bad = [b for b in j['sites']['bad_frees'] if b['kind'] == 'mismatched_free']
sites = {('site_new_array', 'site_delete_of_array'), ('site_malloc', 'site_delete_of_malloc'),
         ('site_new', 'site_free_of_new')}
seen = set((b['alloc_site'].split()[0], b['free_site'].split()[0]) for b in bad)
if seen != sites or len(bad) + j['sites']['bad_frees_not_listed'] < want:
    fail('bad frees listed: %s' % sorted(seen))
if ' %d mismatched, ' % want not in open(sys.argv[5]).read():
    fail('the text summary does not say %d mismatched' % want)
md = open(sys.argv[6]).read()
if ' %d mismatched frees ' % want not in md or 'mismatched free' not in md.split('bad frees')[-1]:
    fail('the lab report does not say %d mismatched frees, or list them' % want)
print('%d in the summaries and the lab report, listed with the sites that allocated and freed' % want)
PY
done

# analyze reads the family back from detail: the same counts and list from the CSV alone
"$TLSBPF" analyze --summary-json "$T/an.json" "$T/confined.csv" >/dev/null 2>&1
verify "analyze of the CSV counts and lists the same mismatches" \
	"$T/confined.out" "$T/confined.csv" "$T/confined.stacks.csv" "$T/confined.json" "$T/an.json" <<'PY'
import json
a, b = json.load(open(sys.argv[4])), json.load(open(sys.argv[5]))
bad = lambda j: sorted(x['seq'] for x in j['sites']['bad_frees'] if x['kind'] == 'mismatched_free')
if a['totals']['mismatched_frees'] != b['totals']['mismatched_frees'] or bad(a) != bad(b):
    fail('analyze: %d mismatched, the run %d' % (b['totals']['mismatched_frees'], a['totals']['mismatched_frees']))
print('%d mismatched frees, the same rows listed' % b['totals']['mismatched_frees'])
PY

# bpftrace on libstdc++'s operators, the program launched by it: the calls made from the
# program's own code, by operator and call site (the return address at the entry), are those
# tlsbpf names (a form that jumps on to another shows at the same return address in both)
if [ -z "$CXXLIB" ] || ! command -v bpftrace >/dev/null; then
	not_ok "bpftrace and libstdc++ are installed"
else
	syms=$(readelf -W --dyn-syms "$CXXLIB" | awk '$8 ~ /^_Z(nw|na|dl|da)/ {sub(/@.*/, "", $8); print $8}' | sort -u)
	probes=$(for s in $syms; do printf 'uprobe:"%s":%s,' "$CXXLIB" "$s"; done)
	timeout 120 bpftrace -e "${probes%,} /comm == \"tp_cxx\"/ { @[probe, *(uint64 *)reg(\"sp\")] = count(); }" \
		-c "$PROGS/tp_cxx 3" >"$T/bt.out" 2>"$T/bt.err"
	check "bpftrace probes the $(echo "$syms" | wc -w) operators and runs the program" test $? -eq 0
	verify "tlsbpf's rows by operator and call site are bpftrace's counts" \
		"$T/confined.out" "$T/confined.csv" "$T/confined.stacks.csv" "$T/bt.out" <<'PY'
import re
from collections import Counter
sym = {'new': '_Znwm', 'new nothrow': '_ZnwmRKSt9nothrow_t', 'new aligned': '_ZnwmSt11align_val_t',
       'new aligned nothrow': '_ZnwmSt11align_val_tRKSt9nothrow_t', 'new[]': '_Znam',
       'new[] nothrow': '_ZnamRKSt9nothrow_t', 'new[] aligned': '_ZnamSt11align_val_t',
       'new[] aligned nothrow': '_ZnamSt11align_val_tRKSt9nothrow_t', 'delete': '_ZdlPv',
       'delete sized': '_ZdlPvm', 'delete nothrow': '_ZdlPvRKSt9nothrow_t',
       'delete aligned': '_ZdlPvSt11align_val_t',
       'delete aligned nothrow': '_ZdlPvSt11align_val_tRKSt9nothrow_t',
       'delete sized aligned': '_ZdlPvmSt11align_val_t', 'delete[]': '_ZdaPv',
       'delete[] sized': '_ZdaPvm', 'delete[] nothrow': '_ZdaPvRKSt9nothrow_t',
       'delete[] aligned': '_ZdaPvSt11align_val_t',
       'delete[] aligned nothrow': '_ZdaPvSt11align_val_tRKSt9nothrow_t',
       'delete[] sized aligned': '_ZdaPvmSt11align_val_t'}
bt_truth = [dict(kv.split('=', 1) for kv in l.split(' detail=')[0].split()[1:])
            for l in open(sys.argv[4]) if l.startswith('call ')]
off = {int(t['ret'], 16): int(t['off'], 16) for t in bt_truth}
bt = Counter()
for m in re.finditer(r'^@\[uprobe:[^,]*:(\w+), (\d+)\]: (\d+)$', open(sys.argv[4]).read(), re.M):
    if int(m[2]) in off:	# a call from the program's code, not from inside libstdc++
        bt[(m[1], off[int(m[2])])] += int(m[3])
ours = Counter()
for r in rows:
    if r['pid'] in pids and r['detail']:
        ours[(sym[r['detail']], int(frame0(stacks, r)['offset'], 16))] += 1
for k, n in ours.items():
    if bt[k] != n:
        fail('%s at +%#x: tlsbpf %d rows, bpftrace %d calls' % (k[0], k[1], n, bt[k]))
sites = set(o for s, o in bt)
if sites != set(o for s, o in ours) or len(ours) < 15:
    fail('call sites: bpftrace %d, tlsbpf %d' % (len(sites), len(set(o for s, o in ours))))
print('%d operator calls at %d sites, as bpftrace counts them' % (sum(ours.values()), len(sites)))
PY
fi
echo "1..$n"
