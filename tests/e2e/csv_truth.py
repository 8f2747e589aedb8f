# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# csv_truth.py: the blocks a tlsbpf CSV says are live, replayed by docs/csv.md's rules alone,
# for the checks of the pictures (page_check.py, trace_check.py); never tlsbpf's own model.
ALLOCS = {'malloc', 'calloc', 'realloc', 'reallocarray', 'posix_memalign', 'aligned_alloc',
          'memalign', 'valloc', 'pvalloc'}
CLONE_VM = 0x100


def flags(r):
    return r['flags'].split('|')


class Replay:
    """Rows applied one by one: live[(pid, addr)] = (size, tid); `blocks` lists every block
    that ever lived, a fork's copies included, as (pid, addr, size); `lives` the same with
    their times and place, [pid, addr, size, ts of the allocation or fork, ts of the free or
    exec or None while live, region, region_base, stack_id (0: none)]."""

    def __init__(self):
        self.live, self.bytes, self.blocks, self.lives, self._open = {}, {}, [], [], {}
        self.ts = 0

    def _add(self, pid, addr, size, tid, where=('', 0, 0)):
        self._drop(pid, addr)
        self.live[(pid, addr)] = (size, tid)
        self.bytes[pid] = self.bytes.get(pid, 0) + size
        self.blocks.append((pid, addr, size))
        self._open[(pid, addr)] = len(self.lives)
        self.lives.append([pid, addr, size, self.ts, None, *where])

    def _drop(self, pid, addr):
        v = self.live.pop((pid, addr), None)
        if v:
            self.bytes[pid] -= v[0]
            self.lives[self._open.pop((pid, addr))][4] = self.ts

    def row(self, r):
        ev, pid = r['event'], int(r['pid'] or 0)
        self.ts = int(r['ts_ns'] or 0)
        addr = int(r['addr'], 16) if r['addr'] else 0
        if ev in ALLOCS:
            if 'failed' in flags(r):
                return
            if ev in ('realloc', 'reallocarray') and r['old_addr']:
                self._drop(pid, int(r['old_addr'], 16))
            if addr:
                self._add(pid, addr, int(r['size']), int(r['tid']),
                          (r['region'], int(r['region_base'] or '0', 16),
                           int(r.get('stack_id') or 0)))
        elif ev == 'free':
            self._drop(pid, addr)
        elif ev == 'fork' and not int(r['sysflags'] or '0', 16) & CLONE_VM:
            parent = int(r['origin_pid'])
            for (p, a), (s, t) in list(self.live.items()):
                if p == parent:
                    self._add(pid, a, s, t, tuple(self.lives[self._open[(p, a)]][5:]))
        elif ev == 'exec':
            for k in [k for k in self.live if k[0] == pid]:
                self._drop(*k)


def live_at(rows, until=None):
    """{(pid, addr, size, tid)} live after the rows up to time `until` (all rows: None)."""
    rp = Replay()
    for r in rows:
        if until is not None and int(r['ts_ns']) > until:
            break
        rp.row(r)
    return {(p, a, s, t) for (p, a), (s, t) in rp.live.items()}
