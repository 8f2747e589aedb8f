# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bash completion for tlsbpf: options, analyze's CSV files, running PIDs for -p, running
# process names for --comm, shared libraries for --lib, files for the outputs.
# Installed as /usr/share/bash-completion/completions/tlsbpf; it uses plain bash only, so it
# also works sourced by hand in a shell without the bash-completion package.

_tlsbpf_opts='-p --pid -a --all --comm --duration -q --quiet -o --output --live --events
	--filter-pid --filter-tid --csv --json-lines --summary --summary-json --report --html --perfetto --pprof --folded
	--top --lib --ringbuf-mb --confine --no-confine --sample --sample-by --sample-window --pages
	--stack-depth --stacks --no-stacks --no-free-stacks --debuginfod --probe-at-entry
	-u --user --as-root --empty-probes -v --verbose -h --help -V --version'
_tlsbpf_analyze_opts='--summary --summary-json --report --html --perfetto --pprof --folded --top -h --help'
_tlsbpf_events='malloc calloc realloc reallocarray free posix_memalign aligned_alloc memalign
	valloc pvalloc mmap munmap mremap mprotect madvise brk fork thread exec exit_thread exit
	lost sample_off sample_on touch wp cow zero_copy page_fault alloc vm'

# Files (and directories to go through) matching a glob, one per line, into COMPREPLY.
_tlsbpf_files() { # CUR [GLOB]
	local f
	while IFS= read -r f; do
		if [ -d "$f" ]; then
			COMPREPLY+=("$f/")
		elif [ -z "${2-}" ] || [[ $f == $2 ]]; then
			COMPREPLY+=("$f")
		fi
	done < <(compgen -f -- "$1" 2>/dev/null)
}

# The lines on stdin that begin as CUR's last comma-separated item does, into COMPREPLY, each
# after what comes before that item: "12,3" offers "12,345".
_tlsbpf_match() { # CUR
	local w pre=
	[[ $1 == *,* ]] && pre=${1%,*},
	while IFS= read -r w; do
		[[ $w == "${1##*,}"* ]] && COMPREPLY+=("$pre$w")
	done
	return 0
}

# Running processes: their PIDs, or their names.
_tlsbpf_pids() {
	local d
	for d in /proc/[0-9]*; do
		[ -d "$d" ] && printf '%s\n' "${d#/proc/}"
	done
}

_tlsbpf_comms() {
	local d name
	for d in /proc/[0-9]*; do
		read -r name 2>/dev/null <"$d/comm" && printf '%s\n' "$name"
	done | sort -u
}

# Shared libraries: a path is completed as a path, a bare name from the loader's cache (its
# full path offered for the name).
_tlsbpf_libs() { # CUR
	local name path ldconfig=ldconfig
	if [[ $1 == */* ]]; then
		_tlsbpf_files "$1" '*.so*'
		return 0
	fi
	command -v ldconfig >/dev/null 2>&1 || ldconfig=/sbin/ldconfig
	while read -r name path; do
		[[ $name == "$1"* && $path == /* ]] && COMPREPLY+=("$path")
	done < <("$ldconfig" -p 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) .* => \(.*\)$/\1 \2/p')
	return 0
}

# The word before the cursor asks for an argument: complete it. Returns 1 if it does not.
_tlsbpf_argument() { # PREV CUR
	case $1 in
	-p | --pid | --filter-pid)
		_tlsbpf_match "$2" < <(_tlsbpf_pids) ;;
	--comm)
		_tlsbpf_match "$2" < <(_tlsbpf_comms) ;;
	--lib)
		COMPREPLY=()
		_tlsbpf_libs "$2" ;;
	--csv | --json-lines | --summary | --summary-json | --perfetto | --pprof | --folded | -o | --output)
		COMPREPLY=()
		_tlsbpf_files "$2" ;;
	--report)
		COMPREPLY=()
		_tlsbpf_files "$2" '*.md' ;;
	--html)
		COMPREPLY=()
		_tlsbpf_files "$2" '*.html' ;;
	--events)
		_tlsbpf_match "$2" < <(printf '%s\n' $_tlsbpf_events) ;;
	--sample-by)
		mapfile -t COMPREPLY < <(compgen -W 'calls time' -- "$2") ;;
	--stacks)
		mapfile -t COMPREPLY < <(compgen -W 'fp dwarf' -- "$2") ;;
	-u | --user)
		mapfile -t COMPREPLY < <(compgen -u -- "$2") ;;
	--duration | --top | --ringbuf-mb | --sample | --sample-window | --stack-depth | --filter-tid)
		COMPREPLY=() ;;
	*)
		return 1 ;;
	esac
	return 0
}

_tlsbpf() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev= i analyze=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--)	# the command and its arguments: commands first, then files
			if [ $((i + 1)) -eq "$COMP_CWORD" ]; then
				mapfile -t COMPREPLY < <(compgen -c -- "$cur")
			else
				_tlsbpf_files "$cur"
			fi
			return 0 ;;
		analyze) [ "$i" -eq 1 ] && analyze=1 ;;
		esac
	done
	_tlsbpf_argument "$prev" "$cur" && return 0
	if [ -n "$analyze" ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$_tlsbpf_analyze_opts" -- "$cur")
		else
			_tlsbpf_files "$cur" '*.csv'
		fi
	elif [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$_tlsbpf_opts --" -- "$cur")
	elif [ "$COMP_CWORD" -eq 1 ]; then
		mapfile -t COMPREPLY < <(compgen -W 'analyze' -- "$cur")
	fi
	return 0
}

complete -F _tlsbpf tlsbpf
