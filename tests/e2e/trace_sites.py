#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# trace_sites.py TRACE CSV STACKS: each block's slice in a `tlsbpf --perfetto` trace carries its
# allocation's stack_id (the CSV row's) and its site, whose first frame is the stacks file's
# frame 0 for that id, labelled as docs/pictures.md says.
import csv, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trace_check import decode, parse, one, fail  # noqa: E402
from sites_check import frame_labels  # noqa: E402

ALLOCS = {'malloc', 'calloc', 'realloc', 'reallocarray', 'posix_memalign', 'aligned_alloc',
          'memalign', 'valloc', 'pvalloc'}


def main(trace, csv_path, stacks_path):
    labels = frame_labels(stacks_path)
    rows = {(int(r['ts_ns']), int(r['addr'], 16), int(r['size'])): int(r['stack_id'] or 0)
            for r in csv.DictReader(open(csv_path, newline=''))
            if r['event'] in ALLOCS and r['addr'] and int(r['addr'], 16)
            and 'failed' not in r['flags'].split('|')}
    checked = named = 0
    for p in parse(decode(trace)).get('packet', []):
        e = one(p, 'track_event')
        if not e or one(e, 'type') != 'TYPE_SLICE_BEGIN':
            continue
        m = re.match(r'(\d+) B at 0x([0-9a-f]+)( \(inherited\))?$', one(e, 'name'))
        if not m or m.group(3):
            continue
        key = (int(one(p, 'timestamp')), int(m.group(2), 16), int(m.group(1)))
        want = rows.get(key)
        ann = {one(a, 'name'): one(a, 'uint_value') or one(a, 'string_value')
               for a in e.get('debug_annotations', [])}
        got = int(ann.get('stack_id', 0))
        if want is None or got != want:
            fail(f"slice {one(e, 'name')} at {key[0]}: stack_id {got}, the CSV's row {want}")
        checked += 1
        if want in labels:
            if ann.get('site', '').split(' <- ')[0] != labels[want][0]:
                fail(f"slice {one(e, 'name')}: site {ann.get('site')!r}, frame 0 is "
                     f"{labels[want][0]!r}")
            named += 1
    if not checked or not named:
        fail(f"{checked} slices checked, {named} with a site")
    print(f"{checked} slices carry their allocation's stack_id, {named} their site's frame 0")


if __name__ == '__main__':
    main(*sys.argv[1:4])
