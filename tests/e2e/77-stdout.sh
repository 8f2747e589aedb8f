#!/usr/bin/env bash
# An output on stdout ('-') has stdout to itself: no live view, not the command's own output,
# so `tlsbpf --csv - -- prog | tlsbpf analyze -` works; two outputs on stdout are refused.
. "$(dirname "$0")/lib.sh"

refused() { # what, args...: exit 2, one line on stderr naming both options, the command not run
	local what=$1 rc
	shift
	rm -f "$T/ran"
	$TLSBPF "$@" -- touch "$T/ran" >"$T/out" 2>"$T/err"
	rc=$?
	check "$what: exit $rc, one line: $(head -1 "$T/err")" \
		[ "$rc" -eq 2 -a "$(wc -l <"$T/err")" -eq 1 -a ! -e "$T/ran" -a ! -s "$T/out" ]
}
refused "--csv - with -o -" --csv - -o -
refused "--csv - with --summary -" --csv - --summary -
refused "--summary-json - with --report -" --summary-json - --report -

need_bpf

# worker_counts ERR PROG_OUT: the worker thread in the text report ERR has the allocations and
# frees the program printed
worker_counts() {
	python3 - "$1" "$2" <<'PY'
import re, sys
rep, out = open(sys.argv[1]).read(), open(sys.argv[2]).read()
tids = set(re.findall(r'^alloc pid=\d+ tid=(\d+)', out, re.M))
want = {t: (len(re.findall(rf'^alloc pid=\d+ tid={t} ', out, re.M)),
            len(re.findall(rf'^free pid=\d+ tid={t} ', out, re.M))) for t in tids}
got = {}
for t in tids:
    m = re.search(rf'^\s+T\d+\s+{t}\s+\S+\s+(\d+)\s+(\d+)\s', rep, re.M)
    got[t] = (int(m.group(1)), int(m.group(2))) if m else None
print(f"worker (allocs, frees) printed by the program {want}, in the report {got}")
sys.exit(0 if want and got == want else 1)
PY
}

# ---- the pipe end to end, live view on (no -q), the command printing on its stdout ----

$TLSBPF --csv - -- "$PROGS/tp_count" -t 1 -n 40 -s 55 2>"$T/tlsbpf.err" |
	tee "$T/pipe.csv" | $TLSBPF analyze - >"$T/analyze.out" 2>"$T/analyze.err"
rcs=("${PIPESTATUS[@]}")
check "tlsbpf --csv - -- prog | tlsbpf analyze -: exits ${rcs[0]} and ${rcs[2]}, analyze says \
'$(head -c 120 "$T/analyze.err")'" [ "${rcs[0]}" -eq 0 -a "${rcs[2]}" -eq 0 ]
bad=$(python3 - "$T/pipe.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
print(sum(1 for r in rows if len(r) != len(rows[0])) + (rows[0][:2] != ['seq', 'ts_ns']))
PY
)
check "stdout is the CSV alone: $(wc -l <"$T/pipe.csv") lines, $bad not rows as wide as the header" \
	[ "$bad" -eq 0 ]
check "the command's own output went to stderr ($(grep -c '^alloc pid=' "$T/tlsbpf.err") lines)" \
	[ "$(grep -c '^alloc pid=' "$T/tlsbpf.err")" -eq 40 ]
out=$(worker_counts "$T/analyze.out" "$T/tlsbpf.err")
vrc=$?
check "analyze - read the pipe: $out" [ "$vrc" -eq 0 ]

# ---- --csv - with -o FILE: the live view goes to its file ----

$TLSBPF --csv - -o "$T/live.txt" -- "$PROGS/tp_count" -t 1 -n 40 -s 55 >"$T/o.csv" 2>"$T/o.err"
rc=$?
mallocs=$(grep -c ' malloc ' "$T/live.txt")
notcsv=$(grep -cvE '^([0-9]+,|seq,)' "$T/o.csv")
check "--csv - -o FILE: exit $rc, the live view in FILE ($mallocs malloc lines), \
stdout all CSV ($notcsv other lines)" [ "$rc" -eq 0 -a "$mallocs" -ge 40 -a "$notcsv" -eq 0 ]

# ---- --summary -: the report alone on stdout ----

$TLSBPF --summary - -- "$PROGS/tp_count" -t 1 -n 40 -s 55 >"$T/sum.out" 2>"$T/sum.err"
rc=$?
out=$(worker_counts "$T/sum.out" "$T/sum.err")
vrc=$?
check "--summary -: exit $rc, stdout starts with the report ($(head -1 "$T/sum.out")), no live \
line, the program's output on stderr: $out" [ "$rc" -eq 0 -a "$vrc" -eq 0 ] && \
	[ "$(head -c 14 "$T/sum.out")" = "tlsbpf report:" ]
