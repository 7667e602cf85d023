"""Kernels the profiler tests run (a module of their own: the profiler reports the Python
line that called a kernel, and the tests find that line independently with ``inspect``)."""

from __future__ import annotations

import pxos


@pxos.kernel
def saxpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
          out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + y[i]


@pxos.kernel
def spin(x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1], rounds: pxos.i32):
    """A kernel whose time grows with ``rounds`` (a dependent chain per element)."""
    for i in pxos.parallel(len(x)):
        v = x[i]
        for _ in range(rounds):
            v = v * 0.999 + 0.001
        out[i] = v
