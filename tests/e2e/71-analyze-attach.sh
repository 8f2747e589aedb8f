#!/usr/bin/env bash
# `tlsbpf analyze` rebuilds what the live report said, as far as the CSV carries it: the
# attach-mode line, each thread's counts and arenas, and the arena table of a -p run; the
# command's exit status of a launched one.
. "$(dirname "$0")/lib.sh"
need_bpf

# threads FILE: "tid allocs frees ... arenas" per thread row; arenas FILE: arena rows with blocks.
rows() {
	python3 - "$1" "$2" <<'PY'
import re, sys
kind, path = sys.argv[1:3]
out = []
for line in open(path, errors='replace'):
    f = line.split()
    if kind == 'threads' and len(f) > 10 and re.match(r'T\d+$', f[0]):
        out.append(' '.join(f[1:2] + f[3:]))
    elif kind == 'arenas' and f and f[0] in ('heap', 'arena', 'arena+') and \
            len(f) > 4 and f[3].isdigit() and f[3] != '0':
        out.append(' '.join(f[:2] + f[3:5]))
print('\n'.join(sorted(out)))
PY
}

./labs/08c_fork_inject -L 0 >"$T/lab.out" 2>&1 &
lab=$!
sleep 1
$TLSBPF -q --csv "$T/p.csv" --summary "$T/p.sum" --duration 2 -p "$lab" 2>"$T/err"
rc=$?
check "-p on a running 08c: exit 0 (got $rc)" [ "$rc" -eq 0 ]
kill -TERM "$lab"
wait "$lab"
$TLSBPF analyze --summary "$T/a.sum" "$T/p.csv" 2>"$T/aerr"
rc=$?
check "analyze of the -p CSV: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "analyze says attach mode, as the live report does" \
	grep -q '^attach mode:' "$T/a.sum"
check "the live report says attach mode" grep -q '^attach mode:' "$T/p.sum"
rows threads "$T/p.sum" >"$T/p.threads"
rows threads "$T/a.sum" >"$T/a.threads"
# a thread running at attach that made no call while watched is in no row: not rebuildable
idle=$(comm -23 "$T/p.threads" "$T/a.threads" | awk '$2 + $3 + $13 == 0' | wc -l)
extra=$(comm -3 "$T/p.threads" "$T/a.threads" | wc -l)
arenas=$(awk '$NF != "-"' "$T/a.threads" | wc -l)
check "each thread's counts and arenas column agree ($extra differ, $idle of them idle since attach; $arenas threads with arenas)" \
	[ "$extra" -eq "$idle" -a "$arenas" -gt 0 ]
rows arenas "$T/p.sum" >"$T/p.arenas"
rows arenas "$T/a.sum" >"$T/a.arenas"
check "the arena tables agree on every arena that served a block ($(wc -l <"$T/a.arenas") rows)" \
	cmp -s "$T/p.arenas" "$T/a.arenas"
check "the process is named as in the live report" \
	[ "$(grep -m1 '^process ' "$T/p.sum" | cut -d: -f1)" = \
	  "$(grep -m1 '^process ' "$T/a.sum" | cut -d: -f1)" ]

$TLSBPF -q --csv "$T/l.csv" --summary "$T/l.sum" -- "$PROGS/tp_exit" code 7 >/dev/null 2>&1
rc=$?
check "a launched command's status is tlsbpf's (got $rc)" [ "$rc" -eq 7 ]
$TLSBPF analyze --summary "$T/la.sum" "$T/l.csv" 2>/dev/null
check "analyze of a launched run says the command's exit status as the live report does" \
	[ "$(grep '^command exit status:' "$T/l.sum")" = "command exit status: 7" -a \
	  "$(grep '^command exit status:' "$T/la.sum")" = "command exit status: 7" ]
check "and no attach-mode line" bash -c "! grep -q '^attach mode' '$T/la.sum'"
