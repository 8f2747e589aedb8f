#!/usr/bin/env bash
# What a call asked for and what it returned, as the program itself printed them: alignments of
# every width, posix_memalign's error, calloc's two factors, aligned_alloc, and brk's movement.
. "$(dirname "$0")/lib.sh"
need_bpf

$TLSBPF -q --csv "$T/r.csv" -- "$PROGS/tp_requests" >"$T/out" 2>"$T/err"
check "tp_requests runs under tlsbpf (status $?)" [ $? -eq 0 ]

# each line the program printed, against the next row of the same event in its pid
res=$(python3 - "$T/r.csv" "$T/out" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
pid = next(r['pid'] for r in rows if r['event'] == 'exec')
mine = [r for r in rows if r['pid'] == pid]
def ptr(s):
    return 0 if s in ('(nil)', '0') else int(s, 16)
def rows_of(*events):
    return iter([r for r in mine if r['event'] in events])
# glibc 2.36 exports aligned_alloc at memalign's address: its calls are memalign rows
aligned = rows_of('memalign', 'aligned_alloc')
pm, calloc_rows = rows_of('posix_memalign'), rows_of('calloc')
brks = [r for r in mine if r['event'] == 'brk' and r['size'] != '0']
out = []
for line in open(sys.argv[2]):
    f = line.split()
    if f[0] in ('memalign', 'aligned_alloc'):
        r = next(aligned)
        want = (f[1], f[2], ptr(f[3]))
        got = (r['align'], r['size'], int(r['addr'], 16))
    elif f[0] == 'posix_memalign':
        r = next(pm)
        ret = int(f[3])
        want = (f[1], f[2], ptr(f[4]), str(-ret) if ret else '', bool(ret))
        got = (r['align'], r['size'], int(r['addr'], 16), r['err'], 'failed' in r['flags'])
    elif f[0] == 'calloc':
        r = next(calloc_rows)
        n, s = int(f[1]), int(f[2])
        over = n * s >= 1 << 64
        want = (str(n), str(s if over else n * s), over, ptr(f[3]))
        got = (r['old_size'], r['size'], 'overflow' in r['flags'].split('|'), int(r['addr'], 16))
    elif f[0] == 'brk':
        before, after = int(f[1], 16), int(f[2], 16)
        r = next(x for x in brks if int(x['addr'], 16) == after and int(x['old_addr'], 16) == before)
        want, got = str(abs(after - before)), r['size']
    else:
        continue
    out.append('%s: %s' % (line.strip(), 'ok' if want == got else 'want %s got %s' % (want, got)))
print('\n'.join(out))
PY
)
while IFS= read -r line; do
	check "$line" [ "${line##*: }" = ok ]
done <<<"$res"
check_sh "every line the program printed was compared ($(echo "$res" | wc -l))" \
	"[ $(echo "$res" | wc -l) -eq $(wc -l <"$T/out") ]"
