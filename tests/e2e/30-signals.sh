#!/usr/bin/env bash
# SIGINT or SIGTERM to tlsbpf mid-run: the command gets it, the CSV is complete and parses.
. "$(dirname "$0")/lib.sh"
need_bpf

for sig in INT TERM; do
	$TLSBPF -q --csv "$T/sig.csv" -- "$PROGS/tp_exit" sleep 20000 then code 0 >"$T/prog.out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 100); do grep -q pid= "$T/prog.out" 2>/dev/null && break; sleep 0.05; done
	sleep 0.2
	kill -s "$sig" "$pid"
	wait "$pid"
	rc=$?
	want=$((128 + $(kill -l "$sig")))
	check "SIG$sig to tlsbpf: the command ends by it, status $want (got $rc)" [ "$rc" -eq "$want" ]
	parsed=$(python3 - "$T/sig.csv" <<'PY'
import csv, sys
data = open(sys.argv[1], newline='').read()
rows = list(csv.reader(data.splitlines()))
good = data.endswith('\n') and all(len(r) == len(rows[0]) for r in rows)
ev = [r[5] for r in rows[1:]]
print('yes' if good and 'exit' in ev and 'malloc' in ev else 'no')
PY
	)
	check "SIG$sig: the CSV parses, every row whole, through the exit row" [ "$parsed" = yes ]
	check "SIG$sig: the summary was printed" grep -q "events lost" "$T/err"
done

# Ctrl-C at a terminal reaches tlsbpf and the command alike: the command must get it once.
res=$(python3 - "$TLSBPF" "$T/tty.csv" <<'PY'
import os, pty, sys, time, select
tlsbpf, csvpath = sys.argv[1], sys.argv[2]
prog = ("import signal, time\n"
        "n = [0]\n"
        "signal.signal(signal.SIGINT, lambda *a: n.__setitem__(0, n[0] + 1))\n"
        "print('ready', flush=True)\n"
        "end = time.time() + 1.5\n"
        "while time.time() < end: time.sleep(0.05)\n"
        "print('sigints', n[0], flush=True)\n")
pid, fd = pty.fork()
if pid == 0:
    os.execv(tlsbpf, [tlsbpf, '-q', '--csv', csvpath, '--', sys.executable, '-c', prog])
out = b''
deadline = time.time() + 20
sent = False
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    if not sent and b'ready' in out:
        time.sleep(0.2)
        os.write(fd, b'\x03')
        sent = True
_, status = os.waitpid(pid, 0)
import re
m = re.search(r'sigints (\d+)', out.decode(errors='replace'))  # the tty echoes ^C before it
print(m.group(1) if m else 'none', os.waitstatus_to_exitcode(status))
PY
)
read -r sigints status <<<"$res"
check "Ctrl-C at a terminal: the command gets SIGINT once, not twice (got $sigints)" [ "$sigints" = 1 ]
check "and tlsbpf exits with the command's status once it ends (got $status)" [ "$status" = 0 ]

# ---- a command that ignores the signal is not left running when tlsbpf stops ----

# gone PID: the process no longer runs (ended, or a zombie waiting for its parent)
gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -z "$st" ] || [ "$st" = Z ]
}

for sigs in INT "INT TERM"; do
	rm -f "$T/deaf.out"
	$TLSBPF -q --csv "$T/deaf.csv" -- sh -c "trap '' INT; echo sh=\$\$; \
$PROGS/tp_exit sleep 20000 then code 0" >"$T/deaf.out" 2>"$T/deaf.err" &
	pid=$!
	for _ in $(seq 200); do grep -q pid= "$T/deaf.out" 2>/dev/null && break; sleep 0.05; done
	sleep 0.2
	first=1
	for sig in $sigs; do
		[ "$first" = 1 ] || sleep 0.3
		first=0
		kill -s "$sig" "$pid"
	done
	wait "$pid"
	rc=$?
	shpid=$(sed -n 's/^sh=//p' "$T/deaf.out")
	childpid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$T/deaf.out" | head -1)
	left=""
	for p in $shpid $childpid; do gone "$p" || left="$left $p"; done
	check "SIG${sigs// /+SIG} to tlsbpf, the command ignores SIGINT: sh ($shpid) and its child \
($childpid) do not outlive tlsbpf (still running:${left:- none})" \
		[ -n "$shpid" -a -n "$childpid" -a -z "$left" ]
	check "and stderr names the pids it killed: $(grep SIGKILL "$T/deaf.err")" \
		grep -q "killed pid .*$shpid.*with SIGKILL" "$T/deaf.err"
	check "tlsbpf exits 128+N for the signal that stopped it (got $rc)" \
		[ "$rc" -eq 130 -o "$rc" -eq 143 ]
	for p in $left; do kill -KILL "$p"; done
done
