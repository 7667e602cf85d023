"""Kernels the pxos.dask tests run block by block (module level, so workers get them)."""

from __future__ import annotations

import pxos
from pxos import Array, f32, i32, u32, u8

Vec = Array[f32, 1]
Grid = Array[f32, 2]


@pxos.kernel
def saxpy(a: f32, x: Vec, y: Vec, out: Vec):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + y[i]


@pxos.kernel
def diffuse(a: Grid, b: Grid, alpha: f32):
    """One explicit heat step; the edges keep their value (a 5-point stencil, reach 1)."""
    for y, x in pxos.parallel(a.shape[0], a.shape[1]):
        if x == 0 or y == 0 or x == a.shape[1] - 1 or y == a.shape[0] - 1:
            b[y, x] = a[y, x]
        else:
            lap = a[y - 1, x] + a[y + 1, x] + a[y, x - 1] + a[y, x + 1] - 4.0 * a[y, x]
            b[y, x] = a[y, x] + alpha * lap


@pxos.kernel
def box5(src: Vec, dst: Vec):
    """Mean of five neighbours, clamped to the edges (a loop over offsets, reach 2)."""
    for i in pxos.parallel(len(src)):
        acc = 0.0
        for d in range(-2, 3):
            acc += src[min(max(i + d, 0), len(src) - 1)]
        dst[i] = acc / 5.0


@pxos.kernel
def shifted(src: Vec, k: i32, dst: Vec):
    """dst[i] = src[i + k] where that exists: an offset the analysis cannot bound."""
    for i in pxos.parallel(len(src)):
        v = 0.0
        if i + k < len(src):
            v = src[i + k]
        dst[i] = v


@pxos.kernel
def histogram(img: Array[u8, 3], hist: Array[u32, 1]):
    for y, x in pxos.parallel(img.shape[0], img.shape[1]):
        luma = (77 * u32(img[y, x, 0]) + 150 * u32(img[y, x, 1]) + 29 * u32(img[y, x, 2])) >> 8
        pxos.atomic_add(hist, luma, 1)


@pxos.kernel
def extremes(x: Array[i32, 1], low: Array[i32, 1], high: Array[i32, 1]):
    for i in pxos.parallel(len(x)):
        pxos.atomic_min(low, 0, x[i])
        pxos.atomic_max(high, 0, x[i])


@pxos.kernel
def split_sign(x: Vec, table: Vec, pos: Vec, neg: Array[u8, 1]):
    """Two outputs and a table every block reads whole."""
    for i in pxos.parallel(len(x)):
        v = x[i] * table[0] + table[1]
        pos[i] = max(v, 0.0)
        neg[i] = u8(v < 0.0)


@pxos.kernel
def scale_in_place(x: Grid, s: f32):
    for y, c in pxos.parallel(x.shape[0], x.shape[1]):
        x[y, c] = x[y, c] * s


@pxos.kernel
def ramp(out: Vec):
    """Writes its position: its result depends on where a block starts."""
    for i in pxos.parallel(len(out)):
        out[i] = f32(i)


@pxos.kernel
def fill(out: Vec, v: f32):
    """Reads no array: the blocks' extents come from the output."""
    for i in pxos.parallel(len(out)):
        out[i] = v
