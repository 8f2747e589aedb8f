#!/usr/bin/env bash
# -p on a process that forks children which allocate at once (their first call after fork):
# every call of every child and grandchild is a row, checked against each process's own record.
. "$(dirname "$0")/lib.sh"
need_bpf

# attach_burst CHILDREN KEEP: tlsbpf -p on tp_forkburst, which forks once tlsbpf is attached
attach_burst() {
	local pid tpid
	rm -rf "$T/logs" "$T/go" && mkdir "$T/logs"
	"$PROGS/tp_forkburst" "$T/go" "$T/logs" "$1" "$2" &
	pid=$!
	$TLSBPF -v -q --csv "$T/f.csv" --summary "$T/sum" -p "$pid" >/dev/null 2>"$T/err" &
	tpid=$!
	for _ in $(seq 400); do grep -q "probes live" "$T/err" && break; sleep 0.05; done
	touch "$T/go"
	wait "$pid"
	echo "burst $?" >"$T/rc"
	wait "$tpid"
	echo "tlsbpf $?" >>"$T/rc"
}

# compare CSV LOGDIR: processes logged, those whose rows differ from their record, calls checked
compare() {
	python3 - "$1" "$2" <<'PY'
import collections, csv, glob, os, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
want, got = {}, collections.defaultdict(collections.Counter)
for path in glob.glob(os.path.join(sys.argv[2], 'log.*')):
    c = collections.Counter()
    for line in open(path):
        f = line.split()
        c[(f[0], int(f[1]) if f[0] == 'malloc' else 0, int(f[-1], 16))] += 1
    want[os.path.basename(path).split('.')[1]] = c
for r in rows:
    if r['pid'] in want and r['event'] in ('malloc', 'free') and 'libc' not in r['flags'] \
            and (r['event'] == 'free' or int(r['size']) >= 1000):
        got[r['pid']][(r['event'], int(r['size']) if r['event'] == 'malloc' else 0,
                       int(r['addr'], 16))] += 1
bad = [p for p in want if got[p] != want[p]]
print(len(want), len(bad), sum(sum(c.values()) for c in want.values()), ' '.join(bad[:5]))
PY
}

attach_burst 40 30
read -r _ brc <<<"$(sed -n 1p "$T/rc")"
read -r _ trc <<<"$(sed -n 2p "$T/rc")"
check "the forking program ends with status 0 ($brc), tlsbpf too ($trc)" [ "$brc" -eq 0 -a "$trc" -eq 0 ]
read -r nproc nbad ncalls badpids <<<"$(compare "$T/f.csv" "$T/logs")"
check "61 processes (1 + 40 children + 20 grandchildren) recorded their calls ($nproc)" [ "$nproc" -eq 61 ]
check "every call of every process is a row, from each child's first call on ($ncalls calls; $nbad processes differ: $badpids)" \
	[ "$nbad" -eq 0 -a "$ncalls" -eq $((61 * 60)) ]
check "-v says who pays: $(grep 'tlsbpf: probes on\|tlsbpf: probes placed' "$T/err")" \
	grep -q "tlsbpf: probes on the library file: every process that maps it pays the trap" "$T/err"
check "the report says so too: $(grep '^probes:' "$T/sum")" grep -q "^probes: " "$T/sum"
