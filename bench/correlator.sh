#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/correlator.sh: analyze and correlator speed, and the memory each live block costs.
# Usage: bench/correlator.sh [-n EVENTS] [-r RUNS] [-d DIR]
# Needs no root. Every figure is the median of RUNS runs (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}
n=10000000 runs=5 dir=/tmp
while getopts "n:r:d:" o; do
	case $o in
	n) n=$OPTARG ;; r) runs=$OPTARG ;; d) dir=$OPTARG ;;
	*) echo "usage: bench/correlator.sh [-n EVENTS] [-r RUNS] [-d DIR]" >&2; exit 2 ;;
	esac
done
make -s tlsbpf "$OUTPUT/bench/gen_events" "$OUTPUT/unit/test_correlate" >/dev/null
tmp=$(mktemp -d "$dir/tlsbpf-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run_analyze CSV: one run; prints "wall_s peak_rss_kib"
run_analyze() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f "%e %M" -o "$tmp/time" ./tlsbpf analyze "$1" >/dev/null
		tail -1 "$tmp/time"
		return
	fi
	python3 - "$1" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
subprocess.run(['./tlsbpf', 'analyze', sys.argv[1]], stdout=subprocess.DEVNULL, check=True)
# ru_maxrss of children includes this interpreter's fork before exec: a little high
print(f"{time.monotonic() - t0:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}

# analyze CSV: RUNS runs; sets wall (median s) and rss (median KiB)
analyze() {
	local i
	: >"$tmp/runs"
	for ((i = 0; i < runs; i++)); do
		run_analyze "$1" >>"$tmp/runs"
	done
	wall=$(cut -d' ' -f1 "$tmp/runs" | median)
	rss=$(cut -d' ' -f2 "$tmp/runs" | median)
	all=$(cut -d' ' -f1 "$tmp/runs" | tr '\n' ' ')
}

# gen NAME ARGS...: a trace; sets rows and peak (most blocks live at once)
gen() {
	local name=$1 line
	shift
	"$OUTPUT/bench/gen_events" "$@" >"$tmp/$name.csv" 2>"$tmp/gen.err"
	line=$(tail -1 "$tmp/gen.err")
	rows=$(echo "$line" | sed -n 's/.*: \([0-9]*\) rows.*/\1/p')
	peak=$(echo "$line" | sed -n 's/.* at most \([0-9]*\) blocks live.*/\1/p')
}

echo "machine: $(nproc) CPU, $(uname -r), glibc $(ldd --version | head -1 | awk '{ print $NF }')," \
	"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"

gen trace -n "$n"
size=$(du -m "$tmp/trace.csv" | cut -f1)
echo "\$ $OUTPUT/bench/gen_events -n $n > trace.csv      # $rows rows, $size MB, at most $peak blocks live"
cat "$tmp/trace.csv" >/dev/null	# in the page cache: the disk is not what is measured
analyze "$tmp/trace.csv"
echo "\$ tlsbpf analyze trace.csv"
awk -v r="$rows" -v w="$wall" -v m="$rss" -v a="$all" 'BEGIN {
	printf "  median %.2f s (runs: %s) = %.2f M events/s, peak RSS %.1f MiB\n", w, a, r / w / 1e6, m / 1024 }'

echo "\$ $OUTPUT/unit/test_correlate --bench $n"
for ((i = 0; i < runs; i++)); do
	"$OUTPUT/unit/test_correlate" --bench "$n" | sed -n 's/.*= \([0-9.]*\) Mev\/s.*/\1/p'
done >"$tmp/corr"
echo "  median $(median <"$tmp/corr") M events/s (runs: $(tr '\n' ' ' <"$tmp/corr"))"

# Memory per live block: the same length of trace, few blocks live against many, no fork
# (a fork copies the parent's table for the child's inherited blocks).
m=$((n < 4000000 ? n : 4000000))
gen few -n "$m" -l 1024 -F
few_peak=$peak few_rows=$rows
analyze "$tmp/few.csv"
few_rss=$rss few_wall=$wall
gen many -n "$m" -l 262144 -F
many_peak=$peak many_rows=$rows
analyze "$tmp/many.csv"
echo "\$ $OUTPUT/bench/gen_events -n $m -l 1024 -F;  $OUTPUT/bench/gen_events -n $m -l 262144 -F"
awk -v fp="$few_peak" -v fr="$few_rss" -v fw="$few_wall" -v fn="$few_rows" \
	-v mp="$many_peak" -v mw="$wall" -v mn="$many_rows" -v rss="$rss" 'BEGIN {
	printf "  %d blocks live at most: peak RSS %.1f MiB, %.2f M events/s\n", fp, fr / 1024, fn / fw / 1e6
	printf "  %d blocks live at most: peak RSS %.1f MiB, %.2f M events/s\n", mp, rss / 1024, mn / mw / 1e6
	printf "  => %.0f bytes of peak RSS per live block\n", (rss - fr) * 1024 / (mp - fp) }'
