"""Multiplication-free kernels for packed ternary weights (:mod:`pxos.lib.ternary.nn`).

Weights are packed 2 bits per trit, 16 trits per uint32 word, least significant bits first:
code 0 is 0, 1 is +1, 2 is −1. A weight selects ``+x``, ``-x`` or nothing; the sums are
scaled once per output row at the end. No multiplication touches a weight. Float mat-vec
first tabulates, for each group of four inputs, the 256 sums a packed byte can select
(:func:`lut_kernel`); each row then costs one lookup and one add per four weights.
"""

from __future__ import annotations

import pxos
from pxos import Array, f32, i32, u8, u32

BLOCK = 256


@pxos.kernel
def lut_kernel(x: Array[f32, 1], table: Array[f32, 2]):
    """table[g, c] = the sum of ±x[4g + m] that byte code c selects (2 bits per trit):
    every partial sum a row's byte can ask for, made with adds only (bitnet.cpp's lookup
    tables). x has 4 * table.shape[0] elements."""
    for g, c in pxos.parallel(table.shape[0], table.shape[1]):
        s = f32(0.0)
        for m in range(4):
            code = (c >> (2 * m)) & 3
            v = x[g * 4 + m]
            s += pxos.select(code == 1, v, f32(0.0)) - pxos.select(code == 2, v, f32(0.0))
        table[g, c] = s


@pxos.kernel
def matvec_rows_kernel(p: Array[u8, 2], table: Array[f32, 2], scale: Array[f32, 1],
                       y: Array[f32, 1]):
    """y[r] = scale[r] * sum_g table[g, p[r, g]]: one thread per row, one lookup per four
    weights, four sums in flight (p: the packed words as bytes, a multiple of 4 wide)."""
    for r in pxos.parallel(p.shape[0]):
        a0 = f32(0.0)
        a1 = f32(0.0)
        a2 = f32(0.0)
        a3 = f32(0.0)
        g = 0
        while g < p.shape[1]:
            a0 += table[g, i32(p[r, g])]
            a1 += table[g + 1, i32(p[r, g + 1])]
            a2 += table[g + 2, i32(p[r, g + 2])]
            a3 += table[g + 3, i32(p[r, g + 3])]
            g += 4
        y[r] = ((a0 + a1) + (a2 + a3)) * scale[r]


@pxos.kernel(block=(BLOCK,))
def matvec_block_kernel(p: Array[u32, 2], table: Array[f32, 2], scale: Array[f32, 1],
                        y: Array[f32, 1]):
    """As :func:`matvec_rows_kernel` with one block per row, for GPUs: its threads read
    words j = lid, lid + 256, … (adjacent threads, adjacent words: coalesced), look up
    their four bytes, and add up in shared memory. Launch ``rows * 256`` threads."""
    part = pxos.shared(BLOCK, f32)
    r = pxos.block_id()
    lid = pxos.local_id()
    acc = f32(0.0)
    j = lid
    while j < p.shape[1]:
        w = p[r, j]
        acc += table[4 * j, i32(w & u32(255))] + table[4 * j + 1, i32((w >> u32(8)) & u32(255))]
        acc += (table[4 * j + 2, i32((w >> u32(16)) & u32(255))]
                + table[4 * j + 3, i32(w >> u32(24))])
        j += BLOCK
    part[lid] = acc
    pxos.sync_threads()
    stride = BLOCK // 2
    while stride > 0:
        if lid < stride:
            part[lid] = part[lid] + part[lid + stride]
        pxos.sync_threads()
        stride = stride // 2
    if lid == 0:
        y[r] = part[0] * scale[r]


@pxos.kernel
def matvec_int_kernel(p: Array[u32, 2], x: Array[i32, 1], y: Array[i32, 1]):
    """y[r] = sum_k w[r, k] * x[k] exactly, for integer activations (one thread per row)."""
    for r in pxos.parallel(p.shape[0]):
        acc = i32(0)
        for j in range(p.shape[1]):
            w = p[r, j]
            for b in range(16):
                code = (w >> u32(2 * b)) & u32(3)
                v = x[j * 16 + b]
                acc += pxos.select(code == u32(1), v, i32(0))
                acc -= pxos.select(code == u32(2), v, i32(0))
        y[r] = acc


@pxos.kernel
def matmul_kernel(p: Array[u32, 2], x: Array[f32, 2], scale: Array[f32, 1],
                  y: Array[f32, 2]):
    """y[n, r] = scale[r] * sum_k w[r, k] * x[n, k] (x: batch × padded columns)."""
    for n, r in pxos.parallel(x.shape[0], p.shape[0]):
        acc = f32(0.0)
        for j in range(p.shape[1]):
            w = p[r, j]
            for b in range(16):
                code = (w >> u32(2 * b)) & u32(3)
                v = x[n, j * 16 + b]
                acc += pxos.select(code == u32(1), v, f32(0.0))
                acc -= pxos.select(code == u32(2), v, f32(0.0))
        y[n, r] = acc * scale[r]


__all__ = ["BLOCK", "lut_kernel", "matmul_kernel", "matvec_block_kernel", "matvec_int_kernel",
           "matvec_rows_kernel"]
