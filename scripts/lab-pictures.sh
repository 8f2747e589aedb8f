#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# lab-pictures.sh: each lab run once under tlsbpf, its pictures written into docs/labs/:
# 08X.map.svg and 08X.live.svg (what --report writes beside a report) and 08X.png, a
# screenshot of the --html page in headless Chromium, opened on the whole run (#from=0: every
# block that lived, where it lived). Run as root: `sudo make lab-pictures`.
set -euo pipefail
cd "$(dirname "$0")/.."
TLSBPF=${TLSBPF:-./tlsbpf}
tmp=$(mktemp -d /tmp/tlsbpf-labpics.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for prog in labs/08?_*.c; do
	lab=$(basename "$prog" .c)
	short=${lab%%_*}
	# a lab may end by a signal on purpose (08b's overruns): its pictures are still what it did
	# --pages=cow: the pages a fork's child or parent copied are marked on the map
	"$TLSBPF" -q --pages=cow --report "$tmp/$short.md" --html "$tmp/$short.html" -- "./labs/$lab" \
		>/dev/null 2>"$tmp/$short.err" || true
	if [ ! -s "$tmp/$short.map.svg" ]; then
		echo "lab-pictures: $lab: no pictures: $(tail -1 "$tmp/$short.err")" >&2
		exit 1
	fi
	cp "$tmp/$short.map.svg" "$tmp/$short.live.svg" docs/labs/
	chromium --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile" \
		--hide-scrollbars --window-size=1400,1600 --screenshot="docs/labs/$short.png" \
		"file://$tmp/$short.html#from=0" >/dev/null 2>&1
	echo "  $short: docs/labs/$short.map.svg, $short.live.svg, $short.png"
done
