#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/vm/test.sh (make test-vm): the exact-count, fork, thread, attach, lab, crash and
# bad-input tests on Debian 12's own kernels, each booted under qemu with this machine's files.
# Ends with "N passed, N failed" over every kernel.
# Usage: tests/vm/test.sh [PACKAGE...]   (default: the kernels kernels_default names)
set -u
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-.output}
TLSBPF=${TLSBPF:-./tlsbpf}

# The tests that run in each guest: each counts what its own programs say they did.
SUBSET=(10-count 14-kernel 17-returns 20-exit 50-errors 61-clonevm 65-attach 74-attach-forks 80-labs
	86-sample-time 88-stacks-gone 92-crashes 96-badinput)

# Debian 12's own kernel (what linux-image-amd64 installs there: Linux 6.1, classic uprobes),
# its newest 6.12 (uprobe_multi links without uprobe sessions), and Debian 11's 5.10, below
# tlsbpf's floor (its package named in bullseye's lists, which tests/vm/kernel.sh fetches).
kernels_default() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
	apt-cache pkgnames linux-image-6.12 2>/dev/null | grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' |
		sort -V | tail -n 1
	echo bullseye:linux-image-amd64
}

# What runs in a guest: the subset, or on a kernel below the floor the check that it says so.
guest_tests() { # kernel version
	case $1 in
	5.[0-9].* | 5.1[0-4].* | 4.*) echo bash tests/vm/below-floor.sh ;;
	*) echo tests/run "${SUBSET[@]}" ;;
	esac
}

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || mapfile -t pkgs < <(kernels_default)
[ ${#pkgs[@]} -gt 0 ] || { echo "tests/vm: no kernel package found (apt-get update?)" >&2; exit 1; }
passed=0 failed=0 skipped=0 failures=()
for pkg in "${pkgs[@]}"; do
	dir=$OUTPUT/vm/$pkg
	echo "== $pkg"
	if ! tests/vm/kernel.sh "$pkg" "$dir"; then
		failed=$((failed + 1)) failures+=("$pkg: no kernel")
		continue
	fi
	out=$(mktemp)
	start=$(date +%s)
	# shellcheck disable=SC2046	# the guest's command, word by word
	tests/vm/run.sh "$dir" env OUTPUT="$OUTPUT" TLSBPF="$TLSBPF" CI="${CI:-}" \
		$(guest_tests "$(cat "$dir/version")") | tee "$out"
	rc=${PIPESTATUS[0]}
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$last" ]; then
		echo "tests/vm: $pkg: the guest ended (status $rc) without a result line" >&2
		failed=$((failed + 1)) failures+=("$pkg: no result")
		continue
	fi
	read -r p _ f _ s _ <<<"${last//,/}"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -gt 0 ] || [ "$rc" -ne 0 ] && failures+=("$pkg")
	[ "$f" -eq 0 ] && [ "$rc" -ne 0 ] && failed=$((failed + 1))
	echo "== $pkg: $last in $(($(date +%s) - start)) s"
done
echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
