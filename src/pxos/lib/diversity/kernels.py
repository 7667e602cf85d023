"""The pxos kernels of the diversity sequences: every start of a batch runs in lock step.

State per start ``b`` of a batch: ``scores[b, j]``, the running score ``c · e_j`` of every
item (the sum of the similarity rows of the items chosen so far), with items already chosen
held at ``TAKEN`` so that the masked arg-min is a plain arg-min; and ``last[b]``, the item
chosen last. One step is a gather-add (``scores[b] += sim[last[b]]``) and an arg-min (ties to
the lowest index), fused into one pass over the row so that the row is read once. A launch
advances every start of the batch by ``steps`` steps, writing the chosen items to
``out[b, step0 : step0 + steps]``.

Two kernels do the same thing with different parallel layouts:

- :data:`advance_rows` (loop form): one thread per start, the whole row in its cache. Best
  on CPUs (``c``, ``opencl`` on PoCL), where a start's row stays in L1/L2.
- :data:`advance_blocks` (thread form): one block of ``BLOCK`` threads per start, the row
  strided over the threads (coalesced reads) and a shared-memory tree for the arg-min.
  Best on GPUs (``cuda``, ``opencl`` on a GPU).

Both give identical sequences: per step they take the smallest score and, among equal
scores, the lowest index.
"""

from __future__ import annotations

import pxos

BLOCK = 256  # threads per start in advance_blocks (a power of two)
TAKEN = 1.0e30  # the score of a chosen item; real scores are at most N in magnitude
NONE = 3.0e38  # above every score, TAKEN included

F2 = pxos.Array[pxos.f32, 2]


@pxos.kernel
def start_rows(starts: pxos.Array[pxos.i32, 1], scores: F2, last: pxos.Array[pxos.i32, 1],
               out):
    """Begin one sequence per row: ``scores[b] = 0`` with the start itself ``TAKEN``,
    ``last[b] = out[b, 0] = starts[b]`` (the first step adds the start's row)."""
    for b, j in pxos.parallel(scores.shape[0], scores.shape[1]):
        s = starts[b]
        v = 0.0
        if j == s:
            v = 1.0e30
            last[b] = s
            out[b, 0] = s
        scores[b, j] = v


@pxos.kernel
def advance_rows(sim, scores: F2, last: pxos.Array[pxos.i32, 1], out,
                 step0: pxos.i32, steps: pxos.i32):
    """``steps`` steps of every start, one thread per start (see the module docstring)."""
    for b in pxos.parallel(scores.shape[0]):
        n = scores.shape[1]
        cur = last[b]
        for t in range(step0, step0 + steps):
            best = 3.0e38
            at = 0
            for j in range(n):
                v = scores[b, j] + pxos.f32(sim[cur, j])
                scores[b, j] = v
                if v < best:
                    best = v
                    at = j
            scores[b, at] = 1.0e30
            out[b, t] = at
            cur = at
        last[b] = cur


@pxos.kernel(block=(BLOCK,))
def advance_blocks(sim, scores: F2, last: pxos.Array[pxos.i32, 1], out,
                   step0: pxos.i32, steps: pxos.i32):
    """``steps`` steps of every start, one block of ``BLOCK`` threads per start; launch with
    ``threads = rows * BLOCK`` (see the module docstring)."""
    best = pxos.shared(256, pxos.f32)
    where = pxos.shared(256, pxos.i32)
    b = pxos.block_id()
    lid = pxos.local_id()
    n = scores.shape[1]
    cur = last[b]
    for t in range(step0, step0 + steps):
        mine = 3.0e38
        at = n
        j = lid
        while j < n:
            v = scores[b, j] + pxos.f32(sim[cur, j])
            scores[b, j] = v
            if v < mine:
                mine = v
                at = j
            j += 256
        best[lid] = mine
        where[lid] = at
        pxos.sync_threads()
        stride = 128
        while stride > 0:
            if lid < stride:
                other = best[lid + stride]
                oat = where[lid + stride]
                if other < best[lid] or (other == best[lid] and oat < where[lid]):
                    best[lid] = other
                    where[lid] = oat
            pxos.sync_threads()
            stride = stride // 2
        cur = where[0]
        if cur % 256 == lid:
            scores[b, cur] = 1.0e30  # the thread that owns column cur marks it
        if lid == 0:
            out[b, t] = cur
        pxos.sync_threads()  # every thread has read where[0] before it is overwritten
    if lid == 0:
        last[b] = cur



SHARED_N = 11_776  # items whose scores fit in a block's shared memory (46 KiB + 2 KiB ≤ 48 KiB)


@pxos.kernel(block=(BLOCK,))
def advance_shared(sim, scores: F2, last: pxos.Array[pxos.i32, 1], out,
                   step0: pxos.i32, steps: pxos.i32):
    """As :data:`advance_blocks`, with the start's row of scores held in shared memory for
    the whole launch (loaded at the start, stored at the end): each step then reads only
    one row of ``sim`` from device memory. Needs ``N <= SHARED_N``."""
    row = pxos.shared(11776, pxos.f32)
    best = pxos.shared(256, pxos.f32)
    where = pxos.shared(256, pxos.i32)
    b = pxos.block_id()
    lid = pxos.local_id()
    n = scores.shape[1]
    j = lid
    while j < n:
        row[j] = scores[b, j]
        j += 256
    pxos.sync_threads()
    cur = last[b]
    for t in range(step0, step0 + steps):
        mine = 3.0e38
        at = n
        j = lid
        while j < n:
            v = row[j] + pxos.f32(sim[cur, j])
            row[j] = v
            if v < mine:
                mine = v
                at = j
            j += 256
        best[lid] = mine
        where[lid] = at
        pxos.sync_threads()
        stride = 128
        while stride > 0:
            if lid < stride:
                other = best[lid + stride]
                oat = where[lid + stride]
                if other < best[lid] or (other == best[lid] and oat < where[lid]):
                    best[lid] = other
                    where[lid] = oat
            pxos.sync_threads()
            stride = stride // 2
        cur = where[0]
        if cur % 256 == lid:
            row[cur] = 1.0e30
        if lid == 0:
            out[b, t] = cur
        pxos.sync_threads()
    j = lid
    while j < n:
        scores[b, j] = row[j]
        j += 256
    if lid == 0:
        last[b] = cur
