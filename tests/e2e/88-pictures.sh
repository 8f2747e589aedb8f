#!/usr/bin/env bash
# --html: one page, checked in headless Chromium against the CSV and what the program says it holds.
. "$(dirname "$0")/lib.sh"
need_bpf

CHECK=tests/e2e/page_check.py

check_says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $(echo "$out" | tail -n 1)" [ "$rc" -eq 0 ]
}
if [ ! -x /usr/bin/chromium ]; then
	if [ "${CI:-}" = true ]; then
		not_ok "chromium is missing (scripts/install-deps.sh test installs it)"
	else
		skip "the page in a browser" "no /usr/bin/chromium (sudo make test-deps)"
	fi
	exit 0
fi

# ---- the scenario: two threads with cross-thread frees, a fork, an mmap-threshold block ----

$TLSBPF -q --csv "$T/run.csv" --summary-json "$T/sum.json" --html "$T/run.html" \
	--perfetto "$T/run.pftrace" -- \
	"$PROGS/tp_picture" >"$T/held" 2>"$T/err"
rc=$?
check "--html: exits 0 (got $rc) $(head -c 200 "$T/err")" [ "$rc" -eq 0 ]
check "tp_picture said what it holds ($(grep -c '^held ' "$T/held") blocks)" grep -q '^held ' "$T/held"

check_says "the page in Chromium: no console error, no CSP violation, loads nothing" \
	python3 $CHECK console "$T/run.html"
check_says "the blocks drawn are the CSV's live blocks, at the end, before the fork, over the whole run" \
	python3 $CHECK blocks "$T/run.html" "$T/run.csv" "$T/held"
check_says "scripts off, the page shows the end of the run, every shape with its title" \
	python3 $CHECK noscript "$T/run.html" "$T/run.csv"
worker=$(awk '$1 == "held" && $3 != $2 { print $3; exit }' "$T/held")
check_says "picking a thread dims the others' blocks" python3 $CHECK thread "$T/run.html" "tid=$worker"
child=$(awk '$1 == "held" && $3 != $2 { print $2; exit }' "$T/held")
check_says "picking a process dims the others' blocks" python3 $CHECK thread "$T/run.html" "pid=$child"

# the checker itself fails on a page with a script error and a network load
sed 's|</body>|<img src="http://192.0.2.1/x.png"><script>nosuchfunction();</script></body>|' \
	"$T/run.html" >"$T/bad.html"
python3 $CHECK console "$T/bad.html" >"$T/bad.out" 2>&1
rc=$?
check "the checker fails a page with a script error and a blocked load (exit $rc)" \
	sh -c "[ $rc -ne 0 ] && grep -q nosuchfunction '$T/bad.out' && grep -q '192.0.2.1' '$T/bad.out'"

# ---- the same counts in the CSV, the JSON report and the page ----

check_says "CSV, JSON and page agree on allocations, frees, cross-thread and inherited frees, chunks" \
	python3 - "$T/run.csv" "$T/sum.json" "$T/run.html" <<'PY'
import csv, json, re, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
flags = lambda r: r['flags'].split('|')
family = {'malloc', 'calloc', 'realloc', 'reallocarray', 'posix_memalign', 'aligned_alloc',
          'memalign', 'valloc', 'pvalloc'}
c = {'allocations': sum(r['event'] in family and int(r['addr'] or '0', 16) != 0
                        and 'failed' not in flags(r) for r in rows),
     'frees': sum(r['event'] == 'free' and 'double_free' not in flags(r)
                  and 'invalid_free' not in flags(r) and 'internal' not in flags(r)
                  and int(r['addr'] or '0', 16) != 0 for r in rows),
     'cross_thread_frees': sum(r['event'] == 'free' and 'cross_thread' in flags(r) for r in rows),
     'inherited_frees': sum(r['event'] == 'free' and 'inherited' in flags(r) for r in rows),
     'mmap_chunks': sum(r['event'] in family and r['region'] == 'mmap_chunk' for r in rows)}
j = json.load(open(sys.argv[2]))['totals']
page = open(sys.argv[3]).read()
h = {k: int(re.search(r'data-%s="(\d+)"' % k.replace('_', '-'), page).group(1)) for k in c}
bad = [k for k in c if not (c[k] == j[k] == h[k])]
print(', '.join(f"{k} {c[k]}" + ('' if c[k] == j[k] == h[k] else f" (JSON {j[k]}, page {h[k]})") for k in c))
sys.exit(1 if bad or not c['cross_thread_frees'] or not c['inherited_frees'] or not c['mmap_chunks'] else 0)
PY

# ---- --perfetto: read back whole by protoc with the checked-in .proto subset ----

check_says "the Perfetto trace: slices, lanes, flows and counters as the CSV and the JSON have them" \
	python3 tests/e2e/trace_check.py "$T/run.pftrace" "$T/run.csv" "$T/sum.json"
head -c -1 "$T/run.pftrace" >"$T/cut.pftrace"
out=$(python3 tests/e2e/trace_check.py "$T/cut.pftrace" "$T/run.csv" 2>&1)
rc=$?
check "a trace one byte short is refused by protoc (exit $rc): $out" \
	sh -c "[ $rc -ne 0 ] && echo '$out' | grep -q 'cannot read'"
if command -v trace_processor_shell >/dev/null; then
	q="select (select count(*) from slice where name like '% B at 0x%'), (select count(*) from flow)"
	check "trace_processor_shell reads the trace: $(trace_processor_shell -q /dev/stdin "$T/run.pftrace" <<<"$q" 2>&1 | tail -1)" \
		trace_processor_shell -q /dev/stdin "$T/run.pftrace" <<<"$q"
else
	skip "trace_processor_shell SQL checks" "trace_processor_shell is not installed (not in Debian)"
fi
$TLSBPF analyze --perfetto "$T/an.pftrace" "$T/run.csv" >/dev/null 2>&1
check "analyze --perfetto writes the trace the live run wrote" cmp -s "$T/run.pftrace" "$T/an.pftrace"

# ---- --report FILE.md: the map and the chart as SVG files beside it ----

$TLSBPF analyze --report "$T/lab.md" "$T/run.csv" >/dev/null 2>&1
check_says "--report lab.md writes lab.map.svg and lab.live.svg, names them, and the map draws the CSV's live blocks" \
	python3 - "$T/lab.md" "$T/lab.map.svg" "$T/lab.live.svg" "$T/run.csv" <<'PY'
import csv, re, sys, xml.etree.ElementTree as ET
sys.path.insert(0, 'tests/e2e')
from csv_truth import live_at
md, smap, slive, rows = sys.argv[1], sys.argv[2], sys.argv[3], list(csv.DictReader(open(sys.argv[4])))
text = open(md).read()
assert '](lab.map.svg)' in text and '](lab.live.svg)' in text, 'the report does not show them'
ns = '{http://www.w3.org/2000/svg}'
drawn = {(int(r.get('data-pid')), int(r.get('data-addr'), 16), int(r.get('data-size')), int(r.get('data-tid')))
         for r in ET.parse(smap).iter(ns + 'rect') if r.get('data-addr')}
want = live_at(rows)
assert drawn == want, f"map: {len(drawn)} drawn, {len(want)} live in the CSV"
lines = list(ET.parse(slive).iter(ns + 'polyline'))
assert lines, 'no line in the chart'
print(f"{len(drawn)} live blocks on the map as in the CSV, {len(lines)} thread lines in the chart")
PY

# ---- analyze --html: the same page from the CSV ----

$TLSBPF analyze --html "$T/an.html" "$T/run.csv" >/dev/null 2>"$T/err"
rc=$?
check "analyze --html: exits 0 (got $rc)" [ "$rc" -eq 0 ]
# the command line (title, heading) says 'analyze FILE'; everything else is the same
check "analyze --html draws the page the live run drew" \
	cmp -s <(grep -v '^<title>\|^<h1>\|tlsbpf: ' "$T/run.html") <(grep -v '^<title>\|^<h1>\|tlsbpf: ' "$T/an.html")

# ---- a thread name with markup in it is text ----

check "the worker's name <i>&\"'w</i> is never markup in the page" \
	sh -c "! grep -qF '<i>' '$T/run.html' && grep -qF '&lt;i&gt;&amp;&quot;&#39;w&lt;/i&gt;' '$T/run.html'"

# ---- an invalid free is marked on the page and in the trace ----

$TLSBPF -q --csv "$T/f.csv" --html "$T/f.html" --perfetto "$T/f.pftrace" -- "$PROGS/tp_frees" \
	>"$T/f.out" 2>/dev/null
bad=$(awk '$1 == "invalid" { print $2 }' "$T/f.out")
check "tp_frees's invalid free of $bad is marked on the page" \
	grep -q "invalid free in pid [0-9]* tid [0-9]* at $bad " "$T/f.html"
check "and is an instant in the trace" \
	sh -c "protoc --decode_raw <'$T/f.pftrace' | grep -q 'invalid free of $bad\"'"
check_says "the trace of a run that ended by abort() still holds to its CSV" \
	python3 tests/e2e/trace_check.py "$T/f.pftrace" "$T/f.csv"

# ---- allocation sites: the stacks' bytes as the CSV sums them, named by the stacks file ----

check_says "the page's sites are the CSV's per stack_id sums, the icicle's root every allocated byte" \
	python3 tests/e2e/sites_check.py "$T/run.html" "$T/run.csv" "$T/run.stacks.csv"
$TLSBPF -q --csv "$T/st.csv" --html "$T/st.html" --perfetto "$T/st.pftrace" -- "$PROGS/tp_stacks_fp" \
	"$PWD/$PROGS/tp_stacks_lib_fp.so" >/dev/null 2>&1
check_says "deeper stacks (tp_stacks with frame pointers): sites, icicle and block titles" \
	python3 tests/e2e/sites_check.py "$T/st.html" "$T/st.csv" "$T/st.stacks.csv"
$TLSBPF analyze --html "$T/st-an.html" "$T/st.csv" >/dev/null 2>&1
check "analyze --html names the sites from the stacks file as the live run did" \
	cmp -s <(grep -v '^<title>\|^<h1>\|tlsbpf: ' "$T/st.html") <(grep -v '^<title>\|^<h1>\|tlsbpf: ' "$T/st-an.html")
check_says "each block's slice in the trace carries its stack_id and its site" \
	python3 tests/e2e/trace_sites.py "$T/st.pftrace" "$T/st.csv" "$T/st.stacks.csv"
$TLSBPF analyze --perfetto "$T/st-an.pftrace" "$T/st.csv" >/dev/null 2>&1
check "analyze --perfetto writes the sites the live run wrote" cmp -s "$T/st.pftrace" "$T/st-an.pftrace"
sed '0,/class="site" data-stack="\([0-9]*\)" data-bytes="\([0-9]*\)"/s//class="site" data-stack="\1" data-bytes="\21"/' \
	"$T/st.html" >"$T/st-bad.html"
python3 tests/e2e/sites_check.py "$T/st-bad.html" "$T/st.csv" "$T/st.stacks.csv" >"$T/st-bad.out" 2>&1
rc=$?
check "the sites checker fails a page with one site's bytes wrong (exit $rc): $(head -c 150 "$T/st-bad.out")" \
	sh -c "[ $rc -ne 0 ] && ! cmp -s '$T/st.html' '$T/st-bad.html'"

# ---- a double free glibc misses (tcache off, another free between) on the map and in the trace ----

GLIBC_TUNABLES=glibc.malloc.tcache_count=0 $TLSBPF -q --csv "$T/d.csv" --html "$T/d.html" \
	--perfetto "$T/d.pftrace" -- "$PROGS/tp_sample" double >"$T/d.out" 2>/dev/null
read -r dpid dtid daddr <<<"$(sed -n 's/^double pid=\([0-9]*\) tid=\([0-9]*\) addr=\(0x[0-9a-f]*\)$/\1 \2 \3/p' "$T/d.out")"
check "tp_sample double-freed $daddr (tid $dtid) and the CSV has one double_free row there" \
	python3 -c "import csv,sys; sys.exit(sum(r['event']=='free' and r['addr'] and int(r['addr'],16)==int('$daddr',16) \
and 'double_free' in r['flags'].split('|') for r in csv.DictReader(open('$T/d.csv'))) != 1)"
check_says "the double free is a triangle on its process's band at its address, the only bad free drawn" \
	python3 - "$T/d.html" "$dpid" "$dtid" "$daddr" <<'PY'
import re, sys
page, pid, tid, addr = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4], 16)
src = open(page).read()
marks = re.findall(r'<polygon class="badfree"[^>]*>', src)
got = [dict(re.findall(r'([\w-]+)="([^"]*)"', m)) for m in marks]
ok = [g for g in got if g['data-kind'] == 'double' and int(g['data-addr'], 16) == addr
      and g['data-pid'] == pid and g['data-tid'] == tid]
# the triangle sits where the band's scale puts the address
bands = re.findall(r'<svg class="map"[^>]*data-start="(0x[0-9a-f]+)" data-end="(0x[0-9a-f]+)" '
                   r'data-scale="([^"]+)">((?:(?!</svg>).)*)', src, re.S)
placed = [b for b in bands if any('data-addr="0x%x"' % addr in p and 'badfree' in p
                                  for p in re.findall(r'<polygon[^>]*>', b[3]))]
x = None
if placed:
    start, scale = int(placed[0][0], 16), float(placed[0][2])
    pts = re.search(r'<polygon class="badfree"[^>]*points="([\d.]+),0', placed[0][3]).group(1)
    x = abs(float(pts) - (addr - start) * scale) < 0.01
print(f"{len(got)} bad free marks, {len(ok)} the program's double free, placed at its address: {x}")
sys.exit(0 if len(got) == 1 and len(ok) == 1 and x else 1)
PY
check "and is an instant in the trace" \
	sh -c "protoc --decode_raw <'$T/d.pftrace' | grep -q 'double free of $daddr\"'"

# ---- past the one-by-one limit: address by time as a grid, its cells counted from the CSV ----

"$OUTPUT/bench/gen_events" -n 300000 >"$T/big.csv" 2>/dev/null
$TLSBPF analyze --html "$T/big.html" "$T/big.csv" >/dev/null 2>&1
check_says "a run of more blocks than are drawn one by one: the grid's cells are the CSV's counts" \
	python3 $CHECK grid "$T/big.html" "$T/big.csv"
check_says "and that page in Chromium: no console error, loads nothing" \
	python3 $CHECK console "$T/big.html"
# the checker itself fails on a page with one cell miscounted
sed '0,/class="cell"\(.*\)data-n="\([0-9]*\)"/s//class="cell"\1data-n="\21"/' "$T/big.html" >"$T/bigbad.html"
python3 $CHECK grid "$T/bigbad.html" "$T/big.csv" >"$T/bigbad.out" 2>&1
rc=$?
check "the grid checker fails a page with one cell miscounted (exit $rc): $(head -c 150 "$T/bigbad.out")" \
	sh -c "[ $rc -ne 0 ] && ! cmp -s '$T/big.html' '$T/bigbad.html'"

# ---- bad input ----

head -n 12 "$T/run.csv" >"$T/broken.csv"
echo '12,notanumber,1,1,x,malloc,10,0x10,,,,,,,,,,,,,,,' >>"$T/broken.csv"
$TLSBPF analyze --html "$T/b.html" "$T/broken.csv" >/dev/null 2>"$T/err"
rc=$?
check "analyze --html of a broken CSV: exits non-zero (got $rc), one line naming the row: $(cat "$T/err")" \
	sh -c "[ $rc -ne 0 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'line 13' '$T/err'"
cp "$T/run.csv" "$T/bs.csv"
{ head -n 2 "$T/run.stacks.csv"; echo '7,notaframe,1,0x1,,,0x1,,,,,'; } >"$T/bs.stacks.csv"
$TLSBPF analyze --html "$T/bs.html" "$T/bs.csv" >/dev/null 2>"$T/err"
rc=$?
check "analyze --html with a broken stacks file: exits non-zero (got $rc), one line naming the row: $(cat "$T/err")" \
	sh -c "[ $rc -ne 0 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'bs.stacks.csv: line 3: ' '$T/err'"
$TLSBPF analyze --html /nonexistent/dir/x.html "$T/run.csv" >/dev/null 2>"$T/err"
rc=$?
check "--html to a path that cannot be written: exits non-zero (got $rc), one line: $(cat "$T/err")" \
	sh -c "[ $rc -ne 0 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -q \"cannot open '/nonexistent/dir/x.html'\" '$T/err'"

