#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# page_check.py: open a tlsbpf --html page in headless Chromium and hold what it draws to the CSV.
#
#   page_check.py console PAGE            no console message (error, CSP violation), script ran
#   page_check.py blocks PAGE CSV [HELD]  the blocks drawn at the end, and just before the first
#                                         fork (through the #t= selector), are the CSV's live
#                                         blocks then; HELD (lines "held PID TID ADDR SIZE" the
#                                         program printed) are among them, with their thread
#   page_check.py noscript PAGE CSV      scripts off: the end's blocks drawn, every shape titled
#   page_check.py grid PAGE CSV           a run past the one-by-one limit: the page says address
#                                         by time is aggregated, and every cell of every band's
#                                         grid counts the CSV's blocks and bytes in its bins
#   page_check.py thread PAGE tid=N|pid=N #tid= (#pid=) dims every block of another thread
#                                         (process), and only those
#
# The truth is the CSV, replayed here by its own rules (docs/csv.md), never tlsbpf's model.
import csv, os, re, subprocess, sys, tempfile
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from csv_truth import Replay, live_at  # noqa: E402
import collections  # noqa: E402

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')


def browse(page, frag=''):
    """The DOM after the page's script ran, and Chromium's console lines."""
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
                            '--user-data-dir=' + prof, '--enable-logging=stderr', '--v=0',
                            # a name lookup of any host fails: nothing may leave the machine
                            '--host-resolver-rules=MAP * ~NOTFOUND',
                            '--dump-dom', 'file://' + os.path.abspath(page) + frag],
                           capture_output=True, text=True, timeout=120)
    console = [l for l in r.stderr.splitlines() if ':CONSOLE' in l]
    return r.stdout, console


class Dom(HTMLParser):
    """Every element's tag and attributes, and which SVG band a block rectangle is in."""

    def __init__(self):
        super().__init__()
        self.tags, self.bands, self.band = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == 'svg' and 'map' in a.get('class', '').split():
            self.band = {'svg': a, 'rects': []}
            self.bands.append(self.band)
        elif tag == 'rect' and 'b' in a.get('class', '').split() and self.band is not None:
            self.band['rects'].append(a)

    def handle_endtag(self, tag):
        if tag == 'svg':
            self.band = None


def parse(dom):
    d = Dom()
    d.feed(dom)
    return d


def drawn(d):
    """(pid, addr, size, tid) of every block rectangle not hidden at the chosen moment."""
    out = []
    for band in d.bands:
        for r in band['rects']:
            if 'off' not in r['class'].split():
                out.append((int(r['data-pid']), int(r['data-addr'], 16), int(r['data-size']),
                            int(r['data-tid'])))
    return out


def replay(rows, until=None):
    return live_at(rows, until)


def fail(msg):
    print(msg)
    sys.exit(1)


def geometry(d):
    """Within a band, x follows the address and the width is the size, at one scale."""
    n = 0
    for band in d.bands:
        start, scale = int(band['svg']['data-start'], 16), float(band['svg']['data-scale'])
        rs = sorted(band['rects'], key=lambda r: int(r['data-addr'], 16))
        for r in rs:
            a, s = int(r['data-addr'], 16), int(r['data-size'])
            x, w = float(r['x']), float(r['width'])
            if abs(x - (a - start) * scale) > 0.01 or abs(w - s * scale) > 0.01 + 1e-6 * w:
                fail(f"block 0x{a:x} ({s} B) is at x={x} width={w}, not at scale {scale}")
            n += 1
        xs = [float(r['x']) for r in rs]
        if xs != sorted(xs):
            fail(f"a band's blocks are not in address order: {xs}")
    return n


def cmd_console(page):
    dom, console = browse(page)
    if console:
        fail('console: ' + ' | '.join(console))
    d = parse(dom)
    if not any(t == 'body' and a.get('data-ready') == '1' for t, a in d.tags):
        fail('the page script did not run to its end')
    loads = [(t, a) for t, a in d.tags if t in ('link', 'iframe', 'img', 'object', 'embed')
             or (t == 'script' and 'src' in a)]
    if loads:
        fail(f'elements that would load something: {loads}')
    print(f"no console message, the script ran, {len(d.tags)} elements and none loads anything")


def cmd_blocks(page, csv_path, held_path=None):
    rows = list(csv.DictReader(open(csv_path, newline='')))
    first = min(int(r['ts_ns']) for r in rows if r['event'] != 'lost')
    d = parse(browse(page)[0])
    got, want = drawn(d), replay(rows)
    if len(got) != len(set(got)) or set(got) != want:
        fail(f"at the end: {len(got)} drawn, {len(want)} live in the CSV; drawn only: "
             f"{sorted(set(got) - want)[:5]} CSV only: {sorted(want - set(got))[:5]}")
    placed = geometry(d)
    if held_path:
        held = {(int(p), int(a, 16), int(s), int(t)) for _, p, t, a, s in
                (l.split() for l in open(held_path) if l.startswith('held '))}
        if not held or not held <= set(got):
            fail(f"blocks the program holds that are not drawn: {sorted(held - set(got))[:5]}")
    fork = next(int(r['ts_ns']) for r in rows if r['event'] == 'fork')
    d2 = parse(browse(page, f'#t={fork - 1 - first}')[0])
    got2, want2 = drawn(d2), replay(rows, fork - 1)
    if set(got2) != want2 or len(got2) != len(want2):
        fail(f"before the fork: {len(got2)} drawn, {len(want2)} live in the CSV")
    if set(got2) == set(got):
        fail("the moment selector changed nothing")
    # a window from the start to the end: every block that ever lived, a fork's copies too
    rp = Replay()
    for r in rows:
        rp.row(r)
    d3 = parse(browse(page, '#from=0')[0])
    got3 = collections.Counter(b[:3] for b in drawn(d3))
    if got3 != collections.Counter(rp.blocks):
        fail(f"the whole run as a window: {sum(got3.values())} drawn, {len(rp.blocks)} blocks "
             "in the CSV")
    print(f"{len(got)} blocks drawn at the end, {len(got2)} before the fork, "
          f"{sum(got3.values())} over the whole run, as the CSV has them; "
          f"{placed} placed to scale in address order" + (f"; the {len(held)} the program holds "
          "among them" if held_path else ''))


def cmd_noscript(page, csv_path):
    """Scripts off: the end of the run is drawn all the same, and every shape says what it is.
    With scripts off the DOM is the file as parsed (Chromium's --dump-dom itself needs them)."""
    rows = list(csv.DictReader(open(csv_path, newline='')))
    d = parse(open(page).read())
    got, want = drawn(d), live_at(rows)
    if set(got) != want or len(got) != len(want):
        fail(f"scripts off: {len(got)} drawn, {len(want)} live in the CSV")
    src = open(page).read()
    shapes = re.findall(r'<(rect|line|polyline|circle)\b[^>]*?(/?)>(<title>)?', src)
    untitled = [s for s in shapes if not s[2] and not s[1]]
    if untitled:
        fail(f"{len(untitled)} shapes without a <title>: {untitled[:3]}")
    print(f"scripts off: the {len(got)} blocks live at the end drawn, {len(shapes)} shapes, each "
          "with a <title> or empty by design")


def grid_truth(rows):
    """Every block's life from the CSV, and the run's first and last row."""
    rp = Replay()
    for r in rows:
        rp.row(r)
    ts = [int(r['ts_ns']) for r in rows if r['event'] != 'lost']
    return rp.lives, min(ts), max(ts)


def grid_recount(g, lives, first, last):
    """A band's cells from the CSV: a block counts in the row of its address and in every
    time bin from its allocation's to its free's (the last row's if never freed)."""
    pid, start, end = int(g['data-pid']), int(g['data-start'], 16), int(g['data-end'], 16)
    nr, nc, span = int(g['data-rows']), int(g['data-cols']), last - first
    cells, n = collections.Counter(), 0
    for p, a, s, ta, tf, *_ in lives:
        if p != pid or a < start or (a >= end and a != start):
            continue
        n += 1
        r = min(nr - 1, (a - start) * nr // max(1, end - start))
        c0, c1 = (ta - first) * nc // (span + 1), ((tf or last) - first) * nc // (span + 1)
        for c in range(c0, c1 + 1):
            cells[(r, c, 'n')] += 1
            cells[(r, c, 'b')] += s
    return cells, n


def cmd_grid(page, csv_path):
    rows = list(csv.DictReader(open(csv_path, newline='')))
    src = open(page).read()
    size = os.path.getsize(page)
    if size >= 20 << 20:
        fail(f"the page is {size} bytes, over 20 MB")
    if 'id="grid-note"' not in src or 'aggregated into a grid' not in src:
        fail("the page does not say that address by time is aggregated")
    lives, first, last = grid_truth(rows)
    grids, g = [], None
    for m in re.finditer(r'<svg class="grid"([^>]*)>|<rect class="cell"([^>]*)>', src):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1) or m.group(2)))
        if m.group(1) is not None:
            g = {'a': attrs, 'cells': collections.Counter()}
            grids.append(g)
        else:
            key = (int(attrs['data-r']), int(attrs['data-c']))
            g['cells'][key + ('n',)] += int(attrs['data-n'])
            g['cells'][key + ('b',)] += int(attrs['data-bytes'])
    if not grids:
        fail("no grid on the page")
    total = 0
    for g in grids:
        want, n = grid_recount(g['a'], lives, first, last)
        total += n
        if g['cells'] != want or n != int(g['a']['data-blocks']):
            bad = [k for k in set(want) | set(g['cells']) if want[k] != g['cells'][k]][:3]
            fail(f"band {g['a']['data-start']} of pid {g['a']['data-pid']}: {n} blocks in the "
                 f"CSV, the page says {g['a']['data-blocks']}; cells differ at {bad}: "
                 f"{[(g['cells'][k], want[k]) for k in bad]}")
    if total != len(lives):
        fail(f"the grids hold {total} blocks, the CSV {len(lives)}")
    cells = sum(len(g['cells']) for g in grids) // 2
    print(f"{len(lives)} blocks in {len(grids)} bands' grids, {cells} cells, each as the CSV "
          f"counts it; the page says so and is {size / 1e6:.1f} MB")


def cmd_thread(page, sel):
    """sel: tid=N or pid=N; every block of another thread or process is dimmed, and only those."""
    key, val = sel.split('=')
    d = parse(browse(page, f'#{sel}')[0])
    rects = [r for b in d.bands for r in b['rects']]
    wrong = [r for r in rects if ('dim' in r['class'].split()) != (r['data-' + key] != val)]
    mine = sum(1 for r in rects if r['data-' + key] == val)
    if wrong or not mine or mine == len(rects):
        fail(f"#{sel}: {len(wrong)} blocks dimmed wrongly, {mine} of {len(rects)} its own")
    print(f"#{sel}: its {mine} blocks stand out, the other {len(rects) - mine} are dimmed")


if __name__ == '__main__':
    cmds = {'console': cmd_console, 'blocks': cmd_blocks, 'thread': cmd_thread,
            'noscript': cmd_noscript, 'grid': cmd_grid}
    cmds[sys.argv[1]](*sys.argv[2:])
