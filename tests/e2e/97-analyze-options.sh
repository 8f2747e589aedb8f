#!/usr/bin/env bash
# `tlsbpf analyze` refuses, in one line naming it, every option that means nothing to it (all
# but the reports, --help and --version), rather than ignoring it; no root needed.
. "$(dirname "$0")/lib.sh"

printf 'seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail\n1,1000,10,10,app,malloc,24,0x1000,,850,,,,,,,,,,,,\n' >"$T/run.csv"

$TLSBPF analyze "$T/run.csv" >"$T/out" 2>"$T/err"
rc=$?
check "analyze of a good CSV works: exit $rc, $(grep -c . "$T/out") report lines" \
	[ "$rc" -eq 0 -a -s "$T/out" ]

# every option --help lists, each with a value when --help shows it takes one
$TLSBPF --help >"$T/help"
mapfile -t opts < <(sed -nE 's/^ +(-[a-zA-Z], )?(--[a-z-]+)( ([A-Z][A-Z.,\[]*))?.*/\2 \4/p' "$T/help")
tested=0
for line in "${opts[@]}" "-p 1" "-a " "-q " "-o x" "-u 1" "-v "; do
	read -r opt val <<<"$line"
	case "$opt" in --summary | --summary-json | --report | --html | --perfetto | --pprof | --folded | --top | --help | --version) continue ;; esac
	args=("$opt")
	[ -n "$val" ] && args+=(1)
	$TLSBPF analyze "${args[@]}" "$T/run.csv" >"$T/out" 2>"$T/err"
	rc=$?
	tested=$((tested + 1))
	check "analyze ${args[*]}: exit $rc, nothing on stdout, one line naming $opt: $(head -1 "$T/err")" \
		[ "$rc" -eq 2 -a ! -s "$T/out" -a "$(wc -l <"$T/err")" -eq 1 ] && \
		grep -q -- " $opt " "$T/err"
done
check "options tried: $tested (every one --help lists but the reports)" [ "$tested" -ge 20 ]

for opt in --summary --summary-json --report --html --perfetto; do
	rm -f "$T/r.out"
	$TLSBPF analyze "$opt" "$T/r.out" "$T/run.csv" >/dev/null 2>"$T/err"
	rc=$?
	check "analyze $opt FILE is taken: exit $rc, the file written ($(wc -c <"$T/r.out") bytes)" \
		[ "$rc" -eq 0 -a -s "$T/r.out" ]
done
$TLSBPF analyze --top 3 "$T/run.csv" >/dev/null 2>"$T/err"
check "analyze --top N is taken, as the report it rebuilds is cut the same way (exit $?)" [ $? -eq 0 ]

# ---- the report's columns are explained in --help ----

$TLSBPF analyze "$T/run.csv" >"$T/report.txt" 2>&1
cols=$(sed -n 's/^ *thread  *tid  *comm //p' "$T/report.txt" | head -1)
missing=""
for c in $cols; do
	sed -n '/^Report columns/,/^$/p' "$T/help" | grep -qw -- "$c" || missing="$missing $c"
done
check "every column of the report's thread table is explained in --help (columns: $cols; \
missing:${missing:- none})" [ -n "$cols" -a -z "$missing" ]
check "docs/csv.md names --csv, not -o, as the option that writes CSV" \
	sh -c "grep -q 'tlsbpf --csv FILE.csv' docs/csv.md && ! grep -q 'tlsbpf -o FILE.csv' docs/csv.md"

# ---- under sudo, analyze's files are the caller's too ----

if [ "$(id -u)" -eq 0 ]; then
	rm -f "$T/s.sum" "$T/s.json"
	SUDO_UID=65534 SUDO_GID=65534 $TLSBPF analyze --summary "$T/s.sum" --summary-json "$T/s.json" \
		"$T/run.csv" >/dev/null 2>"$T/err"
	rc=$?
	owners=$(stat -c '%u:%g' "$T/s.sum" "$T/s.json" 2>/dev/null | sort -u | tr '\n' ' ')
	check "sudo tlsbpf analyze: exit $rc, its files belong to the caller: $owners" \
		[ "$rc" -eq 0 -a "$owners" = "65534:65534 " ]
else
	skip "sudo tlsbpf analyze gives its files to the caller" "not root"
fi
