"""The kernels of benchmarks/dask_scaling.py, in a module of their own so that Dask workers
import them by name (the peer ``map_blocks`` of a kernel call needs that)."""

from __future__ import annotations

import numpy as np

import pxos

Grid = pxos.Array[pxos.f32, 2]
Vec = pxos.Array[pxos.f32, 1]


@pxos.kernel
def diffuse(a: Grid, b: Grid, alpha: pxos.f32):
    """One explicit heat step, the edges kept (memory-bound: 5 loads, 1 store)."""
    for y, x in pxos.parallel(a.shape[0], a.shape[1]):
        if x == 0 or y == 0 or x == a.shape[1] - 1 or y == a.shape[0] - 1:
            b[y, x] = a[y, x]
        else:
            lap = a[y - 1, x] + a[y + 1, x] + a[y, x - 1] + a[y, x + 1] - 4.0 * a[y, x]
            b[y, x] = a[y, x] + alpha * lap


@pxos.kernel
def orbit(x: Vec, out: Vec):
    """400 dependent fused multiply-adds per element (compute-bound)."""
    for i in pxos.parallel(len(x)):
        v = x[i]
        for _ in range(400):
            v = pxos.fma(v, 0.999, 0.001)
        out[i] = v


@pxos.kernel
def saxpy(a: pxos.f32, x: Vec, y: Vec, out: Vec):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + y[i]


def saxpy_block(x, y):
    """What a hand-written ``map_blocks`` of the kernel does per block."""
    out = np.empty_like(x)
    saxpy(np.float32(2.0), np.ascontiguousarray(x), np.ascontiguousarray(y), out)
    return out


def saxpy_numpy(x, y):
    return np.float32(2.0) * x + y
