#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# 88-stacks-gone: a program deletes its own executable, or renames another file over it as a
# rebuild does, and then allocates. Its stack must still name the program's function and
# line, with the build-id of the file it ran (read before it ran, by readelf), never the
# build-id or symbols of whatever is at the path afterwards.
. "$(dirname "$0")/lib.sh"
need_bpf

build_id() { readelf -n "$1" | awk '/Build ID:/ { print $3 }'; }

for how in unlink replace; do
	exe="$T/tp_replaced_$how"
	cp "$PROGS/tp_replaced" "$exe"
	want=$(build_id "$exe")
	arg=unlink
	if [ $how = replace ]; then
		cp "$PROGS/tp_count" "$T/newer"
		arg="$T/newer"
	fi
	"$TLSBPF" -q --csv "$T/$how.csv" -- "$exe" "$arg" >"$T/$how.out" 2>"$T/$how.err"
	rc=$?
	now=$([ -e "$exe" ] && build_id "$exe")
	check "$how: the program ran (exit $rc), its file gone from its path (now: ${now:-none}) \
$(head -c 200 "$T/$how.err")" \
		[ "$rc" -eq 0 -a -n "$want" -a "$now" != "$want" ]
	verify "$how: its allocation's first frame is after_removal at the printed line, build-id $want" \
		"$T/$how.csv" "$T/$how.stacks.csv" "$T/$how.out" "$exe" "$want" <<'PY'
import csv, sys
rows, stacks, out, exe, want = sys.argv[1:6]
said = [l.split() for l in open(out) if l.startswith('malloc ')]
pid, addr, line = said[0][1], int(said[0][2], 16), said[0][3]
row = [r for r in csv.DictReader(open(rows, newline=''))
       if r['event'] == 'malloc' and r['pid'] == pid and int(r['addr'], 16) == addr]
sid = row[0]['stack_id'] if row else ''
f0 = [r for r in csv.DictReader(open(stacks, newline=''))
      if r['stack_id'] == sid and r['frame'] == '0' and r['inline'] in ('', '0')]
got = f0[0] if f0 else {}
print('row stack_id %r; frame 0: module %r build_id %r function %r file %r line %r; program '
      'said line %s' % (sid, got.get('module'), got.get('build_id'), got.get('function'),
                        got.get('file'), got.get('line'), line))
sys.exit(not (got and got['module'] == exe and got['build_id'] == want and
              got['function'] == 'after_removal' and got['file'].endswith('tp_replaced.c') and
              got['line'] == line))
PY
	# the C library's frames come from its private copy (bound over its path where the
	# command runs): named as the library, never taken for a file replaced
	verify "$how: the C library's frames are named, none is called deleted" \
		"$T/$how.stacks.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
libc = [r for r in rows if 'libc.so' in r['module']]
gone = [r['module'] for r in rows if r['module'].endswith(' (deleted)')]
named = [r for r in libc if r['function']]
print('%d frames in the C library, %d named; modules called deleted: %s' %
      (len(libc), len(named), sorted(set(gone)) or 'none'))
sys.exit(not (libc and len(named) == len(libc) and not gone))
PY
done

echo "1..$n"
