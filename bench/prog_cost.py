#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""bench/prog_cost.py: the time tlsbpf's allocator programs run per call, from the kernel's own
BPF statistics (BPF_ENABLE_STATS, on while this runs), so that a busy machine's waits are not
counted. Usage: bench/prog_cost.py ROUNDS -- TLSBPF_ARGS... (each config separated by '::')
Prints, per config, the median over rounds of the programs' ns per run and per malloc+free pair."""
import ctypes, json, os, statistics, subprocess, sys, threading, time

BPF_ENABLE_STATS, BPF_STATS_RUN_TIME, NR_BPF = 32, 0, 321
PROGS = ('alloc_enter', 'alloc_call', 'alloc_exit')

def enable_stats():
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(128)
    attr[0] = BPF_STATS_RUN_TIME
    fd = libc.syscall(NR_BPF, BPF_ENABLE_STATS, attr, 128)
    if fd < 0:
        sys.exit('prog_cost: BPF_ENABLE_STATS: errno %d' % ctypes.get_errno())
    return fd

def progs():
    out = subprocess.run(['bpftool', '-j', 'prog', 'show'], capture_output=True, text=True).stdout
    return {p['id']: p for p in json.loads(out or '[]') if p.get('name') in PROGS}

def one(args, pairs):
    """The programs loaded after tlsbpf started are its own (bpftool here names no pids)."""
    before = set(progs())
    proc = subprocess.Popen(['./tlsbpf', '-q'] + args, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = {}
    while proc.poll() is None:
        s = {i: (p.get('run_cnt', 0), p.get('run_time_ns', 0))
             for i, p in progs().items() if i not in before}
        if s:
            last = s
        time.sleep(0.05)
    cnt = sum(c for c, t in last.values())
    ns = sum(t for c, t in last.values())
    return ns / cnt if cnt else float('nan'), ns / pairs

def main():
    rounds = int(sys.argv[1])
    rest = sys.argv[3:]
    configs, cur = [], []
    for a in rest + ['::']:
        if a == '::':
            configs.append(cur)
            cur = []
        else:
            cur.append(a)
    pairs = 2 * int(os.environ.get('PAIRS', '200000'))
    fd = enable_stats()
    res = {i: [] for i in range(len(configs))}
    for r in range(rounds):
        for i, c in enumerate(configs):
            res[i].append(one(c, pairs))
    os.close(fd)
    for i, c in enumerate(configs):
        per_run = statistics.median(x[0] for x in res[i])
        per_pair = statistics.median(x[1] for x in res[i])
        print('%-60s %8.1f ns/run %8.1f ns/pair' % (' '.join(c)[:60], per_run, per_pair))

main()
