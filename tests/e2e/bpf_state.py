#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bpf_state.py save FILE | left FILE | held PID: tlsbpf's programs and links, for the e2e tests
# that check nothing is left attached. `left` fails when some appeared since `save` that no
# running tlsbpf holds (another run's are its own business), once every tlsbpf-release has
# ended; `held` counts the ones PID holds.
import json, os, subprocess, sys, time
NAMES = {'alloc_enter', 'alloc_exit', 'sys_enter', 'sys_exit', 'task_newtask', 'task_rename',
         'sched_process_exec', 'sched_process_exit'}
def bpftool(what):
    out = subprocess.run(['bpftool', '-j', what, 'list'], capture_output=True, text=True).stdout
    return json.loads(out or '[]')
def loaded():
    progs = {p['id'] for p in bpftool('prog') if p.get('name') in NAMES}
    return progs, {l['id'] for l in bpftool('link') if l.get('prog_id') in progs}
def held(only=None):
    progs, links = set(), set()
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            if only and pid != only or \
               not only and open(f'/proc/{pid}/comm').read().strip() != 'tlsbpf':
                continue
            for fd in os.listdir(f'/proc/{pid}/fdinfo'):
                for line in open(f'/proc/{pid}/fdinfo/{fd}'):
                    key, _, val = line.partition(':')
                    if key == 'prog_id':
                        progs.add(int(val))
                    elif key == 'link_id':
                        links.add(int(val))
        except (OSError, ValueError):
            pass
    return progs, links
mode, arg = sys.argv[1], sys.argv[2]
if mode == 'save':
    p, l = loaded()
    json.dump({'progs': sorted(p), 'links': sorted(l)}, open(arg, 'w'))
    sys.exit(0)
if mode == 'held':
    p, l = loaded()
    hp, hl = held(arg)
    print(f"{len(p & hp)} programs and {len(l & hl)} links")
    sys.exit(0 if p & hp and l & hl else 1)
def releasing():	# tlsbpf-release: a run's classic uprobes, being released after its exit
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            if open(f'/proc/{pid}/comm').read().strip() == 'tlsbpf-release':
                return True
        except OSError:
            pass
    return False
before = json.load(open(arg))
for _ in range(600):	# a release is bounded: about a second a run, one run after another
    if not releasing():
        break
    time.sleep(0.1)
for _ in range(30):	# the kernel frees a program a little after its last holder closes it
    p, l = loaded()
    hp, hl = held()
    left_p, left_l = p - set(before['progs']) - hp, l - set(before['links']) - hl
    if not left_p and not left_l:
        break
    time.sleep(0.1)
print(f"{len(before['progs'])} programs and {len(before['links'])} links before, "
      f"{len(p)} and {len(l)} after; {len(left_p)} programs and {len(left_l)} links left "
      f"by the runs since {sorted(left_p)[:8]} {sorted(left_l)[:8]}")
sys.exit(1 if left_p or left_l else 0)
