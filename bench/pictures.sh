#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/pictures.sh: what --html and --perfetto cost at the end of a run, and how fast the page opens.
# Usage: bench/pictures.sh [-n EVENTS] [-r RUNS] [-s] [-o OLD_TLSBPF]   (default 1000000 events,
# 3 runs; no root). -o: another build's tlsbpf, run alternately with ./tlsbpf on the same CSV.
# Times are the median of RUNS `tlsbpf analyze` runs on a synthetic CSV (bench/gen_events.c),
# with and without each output: the difference is the output's writing. The page's opening is
# the wall time of headless Chromium loading it, running its script and writing the DOM out
# (--dump-dom), and when the script ended as the page itself tells (data-ready-ms).
# -s: the rows get call stacks (a stack_id column and a stacks file of 512 stacks of 8 named
# frames, sharing their outer frames), so the page's sites and the trace's annotations are in.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}
n=1000000 runs=3 stacks= old=
while getopts "n:r:so:" o; do
	case $o in
	n) n=$OPTARG ;; r) runs=$OPTARG ;; s) stacks=1 ;; o) old=$(realpath "$OPTARG") ;;
	*) echo "usage: bench/pictures.sh [-n EVENTS] [-r RUNS] [-s] [-o OLD_TLSBPF]" >&2; exit 2 ;;
	esac
done
make -s tlsbpf "$OUTPUT/bench/gen_events" >/dev/null
tmp=$(mktemp -d /tmp/tlsbpf-pictures.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$OUTPUT/bench/gen_events" -n "$n" >"$tmp/run.csv"
if [ -n "$stacks" ]; then
	# an allocation's or free's stack by its size, so a size class keeps its site
	awk -F, -v OFS=, 'NR == 1 { print $0 ",args,stack_id"; next }
		$6 ~ /^(malloc|calloc|realloc|free)$/ { print $0 ",," ($7 == "" ? 1 : $7 % 512 + 1); next }
		{ print $0 ",," }' "$tmp/run.csv" >"$tmp/s.csv"
	mv "$tmp/s.csv" "$tmp/run.csv"
	awk 'BEGIN { print "stack_id,frame,pid,addr,module,build_id,offset,function,file,line,inline,flags"
		for (k = 1; k <= 512; k++) for (f = 0; f < 8; f++)
			printf "%d,%d,4242,0x%x,/usr/bin/app,,0x%x,fn%d_%d,app.c,%d,0,\n", k, f,
				4194304 + k * 64 + f, k * 64 + f, f, int((k - 1) / 2 ^ f), 10 + f }' \
		>"$tmp/run.stacks.csv"
fi

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# bin tag command...: one run's wall seconds into $tmp/times.tag (bin replaces the word TLSBPF)
once() {
	local bin=$1 tag=$2
	shift 2
	/usr/bin/time -f %e -o "$tmp/t" "${@/#TLSBPF/$bin}" >"$tmp/out" 2>/dev/null
	tail -n 1 "$tmp/t" >>"$tmp/times.$tag"
}
timed() { # name command...: median wall seconds of RUNS runs, ./tlsbpf's and (-o) OLD's alternately
	local name=$1
	shift
	rm -f "$tmp/times.new" "$tmp/times.old"
	for _ in $(seq "$runs"); do
		[ -z "$old" ] || once "$old" old "$@"
		once ./tlsbpf new "$@"
	done
	printf '%s: %s s' "$name" "$(median <"$tmp/times.new")"
	[ -z "$old" ] || printf ' (old: %s s)' "$(median <"$tmp/times.old")"
}

rows=$(($(wc -l <"$tmp/run.csv") - 1))
echo "rows: $rows"
timed "analyze alone" TLSBPF analyze "$tmp/run.csv"; echo
timed "analyze --html" TLSBPF analyze --html "$tmp/p.html" "$tmp/run.csv"
echo "; page $(stat -c %s "$tmp/p.html") bytes"
timed "analyze --perfetto" TLSBPF analyze --perfetto "$tmp/p.pftrace" "$tmp/run.csv"
echo "; trace $(stat -c %s "$tmp/p.pftrace") bytes"
timed "analyze --html --perfetto" TLSBPF analyze --html "$tmp/p.html" --perfetto "$tmp/p.pftrace" "$tmp/run.csv"; echo
if [ -x /usr/bin/chromium ]; then
	[ -z "$old" ] || "$old" analyze --html "$tmp/old.html" "$tmp/run.csv" >/dev/null 2>&1
	./tlsbpf analyze --html "$tmp/p.html" "$tmp/run.csv" >/dev/null 2>&1
	open() { # page tag: --dump-dom's wall time, and when the page's script ended (data-ready-ms)
		/usr/bin/time -f %e -o "$tmp/t" chromium --headless --no-sandbox --disable-gpu \
			--user-data-dir="$tmp/prof" --dump-dom "file://$1" >"$tmp/dom" 2>/dev/null
		tail -n 1 "$tmp/t" >>"$tmp/times.$2"
		sed -n 's/.*data-ready-ms="\([0-9]*\)".*/\1/p' "$tmp/dom" | head -n 1 >>"$tmp/ready.$2"
	}
	rm -f "$tmp/ready.new" "$tmp/ready.old" "$tmp/times.new" "$tmp/times.old"
	for _ in $(seq "$runs"); do
		[ -z "$old" ] || open "$tmp/old.html" old
		open "$tmp/p.html" new
	done
	echo "headless Chromium opens the page (--dump-dom, the DOM written out): $(median <"$tmp/times.new") s$(
		[ -z "$old" ] || echo " (old: $(median <"$tmp/times.old") s)")"
	echo "the page's script ended $(median <"$tmp/ready.new") ms after the navigation began$(
		[ -z "$old" ] || [ ! -s "$tmp/ready.old" ] || echo " (old: $(median <"$tmp/ready.old") ms)")"
	echo '<p>x</p>' >"$tmp/empty.html"
	rm -f "$tmp/times.new"
	for _ in $(seq "$runs"); do
		once "" new chromium --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/prof" \
			--dump-dom "file://$tmp/empty.html"
	done
	echo "(an empty page: $(median <"$tmp/times.new") s)"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
