#!/usr/bin/env bash
# --html with --pages: the pages a write copied after fork, marked on the address-space map,
# held in headless Chromium to tp_pages's own reading of /proc/self/pagemap (frames that changed).
. "$(dirname "$0")/lib.sh"
need_bpf

if ! grep -q btf_trace_page_fault_user /sys/kernel/btf/vmlinux 2>/dev/null; then
	skip "copied pages on the map" "this kernel has no page_fault_user tracepoint"
	exit 0
fi
if [ ! -x /usr/bin/chromium ]; then
	if [ "${CI:-}" = true ]; then
		not_ok "chromium is missing (scripts/install-deps.sh test installs it)"
	else
		skip "copied pages on the map" "no /usr/bin/chromium (sudo make test-deps)"
	fi
	exit 0
fi

check_says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $(echo "$out" | tail -n 1)" [ "$rc" -eq 0 ]
}

for mode in --pages --pages=cow; do
	$TLSBPF -q $mode --csv "$T/p.csv" --html "$T/p.html" -- "$PROGS/tp_pages" >"$T/p.out" 2>"$T/p.err"
	rc=$?
	check "tp_pages under $mode --html: exits 0 (got $rc) $(head -c 200 "$T/p.err")" [ "$rc" -eq 0 ]
	check_says "$mode: the copied pages marked in blocks are the program's copies, at their addresses" \
		python3 tests/e2e/cow_check.py "$T/p.html" "$T/p.csv" "$T/p.out"
	check_says "$mode: the page in Chromium: no console error, loads nothing" \
		python3 tests/e2e/page_check.py console "$T/p.html"
	check_says "$mode: scripts off, every shape has its title" \
		python3 tests/e2e/page_check.py noscript "$T/p.html" "$T/p.csv"
	$TLSBPF analyze --html "$T/an.html" "$T/p.csv" >/dev/null 2>&1
	check "$mode: analyze --html marks the pages the live run marked" \
		cmp -s <(grep -v '^<title>\|^<h1>\|tlsbpf: ' "$T/p.html") <(grep -v '^<title>\|^<h1>\|tlsbpf: ' "$T/an.html")
done

# the checker fails a page with one mark moved a page up
sed '0,/class="cow"\(.*\)data-page="0x\([0-9a-f]*\)000"/s//class="cow"\1data-page="0x\21000"/' \
	"$T/p.html" >"$T/bad.html"
python3 tests/e2e/cow_check.py "$T/bad.html" "$T/p.csv" "$T/p.out" >"$T/bad.out" 2>&1
rc=$?
check "the checker fails a page with one copied page moved (exit $rc): $(head -c 150 "$T/bad.out")" \
	sh -c "[ $rc -ne 0 ] && ! cmp -s '$T/p.html' '$T/bad.html'"
