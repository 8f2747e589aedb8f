#!/usr/bin/env bash
# Each block's region, and each free's cross-thread, inherited and origin, against glibc's truth.
. "$(dirname "$0")/lib.sh"
need_bpf

# The program's "alloc"/"free" lines (region read from the chunk header) against the CSV rows,
# matched by pid, tid and address. Prints one "ok|fail<TAB>figures" line per comparison.
compare() {
	python3 - "$T/prog.out" "$T/out.csv" <<'PY'
import csv, sys
prog, path = sys.argv[1:3]
said = {'alloc': {}, 'free': {}}
for line in open(prog):
    f = line.split()
    if f and f[0] in said:
        d = dict(x.split('=', 1) for x in f[1:])
        said[f[0]][(d['pid'], d['tid'], int(d['addr'], 16))] = d
rows = {'alloc': {}, 'free': {}}
others = []
for r in csv.DictReader(open(path, newline='')):
    flags = set(r['flags'].split('|')) - {''}
    key = (r['pid'], r['tid'], int(r['addr'] or '0', 16))
    if r['event'] == 'malloc':
        rows['alloc'].setdefault(key, []).append((r, flags))
    # glibc's thread-exit cache flush frees again what the program freed: not the program's
    elif r['event'] == 'free' and 'internal' not in flags:
        if key in said['free']:
            rows['free'].setdefault(key, []).append((r, flags))
        else:
            others.append((r, flags))

def report(ok, msg, bad):
    print(('ok' if ok and not bad else 'fail') + '\t' + msg +
          ('' if not bad else '; first mismatches: ' + '; '.join(bad[:3])))

def agree(kind, what, test, need=True):
    good, bad = 0, []
    for key, d in said[kind].items():
        got = rows[kind].get(key, [])
        if len(got) == 1 and test(got[0][0], got[0][1], d):
            good += 1
        else:
            bad.append(f"{key}: {len(got)} rows {[(r['region'], r['flags'], r['origin_tid']) for r, _ in got]}, program says {d}")
    total = len(said[kind])
    report(total > 0 and need, f"{good}/{total} {what}", bad)

regions = ', '.join(sorted(set(d['region'] for d in said['alloc'].values())))
agree('alloc', f"allocation rows' region agrees with the chunk header ({regions})",
      lambda r, fl, d: r['region'] == d['region'], regions == 'arena, heap, mmap_chunk')
agree('free', "free rows' region agrees with the chunk header",
      lambda r, fl, d: r['region'] == d['region'])
ncross = sum(d['cross'] == '1' for d in said['free'].values())
agree('free', f"frees agree on cross_thread ({ncross} cross-thread said)",
      lambda r, fl, d: ('cross_thread' in fl) == (d['cross'] == '1'))
ninh = sum(d['inherited'] == '1' for d in said['free'].values())
agree('free', f"frees agree on inherited ({ninh} inherited said)",
      lambda r, fl, d: ('inherited' in fl) == (d['inherited'] == '1'))
agree('free', "frees' origin_tid is the thread the program says allocated the block",
      lambda r, fl, d: r['origin_tid'] == d['alloc_tid'])
flagged = [r['seq'] for r, fl in others if fl & {'cross_thread', 'inherited'}]
report(ncross > 0 and ninh > 0,
       f"{len(flagged)} of the {len(others)} free rows the program did not print flagged "
       f"cross_thread or inherited", [f"row {s}" for s in flagged])
PY
}

run() { # args for tp_chunks
	local rc status msg label="tp_chunks${*:+ $*}"
	$TLSBPF -q --csv "$T/out.csv" -- "$PROGS/tp_chunks" "$@" >"$T/prog.out" 2>"$T/err"
	rc=$?
	check "$label: exits 0 under tlsbpf (got $rc)" [ "$rc" -eq 0 ]
	compare >"$T/cmp" 2>&1 || echo "fail	comparison crashed: $(tail -1 "$T/cmp")" >>"$T/cmp"
	while IFS=$'\t' read -r status msg; do
		check "$label: $msg" [ "$status" = ok ]
	done <"$T/cmp"
}

run
run -t 4

# An address in no mapping the model knows has no region base: the field is empty, not 0x0
# (docs/csv.md); glibc's thread stacks give mprotect rows of such ranges before their thread row.
$TLSBPF -q --csv "$T/t.csv" -- "$PROGS/tp_count" -t 2 -n 10 >/dev/null 2>&1
res=$(csvq "$T/t.csv" "[(r['event'], r['region_base']) for r in rows if r['region'] == 'unknown']")
check "rows in an unknown region leave region_base empty: $res" \
	python3 -c "import sys; v = $res; sys.exit(not (v and all(b == '' for _, b in v)))"
