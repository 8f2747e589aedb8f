#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# cow_check.py PAGE CSV PROG_OUT: the copied pages a tlsbpf --html page marks, read from its DOM
# in headless Chromium, held to what tp_pages read from /proc/self/pagemap (its "copy PID ADDR
# PAGE BLOCK EXCL" lines: a write whose frame changed). The marks in a block must be exactly
# the program's copies, each at its block, placed at its page's address on its band; marks
# outside every block are the allocator's own writes (its headers, its top chunk), which the
# program cannot see, and are counted. The page's count is the CSV's cow rows.
import csv, os, re, sys
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_check import browse  # noqa: E402


class Marks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.band, self.marks, self.copied, self.title, self.mark = None, [], None, False, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'svg' and 'map' in a.get('class', '').split():
            self.band = a
        elif tag == 'rect' and a.get('class') == 'cow' and self.band is not None:
            self.mark = dict(a, band=self.band, text='')
            self.marks.append(self.mark)
        elif tag == 'p' and a.get('id') == 'copied':
            self.copied = int(a['data-pages'])
        self.title = tag == 'title'

    def handle_data(self, data):
        if self.title and self.mark is not None:
            self.mark['text'] += data

    def handle_endtag(self, tag):
        if tag == 'svg':
            self.band = None
        if tag == 'rect':
            self.mark = None
        self.title = False


def fail(msg):
    print(msg)
    sys.exit(1)


page, rows, out = sys.argv[1], list(csv.DictReader(open(sys.argv[2], newline=''))), sys.argv[3]
dom, console = browse(page)
if console:
    fail(f'console: {console[:2]}')
m = Marks()
m.feed(dom)
want = {(int(l[1]), int(l[3], 16)): int(l[4], 16)
        for l in (l.split() for l in open(out)) if l and l[0] == 'copy'}
if len(want) < 3:
    fail(f'tp_pages saw {len(want)} copies')
got, misplaced, untitled = {}, [], []
for k in m.marks:
    pid, pg, blk = int(k['data-pid']), int(k['data-page'], 16), int(k['data-block'], 16)
    start, scale = int(k['band']['data-start'], 16), float(k['band']['data-scale'])
    centre = float(k['x']) + float(k['width']) / 2
    if abs(centre - ((pg - start) * scale + 4096 * scale / 2)) > 0.01:
        misplaced.append(hex(pg))
    if f'page {pg:#x} copied after fork by pid {pid} ' not in k['text'] or \
            (blk and f'block at {blk:#x}' not in k['text']):
        untitled.append(k['text'])
    if blk:
        got[(pid, pg)] = blk
if got != want:
    fail('marks in blocks %s, the program copied %s' % (
        sorted((p, hex(a), hex(b)) for (p, a), b in got.items()),
        sorted((p, hex(a), hex(b)) for (p, a), b in want.items())))
if misplaced or untitled:
    fail(f'marks not at their page: {misplaced[:3]}; titles wrong: {untitled[:2]}')
cows = sum(r['event'] == 'cow' for r in rows)
if m.copied != cows:
    fail(f'the page says {m.copied} pages copied, the CSV has {cows} cow rows')
print(f'{len(got)} marks in blocks, the program\'s {len(want)} copies at their pages and blocks; '
      f'{len(m.marks) - len(got)} more marks outside blocks (the allocator\'s own); '
      f'{cows} pages copied as the CSV has them')
