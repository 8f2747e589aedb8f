#!/usr/bin/env bash
# -p on a process that forks children which allocate at once (their first call after fork):
# every call of every child and grandchild is a row, checked against each process's own record,
# with the probes placed in the watched processes alone (the default where the kernel allows)
# and on the library file (--no-confine).
. "$(dirname "$0")/lib.sh"
need_bpf

# attach_burst "OPTIONS" WRAPPER CHILDREN KEEP [AGAIN]: tlsbpf -p on tp_forkburst (run under
# WRAPPER), which forks once tlsbpf is attached
attach_burst() {
	local pid tpid opts=$1 wrap=$2
	shift 2
	rm -rf "$T/logs" "$T/go" && mkdir "$T/logs"
	$wrap "$PROGS/tp_forkburst" "$T/go" "$T/logs" "$@" &
	pid=$!
	# shellcheck disable=SC2086
	$TLSBPF -v -q $opts --csv "$T/f.csv" --summary "$T/sum" -p "$pid" >/dev/null 2>"$T/err" &
	tpid=$!
	wait_live "$T/err"
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

# exact CALLS WHAT: the run ended well and every call of the 61 processes is a row
exact() {
	local brc trc nproc nbad ncalls badpids
	read -r _ brc <<<"$(sed -n 1p "$T/rc")"
	read -r _ trc <<<"$(sed -n 2p "$T/rc")"
	check "$2: the forking program ends with status 0 ($brc), tlsbpf too ($trc)" \
		[ "$brc" -eq 0 -a "$trc" -eq 0 ]
	read -r nproc nbad ncalls badpids <<<"$(compare "$T/f.csv" "$T/logs")"
	check "$2: 61 processes (1 + 40 children + 20 grandchildren) recorded their calls ($nproc)" \
		[ "$nproc" -eq 61 ]
	check "$2: every call of every process is a row, from each child's first call on ($ncalls calls; $nbad processes differ: $badpids)" \
		[ "$nbad" -eq 0 -a "$ncalls" -eq "$1" ]
}

# Linux 6.12 and later can keep a child's inherited probes apart from its parent's: there -p
# places its breakpoints in the watched processes; an older kernel probes the files, saying why
read -r kmaj kmin _ <<<"$(uname -r | tr '.-' '  ')"
placed=$(( kmaj > 6 || (kmaj == 6 && kmin >= 12) ))

attach_burst "" "" 40 30
exact $((61 * 60)) "by default"
if [ "$placed" = 1 ]; then
	check "-v says the probes are in the watched processes alone: $(grep 'tlsbpf: probes placed' "$T/err")" \
		grep -q "tlsbpf: probes placed in the 1 process watched alone .*no other process pays the trap" "$T/err"
	check "the report counts the 61 processes: $(grep '^probes:' "$T/sum")" \
		grep -q "^probes: placed in the 61 processes watched alone" "$T/sum"
else
	check "Linux $kmaj.$kmin: -v says why the files are probed: $(grep 'not in the processes alone' "$T/err")" \
		grep -q "probes on the library files, not in the processes alone: this kernel" "$T/err"
	check "and that every process that maps them pays: $(grep '^probes:' "$T/sum")" \
		grep -q "^probes: on the library file: every process that maps it pays the trap" "$T/sum"
fi

# --confine insists: where the probes cannot be kept to the watched processes, one line, exit 1
sleep 30 &
sleeper=$!
if [ "$placed" = 1 ]; then
	$TLSBPF -q --confine --sample 4 --sample-by time -p "$sleeper" >/dev/null 2>"$T/err"
	rc=$?
	check "--confine -p refuses --sample-by time, in one line (exit $rc): $(cat "$T/err")" \
		[ "$rc" -eq 1 -a "$(wc -l <"$T/err")" -eq 1 ]
	grep -q "^tlsbpf: --confine: cannot keep the probes to the watched processes: --sample-by time" "$T/err" ||
		check "the line says why" false
else
	$TLSBPF -q --confine -p "$sleeper" >/dev/null 2>"$T/err"
	rc=$?
	check "Linux $kmaj.$kmin: --confine -p refuses, in one line (exit $rc): $(cat "$T/err")" \
		[ "$rc" -eq 1 -a "$(wc -l <"$T/err")" -eq 1 ]
	grep -q "^tlsbpf: --confine: cannot keep the probes to the watched processes: this kernel" "$T/err" ||
		check "the line says why" false
fi
kill "$sleeper"
wait "$sleeper" 2>/dev/null

# One CPU for all: a child and its grandchild switch straight from one to the other, the case
# where the kernel would swap their probes; each child allocates again once its grandchild ended.
attach_burst "" "taskset -c 0" 40 30 1
exact $((81 * 60)) "on one CPU, children allocating after their grandchild ended"

attach_burst "--no-confine" "" 40 30
exact $((61 * 60)) "--no-confine"
check "--no-confine: -v says every process that maps the file pays: $(grep 'tlsbpf: probes on' "$T/err")" \
	grep -q "tlsbpf: probes on the library file: every process that maps it pays the trap" "$T/err"
