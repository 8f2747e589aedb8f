#!/usr/bin/env bash
# tlsbpf at home: the manual page lists every option --help lists and no other, and man
# renders it without a warning; bash completion offers options, analyze's CSV files, running
# PIDs for -p, running names for --comm and libraries for --lib, and nothing (no error) in an
# empty directory; make install and uninstall put the same set under DESTDIR and take it back.
. "$(dirname "$0")/lib.sh"

# options named in --help, and in the man page source (each as "--name" or "-x")
$TLSBPF --help | sed -nE 's/^ +(-[a-zA-Z], )?(--[a-z-]+).*/\1\2/p' | tr ', ' '\n\n' | grep . |
	sort -u >"$T/help"
# the tag line of each .TP item in the MODES and OPTIONS sections names its options
python3 - docs/tlsbpf.1 >"$T/man" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split('\n')
start = lines.index('.SH MODES')
opts = lines.index('.SH OPTIONS')	# MODES, then OPTIONS, up to the next section
end = next(i for i in range(opts + 1, len(lines)) if lines[i].startswith('.SH '))
names = set()
for i in range(start, end):
    if lines[i] == '.TP':
        tag = lines[i + 1].replace('\\-', '-')
        names.update(re.findall(r'(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])', tag))
print('\n'.join(sorted(names)))
PY
missing=$(comm -23 "$T/help" "$T/man" | tr '\n' ' ')
extra=$(comm -13 "$T/help" "$T/man" | tr '\n' ' ')
check "the man page has every option --help lists ($(wc -l <"$T/help") options; missing: ${missing:-none})" \
	[ -z "$missing" ]
check "and none --help does not (extra: ${extra:-none})" [ -z "$extra" ]
warn=$(man --warnings -l docs/tlsbpf.1 2>&1 >/dev/null)
check "man --warnings renders it without a warning${warn:+: $warn}" [ -z "$warn" ]

# complete WORD...: what the completion offers for the last word, one per line
completion=$PWD/completions/tlsbpf.bash
complete_words() {
	bash -c '. "$0"
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		_tlsbpf; rc=$?
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"; exit $rc' "$completion" "$@"
}
has() { grep -qxF -- "$1" "$T/c"; }

complete_words tlsbpf --sample >"$T/c"
check "options: --sample offers --sample, --sample-by and --sample-window: $(tr '\n' ' ' <"$T/c")" \
	eval 'has --sample && has --sample-by && has --sample-window && [ "$(wc -l <"$T/c")" -eq 3 ]'
mkdir "$T/dir" && touch "$T/dir/run.csv" "$T/dir/other.txt" && mkdir "$T/dir/sub"
(cd "$T/dir" && complete_words tlsbpf analyze "" >"$T/c")
check "analyze offers the CSV files and directories, not other files: $(tr '\n' ' ' <"$T/c")" \
	eval 'has run.csv && has sub/ && ! has other.txt'
sleep 30 &
sleeper=$!
complete_words tlsbpf -p "$sleeper" >"$T/c"
check "-p offers a running PID ($sleeper): $(tr '\n' ' ' <"$T/c")" has "$sleeper"
complete_words tlsbpf -p "1,$sleeper" >"$T/c"
check "-p completes the last of a comma list: $(tr '\n' ' ' <"$T/c")" has "1,$sleeper"
cp /bin/sleep "$T/tlsbpfzzcomm"
"$T/tlsbpfzzcomm" 30 &
named=$!
complete_words tlsbpf -a --comm tlsbpfzz >"$T/c"
check "--comm offers a running process's name: $(tr '\n' ' ' <"$T/c")" has tlsbpfzzcomm
kill "$sleeper" "$named"
libc=$(ldd /bin/true | sed -n 's/.*libc\.so\.6 => \([^ ]*\).*/\1/p')
complete_words tlsbpf --lib "${libc%.6}" >"$T/c"
check "--lib completes a library path: $(tr '\n' ' ' <"$T/c")" has "$libc"
complete_words tlsbpf --lib libc.so >"$T/c"
check "--lib completes a bare name from the loader's cache: $(head -3 "$T/c" | tr '\n' ' ')" \
	grep -q '/libc\.so' "$T/c"
mkdir "$T/empty"
(cd "$T/empty" && complete_words tlsbpf analyze "" >"$T/c" 2>"$T/cerr")
rc=$?
check "in an empty directory analyze offers nothing, and no error (exit $rc)" \
	eval '[ "$rc" -eq 0 ] && [ ! -s "$T/c" ] && [ ! -s "$T/cerr" ]'
(cd "$T/empty" && complete_words tlsbpf --csv "no such/dir/x" >"$T/c" 2>"$T/cerr")
rc=$?
check "a path that leads nowhere offers nothing, and no error (exit $rc)" \
	eval '[ "$rc" -eq 0 ] && [ ! -s "$T/c" ] && [ ! -s "$T/cerr" ]'

# make install / uninstall under a DESTDIR, as a package build does, of the build under test
# (the sanitizer's too): nothing is built again
mk=(make -s OUTPUT="$OUTPUT" BIN="$TLSBPF" SANITIZE="${TLSBPF_SANITIZE:-}" DESTDIR="$T/root" PREFIX=/usr)
"${mk[@]}" install >"$T/inst" 2>&1
rc=$?
want="usr/bin/tlsbpf usr/share/man/man1/tlsbpf.1.gz usr/share/bash-completion/completions/tlsbpf
usr/share/doc/tlsbpf/README.md usr/share/doc/tlsbpf/csv.md usr/share/doc/tlsbpf/labs/08c.md
usr/share/doc/tlsbpf/labs/08c_fork_inject.c usr/lib/tlsbpf/labs/08c_fork_inject"
absent=""
for f in $want; do [ -e "$T/root/$f" ] || absent="$absent $f"; done
check "make install puts the tool, man page, completion, docs and labs in place (exit $rc; missing:${absent:- none})" \
	[ "$rc" -eq 0 -a -z "$absent" ]
check "the installed tlsbpf runs: $("$T/root/usr/bin/tlsbpf" --version 2>&1)" \
	"$T/root/usr/bin/tlsbpf" --version
"${mk[@]}" uninstall >/dev/null 2>&1
left=$(find "$T/root" -type f | sed "s|$T/root/||" | tr '\n' ' ')
check "make uninstall takes every file back (left: ${left:-none})" [ -z "$left" ]
