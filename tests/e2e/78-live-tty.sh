#!/usr/bin/env bash
# The live view on a terminal (a pseudo-terminal here): a column header, at most 40 lines a
# second with the rest folded into one counted line whose counts add up to the CSV's rows,
# the --events and --filter-pid filters, and Ctrl-C stopping the view at once.
. "$(dirname "$0")/lib.sh"
need_bpf

# ontty OUT -- ARGS...: run tlsbpf ARGS on a pty, all it writes there to OUT; prints the seconds
# it ran. With CTRLC=N, type Ctrl-C once N live lines have come.
ontty() {
	local out=$1
	shift 2
	CTRLC=${CTRLC:-0} python3 - "$out" "$TLSBPF" "$@" <<'PY'
import os, pty, re, select, sys, time
out, argv = sys.argv[1], sys.argv[2:]
ctrlc = int(os.environ['CTRLC'])
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
chunks, newlines, sent, t0 = [], 0, False, time.time()
while True:
    r, _, _ = select.select([fd], [], [], 60)
    if not r:
        break
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    chunks.append(d)
    newlines += d.count(b'\n')
    if ctrlc and not sent and newlines > ctrlc:    # the header, then ctrlc lines
        os.write(fd, b'\x03')
        sent = True
os.waitpid(pid, 0)
open(out, 'wb').write(b''.join(chunks).replace(b'\r\n', b'\n'))
print(f"{time.time() - t0:.2f}")
PY
}

# event lines: (pid, event) read at the columns the header names, whatever the comm holds
cat >"$T/lines.py" <<'PY'
import re
def events(text):
    head = text.split('\n', 1)[0]
    col, pidcol = head.index(' event ') + 1, head.index('pid/') - 4
    for l in text.split('\n')[1:]:
        if re.match(r'^ *-?\d+\.\d{6} ', l):
            yield l[pidcol:].split('/')[0].split()[-1], l[col:].split(' ')[0]
PY

# view OUT CSV [EVENTS]: every CSV row of the EVENTS types (default all) is a line of the view
# or counted on a fold line, type by type; no other event shows. Prints what it found.
view() {
	PYTHONPATH=$T python3 - "$@" <<'PY'
import collections, csv, re, sys
from lines import events
out, csvp = sys.argv[1], sys.argv[2]
want = set(sys.argv[3].split(',')) | {'lost'} if len(sys.argv) > 3 else None
text = open(out, 'rb').read().decode('utf-8', 'replace')
shown, folded = collections.Counter(), collections.Counter()
folds = 0
for pid, ev in events(text):
    shown[ev] += 1
for l in text.split('\n'):
    m = re.match(r'^\.\.\. ([\d,]+) more events? \((.*)\) this second; ', l)
    if m:
        folds += 1
        items = m.group(2).split(', ')
        total = 0
        for it in items:
            name, n = it.split(' ')
            folded[name] += int(n.replace(',', ''))
            total += int(n.replace(',', ''))
        assert total == int(m.group(1).replace(',', '')), l
rows = collections.Counter(r['event'] for r in csv.DictReader(open(csvp, newline='')))
shown.pop('comm', None)    # a rename is a line of the view, never a CSV row
if want is not None:
    rows = collections.Counter({k: v for k, v in rows.items() if k in want})
got = shown + folded
bad = {k: (shown[k], folded[k], rows[k]) for k in set(got) | set(rows) if got[k] != rows[k]}
print(f"{sum(shown.values())} lines and {sum(folded.values())} events on {folds} fold lines "
      f"for {sum(rows.values())} CSV rows; mismatched (shown, folded, csv): {bad or 'none'}")
sys.exit(0 if not bad and sum(rows.values()) > 0 else 1)
PY
}

# ---- a flood: bounded, every event accounted for ----

secs=$(ontty "$T/flood.tty" -- --csv "$T/flood.csv" -- "$PROGS/tp_flood" -n 400000 -t 2)
bytes=$(grep -avE '^(tlsbpf report|summary|#)' "$T/flood.tty" | wc -c)
lines=$(grep -acE '^ *-?[0-9]+\.[0-9]{6} ' "$T/flood.tty")
rows=$(($(wc -l <"$T/flood.csv") - 1))
bound=$(python3 -c "import math; print((math.ceil($secs) + 1) * 41 * 300 + 20000)")
maxlines=$(python3 -c "import math; print((math.ceil($secs) + 1) * 40)")
check "flood on a terminal: $bytes bytes, $lines lines in $secs s for $rows CSV rows \
(bounds: $bound bytes, $maxlines lines: 40 lines and a fold line a second, the report)" \
	[ "$rows" -ge 800000 -a "$bytes" -le "$bound" -a "$lines" -le "$maxlines" ]
check "the first line is the column header: $(head -1 "$T/flood.tty" | tr -s ' ')" \
	grep -qE '^ +seconds +pid/tid +comm +event +size ' <(head -1 "$T/flood.tty")
check "the fold line says how to see every line" \
	grep -q -- '-o FILE or --live for every line' "$T/flood.tty"
out=$(view "$T/flood.tty" "$T/flood.csv")
vrc=$?
check "the fold lines' counts and the lines add up to the CSV: $out" [ "$vrc" -eq 0 ]

# ---- --events: only those, still all counted ----

ontty "$T/ev.tty" -- --events free,exit --csv "$T/ev.csv" -- "$PROGS/tp_flood" -n 100000 -t 2 \
	>/dev/null
out=$(view "$T/ev.tty" "$T/ev.csv" free,exit)
vrc=$?
check "--events free,exit: no other event shows, and every free and exit is there: $out" \
	[ "$vrc" -eq 0 ]
check "--events with an unknown name: one line naming it" \
	sh -c "$TLSBPF --events malloc,frees -- true 2>&1 | grep -c \"no event is called 'frees'\" | grep -qx 1"

# ---- --filter-pid: one of two processes, every line of it (a file gets every line) ----

# until told to stop, and watched for 2 s from when the probes are live: attaching may wait on
# another tracer's uprobe releases
"$PROGS/tp_churn" -t 1 -L 0 -p 2000 >"$T/a.out" &
a=$!
"$PROGS/tp_churn" -t 1 -L 0 -p 2000 >"$T/b.out" &
b=$!
sleep 0.3
$TLSBPF -p "$a,$b" --duration 2 --filter-pid "$a" -o "$T/pid.live" --csv "$T/pid.csv" \
	2>"$T/pid.err"
kill -TERM "$a" "$b"
wait "$a" "$b"
out=$(PYTHONPATH=$T python3 - "$T/pid.live" "$T/pid.csv" "$a" "$b" <<'PY'
import collections, csv, sys
from lines import events
live, csvp, a, b = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
pids = collections.Counter(pid for pid, ev in events(open(live, errors='replace').read())
                           if ev not in ('comm', 'lost'))
rows = collections.Counter(r['pid'] for r in csv.DictReader(open(csvp, newline=''))
                           if r['event'] != 'lost')
print(f"view: {dict(pids)}; CSV: {dict(rows)}")
sys.exit(0 if pids[a] == rows[a] and rows[a] > 0 and rows[b] > 0 and set(pids) == {a} else 1)
PY
)
vrc=$?
check "-p A,B --filter-pid A: every event of A and none of B shows ($a, $b): $out" [ "$vrc" -eq 0 ]

# ---- Ctrl-C: nothing more of the view after it, the CSV and the report still whole ----

CTRLC=20 ontty "$T/c.tty" -- --csv "$T/c.csv" -- "$PROGS/tp_flood" -n 50000000 -t 2 >/dev/null
after=$(python3 - "$T/c.tty" <<'PY'
import re, sys
data = open(sys.argv[1], 'rb').read()
at = data.find(b'^C')    # the terminal echoes it where it took the signal
tail = data[at:] if at >= 0 else b''
view = len(re.findall(rb'^( *-?\d+\.\d{6} |\.\.\. [\d,]+ more event)', tail, re.M))
print(f"{'found' if at >= 0 else 'no'} ^C; {view} view lines after it; "
      f"report after it: {b'tlsbpf report:' in tail}")
PY
)
check "Ctrl-C: $after" [ "${after#found ^C; 0 view lines after it; report after it: True}" = "" ]
parsed=$(python3 - "$T/c.csv" <<'PY'
import csv, sys
data = open(sys.argv[1], newline='').read()
rows = list(csv.reader(data.splitlines()))
whole = data.endswith('\n') and all(len(r) == len(rows[0]) for r in rows)
ev = [r[5] for r in rows[1:]]
print(f"{len(rows) - 1} rows, whole: {whole}, exit rows: {ev.count('exit')}")
PY
)
check "and the CSV still gets everything, through the exit: $parsed" \
	grep -q 'whole: True, exit rows: [1-9]' <<<"$parsed"
