#!/usr/bin/env bash
# Blocks the C library keeps (a thread's DTV from ld.so, stdio's buffer) are reported apart
# from the program's leaks, which are exactly the blocks the program says it leaked.
. "$(dirname "$0")/lib.sh"
need_bpf

LIMIT=30

says() { # WHAT CMD...: one check; its description ends with the last line CMD printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $(echo "$out" | tail -n 1)" [ "$rc" -eq 0 ]
}

for args in "-t 4 -k 3" "-t 2 -k 6" "-t 8 -k 0"; do
	tag=${args// /}
	timeout "$LIMIT" $TLSBPF -q --csv "$T/$tag.csv" --summary "$T/$tag.txt" \
		--summary-json "$T/$tag.json" --report "$T/$tag.md" -- "$PROGS/tp_libc" $args \
		>"$T/$tag.out" 2>"$T/$tag.err"
	rc=$?
	check "tp_libc $args under tlsbpf exits 0 (got $rc)" [ "$rc" -eq 0 ]
	says "tp_libc $args: the leaks are exactly the program's; what glibc kept is apart" \
		python3 - "$T/$tag.out" "$T/$tag.json" "$T/$tag.txt" "$T/$tag.md" <<'PY'
import json, re, sys
from collections import Counter
said = Counter(int(l.split('=')[1]) for l in open(sys.argv[1]) if l.startswith('leak '))
pid = int(re.search(r'pid=(\d+)', open(sys.argv[1]).read()).group(1))
p = [x for x in json.load(open(sys.argv[2]))['processes'] if x['pid'] == pid][0]
leaks = Counter({l['size']: l['count'] for l in p['leaks']})
libc = {l['size']: l['count'] for l in p['libc_kept']}
text = open(sys.argv[3]).read()
line = [l.strip() for l in text.splitlines() if l.strip().startswith('leaks: ')][0]
want = ('leaks: none' if not said else 'leaks: ' + ', '.join(
    f"{n} x {s} B" for s, n in sorted(said.items(), key=lambda x: (-x[0] * x[1], -x[0])))
    + f" ({sum(s * n for s, n in said.items())} B in {sum(said.values())} block"
    + ('s' if sum(said.values()) != 1 else '') + ')')
kept = 'kept by the C library (not leaks of the program): ' in text
md = open(sys.argv[4]).read()
ok = (leaks == said and p['leaked_blocks'] == sum(said.values()) and line == want
      and p['libc_kept_blocks'] > 0 and kept and not set(libc) & set(said)
      and 'the C library kept' in md)
print(f"program leaked {dict(said)}, report {dict(leaks)} ('{line[:60]}'); "
      f"C library kept {libc} (text line: {kept})")
sys.exit(0 if ok else 1)
PY
done
