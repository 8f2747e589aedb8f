#!/usr/bin/env bash
# Exactly the allocations a program says it made, under the right pids and tids, none lost.
. "$(dirname "$0")/lib.sh"
need_bpf

# compare WHAT: the program's own "alloc/free pid= tid= addr=" lines against the CSV rows
compare() {
	python3 - "$T/prog.out" "$T/out.csv" "$1" "$2" <<'PY'
import csv, sys, collections
prog, path, event, size = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = list(csv.DictReader(open(path, newline='')))
def said(kind):
    c = collections.Counter()
    for line in open(prog):
        f = line.split()
        if f and f[0] == kind:
            d = dict(x.split('=', 1) for x in f[1:])
            c[(d['pid'], d['tid'], int(d['addr'], 16))] += 1
    return c
def seen(ev, sz, internal=False):
    return collections.Counter((r['pid'], r['tid'], int(r['addr'], 16)) for r in rows
                               if r['event'] == ev and (sz == '' or r['size'] == sz)
                               and ('internal' in r['flags'].split('|')) == internal)
a, b = said('alloc'), seen(event, size)
fa = said('free')
fb = collections.Counter({k: v for k, v in seen('free', '').items() if k in fa})
# glibc flushing a thread's cache at exit frees again what the program freed: flagged internal
flush = seen('free', '', True)
ok = a == b and fa == fb and sum(a.values()) > 0
print(f"{sum(a.values())} allocations said, {sum(b.values())} {event} rows; "
      f"{sum(fa.values())} frees said, {sum(fb.values())} matching free rows, "
      f"{sum(flush.values())} internal re-frees of freed blocks")
if not ok:
    print("missing:", list((a - b).items())[:3], "extra:", list((b - a).items())[:3])
sys.exit(0 if ok else 1)
PY
}

# Every way of probing: uprobe sessions (where the kernel has them), uretprobes, and the oldest
# paths (classic uprobes and uretprobes, what kernels before 6.6 get).
for mode in default uretprobes oldest; do
	[ "$mode" = uretprobes ] && export TLSBPF_NO_SESSIONS=1
	[ "$mode" = oldest ] && unset TLSBPF_NO_SESSIONS && export TLSBPF_OLDEST=1
	$TLSBPF -q --csv "$T/out.csv" -- "$PROGS/tp_count" -t 3 -n 1000 -s 123 -f >"$T/prog.out" 2>"$T/err"
	rc=$?
	check "$mode: tp_count -t 3 -n 1000 -f exits 0 under tlsbpf (got $rc)" [ "$rc" -eq 0 ]
	msg=$(compare malloc 123)
	check "$mode: every malloc(123) and free the program made is a row with its pid, tid and pointer: $msg" \
		compare malloc 123
	child=$(awk '$1 == "alloc" { split($2, p, "="); c[p[2]]++ } END { for (k in c) print k }' \
		"$T/prog.out" | sort -n | tail -1)
	forks=$(csvq "$T/out.csv" "sum(1 for r in rows if r['event'] == 'fork' and r['pid'] == '$child')")
	check "$mode: the child's rows are under the child's pid $child, with its fork row" [ "$forks" = 1 ]
	lost=$(csvq "$T/out.csv" "sum(int(r['size']) for r in rows if r['event'] == 'lost')")
	check "$mode: no event lost (lost rows sum to ${lost})" [ "$lost" = 0 ]
	threads=$(csvq "$T/out.csv" "sum(1 for r in rows if r['event'] == 'thread')")
	check "$mode: 3 thread rows (got $threads)" [ "$threads" = 3 ]

	$TLSBPF -q --csv "$T/out.csv" -- "$PROGS/tp_count" -t 2 -n 200 -s 123 -C >"$T/prog.out" 2>"$T/err"
	check "$mode: calloc(1, 123): one calloc row per call: $(compare calloc 123)" compare calloc 123

	$TLSBPF -q --csv "$T/out.csv" -- "$PROGS/tp_count" -t 2 -n 200 -s 123 -R >"$T/prog.out" 2>"$T/err"
	check "$mode: realloc(NULL, 123): one realloc row per call: $(compare realloc 123)" compare realloc 123
	nested=$(csvq "$T/out.csv" "sum(1 for r in rows if r['event'] == 'malloc' and r['size'] == '123')")
	check "$mode: realloc(NULL, n) does not also show its inner malloc (got $nested malloc rows)" [ "$nested" = 0 ]
done
unset TLSBPF_NO_SESSIONS TLSBPF_OLDEST

# dash starts commands with vfork: the child's malloc lands in the parent's memory, which the
# parent later frees. glibc would abort on a free of anything it did not hand out, so a shell
# that ran to the end made no invalid free.
SUDO_UID=65534 SUDO_GID=65534 $TLSBPF -q --csv "$T/out.csv" -- sh -c 'id -u; id -g' \
	>"$T/prog.out" 2>"$T/err"
rc=$?
vforks=$(csvq "$T/out.csv" "sum(1 for r in rows if r['event'] == 'fork' and int(r['sysflags'] or '0', 16) & 0x4100 == 0x4100)")
invalid=$(csvq "$T/out.csv" "sum(1 for r in rows if 'invalid_free' in r['flags'].split('|'))")
check "a shell's vfork children share its memory: exit $rc, $vforks vforks, $invalid invalid frees" \
	[ "$rc" = 0 -a "$vforks" -ge 1 -a "$invalid" = 0 ]
