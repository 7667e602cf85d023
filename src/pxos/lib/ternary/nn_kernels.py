"""Multiplication-free kernels for packed ternary weights (:mod:`pxos.lib.ternary.nn`).

Weights are packed 2 bits per trit, 16 trits per uint32 word, least significant bits first:
code 0 is 0, 1 is +1, 2 is −1. A weight selects ``+x``, ``-x`` or nothing; the sums are
scaled once per output row at the end. No multiplication touches a weight.

Two layouts of the same words:

- **tiles**, for CPUs (:func:`tiles_kernel`, :func:`tiles_int_kernel`): ``(row tiles,
  words, TILE)``, the words of ``TILE`` consecutive rows side by side. One thread takes a
  tile; its innermost loop runs over the tile's rows, contiguous in memory and independent,
  so gcc vectorises it (8 rows per AVX2 instruction): each weight costs a mask test, a
  select and an add, with four partial sums per row so that no add waits on the previous
  one (float adds are not reassociated without ``-ffast-math``).
- **rows**, for GPUs: ``(rows, words)``. A mat-vec takes one block per row
  (:func:`block_kernel`), adjacent threads reading adjacent words (coalesced), the inputs
  transposed to ``(16, words)`` so that they are read coalesced too, and the partial sums
  added up in shared memory; a mat-mul one thread per output (:func:`rows_kernel`).
"""

from __future__ import annotations

import pxos
from pxos import Array, f32, i32, u32

TILE = 16    # rows per CPU tile: 2 AVX2 vectors of float32; 4096 rows make 256 threads
BLOCK = 128  # threads per row on a GPU: 2 words each for 4096 columns, 4 for 8192


@pxos.kernel(block=(1,))
def tiles_kernel(p: Array[u32, 3], x: Array[f32, 3], scale: Array[f32, 2], y: Array[f32, 3]):
    """y[n, t, r] = scale[t, r] * sum_k w[t*TILE + r, k] * x[n, k] for the tiled words
    ``p`` (tiles, words, TILE), x (batch, words, 16) float32, y (batch, tiles, TILE).

    Each code bit is tested as a sign: ``i32(w << (31 - bit)) < 0``, one shift and one
    compare (gcc: ``vpslld``, ``vpcmpgtd``), and the +1 and −1 selections go to separate
    sums (two for each), subtracted once per word: 8 AVX2 instructions per weight and 8
    rows, where a mask test against a constant for each code took 11 and spilled."""
    for i in pxos.parallel(x.shape[0] * p.shape[0]):   # one thread per (batch row, tile)
        n = i // p.shape[0]
        t = i % p.shape[0]
        for r in range(p.shape[2]):
            y[n, t, r] = f32(0.0)
        for j in range(p.shape[1]):
            for r in range(TILE):   # a constant count: gcc unrolls it into whole vectors
                w = p[t, j, r]
                plus0 = f32(0.0)
                plus1 = f32(0.0)
                minus0 = f32(0.0)
                minus1 = f32(0.0)
                for b in range(8):   # trits b and b + 8: bits 2b (+1) and 2b + 1 (−1)
                    v = x[n, j, b]
                    u = x[n, j, b + 8]
                    plus0 += pxos.select(i32(w << u32(31 - 2 * b)) < 0, v, f32(0.0))
                    minus0 += pxos.select(i32(w << u32(30 - 2 * b)) < 0, v, f32(0.0))
                    plus1 += pxos.select(i32(w << u32(15 - 2 * b)) < 0, u, f32(0.0))
                    minus1 += pxos.select(i32(w << u32(14 - 2 * b)) < 0, u, f32(0.0))
                y[n, t, r] += (plus0 + plus1) - (minus0 + minus1)
        for r in range(p.shape[2]):
            y[n, t, r] = y[n, t, r] * scale[t, r]


@pxos.kernel(block=(1,))
def tiles_int_kernel(p: Array[u32, 3], x: Array[i32, 3], y: Array[i32, 3]):
    """y[n, t, r] = sum_k w[t*TILE + r, k] * x[n, k] exactly (int32 sums), as
    :func:`tiles_kernel` with integer activations and no scale."""
    for i in pxos.parallel(x.shape[0] * p.shape[0]):   # one thread per (batch row, tile)
        n = i // p.shape[0]
        t = i % p.shape[0]
        for r in range(p.shape[2]):
            y[n, t, r] = i32(0)
        for j in range(p.shape[1]):
            for r in range(TILE):
                w = p[t, j, r]
                plus = i32(0)
                minus = i32(0)
                for b in range(16):
                    v = x[n, j, b]
                    plus += pxos.select(i32(w << u32(31 - 2 * b)) < 0, v, i32(0))
                    minus += pxos.select(i32(w << u32(30 - 2 * b)) < 0, v, i32(0))
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


__all__ = ["BLOCK", "TILE", "block_kernel", "rows_kernel", "tiles_int_kernel", "tiles_kernel"]
