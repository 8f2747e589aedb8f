# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# sample_error.py: one workload's figures, sampled by time against the full run (bench/sample-error).
import csv
import json
import math
import sys

ALLOCS = {'malloc', 'calloc', 'realloc', 'reallocarray', 'posix_memalign', 'aligned_alloc',
          'memalign', 'valloc', 'pvalloc'}


def figures(base):
    """Allocation calls per second watched, mean size, log2 size spread, leaks claimed."""
    rows = list(csv.DictReader(open(base + '.csv', newline='')))
    j = json.load(open(base + '.json'))
    st = j.get('sample_by_time')
    on, sizes, ts = False, [], []
    sampled = st is not None
    for r in rows:
        if r['event'] == 'sample_on':
            on = True
        elif r['event'] == 'sample_off':
            on = False
        elif r['event'] in ALLOCS and r['pid'] != '0' and (on or not sampled):
            sizes.append(int(r['size'] or 0))
            ts.append(int(r['ts_ns']))
    if sampled:
        watched = st['on_ns']
    else:
        watched = max(ts) - min(ts) if len(ts) > 1 else 0
    spread = {}
    for s in sizes:
        b = s.bit_length()
        spread[b] = spread.get(b, 0) + 1
    leaks = {(l['size'], l['count']) for p in j['processes'] for l in p['leaks']}
    hedged = sum(p['sample_unseen_blocks'] for p in j['processes'])
    return {
        'calls': len(sizes),
        'rate': len(sizes) / (watched / 1e9) if watched else 0,
        'mean': sum(sizes) / len(sizes) if sizes else 0,
        'spread': {b: n / len(sizes) for b, n in spread.items()} if sizes else {},
        'leaks': leaks,
        'hedged': hedged,
        'share': st['on_ns'] / st['span_ns'] if sampled and st['span_ns'] else 1.0,
        'lost': j['events_lost'],
    }


def rel(a, b):
    return f"{100 * (a / b - 1):+.1f}%" if b else '-'


def tv(p, q):
    """Total variation distance between two size spreads, in percent."""
    keys = set(p) | set(q)
    return 50 * sum(abs(p.get(k, 0) - q.get(k, 0)) for k in keys)


name, full_base = sys.argv[1], sys.argv[2]
full = figures(full_base)
print(f"\n{name}: full run {full['calls']:,} allocation calls, {full['rate']:,.0f}/s, mean "
      f"{full['mean']:,.1f} B, leaks {sorted(full['leaks'])[:6]}, lost {full['lost']}")
print("| rate | on | calls seen | calls/s watched vs full | mean size vs full | size spread "
      "distance | leaks claimed not in full | full's leaks found | hedged blocks | lost |")
print("|---|---|---|---|---|---|---|---|---|---|")
for base, rate in zip(sys.argv[3:], ('1 in 10', '1 in 100')):
    try:
        s = figures(base)
    except (OSError, ValueError, KeyError) as e:
        print(f"| {rate} | run failed: {e} |")
        continue
    false = s['leaks'] - full['leaks']
    found = len(s['leaks'] & full['leaks'])
    print(f"| {rate} | {100 * s['share']:.2f}% | {s['calls']:,} | {rel(s['rate'], full['rate'])} | "
          f"{rel(s['mean'], full['mean'])} | {tv(s['spread'], full['spread']):.1f}% | "
          f"{len(false)} | {found} of {len(full['leaks'])} | {s['hedged']:,} | {s['lost']} |")
