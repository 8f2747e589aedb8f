#!/usr/bin/env bash
# --confine: a private copy of the C library is probed, exactly, and nothing else is.
. "$(dirname "$0")/lib.sh"
need_bpf

$TLSBPF -v -q --confine --csv "$T/c.csv" -- "$PROGS/tp_count" -t 2 -n 300 -f \
	>"$T/c.out" 2>"$T/c.err"
rc=$?
check "--confine: the command runs and exits 0 (got $rc)" [ "$rc" -eq 0 ]
probed=$(grep -o 'probing malloc in [^ ]*' "$T/c.err" | awk '{print $4}')
check_sh "only the private copy is probed ($probed)" \
	'[ "$(echo "$probed" | wc -l)" -eq 1 ] && echo "$probed" | grep -q "^/tmp/tlsbpf-confine\."'
check "the copy is removed afterwards" [ ! -e "$probed" ]
said=$(grep -c '^alloc' "$T/c.out")
seen=$(csvq "$T/c.csv" "sum(1 for r in rows if r['event'] == 'malloc' and r['size'] == '123')")
check "every malloc(123) of the command and its child is seen ($seen of $said)" \
	[ "$said" -eq 900 -a "$seen" -eq "$said" ]

SUDO_UID=65534 SUDO_GID=65534 $TLSBPF -q --confine --csv "$T/s.csv" -- "$PROGS/tp_count" -t 1 \
	-n 50 >"$T/s.out" 2>"$T/s.err"
seen=$(csvq "$T/s.csv" "sum(1 for r in rows if r['event'] == 'malloc' and r['size'] == '123')")
check "--confine under sudo: the dropped user loads the copy too ($seen of 50)" [ "$seen" -eq 50 ]

cp "$PROGS/tp_ids" "$T/suid" && chmod u+s "$T/suid"
$TLSBPF -q --confine -- "$T/suid" >"$T/out" 2>"$T/err"
rc=$?
check_sh "--confine refuses a set-user-ID command (exit $rc): $(head -1 "$T/err")" \
	'[ "$rc" -ne 0 ] && grep -q "set-user-ID" "$T/err"'
musl-gcc -O1 -fno-builtin -o "$T/musl_prog" tests/progs/tp_ids.c 2>/dev/null
$TLSBPF -q --confine -- "$T/musl_prog" >"$T/out" 2>"$T/err"
rc=$?
check_sh "--confine refuses a musl program, whose C library is its interpreter (exit $rc)" \
	'[ "$rc" -ne 0 ] && grep -q "program interpreter" "$T/err"'

# A tlsbpf killed outright leaves its copy behind; the next one removes it (the directory names
# the pid that made it, no longer a tlsbpf).
cp /bin/sleep "$T/sleeper"
$TLSBPF -q -- "$T/sleeper" 30 >/dev/null 2>&1 &
tpid=$!
for _ in $(seq 200); do spid=$(pgrep -f "^$T/sleeper") && break; sleep 0.05; done
left=$(ls -d /tmp/tlsbpf-confine."$tpid".* 2>/dev/null)
kill -KILL "$tpid"
wait "$tpid" 2>/dev/null
kill "$spid" 2>/dev/null
check "a killed tlsbpf leaves its private copy ($left)" [ -n "$left" -a -e "$left" ]
$TLSBPF -q -- true >/dev/null 2>&1
check "the next tlsbpf removes it" [ ! -e "$left" ]
