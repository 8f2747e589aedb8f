#!/usr/bin/env bash
# `tlsbpf analyze`: the live run's report again from its CSV; bad files refused in one line, no root.
. "$(dirname "$0")/lib.sh"

# report_facts TEXT: the report's figures without the timing or the command: per-thread rows
# under their process, the process count line, totals, frees, running, lost.
report_facts() {
	python3 - "$1" <<'PY'
import re, sys
pid = None
for line in open(sys.argv[1], errors='replace'):
    s = line.strip()
    m = re.match(r'process (\d+) ', s)
    if m:
        pid = m.group(1)
    elif re.match(r'T\d+ +\d+ ', s):
        print('thread', pid, ' '.join(s.split()))
    elif s.startswith('events: '):
        print(re.sub(r' in [0-9.]+ s,', ',', s))
    elif s.startswith(('totals:', 'frees:', 'processes still running:', 'events lost:')):
        print(s)
PY
}

# json_agrees JSON TEXT: the JSON report parses and says what the text report says.
json_agrees() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1]))
text = open(sys.argv[2], errors='replace').read()
t = j['totals']
want_totals = (f"totals: {t['allocations']} allocations, {t['frees']} frees, "
               f"{t['bytes_requested']} B requested, leaks {t['leaked_blocks']} blocks "
               f"({t['leaked_bytes']} B), mmap chunks {t['mmap_chunks']} "
               f"({t['mmap_chunk_bytes_mapped']} B mapped)")
want_frees = (f"frees: {t['cross_thread_frees']} cross-thread, {t['inherited_frees']} inherited, "
              f"{t['double_frees']} double, {t['invalid_frees']} invalid, "
              f"{t['mismatched_frees']} mismatched, "
              f"{t['unknown_origin_frees']} unknown origin; {t['reused']} addresses reused")
rows = {}
pid = None
for line in text.splitlines():
    s = line.strip()
    m = re.match(r'process (\d+) ', s)
    if m:
        pid = int(m.group(1))
    elif re.match(r'T\d+ +\d+ ', s):
        f = s.split()
        rows[(pid, int(f[1]))] = (int(f[3]), int(f[4]))
jrows = {(p['pid'], th['tid']): (th['allocations'], th['frees'])
         for p in j['processes'] for th in p['threads']}
bad = []
if want_totals not in text:
    bad.append('totals line differs: ' + want_totals)
if want_frees not in text:
    bad.append('frees line differs: ' + want_frees)
if rows != jrows:
    bad.append(f'threads differ: {len(rows)} text rows, {len(jrows)} JSON threads')
if t['processes'] != len(j['processes']) or t['threads'] != len(jrows):
    bad.append('process or thread count differs')
print(f"{len(jrows)} threads in {len(j['processes'])} processes, {t['allocations']} allocations, "
      f"{t['frees']} frees" + ('' if not bad else '; ' + '; '.join(bad)))
sys.exit(1 if bad else 0)
PY
}

# measure OUT CMD...: run CMD with stdout and stderr to OUT.out/OUT.err; OUT.m gets
# "status wall_s peak_rss_kib" (peak "unknown" without GNU time).
measure() {
	local out=$1 rc start
	shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -o "$out.t" -f "%e %M" "$@" >"$out.out" 2>"$out.err"
		rc=$?
		echo "$rc $(tail -1 "$out.t")" >"$out.m"
		return
	fi
	start=$EPOCHREALTIME
	"$@" >"$out.out" 2>"$out.err"
	rc=$?
	echo "$rc $(python3 -c "print(f'{$EPOCHREALTIME - $start:.2f}')") unknown" >"$out.m"
}

# check_says WHAT CMD...: one check, its description ending in what CMD printed
check_says() {
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $out" [ "$rc" -eq 0 ]
}

# ---- the live run's report, again from its CSV (root and BPF) ----

live_vs_analyze() { # program and arguments
	local what="$*" prog=$1 rc
	shift
	# --top 0: every thread row in the text, to compare with the JSON's
	$TLSBPF -q --top 0 --csv "$T/live.csv" --summary "$T/live.txt" \
		--summary-json "$T/live.json" -- "$PROGS/$prog" "$@" >/dev/null 2>"$T/live.err"
	rc=$?
	check "$what: live run exits 0 (got $rc)" [ "$rc" -eq 0 ]
	$TLSBPF analyze --top 0 --summary-json "$T/an.json" --summary "$T/an.txt" "$T/live.csv" \
		2>"$T/an.err"
	rc=$?
	check "$what: analyze of its CSV exits 0 (got $rc) $(head -c 160 "$T/an.err")" [ "$rc" -eq 0 ]
	report_facts "$T/live.txt" >"$T/live.facts"
	report_facts "$T/an.txt" >"$T/an.facts"
	check "$what: analyze prints the live report's $(grep -c '^thread' "$T/live.facts") thread rows, totals and frees lines: $(grep '^totals' "$T/an.facts" | cut -c1-60)..." \
		diff -q "$T/live.facts" "$T/an.facts"
	# the same check spelled out, so a failing run shows the difference in the log
	diff -u "$T/live.facts" "$T/an.facts" | head -20 | sed 's/^/# /'
	check_says "$what: analyze --summary-json parses and agrees with the text" \
		json_agrees "$T/an.json" "$T/an.txt"
	check_says "$what: the live run's JSON agrees with analyze's text" \
		json_agrees "$T/live.json" "$T/an.txt"
}

if [ "$(id -u)" -eq 0 ] && [ -r /sys/kernel/btf/vmlinux ]; then
	live_vs_analyze tp_chunks -t 3
	live_vs_analyze tp_storm -T 20 -n 50 -F 10
	cp "$T/live.csv" "$T/good.csv"
	cp "$T/live.stacks.csv" "$T/good.stacks.csv"
else
	skip "live run against analyze" "needs root and BTF"
fi

# ---- malformed files: one line naming the line, status 1, never a crash (no root) ----

H="seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail"
M='1,1000,10,10,app,malloc,24,0x50000002a0,,100,,,,,,,,,,,,'

refused() { # description, expected message, file
	local what=$1 pat=$2 file=$3 rc wall peak lines good
	measure "$T/m" $TLSBPF analyze "$file"
	read -r rc wall peak <"$T/m.m"
	lines=$(wc -l <"$T/m.err")
	good=0
	[ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$T/m.err" && good=1
	check "$what: status 1 (got $rc), one line (got $lines): $(head -c 160 "$T/m.err")" \
		[ "$good" = 1 ]
}

bounded() { # what: the last refusal took little time and little memory
	local rc wall peak
	read -r rc wall peak <"$T/m.m"
	check "$1 is refused in $wall s (under 3 s)" python3 -c "import sys; sys.exit(not $wall < 3)"
	if [ "$peak" = unknown ]; then
		skip "$1: peak memory" "no /usr/bin/time"
	else
		check "$1: peak RSS $peak KiB (under 32 MiB)" [ "$peak" -lt 32768 ]
	fi
}

printf 'seq,ts_ns,pid\n%s\n' "$M" >"$T/header.csv"
refused "wrong header" "header.csv: line 1: not a tlsbpf CSV header" "$T/header.csv"
printf '%s\n%s\n%s\n' "$H" "$M" "${M/0x50000002a0/0xzz}" >"$T/hex.csv"
refused "bad hex in addr" "line 3: bad hex in addr: '0xzz'" "$T/hex.csv"
printf '%s\n%s\n' "$H" "${M/malloc/frobnicate}" >"$T/event.csv"
refused "unknown event" "line 2: unknown event 'frobnicate'" "$T/event.csv"
printf '%s\n%s\n%s\n' "$H" "$M" "${M%,}" >"$T/fields.csv"
refused "wrong field count" "line 3: expected 22 fields, found 21" "$T/fields.csv"
printf '%s\n%s\n%s' "$H" "$M" '2,2000,10,10,"half a na' >"$T/quote.csv"
refused "last line cut inside a quoted field" "line 3: unterminated quoted field" "$T/quote.csv"
head -c 4096 /dev/urandom >"$T/junk.bin"
refused "4 KiB of random bytes" "line 1: " "$T/junk.bin"
: >"$T/empty.csv"
refused "an empty file" "line 1: not a tlsbpf CSV header" "$T/empty.csv"

head -c 100000000 /dev/zero | tr '\0' a >"$T/huge.csv"
refused "a 100 MB line with no newline" "line 1: not a tlsbpf CSV header" "$T/huge.csv"
bounded "a 100 MB line"
{ echo "$H"; cat "$T/huge.csv"; } >"$T/huge2.csv"
rm -f "$T/huge.csv"
refused "a header, then a 100 MB line" "line 2: line longer than 65536 bytes" "$T/huge2.csv"
bounded "a 100 MB row"
rm -f "$T/huge2.csv"

printf '%s\n%s\n' "$H" "${M/,app,/,a$'\xff\xfe'b$'\x1b'[2J,}" >"$T/utf8.csv"
$TLSBPF analyze --summary "$T/utf8.txt" --summary-json "$T/utf8.json" "$T/utf8.csv" 2>"$T/err"
rc=$?
check "a comm of bytes that are not UTF-8 is accepted (status $rc)" [ "$rc" -eq 0 ]
check "the text report shows it escaped: $(grep -o 'a\\xff[^ ]*' "$T/utf8.txt" | head -1)" \
	grep -qF 'a\xff\xfeb\x1b[2J' "$T/utf8.txt"
check "the JSON report of it parses, comm kept byte for byte" python3 -c "
import json, sys
j = json.load(open('$T/utf8.json'))
sys.exit(j['processes'][0]['threads'][0]['comm'] != 'a\xff\xfeb\x1b[2J')"

# ---- no root needed ----

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	pub=$(mktemp -d /tmp/tlsbpf-pub.XXXXXX)
	chmod 0755 "$pub"
	src=$T/good.csv
	[ -f "$src" ] || src=$T/utf8.csv
	install -m 0644 "$src" "$pub/run.csv"
	# its stack_ids need their stacks file (a CSV without one is refused)
	[ -f "${src%.csv}.stacks.csv" ] && install -m 0644 "${src%.csv}.stacks.csv" "$pub/run.stacks.csv"
	setpriv --reuid=65534 --regid=65534 --clear-groups $TLSBPF analyze "$pub/run.csv" \
		>"$T/nobody.txt" 2>"$T/nobody.err"
	rc=$?
	check "analyze as nobody exits 0 (got $rc) $(head -c 160 "$T/nobody.err")" [ "$rc" -eq 0 ]
	check "analyze as nobody prints the report ($(grep '^totals' "$T/nobody.txt" | cut -c1-60)...)" \
		grep -q '^totals: ' "$T/nobody.txt"
	rm -rf "$pub"
else
	skip "analyze as nobody" "needs root to drop to another user"
fi
