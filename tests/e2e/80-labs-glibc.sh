#!/usr/bin/env bash
# The labs alone, no tlsbpf: the claims their reports make about glibc hold in their own output.
# A glibc that changes one of these behaviours fails here, and the report must change with it.
. "$(dirname "$0")/lib.sh"

LIMIT=20	# seconds for one run of a lab

# The lab's record lines ("kind key=value ..."), and a verdict with its figures.
cat >"$T/labq.py" <<'PY'
import collections, re, sys
def done(ok, msg):
    print(msg)
    sys.exit(0 if ok else 1)
PY

# lab TAG LAB ARGS...: run the lab alone into $T/TAG.out; rc_lab is its exit status.
lab() {
	local tag=$1 name=$2
	shift 2
	{ timeout "$LIMIT" "./labs/$name" "$@" >"$T/$tag.out" 2>"$T/$tag.err"; } 2>/dev/null
	rc_lab=$?
}

# ---- 08e: the mmap threshold is on the chunk, and only when the top chunk cannot serve ---------
lab 08e-100k 08e_heapmap -l 100000
check "08e -l 100000 (the report's own command) exits 0 (got $rc_lab)" [ "$rc_lab" -eq 0 ]
verify "08e -l 100000: every 100000-byte block comes from its arena's top chunk" \
	"$T/08e-100k.out" <<'PY'
b = [x for x in recs(sys.argv[1], 'block') if x['size'] == '100000']
s = recs(sys.argv[1], 'summary')[0]
done(len(b) == 4 and all(x['region'] in ('heap', 'arena') and x['from_top'] == '1' for x in b)
     and s['mismatches'] == '0',
     f"{len(b)} blocks: " + ", ".join(f"{x['who']} {x['region']} from_top={x['from_top']}"
                                     for x in b) + f"; mismatches={s['mismatches']}")
PY

# 132000 bytes: a 132016-byte chunk, above 128 KiB; after 32 and 32 bytes the fresh top of the
# brk heap and of each new thread arena (132 KiB) still holds it, so nothing is mapped; the
# child's top, left short by the parent's blocks, cannot, so its block is mapped.
lab 08e-top 08e_heapmap -s 32 -m 32 -l 132000
verify "08e -s 32 -m 32 -l 132000: chunks above the threshold come from the top while it fits" \
	"$T/08e-top.out" <<'PY'
b = {x['who']: x for x in recs(sys.argv[1], 'block') if x['size'] == '132000'}
s = recs(sys.argv[1], 'summary')[0]
ok = (set(b) == {'main', 't0', 't1', 'child'} and b['main']['chunk'] == '132016'
      and b['main']['region'] == 'heap' and b['main']['from_top'] == '1'
      and all(b[t]['region'] == 'arena' and b[t]['from_top'] == '1' for t in ('t0', 't1'))
      and b['child']['region'] == 'mmap_chunk' and s['mismatches'] == '0')
done(ok, ", ".join(f"{w} {x['region']} from_top={x['from_top']}" for w, x in b.items())
     + f"; mismatches={s['mismatches']}")
PY

lab 08e-132k 08e_heapmap -l 132000
verify "08e -l 132000: after 32 and 4096 bytes the top cannot serve it: every block mapped" \
	"$T/08e-132k.out" <<'PY'
b = [x for x in recs(sys.argv[1], 'block') if x['size'] == '132000']
done(len(b) == 4 and all(x['region'] == 'mmap_chunk' for x in b)
     and recs(sys.argv[1], 'summary')[0]['mismatches'] == '0',
     ", ".join(f"{x['who']} {x['region']}" for x in b))
PY

# ---- 08a: glibc's arena limit, 8 per CPU, counts the main arena -------------------------------
cpus=$(getconf _NPROCESSORS_ONLN)
lim=$((8 * cpus))
lab 08a-lim 08a_tls_malloc_layout_map -t "$lim" -l 300
verify "08a -t $lim ($cpus CPUs): $((lim - 1)) thread arenas, one worker on the brk heap" \
	"$T/08a-lim.out" "$lim" <<'PY'
s, lim = recs(sys.argv[1], 'summary')[0], int(sys.argv[2])
heap = {b['thread'] for b in recs(sys.argv[1], 'block') if b['region'] == 'heap'}
done(s['distinct_arenas'] == str(lim) and s['thread_arenas'] == str(lim - 1)
     and s['workers_on_heap'] == '1' and len(heap) == 1,
     f"distinct_arenas={s['distinct_arenas']} thread_arenas={s['thread_arenas']} "
     f"workers_on_heap={s['workers_on_heap']}, workers with heap blocks {sorted(heap)}")
PY
for t in $((lim + 4)) $((lim * 5 / 2)); do
	lab "08a-$t" 08a_tls_malloc_layout_map -t "$t" -l 300
	# past the limit a thread takes an existing arena whose lock it can get, from a round that
	# starts at the main arena (arena.c, reused_arena): the main arena only when no other
	# thread holds its lock at that moment, which a slow machine may not give
	verify "08a -t $t: no arena past the limit ($lim), the rest of the threads reuse them" \
		"$T/08a-$t.out" "$lim" <<'PY'
s, lim = recs(sys.argv[1], 'summary')[0], int(sys.argv[2])
on_heap = int(s['workers_on_heap'])
done(s['thread_arenas'] == str(lim - 1)
     and int(s['distinct_arenas']) == lim - 1 + (on_heap >= 1),
     f"threads={s['threads']} distinct_arenas={s['distinct_arenas']} "
     f"thread_arenas={s['thread_arenas']} workers_on_heap={s['workers_on_heap']}")
PY
done

# a thread with no arena takes one off glibc's free_list first: one after another, all share one
lab 08a-serial 08a_tls_malloc_layout_map -S -t 4 -l 0
verify "08a -S -t 4: threads run one after another reuse one arena, first block and all" \
	"$T/08a-serial.out" <<'PY'
s = recs(sys.argv[1], 'summary')[0]
first = {}
for b in recs(sys.argv[1], 'block'):
    first.setdefault(b['thread'], b['addr'])
done(s['distinct_arenas'] == '1' and s['thread_arenas'] == '1' and len(first) == 4
     and len(set(first.values())) == 1,
     f"distinct_arenas={s['distinct_arenas']}; first blocks {sorted(set(first.values()))}")
PY

# ---- 08e: fork copies private memory on write, but MAP_SHARED pages stay one -------------------
lab 08e-fork 08e_heapmap
verify "08e: after the child wrote 'C', the parent sees it in the shared map only" \
	"$T/08e-fork.out" <<'PY'
a = recs(sys.argv[1], 'after_child')
done(len(a) == 1 and a[0] == {'private': 'P', 'shared': 'C', 'malloc': 'P'},
     " ".join(f"{k}={v}" for k, v in (a[0] if a else {}).items()) or "no after_child line")
PY

# ---- 08b: malloc(64) has 72 usable bytes; only a write past them reaches the next size word ----
lab 08b-16 08b_tls_corruption_chain --overrun
verify "08b --overrun: 80 bytes into a block of 72 usable abort the next free (status $rc_lab)" \
	"$T/08b-16.out" "$T/08b-16.err" "$rc_lab" <<'PY'
o = recs(sys.argv[1], 'overrun')
err = open(sys.argv[2]).read()
done(len(o) == 1 and o[0]['bytes'] == '80' and o[0]['usable'] == '72' and sys.argv[3] == '134'
     and 'free(): invalid size' in err,
     f"{o}; stderr {err.strip()!r}")
PY
lab 08b-8 08b_tls_corruption_chain --overrun -x 8
verify "08b --overrun -x 8: 72 bytes stay within the usable size, unnoticed (status $rc_lab)" \
	"$T/08b-8.out" "$rc_lab" <<'PY'
o = recs(sys.argv[1], 'overrun')
s = recs(sys.argv[1], 'summary')
quiet = '# the overrun went unnoticed by the allocator' in open(sys.argv[1]).read()
done(len(o) == 1 and o[0]['bytes'] == '72' and o[0]['usable'] == '72' and quiet
     and s and s[0]['bleed'] == '0' and sys.argv[2] == '1',
     f"{o}; unnoticed: {quiet}; bleed={s[0]['bleed'] if s else None}")
PY

# ---- 08c: copy-on-write, frame by frame; the arena's first page is copied at the fork itself ---
lab 08c-p 08c_fork_inject -p
verify "08c -p: one frame for the block's page until the child writes it; two for the arena's" \
	"$T/08c-p.out" <<'PY'
f = {(r['who'], r['when']): r for r in recs(sys.argv[1], 'pagemap')}
want = [('parent', 'before_fork'), ('parent', 'after_fork'), ('child', 'after_fork'),
        ('child', 'after_child_write'), ('parent', 'after_child_exit')]
if len(f) != 5 or any(k not in f for k in want):
    done(False, f"pagemap lines: {sorted(f)}")
if any(r['block_page'] == 'na' for r in f.values()):
    print("no frames: /proc/self/pagemap hides them from this user")
    sys.exit(0)
b = {k: f[k]['block_page'] for k in want}
a = {k: f[k]['arena_page'] for k in want}
old = b[('parent', 'before_fork')]
done(b[('parent', 'after_fork')] == old and b[('child', 'after_fork')] == old
     and b[('child', 'after_child_write')] != old and b[('parent', 'after_child_exit')] == old
     and a[('parent', 'after_fork')] != a[('child', 'after_fork')],
     "block page: " + ", ".join(f"{w} {t} {v}" for (w, t), v in b.items())
     + "; arena page after fork: parent " + a[('parent', 'after_fork')]
     + ", child " + a[('child', 'after_fork')])
PY

# ---- 08d: 2000 blocks of 64 run past the arena's first 132 KiB and stay 80 bytes apart ---------
lab 08d-2000 08d_tls_alloc_inspector -t 1 -n 2000
verify "08d -t 1 -n 2000: the 80-byte rhythm holds as the arena grows in place" \
	"$T/08d-2000.out" <<'PY'
a = recs(sys.argv[1], 'alloc')
addrs = [int(x['addr'], 16) for x in a]
d = collections.Counter(y - x for x, y in zip(addrs, addrs[1:]))
span = addrs[-1] + 80 - (addrs[0] & ~((64 << 20) - 1)) if addrs else 0
done(len(a) == 2000 and d == {80: 1999} and span > 132 * 1024,
     f"{len(a)} blocks, deltas {dict(d)}, the last ends {span} B into its 64 MiB heap "
     f"(first read-write part: {132 * 1024} B)")
PY

# ---- 08a: of each thread arena's 132 KiB read-write part, one page is resident ----------------
lab 08a-rss 08a_tls_malloc_layout_map -t 4 -l 0
verify "08a -t 4: smaps gives each thread arena 132 KiB read-write, 4 KiB resident" \
	"$T/08a-rss.out" <<'PY'
r = recs(sys.argv[1], 'resident')
done(len(r) == 4 and all(x['rw_kb'] == '132' and x['rss_kb'] == '4' for x in r),
     ", ".join(f"{x['arena']} {x['rw_kb']} KiB rw, {x['rss_kb']} KiB resident" for x in r))
PY

# ---- 08c: past the tcache's 7 per size, the child's frees land in the parent arenas' fastbins --
for spec in "3 4 2 0" "8 16 16 121"; do
	set -- $spec
	lab "08c-bins-$1" 08c_fork_inject -t "$1" -n "$2" -c "$3"
	verify "08c -t $1 -n $2 -c $3: $(( $1 * $3 )) inherited frees, $4 of them into fastbins" \
		"$T/08c-bins-$1.out" "$4" <<'PY'
b = recs(sys.argv[1], 'child_bins')
done(len(b) == 1 and b[0]['fastbin_blocks_added'] == sys.argv[2],
     f"{b}")
PY
done

# ---- 08a: a free chunk's size word drops NON_MAIN_ARENA: the exited thread's tcache reads 0x291 -
verify "08a -t 4: the freed chunk before each worker's first block reads 0x291, no 0x4" \
	"$T/08a-rss.out" <<'PY'
f = recs(sys.argv[1], 'freed_before')
done(len(f) == 4 and all(x['size_word'] == '0x291' and x['chunk'].endswith('8d0') for x in f),
     ", ".join(f"{x['chunk']} {x['size_word']}" for x in f))
PY

# ---- 08e: the dynamic threshold, raised by a free only up to 32 MiB and never after mallopt ----
# A mapped chunk's size word keeps its IS_MMAPPED bit in glibc's comparison with 32 MiB: a
# mapping of 32 MiB - 4 KiB still raises the threshold (request 33550312), one of 32 MiB not.
for spec in "1m - heap" "1m --pin mmap_chunk" "33550312 - heap" "33550313 - mmap_chunk"; do
	set -- $spec
	pin=$2
	[ "$pin" = - ] && pin=
	lab "08e-thr-$1$pin" 08e_heapmap --threshold -l "$1" $pin
	verify "08e --threshold -l $1 $pin: mapped, freed, then served again as $3" \
		"$T/08e-thr-$1$pin.out" "$3" <<'PY'
t = recs(sys.argv[1], 'threshold')
done(len(t) == 1 and t[0]['first'] == 'mmap_chunk' and t[0]['second'] == sys.argv[2],
     " ".join(f"{k}={v}" for k, v in (t[0] if t else {}).items()) or "no threshold line")
PY
done

# ---- 08c: the child's arenas all go on its free_list: a thread it starts takes a parent's ------
lab 08c-T 08c_fork_inject -T
verify "08c -T: the child's new thread allocates from a parent thread's arena" "$T/08c-T.out" <<'PY'
c = recs(sys.argv[1], 'child_thread')
done(len(c) == 1 and c[0]['region'] == 'arena' and c[0]['parent_thread_arena'] != '-1',
     " ".join(f"{k}={v}" for k, v in (c[0] if c else {}).items()) or "no child_thread line")
PY

# ---- 08c: malloc takes the tcache's chunks last freed first; calloc never takes them -----------
lab 08c-m 08c_fork_inject
lab 08c-C 08c_fork_inject -C
verify "08c: the child's malloc gets its last 3 frees back, newest first; calloc none of them" \
	"$T/08c-m.out" "$T/08c-C.out" <<'PY'
m = [x['freed_rank'] for x in recs(sys.argv[1], 'child_alloc')]
c = [x['freed_rank'] for x in recs(sys.argv[2], 'child_alloc')]
done(m == ['1', '2', '3'] and c == ['0', '0', '0'],
     f"malloc freed_rank {m}, calloc freed_rank {c}")
PY

# ---- 08e: the brk heap starts a random distance above the program ----------------------------
if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" = 2 ]; then
	for i in 1 2 3 4 5; do
		lab "08e-gap-$i" 08e_heapmap --no-fork -t 0
	done
	verify "08e: five runs, five gaps between the program and its brk heap" \
		"$T"/08e-gap-*.out <<'PY'
g = [int(recs(p, 'heap_gap')[0]['bytes']) for p in sys.argv[1:] if recs(p, 'heap_gap')]
done(len(g) == 5 and len(set(g)) >= 2 and all(x >= 0 for x in g),
     "gaps in MiB: " + ", ".join(f"{x / 2**20:.0f}" for x in g))
PY
else
	skip "08e: the brk heap's random start" "address space randomization is not 2 here"
fi
