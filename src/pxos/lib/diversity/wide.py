"""The GPU kernels of the diversity sequences that keep many loads in flight per step.

A step of a sequence is latency-bound on a GPU: the next row of ``sim`` is known only once
the arg-min of the step before is done, so each step waits for one read of device memory
plus the block's arg-min. ``kernels.advance_shared`` reads a row in a ``while`` loop of
unknown trip count (nvcc unrolls it 4 times), so a step waits for about N / (256·4)
memory round trips. The kernels here wait for one or a few:

- :data:`advance_wide`: one block of ``WIDE`` = 1024 threads per start, each owning the 8
  items ``lid + q·1024`` (N ≤ ``WIDE_N`` = 8,192). The 8 loads of a step are one constant
  loop (unrolled, every load issued before the first is used: they read device memory and
  write shared memory, which cannot alias); the start's scores stay in shared memory
  (items past N hold ``TAKEN``). The arg-min is a 4-way tree over the 1,024 threads'
  (score, item) pairs: 5 barriers instead of 10.
- :data:`advance_wide_global`: the same layout for N ≤ ``WIDE_GLOBAL_N`` = 32,768
  (32 items a thread), scores in device memory. Each thread loads its items 8 at a time
  (8 named loads before the first store: a store to ``scores`` might alias ``sim`` for the
  compiler, which would otherwise keep each load behind the store before it), so a step
  waits for 4 round trips.

The chosen item of step ``t`` is published in ``pick[t & 1]``: a thread that is still
reading it cannot be overtaken by the next step's write, which comes after that step's
barriers (no barrier at the end of a step). Ties go to the lower index, as everywhere.
"""

from __future__ import annotations

import pxos

WIDE = 1024  # threads per start
WIDE_N = 8192  # items advance_wide holds: 8 a thread, 32 KiB of shared scores
WIDE_GLOBAL_N = 32768  # items advance_wide_global handles: 32 a thread

F2 = pxos.Array[pxos.f32, 2]


@pxos.kernel(block=(WIDE,))
def advance_wide(sim, scores: F2, last: pxos.Array[pxos.i32, 1], out,
                 step0: pxos.i32, steps: pxos.i32):
    """``steps`` steps of every start (arguments as ``kernels.advance_rows``), one block of
    ``WIDE`` threads per start, scores in shared memory; needs ``N <= WIDE_N``; launch with
    ``threads = rows * WIDE``."""
    row = pxos.shared(8192, pxos.f32)
    best = pxos.shared(1024, pxos.f32)
    where = pxos.shared(1024, pxos.i32)
    pick = pxos.shared(2, pxos.i32)
    b = pxos.block_id()
    lid = pxos.local_id()
    n = scores.shape[1]
    edge = n - 1
    for q in range(8):
        j = lid + q * 1024
        row[j] = 1.0e30
        if j < n:
            row[j] = scores[b, j]
    cur = last[b]
    pxos.sync_threads()
    for t in range(step0, step0 + steps):
        mine = 3.0e38
        at = 0
        for q in range(8):  # constant trip count: unrolled, the 8 loads issued together
            j = lid + q * 1024
            v = row[j] + pxos.f32(sim[cur, min(j, edge)])
            row[j] = v
            if v < mine:
                mine = v
                at = j
        best[lid] = mine
        where[lid] = at
        pxos.sync_threads()
        stride = 256
        while stride > 0:  # 4-way tree: 1024 → 256 → 64 → 16 → 4 → 1
            if lid < stride:
                m = best[lid]
                a = where[lid]
                for r in range(1, 4):
                    o = best[lid + r * stride]
                    oa = where[lid + r * stride]
                    if o < m or (o == m and oa < a):
                        m = o
                        a = oa
                best[lid] = m
                where[lid] = a
                if stride == 1:
                    pick[t & 1] = a
            pxos.sync_threads()
            stride = stride >> 2
        cur = pick[t & 1]
        if (cur & 1023) == lid:
            row[cur] = 1.0e30  # the thread that owns item cur marks it
        if lid == 0:
            out[b, t] = cur
    for q in range(8):
        j = lid + q * 1024
        if j < n:
            scores[b, j] = row[j]
    if lid == 0:
        last[b] = cur


@pxos.kernel(block=(WIDE,))
def advance_wide_global(sim, scores: F2, last: pxos.Array[pxos.i32, 1], out,
                        step0: pxos.i32, steps: pxos.i32):
    """As :data:`advance_wide` with the scores in device memory; needs
    ``N <= WIDE_GLOBAL_N``; launch with ``threads = rows * WIDE``."""
    best = pxos.shared(1024, pxos.f32)
    where = pxos.shared(1024, pxos.i32)
    pick = pxos.shared(2, pxos.i32)
    b = pxos.block_id()
    lid = pxos.local_id()
    n = scores.shape[1]
    edge = n - 1
    cur = last[b]
    for t in range(step0, step0 + steps):
        mine = 3.0e38
        at = 0
        for g in range(4):  # 4 groups of 8 items: 8 loads of each row in flight
            j0 = lid + g * 8192
            r0 = sim[cur, min(j0, edge)]
            r1 = sim[cur, min(j0 + 1024, edge)]
            r2 = sim[cur, min(j0 + 2048, edge)]
            r3 = sim[cur, min(j0 + 3072, edge)]
            r4 = sim[cur, min(j0 + 4096, edge)]
            r5 = sim[cur, min(j0 + 5120, edge)]
            r6 = sim[cur, min(j0 + 6144, edge)]
            r7 = sim[cur, min(j0 + 7168, edge)]
            s0 = scores[b, min(j0, edge)]
            s1 = scores[b, min(j0 + 1024, edge)]
            s2 = scores[b, min(j0 + 2048, edge)]
            s3 = scores[b, min(j0 + 3072, edge)]
            s4 = scores[b, min(j0 + 4096, edge)]
            s5 = scores[b, min(j0 + 5120, edge)]
            s6 = scores[b, min(j0 + 6144, edge)]
            s7 = scores[b, min(j0 + 7168, edge)]
            for q in range(8):
                j = j0 + q * 1024
                if j < n:
                    v = pxos.select(q == 0, s0 + r0, pxos.select(q == 1, s1 + r1, pxos.select(
                        q == 2, s2 + r2, pxos.select(q == 3, s3 + r3, pxos.select(
                            q == 4, s4 + r4, pxos.select(q == 5, s5 + r5, pxos.select(
                                q == 6, s6 + r6, s7 + r7)))))))
                    scores[b, j] = v
                    if v < mine:
                        mine = v
                        at = j
        best[lid] = mine
        where[lid] = at
        pxos.sync_threads()
        stride = 256
        while stride > 0:
            if lid < stride:
                m = best[lid]
                a = where[lid]
                for r in range(1, 4):
                    o = best[lid + r * stride]
                    oa = where[lid + r * stride]
                    if o < m or (o == m and oa < a):
                        m = o
                        a = oa
                best[lid] = m
                where[lid] = a
                if stride == 1:
                    pick[t & 1] = a
            pxos.sync_threads()
            stride = stride >> 2
        cur = pick[t & 1]
        if (cur & 1023) == lid:
            scores[b, cur] = 1.0e30
        if lid == 0:
            out[b, t] = cur
    if lid == 0:
        last[b] = cur
