"""The CPU kernel of the diversity sequences: a block of ``LANES`` threads per start, whose
threads are the SIMD lanes of one core.

On a CPU backend (``c``) the threads of a block run as the inner loop of one core, and a
loop whose bounds are the same for every thread that holds a barrier runs once per block
*around* the threads (``ir/passes/fission``). ``advance_lanes`` is written for that shape:
its loop over the row, ``for k in range(n // LANES)``, holds a barrier, so each of its
iterations is one loop over the ``LANES`` threads, which gcc turns into vector
instructions (two 8-float AVX2 vectors: load ``scores`` and the row of ``sim``, add,
store, compare, blend). Each lane keeps the smallest score it has seen and where
(``select``: no branch), over items ``k·LANES + lane``; lane 0 then reduces the ``LANES``
pairs, ties to the lower index. Indices are written ``pxos.i64(k) * LANES + local_id()``
so that gcc sees consecutive addresses (a 32-bit index wraps under ``-fwrapv`` and is not
analysed); items past the last full chunk of ``LANES`` are one guarded pass.

Blocks (starts) are spread over the cores by OpenMP. The scores of a start (4·N bytes:
31 KB for 7,797 items) stay in that core's L1/L2 through the ``steps`` steps of a launch;
each step streams one row of ``sim`` from memory. The result equals
``kernels.advance_rows``'s (same scores, same ties), which stays the kernel of backends
whose threads are not SIMD lanes (OpenCL).
"""

from __future__ import annotations

import pxos

LANES = 16  # threads of a block: two AVX2 vectors of f32 (a power of two)

F2 = pxos.Array[pxos.f32, 2]


@pxos.kernel(block=(LANES,))
def advance_lanes(sim, keep: pxos.Array[pxos.i32, 1], rowof: pxos.Array[pxos.i32, 1],
                  scores: F2, last: pxos.Array[pxos.i32, 1], out,
                  step0: pxos.i32, steps: pxos.i32):
    """``steps`` steps of every start over a compacted similarity matrix; one block of
    ``LANES`` threads per start: launch with ``threads = rows * LANES``.

    Args:
        sim: R × M, the rows ``rowof`` names and the columns ``keep`` names of the full
            matrix (``compaction.py``; the full matrix with ``keep = rowof = 0..N-1``).
        keep: M, int32: the item of each column (ascending, so ties still go to the
            lowest item). rowof: N, int32: the row of ``sim`` of each item (items whose
            row may still be read: the columns and every ``last``).
        scores: B × M; last, out, step0, steps: as ``kernels.advance_rows`` (``last`` and
            ``out`` hold items, not columns).
    """
    best = pxos.shared(16, pxos.f32)
    where = pxos.shared(16, pxos.i32)
    item = pxos.shared(1, pxos.i32)
    b = pxos.block_id()
    n = scores.shape[1]
    full = n // 16
    if pxos.local_id() == 0:
        item[0] = last[b]
        where[0] = rowof[last[b]]
    pxos.sync_threads()
    for t in range(step0, step0 + steps):
        mine = 3.0e38
        at = 0
        for k in range(full):  # the barrier makes this a loop around the lanes (SIMD)
            v = (scores[b, pxos.i64(k) * 16 + pxos.local_id()]
                 + pxos.f32(sim[where[0], pxos.i64(k) * 16 + pxos.local_id()]))
            scores[b, pxos.i64(k) * 16 + pxos.local_id()] = v
            take = v < mine
            mine = pxos.select(take, v, mine)
            at = pxos.select(take, k * 16 + pxos.local_id(), at)
            pxos.sync_threads()
        j = full * 16 + pxos.local_id()
        if j < n:  # the last columns, fewer than LANES
            v = scores[b, j] + pxos.f32(sim[where[0], j])
            scores[b, j] = v
            if v < mine:
                mine = v
                at = j
        pxos.sync_threads()
        best[pxos.local_id()] = mine
        where[pxos.local_id()] = at
        pxos.sync_threads()
        if pxos.local_id() == 0:
            for q in range(1, 16):
                if best[q] < best[0] or (best[q] == best[0] and where[q] < where[0]):
                    best[0] = best[q]
                    where[0] = where[q]
            scores[b, where[0]] = 1.0e30
            item[0] = keep[where[0]]
            out[b, t] = item[0]
            where[0] = rowof[item[0]]
        pxos.sync_threads()
    if pxos.local_id() == 0:
        last[b] = item[0]
