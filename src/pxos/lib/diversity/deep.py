"""The GPU kernel of the full cache: small blocks, several starts resident on each SM.

A step of one start is latency-bound (the next row of ``sim`` is known only once the
arg-min of the step before is done), so a GPU's throughput over many starts comes from how
many starts each SM holds at once: while one start waits for its row or its barriers,
another computes. ``wide.advance_wide`` gives a start 1,024 threads; its 52 registers a
thread (nvcc 13, sm_90) leave room for one block, so one start, per SM: an H200's 132 SMs
advance 132 starts at a time, and the full cache of 7,797 verses takes 60 waves of
7,796 dependent steps (about 2.2 µs each: 1.02 s measured).

:data:`advance_deep` gives a start ``DEEP`` = 256 threads that own 32 items each
(``lid + q·256``, N ≤ ``DEEP_N`` = 8,192), scores in shared memory (32 KiB a block). The
32 loads of a step are one constant loop (unrolled: all issued before the first is used,
as in ``advance_wide``). Its 64 registers a thread (``ptxas`` of nvcc 13 for sm_90, FMA
off as pxos compiles: 256 × 64 is a quarter of an SM's 65,536) and 34 KB of shared memory
let 4 blocks share an SM, so 4 starts per SM interleave their memory waits and their
barrier trees. The arg-min is a 4-way tree
over the 256 threads' (score, item) pairs (4 levels). Bytes read per step are the same
(one row of ``sim``, 4·N bytes); what changes is how many rows are in flight per SM.

The similarity matrix is read as one padded vector (:func:`flat_matrix`): a thread's
32 loads are then one address plus constant offsets, with no clamp at the row's end (the
step's PTX has 242 instructions instead of 399 with ``min(j, N - 1)`` per item).

Identical results to every other kernel: smallest score, ties to the lowest index.
"""

from __future__ import annotations

import pxos

DEEP = 256  # threads per start
DEEP_N = 8192  # items advance_deep holds: 32 a thread, 32 KiB of shared scores

F2 = pxos.Array[pxos.f32, 2]


def flat_matrix(sim, xp):
    """``sim`` (N × N, any float dtype; NumPy or CuPy, as ``xp``) as the vector
    :data:`advance_deep` reads: its rows one after the other, then ``DEEP_N`` zeros."""
    n = sim.shape[0]
    flat = xp.zeros(n * n + DEEP_N, sim.dtype)
    flat[:n * n] = xp.asarray(sim).reshape(-1)  # a NumPy matrix for a CuPy vector: copied
    return flat


@pxos.kernel(block=(DEEP,))
def advance_deep(flat, scores: F2, last: pxos.Array[pxos.i32, 1], out,
                 step0: pxos.i32, steps: pxos.i32):
    """``steps`` steps of every start, one block of ``DEEP`` threads per start, scores in
    shared memory; needs ``N <= DEEP_N``; launch with ``threads = rows * DEEP``.

    Arguments as ``kernels.advance_rows``, except ``flat``: the similarity matrix as one
    row-major vector followed by ``DEEP_N`` padding values (:func:`flat_matrix`), so that
    every thread reads its 32 items at constant offsets from one address, without
    clamping: items past ``N`` read the next row (or the padding), added to scores that
    hold ``TAKEN`` (1e30 absorbs any value of magnitude 1), never chosen."""
    row = pxos.shared(8192, pxos.f32)
    best = pxos.shared(256, pxos.f32)
    where = pxos.shared(256, pxos.i32)
    pick = pxos.shared(2, pxos.i32)
    b = pxos.block_id()
    lid = pxos.local_id()
    n = scores.shape[1]
    for q in range(32):
        j = lid + q * 256
        row[j] = 1.0e30
        if j < n:
            row[j] = scores[b, j]
    cur = last[b]
    pxos.sync_threads()
    for t in range(step0, step0 + steps):
        mine = 3.0e38
        at = 0
        base = pxos.i64(cur) * n + lid  # row cur of sim, this thread's first item
        for q in range(32):  # constant trip count: unrolled, the 32 loads issued together
            j = lid + q * 256
            v = row[j] + pxos.f32(flat[base + q * 256])
            row[j] = v
            if v < mine:
                mine = v
                at = j
        best[lid] = mine
        where[lid] = at
        pxos.sync_threads()
        stride = 64
        while stride > 0:  # 4-way tree: 256 → 64 → 16 → 4 → 1
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
        if (cur & 255) == lid:
            row[cur] = 1.0e30  # the thread that owns item cur marks it
        if lid == 0:
            out[b, t] = cur
    for q in range(32):
        j = lid + q * 256
        if j < n:
            scores[b, j] = row[j]
    if lid == 0:
        last[b] = cur
