#!/usr/bin/env bash
# Property: random programs (threads, forks, a timer whose handler allocates in whichever
# thread it interrupts, realloc chains, handlers that siglongjmp out of calls) record every
# call they make; tlsbpf's rows must be exactly those calls, or differ by what it reports lost.
. "$(dirname "$0")/lib.sh"
need_bpf

# verdict CSV LOGDIR: compare, call by call, per thread
verdict() {
	python3 - "$1" "$2" <<'PY'
import collections, csv, glob, os, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
logs = glob.glob(os.path.join(sys.argv[2], 'log.*'))
calls = collections.Counter()
ambiguous = 0
for path in logs:
    for line in open(path):
        f = line.split()
        if f[1] == 'ambiguous':
            ambiguous += int(f[2])
            continue
        tid, ev, size, addr, old = f
        calls[(tid, ev, int(size), int(addr, 16), int(old, 16) if ev == 'realloc' else 0)] += 1
pids = {os.path.basename(p).split('.')[1] for p in logs}
got = collections.Counter()
for r in rows:
    if r['pid'] not in pids or r['event'] not in \
            ('malloc', 'calloc', 'realloc', 'free', 'posix_memalign', 'memalign'):
        continue
    if set(r['flags'].split('|')) & {'libc', 'internal'}:
        continue    # the C library's own calls: pthread_create's DTV, the cache flush
    got[(r['tid'], r['event'], int(r['size'] or 0), int(r['addr'], 16),
         int(r['old_addr'], 16) if r['event'] == 'realloc' else 0)] += 1
lost = sum(int(r['size']) for r in rows if r['event'] == 'lost')
missing, extra = calls - got, got - calls
n_missing, n_extra = sum(missing.values()), sum(extra.values())
# every call the program recorded and tlsbpf did not is counted lost; beyond those, a
# jump out of a call leaves either a row the program could not record or a call that
# never returned, which tlsbpf counts lost (or neither, when it came before the call)
ok = lost >= n_missing and n_extra + (lost - n_missing) <= ambiguous
print('%s: %d calls, %d rows, %d missing, %d extra, %d ambiguous, %d lost%s' % (
    'right' if ok else 'wrong', sum(calls.values()), sum(got.values()), n_missing, n_extra,
    ambiguous, lost, '' if ok else ' e.g. missing %s extra %s' % (
        list(missing)[:2], list(extra)[:2])))
PY
}

for seed in 1 2 3 4 5 6; do
	for mode in "" jumps; do
		rm -rf "$T/logs"
		mkdir "$T/logs"
		$TLSBPF -q --csv "$T/r.csv" -- "$PROGS/tp_random" $seed 600 "$T/logs" $mode \
			>"$T/out" 2>"$T/err"
		rc=$?
		what="seed $seed${mode:+, jumps}"
		if [ $rc -ne 0 ]; then
			not_ok "$what: exited $rc: $(tail -n 2 "$T/err" | tr '\n' ' ')"
			continue
		fi
		res=$(verdict "$T/r.csv" "$T/logs")
		check "$what: $res" [ "${res%%:*}" = right ]
	done
done
