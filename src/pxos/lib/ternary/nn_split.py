"""A packed ternary mat-vec for GPUs split along the columns (split-K) within one launch:
:func:`split_kernel` (the words and codes of :mod:`pxos.lib.ternary.nn_kernels`).

At 4096 × 4096 the packed weights (4 MB) sit in the L2 cache, and ``warp_kernel``'s 128
blocks of 8 warps leave each SM one block: 8 warps, each waiting on a chain of loads. Here
the warps of a block share their rows' columns: ``splits`` warps take ``WARP_ROWS`` rows,
each a ``1 / splits`` share of the words, so a block takes ``32 / splits`` rows and the
grid ``splits`` times as many blocks, enough warps on every SM to hide the loads. x is
read straight from global memory (adjacent lanes read adjacent words of ``xt``), so it is
served by each SM's L1 cache with no staging and no barrier. The block adds its warps'
lane sums in shared memory at the end: 32 threads add a (row, split)'s 32 lanes, then one
thread a row adds its ``splits`` sums.
"""

from __future__ import annotations

import numpy as np

import pxos
from pxos import Array, f32, i32, i64, u32

SPLIT_BLOCK = 256   # threads a block: 8 warps
ROWS = 4            # rows a warp
LANE_SUMS = 8 * ROWS * 33   # every warp's 4 rows of 32 lane sums, rows padded to 33
WARPS = 4096        # warps a mat-vec aims for: about 31 on each of an H200's 132 SMs


@pxos.kernel(block=(SPLIT_BLOCK,))
def split_kernel(p: Array[u32, 2], xt: Array[f32, 2], scale: Array[f32, 1],
                 y: Array[f32, 1], splits: i32):
    """y[r] = scale[r] * sum_k w[r, k] * x[k], with ``splits`` (1, 2, 4 or 8) warps a row
    group of ``ROWS`` rows (launch ``split_blocks(rows, splits) * SPLIT_BLOCK`` threads);
    ``p`` (rows, words) the packed codes, ``xt`` (16, words) float32 holding x[16 j + b]
    at [b, j], ``scale`` (rows,) and ``y`` (rows,) float32. Each weight is a predicated add
    to the row's +1 or −1 sum (no multiplication); rows past the end read the last row and
    write nothing."""
    part = pxos.shared(LANE_SUMS, f32)
    lid = pxos.local_id()
    lane = lid & 31
    warp = lid >> 5
    group = warp // splits
    share = warp - group * splits
    rows_block = 8 // splits * ROWS
    first = pxos.block_id() * rows_block + group * ROWS
    last = p.shape[0] - 1
    r0 = min(first, last)
    r1 = min(first + 1, last)
    r2 = min(first + 2, last)
    r3 = min(first + 3, last)
    words = (p.shape[1] + splits - 1) // splits
    begin = share * words
    end = min(begin + words, p.shape[1])
    plus0 = f32(0.0)
    plus1 = f32(0.0)
    plus2 = f32(0.0)
    plus3 = f32(0.0)
    minus0 = f32(0.0)
    minus1 = f32(0.0)
    minus2 = f32(0.0)
    minus3 = f32(0.0)
    j = begin + lane
    at = min(j, end - 1)
    n0 = p[r0, at]
    n1 = p[r1, at]
    n2 = p[r2, at]
    n3 = p[r3, at]
    while j < end:
        w0 = n0
        w1 = n1
        w2 = n2
        w3 = n3
        at = min(j + 32, end - 1)   # the next step's words, loaded now
        n0 = p[r0, at]
        n1 = p[r1, at]
        n2 = p[r2, at]
        n3 = p[r3, at]
        for b in range(16):
            v = xt[b, j]
            if (w0 & u32(1) << u32(2 * b)) != u32(0):
                plus0 += v
            if (w0 & u32(2) << u32(2 * b)) != u32(0):
                minus0 += v
            if (w1 & u32(1) << u32(2 * b)) != u32(0):
                plus1 += v
            if (w1 & u32(2) << u32(2 * b)) != u32(0):
                minus1 += v
            if (w2 & u32(1) << u32(2 * b)) != u32(0):
                plus2 += v
            if (w2 & u32(2) << u32(2 * b)) != u32(0):
                minus2 += v
            if (w3 & u32(1) << u32(2 * b)) != u32(0):
                plus3 += v
            if (w3 & u32(2) << u32(2 * b)) != u32(0):
                minus3 += v
        j += 32
    slot = warp * ROWS * 33 + lane
    part[slot] = plus0 - minus0
    part[slot + 33] = plus1 - minus1
    part[slot + 66] = plus2 - minus2
    part[slot + 99] = plus3 - minus3
    pxos.sync_threads()
    if lid < 8 * ROWS:       # one thread a (warp, row): its 32 lane sums
        s0 = f32(0.0)
        s1 = f32(0.0)
        for k in range(16):
            s0 += part[lid * 33 + k]
            s1 += part[lid * 33 + 16 + k]
        part[lid * 33 + 32] = s0 + s1
    pxos.sync_threads()
    r = pxos.block_id() * rows_block + lid
    if lid < rows_block and r <= last:   # one thread a row: its splits' sums
        g = lid // ROWS
        rr = lid - g * ROWS
        s = f32(0.0)
        for k2 in range(splits):
            s += part[((g * splits + k2) * ROWS + rr) * 33 + 32]
        y[r] = s * scale[r]


@pxos.kernel(block=(SPLIT_BLOCK,))
def chunk_kernel(p: Array[u32, 1], words: i32, xc: Array[f32, 1], scale: Array[f32, 1],
                 y: Array[f32, 1], splits: i32):
    """:func:`split_kernel` on the flat words ``p`` (rows * words,) and x as ``xc``
    float32 (chunks * 512,), x[512 c + 16 l + b] at 512 c + 32 b + l (zeros past the
    end), both indexed in 64 bits, so that a step's 16 loads of x are immediate offsets
    from one address; each row's 32 code bits are tested in order, so that nvcc sets up to
    7 predicates at once from a word (``R2P``). A split takes a whole number of 32-word
    chunks; the next chunk's words are loaded before this chunk's sums."""
    part = pxos.shared(LANE_SUMS, f32)
    lid = pxos.local_id()
    lane = lid & 31
    warp = lid >> 5
    group = warp // splits
    share = warp - group * splits
    rows_block = 8 // splits * ROWS
    first = pxos.block_id() * rows_block + group * ROWS
    last = p.shape[0] // words - 1
    base0 = i64(min(first, last)) * i64(words)
    base1 = i64(min(first + 1, last)) * i64(words)
    base2 = i64(min(first + 2, last)) * i64(words)
    base3 = i64(min(first + 3, last)) * i64(words)
    count = xc.shape[0] >> 9
    chunks = (count + splits - 1) // splits
    c = share * chunks
    stop = min(c + chunks, count)
    plus0 = f32(0.0)
    plus1 = f32(0.0)
    plus2 = f32(0.0)
    plus3 = f32(0.0)
    minus0 = f32(0.0)
    minus1 = f32(0.0)
    minus2 = f32(0.0)
    minus3 = f32(0.0)
    j = i64(min(c * 32 + lane, words - 1))   # past the last word x is 0: any word does
    n0 = p[base0 + j]
    n1 = p[base1 + j]
    n2 = p[base2 + j]
    n3 = p[base3 + j]
    while c < stop:
        w0 = n0
        w1 = n1
        w2 = n2
        w3 = n3
        at = i64(c) * 512 + i64(lane)
        c += 1
        j = i64(min(c * 32 + lane, words - 1))   # the next chunk's words, loaded now
        n0 = p[base0 + j]
        n1 = p[base1 + j]
        n2 = p[base2 + j]
        n3 = p[base3 + j]
        for b in range(16):
            v = xc[at + b * 32]
            if (w0 & u32(1) << u32(2 * b)) != u32(0):
                plus0 += v
            if (w0 & u32(2) << u32(2 * b)) != u32(0):
                minus0 += v
        for b in range(16):
            v = xc[at + b * 32]
            if (w1 & u32(1) << u32(2 * b)) != u32(0):
                plus1 += v
            if (w1 & u32(2) << u32(2 * b)) != u32(0):
                minus1 += v
        for b in range(16):
            v = xc[at + b * 32]
            if (w2 & u32(1) << u32(2 * b)) != u32(0):
                plus2 += v
            if (w2 & u32(2) << u32(2 * b)) != u32(0):
                minus2 += v
        for b in range(16):
            v = xc[at + b * 32]
            if (w3 & u32(1) << u32(2 * b)) != u32(0):
                plus3 += v
            if (w3 & u32(2) << u32(2 * b)) != u32(0):
                minus3 += v
    slot = warp * ROWS * 33 + lane
    part[slot] = plus0 - minus0
    part[slot + 33] = plus1 - minus1
    part[slot + 66] = plus2 - minus2
    part[slot + 99] = plus3 - minus3
    pxos.sync_threads()
    if lid < 8 * ROWS:       # one thread a (warp, row): its 32 lane sums
        s0 = f32(0.0)
        s1 = f32(0.0)
        for k in range(16):
            s0 += part[lid * 33 + k]
            s1 += part[lid * 33 + 16 + k]
        part[lid * 33 + 32] = s0 + s1
    pxos.sync_threads()
    r = pxos.block_id() * rows_block + lid
    if lid < rows_block and r <= last:   # one thread a row: its splits' sums
        g = lid // ROWS
        rr = lid - g * ROWS
        s = f32(0.0)
        for k2 in range(splits):
            s += part[((g * splits + k2) * ROWS + rr) * 33 + 32]
        y[r] = s * scale[r]


def split_blocks(rows: int, splits: int) -> int:
    """Blocks of :func:`split_kernel` for ``rows`` output rows and ``splits`` warps a row
    group."""
    return -(-rows // (8 // splits * ROWS))


def splits_for(rows: int, words: int) -> int:
    """The splits (warps a row group) for ``rows`` × ``words``: the fewest of 1, 2, 4, 8
    that give ``WARPS`` warps in all, and no more than the 32-word chunks of a row."""
    splits = 1
    while splits < 8 and -(-rows // ROWS) * splits < WARPS and 2 * splits <= -(-words // 32):
        splits *= 2
    return splits


def chunked(x: np.ndarray, words: int) -> np.ndarray:
    """x float32 (cols,) in :func:`chunk_kernel`'s layout: (chunks * 512,), x[512 c + 16 l
    + b] at 512 c + 32 b + l, zeros past cols (chunks = words / 32, rounded up)."""
    padded = np.zeros(-(-words // 32) * 512, np.float32)
    padded[:x.size] = x
    return np.ascontiguousarray(padded.reshape(-1, 32, 16).transpose(0, 2, 1)).reshape(-1)


__all__ = ["ROWS", "SPLIT_BLOCK", "chunk_kernel", "chunked", "split_blocks", "split_kernel",
           "splits_for"]
