#!/usr/bin/env bash
# Every output path is checked before the command starts; a report that cannot be written at
# the end (a full disk) goes to stderr instead of nowhere; files belong to the sudo caller.
. "$(dirname "$0")/lib.sh"
need_bpf

# ---- a path that cannot be opened: refused before the command runs, for every output ----

for opt in -o --csv --summary --summary-json --report; do
	rm -f "$T/ran"
	$TLSBPF "$opt" /nonexistent/x -- touch "$T/ran" >"$T/out" 2>"$T/err"
	rc=$?
	lines=$(wc -l <"$T/err")
	good=0
	[ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && [ ! -e "$T/ran" ] &&
		grep -q "cannot open '/nonexistent/x': No such file or directory" "$T/err" && good=1
	check "$opt /nonexistent/x: exit $rc, $lines line ($(head -1 "$T/err")), the command \
$([ -e "$T/ran" ] && echo ran || echo 'did not run')" [ "$good" = 1 ]
done

$TLSBPF -q -o "$T/q.live" -- touch "$T/ran" >"$T/out" 2>"$T/err"
rc=$?
check "-q with -o FILE contradict each other: exit $rc, one line: $(head -1 "$T/err")" \
	[ "$rc" -eq 2 -a "$(wc -l <"$T/err")" -eq 1 ]

# ---- a full disk at the end: the text report goes to stderr ----

# report_of ERRFILE OUTFILE: the program's worker thread, as the text report in ERRFILE shows it,
# has the allocations and frees the program printed in OUTFILE
report_of() {
	python3 - "$1" "$2" <<'PY'
import re, sys
err, out = open(sys.argv[1]).read(), open(sys.argv[2]).read()
pid = re.search(r'pid=(\d+)', out).group(1)
tids = set(re.findall(r'^alloc pid=\d+ tid=(\d+)', out, re.M))
want = {t: (len(re.findall(rf'^alloc pid=\d+ tid={t} ', out, re.M)),
            len(re.findall(rf'^free pid=\d+ tid={t} ', out, re.M))) for t in tids}
got = {}
for t in tids:
    m = re.search(rf'^\s+T\d+\s+{t}\s+\S+\s+(\d+)\s+(\d+)\s', err, re.M)
    got[t] = (int(m.group(1)), int(m.group(2))) if m else None
proc = re.search(rf'^process {pid} tp_count', err, re.M) is not None
print(f"process {pid} in the report: {proc}; worker (allocs, frees) printed {want}, "
      f"reported {got}")
sys.exit(0 if proc and want and got == want else 1)
PY
}

for opt in --summary --summary-json --report; do
	$TLSBPF -q "$opt" /dev/full -- "$PROGS/tp_count" -t 1 -n 50 -s 77 >"$T/prog.out" 2>"$T/err"
	rc=$?
	n=$(grep -c '^tlsbpf report: ' "$T/err")
	msg=$(grep "cannot write the report to '/dev/full'" "$T/err")
	check "$opt /dev/full: exit $rc (want 1), the text report on stderr once ($n), said: $msg" \
		[ "$rc" -eq 1 -a "$n" -eq 1 -a -n "$msg" ]
	out=$(report_of "$T/err" "$T/prog.out")
	vrc=$?
	check "$opt /dev/full: the report on stderr is the run's: $out" [ "$vrc" -eq 0 ]
done

# ---- under sudo, every file tlsbpf creates belongs to the caller ----

SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody $TLSBPF -o "$T/s.live" --csv "$T/s.csv" \
	--summary "$T/s.sum" --summary-json "$T/s.json" --report "$T/s.md" --json-lines "$T/s.jsonl" \
	--html "$T/s.html" --perfetto "$T/s.pftrace" --pprof "$T/s.pprof" --folded "$T/s.folded" \
	-- /bin/true >/dev/null 2>"$T/err"
rc=$?
owners=$(stat -c '%n %u:%g' "$T"/s.* | sed "s|$T/||" | tr '\n' ' ')
notmine=$(stat -c '%u:%g' "$T"/s.* | grep -vc '^65534:65534$')
# ten asked for, the CSV's stacks file and the report's two pictures beside them
check "SUDO_UID=65534: exit $rc; all 13 files are the caller's: $owners" \
	[ "$rc" -eq 0 -a "$notmine" -eq 0 -a "$(ls "$T"/s.* | wc -l)" -eq 13 ]
