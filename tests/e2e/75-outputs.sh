#!/usr/bin/env bash
# Each output goes where it is told; a hostile thread name cannot forge the live view or the CSV.
. "$(dirname "$0")/lib.sh"
need_bpf

# The system's python: a version manager's shim would add shells and forks to every run.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# csv_sane FILE: parses as CSV, the header is schema v1, every row has as many fields, seq 1..N.
csv_sane() {
	python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
head = ('seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,'
        'origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail,args,stack_id').split(',')
widths = set(len(r) for r in rows)
seqs = [int(r[0]) for r in rows[1:]]
allocs = sum(1 for r in rows[1:] if r[5] == 'malloc')
ok = rows and rows[0] == head and widths == {24} and seqs == list(range(1, len(seqs) + 1)) \
    and allocs > 0
print(f"{len(rows) - 1} rows of {'/'.join(map(str, sorted(widths)))} fields, seq 1..{len(seqs)}, "
      f"{allocs} malloc rows")
sys.exit(0 if ok else 1)
PY
}

check_says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $out" [ "$rc" -eq 0 ]
}

# ---- --csv -: the CSV on stdout ----

$TLSBPF -q --csv - -- sh -c "$PROGS/tp_count -t 2 -n 100 -s 99 >/dev/null" \
	>"$T/stdout.csv" 2>"$T/err"
rc=$?
check "--csv - -q: exits 0 (got $rc)" [ "$rc" -eq 0 ]
check_says "--csv - -q: stdout is the CSV and nothing else" csv_sane "$T/stdout.csv"
check "--csv -: the report still goes to stderr" grep -q '^totals: ' "$T/err"

# ---- -o, --summary, --summary-json: each to its file, nothing on stdout ----

cat >"$T/hostile.py" <<'PY'
import ctypes
# ESC [ 2 J clears a terminal; the newline would start a line that looks like an event
ctypes.CDLL(None).prctl(15, b"\x1b[2J\nforged 1", 0, 0, 0)
keep = [bytes(4096 + i) for i in range(200)]
PY
$TLSBPF -o "$T/live.txt" --csv "$T/out.csv" --summary "$T/sum.txt" \
	--summary-json "$T/sum.json" -- "$PY" "$T/hostile.py" >"$T/stdout" 2>"$T/err"
rc=$?
check "-o --csv --summary --summary-json: exits 0 (got $rc) $(head -c 160 "$T/err")" [ "$rc" -eq 0 ]
check "-o FILE: nothing on stdout ($(wc -c <"$T/stdout") bytes)" [ ! -s "$T/stdout" ]
check "-o FILE: the live view is there ($(wc -l <"$T/live.txt") lines)" \
	grep -q ' malloc ' "$T/live.txt"
good=0
grep -q '^totals: ' "$T/sum.txt" && ! grep -q 'tlsbpf report' "$T/err" && good=1
check "--summary FILE: the report is there, not on stderr" [ "$good" = 1 ]
check_says "--summary-json FILE: parses, and counts the CSV's allocations" python3 - \
	"$T/sum.json" "$T/out.csv" <<'PY'
import csv, json, sys
j = json.load(open(sys.argv[1]))
family = {'malloc', 'calloc', 'realloc', 'reallocarray', 'posix_memalign', 'aligned_alloc',
          'memalign', 'valloc', 'pvalloc'}
rows = list(csv.DictReader(open(sys.argv[2], newline='')))
n = sum(1 for r in rows if r['event'] in family and int(r['addr'], 16)
        and 'failed' not in r['flags'].split('|'))
print(f"{j['totals']['allocations']} allocations in the JSON, {n} successful allocation rows")
sys.exit(j['totals']['allocations'] != n or n == 0)
PY

# ---- a thread name made of control characters ----

esc=$(grep -c $'\x1b' "$T/live.txt")
named=$(grep -c 'x1b\[2J\\x0aforged 1' "$T/live.txt")
good=0
[ "$esc" -eq 0 ] && [ "$named" -gt 0 ] && good=1
check "live view: no raw ESC byte ($esc lines with one), the name shown escaped on $named lines" \
	[ "$good" = 1 ]
forged=$(tail -n +2 "$T/live.txt" | grep -cvE '^ *-?[0-9]+\.[0-9]{6} ')
check "live view: every line after the column header is an event line, none forged \
($forged others)" [ "$forged" -eq 0 ]
check "live view: the first line is the column header: $(head -1 "$T/live.txt" | tr -s ' ')" \
	grep -qE '^ +seconds +pid/tid +comm +event +size ' <(head -1 "$T/live.txt")
check_says "CSV: the name is quoted and reads back exactly, every row the same width" python3 - \
	"$T/out.csv" <<'PY'
import csv, sys
raw = open(sys.argv[1], 'rb').read()
rows = list(csv.reader(open(sys.argv[1], newline='')))
name = '\x1b[2J\nforged 1'
named = sum(1 for r in rows[1:] if r[4] == name)
quoted = raw.count(b',"\x1b[2J\nforged 1",')
widths = set(len(r) for r in rows)
print(f"{named} rows name it, {quoted} quoted in the file, widths {sorted(widths)}")
sys.exit(not (named > 0 and quoted == named and widths == {24}))
PY

# ---- an output that cannot be written: refused before the command runs ----

refused() { # what, expected message, command...
	local what=$1 pat=$2 rc lines good=0
	shift 2
	rm -f "$T/ran"
	"$@" >/dev/null 2>"$T/err"
	rc=$?
	lines=$(wc -l <"$T/err")
	[ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$T/err" && good=1
	check "$what: exit $rc, $lines line: $(head -c 160 "$T/err")" [ "$good" = 1 ]
	check "$what: the command did not run" [ ! -e "$T/ran" ]
}

# root passes permission checks: a read-only pseudo file opens, only its writes fail
refused "--csv /proc/version" "cannot open '/proc/version': " \
	$TLSBPF -q --csv /proc/version -- /bin/touch "$T/ran"
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	mkdir -p "$T/ro"
	: >"$T/ro/old.csv"
	for f in new.csv old.csv; do
		refused "--csv on a read-only mount, $f" "cannot open '$T/ro/$f': Read-only file system" \
			unshare -m sh -c "mount --bind -o ro '$T/ro' '$T/ro' &&
			exec $TLSBPF -q --csv '$T/ro/$f' -- /bin/touch '$T/ran'"
	done
else
	skip "--csv on a read-only mount" "no unshare -m"
fi
