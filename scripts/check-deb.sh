#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# check-deb.sh (make deb-check): build the Debian package, let lintian judge it (no error, no
# warning), unpack it into an empty tree, and run what it installed: tlsbpf --version, and
# lab 08c under the installed tlsbpf (as root, which loading BPF needs).
set -euo pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}
make deb
deb=$(ls "$OUTPUT"/deb/tlsbpf_*_amd64.deb)
# info (I:) and experimental (X:) tags are listed and justified in docs/packaging.md
tags=$(lintian --fail-on error,warning "$deb" 2>&1 | grep -v 'root privileges' || true)
[ -z "$tags" ] || { echo "check-deb: lintian: $tags" >&2; exit 1; }
echo "check-deb: lintian: no errors or warnings"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
"$root/usr/bin/tlsbpf" --version
# apt pulls what the binary links: every library it needs comes from a package it depends on
depends=$(dpkg-deb -f "$deb" Depends)
for lib in $(objdump -p "$root/usr/bin/tlsbpf" | awk '$1 == "NEEDED" { print $2 }'); do
	pkg=$(dpkg -S "*/x86_64-linux-gnu/$lib" 2>/dev/null | head -1 | cut -d: -f1)
	[[ ", $depends" == *", $pkg "* || ", $depends," == *", $pkg,"* ]] ||
		{ echo "check-deb: $lib comes from $pkg, which Depends ($depends) lacks" >&2; exit 1; }
done
echo "check-deb: Depends: $depends"
man --warnings -l "$root/usr/share/man/man1/tlsbpf.1.gz" >/dev/null
if [ "$(id -u)" -eq 0 ]; then
	"$root/usr/bin/tlsbpf" -q --csv "$root/08c.csv" -- "$root/usr/lib/tlsbpf/labs/08c_fork_inject" \
		>"$root/08c.out" 2>"$root/08c.err"
	python3 - "$root/08c.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
forks = sum(r['event'] == 'fork' for r in rows)
procs = {r['pid'] for r in rows if r['event'] == 'malloc'}
print(f"check-deb: the installed 08c under the installed tlsbpf: {len(rows)} rows, {forks} forks, "
      f"mallocs in {len(procs)} processes")
sys.exit(0 if forks >= 1 and len(procs) >= 2 else 1)
PY
fi
