#!/usr/bin/env bash
# Under sudo the command runs as the invoking user, and output files belong to that user.
. "$(dirname "$0")/lib.sh"
need_bpf

chmod 0755 "$T"
SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody $TLSBPF -q --csv "$T/sudo.csv" -- \
	"$PROGS/tp_ids" >"$T/ids" 2>"$T/err"
check "SUDO_UID=65534: the command runs as uid 65534, gid 65534: $(cat "$T/ids")" \
	grep -q "^uid=65534 gid=65534 euid=65534 egid=65534" "$T/ids"
check "the CSV belongs to the sudo caller: $(stat -c %u:%g "$T/sudo.csv")" \
	[ "$(stat -c %u:%g "$T/sudo.csv")" = 65534:65534 ]
mode=$(stat -c %a "$T/sudo.csv")
check "and is mode 0644 or stricter ($mode)" [ $((0$mode & 022)) -eq 0 ]

SUDO_UID=65534 SUDO_GID=65534 $TLSBPF -q --as-root -- "$PROGS/tp_ids" >"$T/ids" 2>"$T/err"
check "--as-root keeps root: $(cat "$T/ids")" grep -q "^uid=0 gid=0" "$T/ids"

$TLSBPF -q -u nobody -- "$PROGS/tp_ids" >"$T/ids" 2>"$T/err"
check "-u nobody runs it as nobody: $(cat "$T/ids")" grep -q "^uid=65534 " "$T/ids"

ln -s /etc/passwd-should-not-exist "$T/link.csv"
$TLSBPF -q --csv "$T/link.csv" -- /bin/true >/dev/null 2>"$T/err"
rc=$?
check "a symlink planted at the CSV path is not followed (status $rc): $(head -1 "$T/err")" \
	[ "$rc" -ne 0 -a ! -e /etc/passwd-should-not-exist ]
