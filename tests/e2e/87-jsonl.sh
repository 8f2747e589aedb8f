#!/usr/bin/env bash
# --json-lines: the CSV's rows as JSON, row for row, in every mode; any bytes still make valid JSON;
# docs/csv.md's pandas, sqlite3 and jq snippets count what the program says it did.
. "$(dirname "$0")/lib.sh"

# The system's python, which has pandas: a version manager's shim may not.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

says() { # what, command...: one check, its description ending in what the command printed
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	check "$what: $(tail -n 3 <<<"$out" | tr '\n' ' ' | head -c 300)" [ "$rc" -eq 0 ]
}

# same_py CSV JSONL: every CSV row has its object, in order, with the same keys in the header's
# order and equal values. The CSV's bytes as the JSON should have them: an empty field is null
# (comm stays a string, flags []), numbers are numbers, invalid UTF-8 one U+FFFD a sequence.
same_py() {
	"$PY" - "$1" "$2" <<'PY'
import csv, json, sys
nums = {'seq', 'ts_ns', 'pid', 'tid', 'size', 'latency_ns', 'origin_pid', 'origin_tid', 'align',
        'prot', 'fd', 'old_size', 'err', 'stack_id'}
raw = open(sys.argv[2], 'rb').read()
bad = [c for c in raw if (c < 0x20 and c != 0x0a) or c == 0x7f]
text = raw.decode('utf-8')	# raises on a byte that is not UTF-8
objs = [json.loads(l) for l in text.split('\n')[:-1]]
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8',
                            errors='surrogateescape')))
head = rows[0]

def want(col, v):
    v = v.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')
    if col == 'flags':
        return v.split('|') if v else []
    if col == 'comm':
        return v
    if v == '':
        return None
    return int(v) if col in nums else v

diff = [(i + 1, c, r[j], o.get(c)) for i, (r, o) in enumerate(zip(rows[1:], objs))
        for j, c in enumerate(head) if want(c, r[j]) != o.get(c)]
order = sum(1 for o in objs if list(o) != head)
print(f"{len(rows) - 1} rows, {len(objs)} objects, {len(diff)} fields differ {diff[:2]}, "
      f"{order} objects with other keys, {len(bad)} raw control bytes")
sys.exit(not (len(objs) == len(rows) - 1 > 0 and not diff and not order and not bad))
PY
}

# same_jq CSV JSONL: jq parses every line, and, for rows with nothing to quote, puts each object
# back into its CSV line: null empty, flags joined with '|', keys in the header's order.
same_jq() {
	local keys
	jq -c . "$2" >"$T/jq.out" || return 1
	keys=$(jq -c 'keys_unsorted' "$2" | sort -u)
	[ "$keys" = "$(head -n 1 "$1" | jq -Rc 'split(",")')" ] || { echo "keys: $keys"; return 1; }
	jq -r '[.[] | if . == null then "" elif type == "array" then join("|") else tostring end]
		| join(",")' "$2" >"$T/jq.csv" || return 1
	tail -n +2 "$1" | cmp - "$T/jq.csv" && echo "$(wc -l <"$T/jq.csv") lines, each its CSV row"
}

both_agree() { # what, CSV, JSONL
	says "$1: python: every CSV row is its JSON object" same_py "$2" "$3"
	says "$1: jq: every object is its CSV row again" same_jq "$2" "$3"
}

# ---- bad paths: one line, non-zero, before anything runs (no BPF needed) ----

refused() { # what, expected message, command...
	local what=$1 pat=$2 rc lines good=0
	shift 2
	rm -f "$T/ran"
	"$@" >/dev/null 2>"$T/err"
	rc=$?
	lines=$(wc -l <"$T/err")
	[ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$T/err" && [ ! -e "$T/ran" ] &&
		good=1
	check "$what: exit $rc, $lines line, did not run: $(head -c 160 "$T/err")" [ "$good" = 1 ]
}

refused "--csv - --json-lines -" "both write to stdout" \
	$TLSBPF -q --csv - --json-lines - -- /bin/touch "$T/ran"
refused "analyze --json-lines" "not for reading a CSV" \
	$TLSBPF analyze --json-lines "$T/x.jsonl" /dev/null
need_bpf
refused "--json-lines in a directory that does not exist" \
	"cannot open '$T/none/x.jsonl': No such file or directory" \
	$TLSBPF -q --json-lines "$T/none/x.jsonl" -- /bin/touch "$T/ran"
refused "--json-lines /proc/version" "cannot open '/proc/version': " \
	$TLSBPF -q --json-lines /proc/version -- /bin/touch "$T/ran"

# ---- launch: tp_count, and docs/csv.md's snippets on its run ----

$TLSBPF -q --csv "$T/run.csv" --json-lines "$T/run.jsonl" -- \
	"$PROGS/tp_count" -t 3 -n 40 -s 777 >"$T/record" 2>"$T/err"
rc=$?
check "launch: --csv and --json-lines in one run: exit 0 (got $rc)" [ "$rc" -eq 0 ]
both_agree "launch" "$T/run.csv" "$T/run.jsonl"

# The program's own record, as the snippets print it: "tid event count", tid then event order.
awk '$1 == "alloc" || $1 == "free" { sub("tid=", "", $3); n[$3 " " ($1 == "alloc" ? "malloc" : $1)]++ }
	END { for (k in n) print k, n[k] }' "$T/record" | sort -k1,1n -k2 >"$T/truth"
awk -v t="$T" '/^## Reading it with pandas, sqlite3 and jq/ { on = 1; next } /^## / { on = 0 }
	on && /^```/ { if (body) { n++; body = 0 } else { body = 1; kind[n] = substr($0, 4) }; next }
	on && body { print > (t "/snippet." n + 0 "." kind[n]) }' docs/csv.md
main=$(awk '{ sub("pid=", "", $2); print $2; exit }' "$T/record")
for s in "$T"/snippet.*; do
	case $s in
	*.python) (cd "$T" && "$PY" "$s") ;;
	*) (cd "$T" && sh "$s") ;;
	esac >"$s.out" 2>&1
	# the main thread's rows are the C library's calls, which the record does not list
	grep -v "^$main " "$s.out" >"$s.own"
	tool=$(grep -m 1 -oE 'pandas|sqlite3|jq' "$s")
	check "docs/csv.md's $tool snippet counts the program's calls per thread as it says \
($(wc -l <"$T/truth") counts; $(diff "$T/truth" "$s.own" | head -n 3 | tr '\n' ' '))" \
		cmp -s "$T/truth" "$s.own"
done
nsnip=$(ls "$T" | grep -cE '^snippet\.[0-9]+\.[a-z]+$')
check "docs/csv.md has the three snippets ($nsnip)" [ "$nsnip" -eq 3 ]
says "pandas reads the CSV with the dtypes docs/csv.md states" "$PY" - "$T/run.csv" <<'PY'
import sys
import pandas as pd
rows = pd.read_csv(sys.argv[1], dtype={"comm": str, "detail": str, "args": str},
                   keep_default_na=False, na_values=[""])
got = {c: str(t) for c, t in rows.dtypes.items()}
want = {c: 'int64' for c in ('seq', 'ts_ns', 'pid', 'tid')}
want.update({c: 'float64' for c in ('size', 'latency_ns', 'origin_pid', 'origin_tid', 'align',
                                    'prot', 'fd', 'old_size', 'err', 'stack_id')})
want.update({c: 'object' for c in ('comm', 'event', 'addr', 'old_addr', 'region', 'region_base',
                                   'flags', 'sysflags', 'detail', 'args')})
addrs = rows["addr"].dropna().apply(int, base=16)
print({c: (got[c], want[c]) for c in want if got[c] != want[c]}, addrs.dtype)
sys.exit(got != want or str(addrs.dtype) != 'int64')
PY

# ---- --json-lines -: stdout is the JSON lines and nothing else ----

$TLSBPF -q --csv "$T/out.csv" --json-lines - -- sh -c "$PROGS/tp_count -t 1 -n 20 >/dev/null" \
	>"$T/out.jsonl" 2>"$T/err"
rc=$?
check "--json-lines - -q: exit 0 (got $rc)" [ "$rc" -eq 0 ]
both_agree "--json-lines -" "$T/out.csv" "$T/out.jsonl"

# ---- hostile bytes: a program file, hence comm, exec detail and args, that JSON must escape ----

name=$'q"\\\n\x01\x1b\x7f\xff\xc3\xa9\xe2\x82z\xf0\x9f\x98\x80\xed\xa0\x80-end'
cp "$PROGS/tp_names" "$T/$name"
cat >"$T/rename.py" <<'PY'
import ctypes
ctypes.CDLL(None).prctl(15, b'\\"\x08\x1f\xc3\x28\xf4\x90\x80\x80\xc0\xaf', 0, 0, 0)
keep = [bytes(4096 + i) for i in range(50)]
PY
$TLSBPF -q --csv "$T/h.csv" --json-lines "$T/h.jsonl" -- sh -c "'$T/$name' -t 2 \
	'a\"b' 'back\\slash' \"\$(printf 'new\\nline\\t\\001\\037\\200\\376\\377')\" 'ok é' &&
	exec '$PY' '$T/rename.py'" >"$T/h.out" 2>"$T/err"
rc=$?
check "hostile names and arguments: exit 0 (got $rc)" [ "$rc" -eq 0 ]
says "hostile bytes: python: every CSV row is its JSON object" same_py "$T/h.csv" "$T/h.jsonl"
# jq: each line is an object, whose strings are the CSV's, invalid UTF-8 as U+FFFD (NUL-separated)
jq -j '.comm, "\u0000", (.detail // ""), "\u0000", (.args // ""), "\u0000"' "$T/h.jsonl" \
	>"$T/h.strings"
jrc=$?
says "hostile bytes: jq reads every line, and comm, detail and args as the CSV has them" \
	"$PY" - "$T/h.csv" "$T/h.strings" "$jrc" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8',
                                errors='surrogateescape')))
want = [r[c].encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')
        for r in rows for c in ('comm', 'detail', 'args')]
got = open(sys.argv[2], 'rb').read().decode('utf-8').split('\0')[:-1]
print(f"jq exit {sys.argv[3]}, {len(got)} strings from jq, {len(want)} in the CSV, "
      f"{sum(1 for g, w in zip(got, want) if g != w)} differ")
sys.exit(not (sys.argv[3] == '0' and got == want))
PY
says "the hostile bytes made it into comm, detail, args and a renamed comm" "$PY" - "$T/h.jsonl" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
comm = {o['comm'] for o in objs}
detail = {o['detail'] for o in objs if o['event'] == 'exec'}
args = ' '.join(o['args'] or '' for o in objs if o['event'] == 'exec')
want_comm = 'q"\\\n\x01\x1b\x7f\ufffd\u00e9\ufffdz\ufffd'
renamed = '\\"\x08\x1f\ufffd(\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd'
ok = want_comm in comm and renamed in comm and \
    any(d and d.endswith('\U0001f600\ufffd\ufffd\ufffd-end') for d in detail) and \
    'new\nline\t\x01\x1f\ufffd\ufffd\ufffd' in args and 'ok \u00e9' in args
print(f"{len(comm)} names, {len(detail)} exec files: {sorted(comm)!r}"[:200])
sys.exit(not ok)
PY

# ---- -p and -a: the same output beside the CSV ----

./labs/08c_fork_inject -L 0 >"$T/lab.out" 2>&1 &
lab=$!
sleep 1
$TLSBPF -q --csv "$T/p.csv" --json-lines "$T/p.jsonl" --duration 2 -p "$lab" 2>"$T/err"
rc=$?
kill -TERM "$lab"
wait "$lab"
check "-p: exit 0 (got $rc)" [ "$rc" -eq 0 ]
both_agree "-p" "$T/p.csv" "$T/p.jsonl"

$TLSBPF -v -a --comm tp_count --csv "$T/a.csv" --json-lines "$T/a.jsonl" --duration 3 \
	>"$T/a.out" 2>"$T/a.err" &
tb=$!
wait_live "$T/a.err"
"$PROGS/tp_count" -t 2 -n 30 >/dev/null
wait "$tb"
rc=$?
check "-a --comm: exit 0 (got $rc)" [ "$rc" -eq 0 ]
both_agree "-a" "$T/a.csv" "$T/a.jsonl"

# ---- lost events: rows in both, the JSON lines held back in a pipe for a second ----

timeout -s KILL 120 $TLSBPF -q --ringbuf-mb 1 --csv "$T/l.csv" --json-lines - -- \
	sh -c "exec '$PROGS/tp_flood' -n 300000 -t 2 >/dev/null" 2>"$T/err" |
	{ sleep 1; cat >"$T/l.jsonl"; }
rc=${PIPESTATUS[0]}
check "a flood into a 1 MiB ring, the JSON lines held back: exit 0 (got $rc)" [ "$rc" -eq 0 ]
lost=$(jq -n '[inputs | select(.event == "lost") | .size] | add // 0' "$T/l.jsonl")
if [ "$lost" -gt 0 ]; then
	ok "events were lost ($lost), and are rows"
	says "lost rows: python: every CSV row is its JSON object" same_py "$T/l.csv" "$T/l.jsonl"
else
	skip "lost rows in the JSON lines" "nothing was lost this time"
fi
