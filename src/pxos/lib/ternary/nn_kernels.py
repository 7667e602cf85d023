"""Multiplication-free kernels for packed ternary weights (:mod:`pxos.lib.ternary.nn`).

Weights are packed 2 bits per trit, 16 trits per uint32 word, least significant bits first:
code 0 is 0, 1 is +1, 2 is −1. A weight selects ``+x``, ``-x`` or nothing; the sums are
scaled once per output row at the end. No multiplication touches a weight.

Two layouts of the same words:

- **tiles**, for CPUs (:func:`tiles_kernel`, :func:`tiles_int_kernel`): ``(row tiles,
  words, TILE)``, the words of ``TILE`` consecutive rows side by side. One thread takes a
  tile; its innermost loop runs over the tile's rows, contiguous in memory and independent,
  so gcc vectorises it (8 rows a 256-bit vector): each trit costs a shift, two compares
  into mask registers and two masked adds, with four partial sums per row so that no add
  waits on the previous one (float adds are not reassociated without ``-ffast-math``).
- **rows**, for GPUs: ``(rows, words)``. A mat-vec takes a warp per 4 rows
  (:func:`warp_kernel`; the earlier :func:`block_kernel`, a block per row, is the GPU
  benchmark's peer), adjacent threads reading adjacent words (coalesced), the inputs
  transposed to ``(16, words)`` so that they are read coalesced too, and the partial sums
  added up in shared memory; a mat-mul one thread per output (:func:`rows_kernel`).
"""

from __future__ import annotations

import pxos
from pxos import Array, f32, i32, u32

TILE = 16    # rows per CPU tile: 2 AVX2 vectors of float32; 4096 rows make 256 threads
BLOCK = 128  # threads per row on a GPU: 2 words each for 4096 columns, 4 for 8192
WARP_BLOCK = 256  # threads per block of warp_kernel: 8 warps
WARP_ROWS = 4    # rows per warp: 32 a block, 128 blocks for 4096 rows (an H200 has 132 SMs)
X_WORDS = 512    # words of x staged in shared memory at a time: 32 KB (8192 columns)
X_FLOATS = X_WORDS * 16
WARP_ROWS_BLOCK = WARP_BLOCK // 32 * WARP_ROWS   # rows a block of warp_kernel takes
PARTS = WARP_ROWS_BLOCK * 33                     # its lanes' sums, rows padded to 33
TOP_PLUS = 1 << 30   # a code shifted to bits 31 and 30, as i32: +1 (01) is >= this, −1 < 0


@pxos.kernel(block=(1,))
def tiles_kernel(p: Array[u32, 3], x: Array[f32, 3], scale: Array[f32, 2], y: Array[f32, 3]):
    """y[n, t, r] = scale[t, r] * sum_k w[t*TILE + r, k] * x[n, k] for the tiled words
    ``p`` (tiles, words, TILE), x (batch, words, 16) float32, y (batch, tiles, TILE).

    Launch ``batch * tiles`` threads, one a (batch row, tile); each is a block of its own
    (``block_id``), so a CPU's cores share the tiles and not 64-tile blocks (4096 rows make
    256 tiles: 16 a core on 16 cores, where blocks of 64 would keep 12 idle).

    Each trit's code is shifted to the top two bits, ``top = i32(w << (30 - 2b))`` (one
    ``vpslld`` for both of its bits), and tested by two compares into AVX-512 mask
    registers: −1 (code 10) is ``top < 0``, +1 (01) is ``top >= TOP_PLUS`` (code 11,
    which :func:`pxos.lib.ternary.nn.pack` never writes, counts as −1). The input is
    added where a test holds and ``-0.0`` where not: ``s + -0.0 == s`` for every ``s``
    (even ``-0.0``, which ``+ 0.0`` would turn into ``+0.0``), so gcc folds the select and
    the add into one masked ``vaddps``: 5 instructions a trit and 8 rows, where a shift, a
    compare, a select of ``0.0`` and an add a code bit took 8. The +1 and −1 selections go
    to separate sums (two of each, so that no add waits on the previous one; float adds
    are not reassociated without ``-ffast-math``), subtracted once per word. The compares
    are the limit (on Intel they issue on one port); ``-mprefer-vector-width=512``, which
    the C backend does not pass, would make each vector 16 rows (docs/ternary.md §4)."""
    for i in pxos.parallel(x.shape[0] * p.shape[0]):   # one thread per (batch row, tile)
        tile = pxos.block_id()   # == i with blocks of one thread: the block is the kernel's
        n = tile // p.shape[0]
        t = tile % p.shape[0]
        for r in range(p.shape[2]):
            y[n, t, r] = f32(0.0)
        for j in range(p.shape[1]):
            for r in range(TILE):   # a constant count: gcc unrolls it into whole vectors
                w = p[t, j, r]
                plus0 = f32(-0.0)
                plus1 = f32(-0.0)
                minus0 = f32(-0.0)
                minus1 = f32(-0.0)
                for b in range(8):   # trits b and b + 8: bits 2b (+1) and 2b + 1 (−1)
                    v = x[n, j, b]
                    u = x[n, j, b + 8]
                    top0 = i32(w << u32(30 - 2 * b))   # trit b's code in bits 31 and 30
                    top1 = i32(w << u32(14 - 2 * b))   # trit b + 8's
                    plus0 += pxos.select(top0 >= TOP_PLUS, v, f32(-0.0))
                    minus0 += pxos.select(top0 < 0, v, f32(-0.0))
                    plus1 += pxos.select(top1 >= TOP_PLUS, u, f32(-0.0))
                    minus1 += pxos.select(top1 < 0, u, f32(-0.0))
                y[n, t, r] += (plus0 + plus1) - (minus0 + minus1)
        for r in range(p.shape[2]):
            y[n, t, r] = y[n, t, r] * scale[t, r]


@pxos.kernel(block=(1,))
def tiles_int_kernel(p: Array[u32, 3], x: Array[i32, 3], y: Array[i32, 3]):
    """y[n, t, r] = sum_k w[t*TILE + r, k] * x[n, k] exactly (int32 sums), as
    :func:`tiles_kernel` with integer activations and no scale (a block a tile, one shift
    a trit and two compares, as there; ``0`` is the identity of an integer add: 4096² on
    one core here from 1.62–1.69 to 1.33–1.34 ms)."""
    for i in pxos.parallel(x.shape[0] * p.shape[0]):   # one thread per (batch row, tile)
        tile = pxos.block_id()   # == i with blocks of one thread: the block is the kernel's
        n = tile // p.shape[0]
        t = tile % p.shape[0]
        for r in range(p.shape[2]):
            y[n, t, r] = i32(0)
        for j in range(p.shape[1]):
            for r in range(TILE):
                w = p[t, j, r]
                plus = i32(0)
                minus = i32(0)
                for b in range(16):
                    v = x[n, j, b]
                    top = i32(w << u32(30 - 2 * b))   # trit b's code in bits 31 and 30
                    plus += pxos.select(top >= TOP_PLUS, v, i32(0))
                    minus += pxos.select(top < 0, v, i32(0))
                y[n, t, r] += plus - minus


@pxos.kernel(block=(BLOCK,))
def block_kernel(p: Array[u32, 2], xt: Array[f32, 2], scale: Array[f32, 1],
                 y: Array[f32, 1]):
    """y[r] = scale[r] * sum_k w[r, k] * x[k] with one block of ``BLOCK`` threads per row
    (launch ``rows * BLOCK`` threads): thread ``lid`` takes words lid, lid + BLOCK, …;
    ``xt`` (16, words) holds x[16 j + b] at [b, j], so that adjacent threads read adjacent
    inputs. The block adds its partial sums up in shared memory (a tree, log2 BLOCK
    steps)."""
    part = pxos.shared(BLOCK, f32)
    r = pxos.block_id()
    lid = pxos.local_id()
    acc = f32(0.0)
    j = lid
    while j < p.shape[1]:
        w = p[r, j]
        for b in range(16):
            v = xt[b, j]
            code = (w >> u32(2 * b)) & u32(3)
            acc += pxos.select(code == u32(1), v, f32(0.0)) - pxos.select(code == u32(2), v,
                                                                           f32(0.0))
        j += BLOCK
    part[lid] = acc
    pxos.sync_threads()
    stride = i32(BLOCK >> 1)
    while stride > 0:
        if lid < stride:
            part[lid] = part[lid] + part[lid + stride]
        pxos.sync_threads()
        stride = stride >> 1
    if lid == 0:
        y[r] = part[0] * scale[r]


@pxos.kernel(block=(WARP_BLOCK,))
def warp_kernel(p: Array[u32, 2], xt: Array[f32, 2], scale: Array[f32, 1],
                y: Array[f32, 1]):
    """y[r] = scale[r] * sum_k w[r, k] * x[k] for GPUs: each warp takes ``WARP_ROWS`` rows,
    each block ``WARP_ROWS_BLOCK`` (launch ``warp_blocks(rows) * WARP_BLOCK`` threads);
    ``xt`` (16, words) float32 holds x[16 j + b] at [b, j], as for :func:`block_kernel`.

    Lane ``l`` of a warp reads words l, l + 32, … of its 4 rows (128 coalesced bytes a row
    a step; the next step's words are loaded before this step's sums, so that their
    latency hides behind the arithmetic), and keeps two sums a row, of the +1 and of the
    −1 selections: ``if`` on a constant bit, which nvcc compiles to a predicated add (one
    ``R2P`` sets the predicates of two bits), about 4 instructions a weight (sm_90). The
    block stages x in shared memory, ``X_WORDS`` words at a time, as (16, words) so that
    the lanes' reads fall in distinct banks; one read of x serves the warp's 4 rows. At the
    end one thread a row adds the 32 lanes' sums from shared memory (rows padded to 33
    floats: no bank conflicts). Rows past the end read the last row and write nothing."""
    xs = pxos.shared(X_FLOATS, f32)
    part = pxos.shared(PARTS, f32)
    lid = pxos.local_id()
    lane = lid & 31
    first = pxos.block_id() * WARP_ROWS_BLOCK + (lid >> 5) * WARP_ROWS
    last = p.shape[0] - 1
    r0 = min(first, last)
    r1 = min(first + 1, last)
    r2 = min(first + 2, last)
    r3 = min(first + 3, last)
    plus0 = f32(0.0)
    plus1 = f32(0.0)
    plus2 = f32(0.0)
    plus3 = f32(0.0)
    minus0 = f32(0.0)
    minus1 = f32(0.0)
    minus2 = f32(0.0)
    minus3 = f32(0.0)
    start = 0
    while start < p.shape[1]:
        count = min(X_WORDS, p.shape[1] - start)
        k = lid
        while k < count:   # the 16 loads of a word's inputs in flight at once
            for b in range(16):
                xs[b * X_WORDS + k] = xt[b, start + k]
            k += WARP_BLOCK
        pxos.sync_threads()
        j = lane
        at = start + min(j, count - 1)
        n0 = p[r0, at]
        n1 = p[r1, at]
        n2 = p[r2, at]
        n3 = p[r3, at]
        while j < count:
            w0 = n0
            w1 = n1
            w2 = n2
            w3 = n3
            at = start + min(j + 32, count - 1)   # the next step's words, loaded now
            n0 = p[r0, at]
            n1 = p[r1, at]
            n2 = p[r2, at]
            n3 = p[r3, at]
            for b in range(16):
                v = xs[b * X_WORDS + j]
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
        pxos.sync_threads()
        start += X_WORDS
    row = (lid >> 5) * WARP_ROWS
    part[row * 33 + lane] = plus0 - minus0
    part[(row + 1) * 33 + lane] = plus1 - minus1
    part[(row + 2) * 33 + lane] = plus2 - minus2
    part[(row + 3) * 33 + lane] = plus3 - minus3
    pxos.sync_threads()
    r = pxos.block_id() * WARP_ROWS_BLOCK + lid
    if lid < WARP_ROWS_BLOCK and r <= last:
        s = f32(0.0)
        for k2 in range(32):
            s += part[lid * 33 + k2]
        y[r] = s * scale[r]


def warp_blocks(rows: int) -> int:
    """Blocks of :func:`warp_kernel` for ``rows`` output rows."""
    return -(-rows // WARP_ROWS_BLOCK)


@pxos.kernel
def rows_kernel(p: Array[u32, 2], x: Array[f32, 3], scale: Array[f32, 1], y: Array[f32, 2]):
    """y[n, r] = scale[r] * sum_k w[r, k] * x[n, k], one thread per (batch row, output
    row), for GPUs (x: batch × words × 16)."""
    for n, r in pxos.parallel(x.shape[0], p.shape[0]):
        acc = f32(0.0)
        for j in range(p.shape[1]):
            w = p[r, j]
            for b in range(16):
                code = (w >> u32(2 * b)) & u32(3)
                v = x[n, j, b]
                acc += pxos.select(code == u32(1), v, f32(0.0)) - pxos.select(code == u32(2), v,
                                                                               f32(0.0))
        y[n, r] = acc * scale[r]


__all__ = ["BLOCK", "TILE", "WARP_BLOCK", "WARP_ROWS", "X_WORDS", "block_kernel", "rows_kernel",
           "tiles_int_kernel", "tiles_kernel", "warp_blocks", "warp_kernel"]
