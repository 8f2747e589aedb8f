#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# trace_check.py: read a `tlsbpf --perfetto` trace with protoc and the checked-in .proto subset,
# and hold it to the CSV: one slice per block, begins and ends paired on each lane with no
# overlap, every flow id twice, process counters equal to the live bytes the CSV gives.
#
#   trace_check.py TRACE CSV [JSON]   JSON: --summary-json's totals, which must agree too
import collections, csv, os, re, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from csv_truth import Replay, flags  # noqa: E402

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'perfetto')


def fail(msg):
    print(msg)
    sys.exit(1)


def decode(path):
    """protoc's text for the whole trace; protoc fails on a trace it cannot read whole."""
    with open(path, 'rb') as f:
        r = subprocess.run(['protoc', '--proto_path=' + PROTO_DIR,
                            '--decode=perfetto.protos.Trace', 'trace_subset.proto'],
                           stdin=f, capture_output=True, text=True)
    if r.returncode:
        fail(f"protoc cannot read the trace: {r.stderr.strip()}")
    return r.stdout


def parse(text):
    """Text format to nested dicts; repeated fields become lists."""
    root, stack = {}, []
    cur = root
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if re.match(r'^\d', line):
            fail(f"a field the .proto subset does not name: {line}")
        if line.endswith('{'):
            child = {}
            cur.setdefault(line[:-1].strip(), []).append(child)
            stack.append(cur)
            cur = child
        elif line == '}':
            cur = stack.pop()
        else:
            k, v = line.split(':', 1)
            v = v.strip()
            cur.setdefault(k, []).append(v[1:-1] if v.startswith('"') else v)
    return root


def one(d, k, default=None):
    return d.get(k, [default])[0]


def main(trace, csv_path, json_path=None):
    packets = parse(decode(trace)).get('packet', [])
    tracks, events = {}, []
    for p in packets:
        if 'track_descriptor' in p:
            td = p['track_descriptor'][0]
            tracks[one(td, 'uuid')] = td
        if 'track_event' in p:
            events.append((int(one(p, 'timestamp')), p['track_event'][0]))
    for ts, e in events:
        if one(e, 'track_uuid') not in tracks:
            fail(f"an event on a track never described: {e}")

    # slices: per lane, begin end begin end..., in time order, no overlap
    lanes = collections.defaultdict(list)
    for ts, e in events:
        if one(e, 'type') in ('TYPE_SLICE_BEGIN', 'TYPE_SLICE_END'):
            lanes[one(e, 'track_uuid')].append((ts, one(e, 'type'), one(e, 'name')))
    slices, own = [], 0
    for uuid, evs in lanes.items():
        if not one(tracks[uuid], 'name', '').startswith('lane '):
            fail(f"a slice on a track that is no lane: {one(tracks[uuid], 'name')}")
        for k, (ts, typ, name) in enumerate(evs):
            if typ != ('TYPE_SLICE_BEGIN' if k % 2 == 0 else 'TYPE_SLICE_END'):
                fail(f"lane {uuid}: begins and ends do not alternate at event {k}")
            if k and ts < evs[k - 1][0]:
                fail(f"lane {uuid}: slices overlap or go back in time at {ts}")
            if typ == 'TYPE_SLICE_BEGIN':
                m = re.match(r'(\d+) B at 0x([0-9a-f]+)', name or '')
                slices.append((int(m.group(2), 16), int(m.group(1))))
                own += '(inherited)' not in name
        if len(evs) % 2:
            fail(f"lane {uuid}: a begin without its end")

    # flows: each id once where it starts and once where it ends
    starts = collections.Counter(f for _, e in events for f in e.get('flow_ids', []))
    ends = collections.Counter(f for _, e in events for f in e.get('terminating_flow_ids', []))
    if starts != ends or any(v != 1 for v in starts.values()):
        fail(f"flow ids not paired: {len(starts)} start, {len(ends)} end")

    # the truth: the CSV replayed, with the process counters checked at each of their moments
    rows = list(csv.DictReader(open(csv_path, newline='')))
    proc_of = {}
    for uuid, td in tracks.items():
        if 'process' in td:
            proc_of[uuid] = int(one(td['process'][0], 'pid'))
    counters = sorted((ts, proc_of[one(tracks[one(e, 'track_uuid')], 'parent_uuid')],
                       int(one(e, 'counter_value')))
                      for ts, e in events if one(e, 'type') == 'TYPE_COUNTER'
                      and one(tracks[one(e, 'track_uuid')], 'parent_uuid') in proc_of
                      and one(tracks[one(e, 'track_uuid')], 'name') == 'live bytes')
    rp, k, checked = Replay(), 0, 0
    for ts, pid, value in counters:
        while k < len(rows) and int(rows[k]['ts_ns']) <= ts:
            rp.row(rows[k])
            k += 1
        if rp.bytes.get(pid, 0) != value:
            fail(f"pid {pid} at {ts}: the trace says {value} B live, the CSV {rp.bytes.get(pid, 0)}")
        checked += 1
    for r in rows[k:]:
        rp.row(r)
    want = collections.Counter((a, s) for _, a, s in rp.blocks)
    if collections.Counter(slices) != want:
        fail(f"{len(slices)} slices, {sum(want.values())} blocks in the CSV; slices only: "
             f"{list((collections.Counter(slices) - want).items())[:3]}, CSV only: "
             f"{list((want - collections.Counter(slices)).items())[:3]}")
    cross = sum(r['event'] == 'free' and 'cross_thread' in flags(r) for r in rows)
    forks = sum(r['event'] == 'fork' for r in rows)
    if len(starts) != cross + forks:
        fail(f"{len(starts)} flows, but {cross} cross-thread frees and {forks} forks in the CSV")
    if json_path:
        import json
        j = json.load(open(json_path))['totals']
        if (j['allocations'], j['cross_thread_frees']) != (own, len(starts) - forks):
            fail(f"JSON: {j['allocations']} allocations, {j['cross_thread_frees']} cross-thread "
                 f"frees; trace: {own} slices of blocks not inherited, {len(starts) - forks} flows")
    if not checked or not slices:
        fail("nothing to check")
    print(f"{len(packets)} packets, {len(slices)} slices on {len(lanes)} lanes as the CSV's "
          f"blocks, {len(starts)} flows ({cross} cross-thread frees, {forks} forks), "
          f"{checked} process counter values as the CSV's live bytes")


if __name__ == '__main__':
    main(*sys.argv[1:])
