#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# sites_check.py PAGE CSV STACKS: the page's allocation sites against the CSV and its stacks file.
#
# Per stack_id, from the CSV replayed by its own rules (csv_truth.py): the bytes and blocks
# allocated (a fork's copies are no allocations) and those live at the end (copies included).
# The page's two tables list the top sites by each, with those figures, in order; each row's
# call site is frame 0 as the stacks file places it; the icicle's root is every allocated byte,
# its first level the bytes of each outermost frame; a block's title names its call site.
import csv, os, re, sys
from collections import Counter, defaultdict
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from csv_truth import Replay  # noqa: E402

SHOWN = 20


def fail(msg):
    print(msg)
    sys.exit(1)


def frame_labels(path):
    """stack_id -> labels, innermost first, as docs/pictures.md says the page names frames: a
    frame's innermost function (its inline row 0), with its file's base name and line"""
    frames = defaultdict(dict)
    for r in csv.DictReader(open(path, newline='')):
        if r['inline'] not in ('', '0'):
            continue
        base = os.path.basename
        if r.get('function') and r.get('file') and r.get('line'):
            lab = f"{r['function']} ({base(r['file'])}:{r['line']})"
        elif r.get('function'):
            lab = f"{r['function']} ({base(r['module']) if r['module'] else '?'})"
        elif r['module'].startswith('/'):
            lab = base(r['module']) + '+' + r['offset']
        else:
            lab = r['addr']
        frames[int(r['stack_id'])][int(r['frame'])] = lab
    return {k: [v[i] for i in sorted(v)] for k, v in frames.items()}


def truth(csv_path):
    rp = Replay()
    for r in csv.DictReader(open(csv_path, newline='')):
        rp.row(r)
    alloc, blocks, live, nlive = Counter(), Counter(), Counter(), Counter()
    # allocations are the rows themselves; a fork's copies, in rp.lives, are not
    for r in csv.DictReader(open(csv_path, newline='')):
        if r['event'] in ('malloc', 'calloc', 'realloc', 'reallocarray', 'posix_memalign',
                          'aligned_alloc', 'memalign', 'valloc', 'pvalloc') \
                and 'failed' not in r['flags'].split('|') and int(r['addr'] or '0', 16):
            sid = int(r.get('stack_id') or 0)
            alloc[sid] += int(r['size'])
            blocks[sid] += 1
    ends = {}
    for pid, addr, size, ta, tf, reg, base, sid in rp.lives:
        if tf is None:
            live[sid] += size
            nlive[sid] += 1
            ends[(pid, addr)] = sid
    return alloc, blocks, live, nlive, ends


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.table, self.flame, self.rects, self.title_of = {}, None, [], [], None
        self.in_title, self.cur = False, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'table' and a.get('id', '').startswith('sites-'):
            self.table = self.tables.setdefault(a['id'], [])
        elif tag == 'tr' and a.get('class') == 'site':
            self.table.append(a)
        elif tag == 'td' and a.get('class') == 'frames':
            self.table[-1]['frames'] = a['title']
        elif tag == 'rect' and a.get('class') == 'fl':
            self.cur = dict(a, title='')
            self.flame.append(self.cur)
        elif tag == 'rect' and 'b' in a.get('class', '').split() and 'off' not in a['class']:
            self.cur = dict(a, title='')
            self.rects.append(self.cur)
        elif tag == 'title':
            self.in_title = True

    def handle_endtag(self, tag):
        if tag == 'table':
            self.table = None
        elif tag == 'title':
            self.in_title = False
        elif tag == 'rect':
            self.cur = None

    def handle_data(self, data):
        if self.in_title and self.cur is not None:
            self.cur['title'] += data


def main(page, csv_path, stacks_path):
    labels = frame_labels(stacks_path)
    alloc, blocks, live, nlive, ends = truth(csv_path)
    p = Page()
    p.feed(open(page).read())
    if set(p.tables) != {'sites-bytes', 'sites-live'}:
        fail(f"the page's site tables: {sorted(p.tables)}")
    for name, key in (('sites-bytes', alloc), ('sites-live', live)):
        rows = p.tables[name]
        want = sorted((s for s in key if key[s]), key=lambda s: (-key[s], s))[:SHOWN]
        got = [int(r['data-stack']) for r in rows]
        if got != want:
            fail(f"{name}: sites {got}, the CSV ranks them {want}")
        for r in rows:
            s = int(r['data-stack'])
            vals = (int(r['data-bytes']), int(r['data-blocks']), int(r['data-live-bytes']),
                    int(r['data-live-blocks']))
            if vals != (alloc[s], blocks[s], live[s], nlive[s]):
                fail(f"{name}: stack {s} has {vals} on the page, "
                     f"{(alloc[s], blocks[s], live[s], nlive[s])} in the CSV")
            first = r['frames'].split(' \u2190 ')[0]
            if s and labels.get(s) and first != labels[s][0]:
                fail(f"stack {s}: named {first!r}, the stacks file's frame 0 is {labels[s][0]!r}")
    root = [f for f in p.flame if f.get('id') == 'flame-root']
    total = sum(alloc.values())
    if len(root) != 1 or int(root[0]['data-bytes']) != total:
        fail(f"the icicle's root: {[r['data-bytes'] for r in root]}, {total} B allocated")
    outer = Counter()
    for s, b in alloc.items():
        outer[labels[s][-1] if s in labels else (f'stack {s}' if s else '(no stack)')] += b
    top = {f['title'].rsplit(': ', 1)[0]: int(f['data-bytes']) for f in p.flame
           if f['data-depth'] == '1'}
    wide = {k: v for k, v in outer.items() if v * 1000 / total >= 1}
    if any(top.get(k) != v for k, v in wide.items()) or any(outer[k] != v for k, v in top.items()):
        fail(f"the icicle's first level {top}, the stacks' outermost frames {dict(outer)}")
    named = 0
    for r in p.rects:
        s = ends.get((int(r['data-pid']), int(r['data-addr'], 16)))
        if s and s in labels:
            named += 1
            if f"site {labels[s][0]}" not in r['title']:
                fail(f"block {r['data-addr']}: its title does not name {labels[s][0]!r}: "
                     f"{r['title']}")
    if not named:
        fail("no block's title names its site")
    print(f"{len(alloc)} sites: both tables as the CSV ranks and sums them, named by their "
          f"stacks' frame 0; the icicle's root {total} B, its {len(top)} first boxes the "
          f"outermost frames' bytes; {named} blocks name their site")


if __name__ == '__main__':
    main(*sys.argv[1:4])
