#!/usr/bin/env bash
# Bad input 2 (after 50-errors): values out of range, libraries without malloc, a script whose
# interpreter is missing, junk to analyze, a thread name that is not UTF-8. Each error is one
# clear line and a non-zero exit, the command never runs, and no output is left half-written.
. "$(dirname "$0")/lib.sh"

says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $out" [ "$rc" -eq 0 ]
}

# whole FILE: absent, empty, or a CSV of whole rows under the schema v1 header
whole() {
	python3 - "$1" <<'PY'
import csv, os, sys
p = sys.argv[1]
if not os.path.exists(p) or os.path.getsize(p) == 0:
    print('absent' if not os.path.exists(p) else 'empty')
    sys.exit(0)
data = open(p, newline='').read()
rows = list(csv.reader(data.splitlines(keepends=True)))
ok = data.endswith('\n') and rows[0][:2] == ['seq', 'ts_ns'] and \
    all(len(r) == len(rows[0]) for r in rows)
print(f"{len(rows) - 1} rows after the header, whole: {ok}")
sys.exit(0 if ok else 1)
PY
}

# refused WHAT PATTERN ARGS...: exit non-zero, one stderr line matching PATTERN, the command
# (which would touch $T/ran) not run, the CSV at $T/out.csv not half-written
refused() {
	local what=$1 pat=$2 rc lines state good=0
	shift 2
	rm -f "$T/ran" "$T/out.csv"
	timeout -s KILL 60 $TLSBPF "$@" >"$T/out" 2>"$T/err"
	rc=$?
	lines=$(wc -l <"$T/err")
	state=$(whole "$T/out.csv")
	[ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$T/err" && [ ! -e "$T/ran" ] &&
		whole "$T/out.csv" >/dev/null && good=1
	check "$what: exit $rc, $lines line: '$(head -c 200 "$T/err")'; ran: \
$([ -e "$T/ran" ] && echo yes || echo no); CSV $state" [ "$good" = 1 ]
}

run_touch=(-q --csv "$T/out.csv")
for v in 0 2048 -1 abc; do
	refused "--ringbuf-mb $v" "--ringbuf-mb wants" "${run_touch[@]}" --ringbuf-mb "$v" -- \
		touch "$T/ran"
done
refused "--stacks bogus" "--stacks wants fp or dwarf, not 'bogus'" "${run_touch[@]}" \
	--stacks=bogus -- touch "$T/ran"
refused "--stacks=dwarf with --no-stacks" "--stacks=dwarf finds call stacks, which --no-stacks" \
	"${run_touch[@]}" --stacks=dwarf --no-stacks -- touch "$T/ran"
for v in 0 x; do
	refused "--duration $v" "--duration wants" "${run_touch[@]}" --duration "$v" -- \
		touch "$T/ran"
done

head -c 8192 /bin/true >"$T/elf.bin"
head -c 4096 /dev/urandom >"$T/random.bin"
{ # the schema v1 header, then junk
	printf 'seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,'
	printf 'origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail\n'
	head -c 4096 /dev/urandom
} >"$T/halfcsv.bin"
for junk in elf.bin random.bin halfcsv.bin; do
	timeout -s KILL 60 $TLSBPF analyze "$T/$junk" >"$T/out" 2>"$T/err"
	rc=$?
	check "analyze of binary junk ($junk): exit $rc, one line: '$(head -c 160 "$T/err")', \
$(wc -c <"$T/out") bytes on stdout" \
		[ "$rc" -ne 0 -a "$(wc -l <"$T/err")" -eq 1 -a ! -s "$T/out" ]
done

need_bpf

libz=$(realpath /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null)
if [ -n "$libz" ]; then
	refused "--lib on an ELF library without malloc ($libz)" "no malloc in '$libz'" \
		"${run_touch[@]}" --lib "$libz" -- touch "$T/ran"
else
	skip "--lib on an ELF library without malloc" "no libz.so.1"
fi
refused "--lib on a file that does not exist" "cannot use --lib '$T/none.so'" \
	"${run_touch[@]}" --lib "$T/none.so" -- touch "$T/ran"

printf '#!/nonexistent/interp\ntouch "%s"\n' "$T/ran" >"$T/script"
chmod +x "$T/script"
rm -f "$T/out.csv"
timeout -s KILL 60 $TLSBPF -q --csv "$T/out.csv" -- "$T/script" >"$T/out" 2>"$T/err"
rc=$?
state=$(whole "$T/out.csv")
good=0
[ "$rc" -ge 126 ] && [ "$rc" -le 127 ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
	grep -q /nonexistent/interp "$T/err" && whole "$T/out.csv" >/dev/null && good=1
check "a script whose #! interpreter is missing: exit $rc (want 126 or 127, as a shell), \
one line naming /nonexistent/interp: '$(head -c 200 "$T/err")'; CSV $state" [ "$good" = 1 ]

# ---- a thread name that is not UTF-8 ----

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
cat >"$T/badname.py" <<'PY'
import ctypes
ctypes.CDLL(None).prctl(15, b"bad\xff\xfename", 0, 0, 0)	# PR_SET_NAME
keep = [bytes(4096 + i) for i in range(100)]
PY
timeout -s KILL 60 $TLSBPF -o "$T/live.txt" --csv "$T/name.csv" --summary "$T/name.sum" \
	--summary-json "$T/name.json" -- "$PY" "$T/badname.py" >"$T/out" 2>"$T/err"
rc=$?
check "a thread named with bytes 0xff 0xfe: exit 0 (got $rc) $(head -c 160 "$T/err")" \
	[ "$rc" -eq 0 ]
says "CSV: the name reads back byte for byte, every row whole" python3 - "$T/name.csv" <<'PY'
import csv, sys
raw = open(sys.argv[1], 'rb').read()
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='latin-1')))
named = sum(1 for r in rows[1:] if r[4].encode('latin-1') == b'bad\xff\xfename')
print(f"{named} rows name it, {raw.count(b',bad' + bytes([255, 254]) + b'name,')} "
      f"raw in the file, widths {sorted(set(len(r) for r in rows))}")
sys.exit(0 if named > 0 and len(set(len(r) for r in rows)) == 1 else 1)
PY
says "JSON: strict UTF-8 that parses, the bytes as \\u00ff\\u00fe" python3 - "$T/name.json" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))
names = [t['comm'] for p in j['processes'] for t in p['threads']]
print(f"thread names {names}")
sys.exit(0 if 'bad\u00ff\u00fename' in names else 1)
PY
raw=$(cat "$T/live.txt" "$T/name.sum" | grep -c $'\xff')
shown=$(grep -c 'bad\\xff\\xfename' "$T/name.sum")
check "live view and report: no raw 0xff byte ($raw lines with one), the name escaped in the \
report ($shown lines)" [ "$raw" -eq 0 -a "$shown" -gt 0 ]
timeout -s KILL 60 $TLSBPF analyze --summary-json "$T/again.json" "$T/name.csv" >/dev/null 2>"$T/err"
rc=$?
says "analyze reads that CSV back (exit $rc) to the same name" python3 - "$T/again.json" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))
names = [t['comm'] for p in j['processes'] for t in p['threads']]
print(f"thread names {names}")
sys.exit(0 if 'bad\u00ff\u00fename' in names else 1)
PY
