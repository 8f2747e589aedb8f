#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# giveback_csv.py N M TOUCH: a CSV of one process holding N blocks that maps and unmaps M
# regions, each touched first when TOUCH is 1: the cost of tying pages given back to blocks
# (tlsbpf analyze --summary s.txt FILE; docs/performance.md, "Pages").
import sys
n, m, touch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == '1'
H = 0x555555559000
rows = []
def row(ev, size='', addr='', old='', prot='', sysf='', fd='', detail=''):
    rows.append([ev, size, addr, old, prot, sysf, fd, detail])
row('exec', detail='/usr/bin/prog')
row('brk', '0x%x' % 0, '0x%x' % (H + n * 80 + 4096), '0x%x' % H)
for i in range(n):
    row('malloc', 64, '0x%x' % (H + 16 + i * 80))
row('touch', 4096, '0x%x' % (H + 16), '', '', '0x6')
X = 0x7f0000000000
for i in range(m):
    row('mmap', 16384, '0x%x' % X, '', 3, '0x22', -1)
    if touch:
        row('touch', 4096, '0x%x' % X, '', '', '0x6')
    row('munmap', 16384, '0x%x' % X)
print('seq,ts_ns,pid,tid,comm,event,size,addr,old_addr,latency_ns,region,region_base,origin_pid,origin_tid,flags,align,prot,sysflags,fd,old_size,err,detail,args')
for i, (ev, size, addr, old, prot, sysf, fd, detail) in enumerate(rows):
    size = size if ev != 'brk' else int(size, 16)
    print('%d,%d,100,100,prog,%s,%s,%s,%s,,,,,,,,%s,%s,%s,,,%s,' % (i + 1, 1000 + i, ev, size, addr, old, prot, sysf, fd, detail))
