"""``RANDOM``: a counter-based generator, the same on every backend.

Element ``i`` of an array filled with seed ``s`` is a function of ``(s, i)`` alone:
``splitmix64(s * 0x9E3779B97F4A7C15 + i)``, with the SplitMix64 finaliser of Steele, Lea and
Flood, "Fast splittable pseudorandom number generators" (OOPSLA 2014); the constants are
those of the reference implementation (also ``java.util.SplittableRandom``). Any backend,
and a standalone CUDA program, can compute element ``i`` on its own, with no state.

* floats: ``lo + u * (hi - lo)`` with ``u = (z >> 40) * 2**-24`` (``f32``, ``f16``) or
  ``(z >> 11) * 2**-53`` (``f64``), computed in the element type; ``u`` is in ``[0, 1)``.
* integers: ``lo + ((z >> 32) * (hi - lo) >> 32)`` (Lemire's multiply-shift range
  reduction) for ranges up to 2³²; wider ranges use ``lo + z mod (hi - lo)``.
* bool: the top bit of ``z``.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxRuntimeError
from pxos.span import Span

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed: int, count: int) -> np.ndarray:
    """The ``count`` 64-bit outputs for ``seed`` (uint64 array)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * GOLDEN + np.arange(count, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
        return z ^ (z >> np.uint64(31))


def default_range(dtype: np.dtype) -> tuple[float, float]:
    """The range used without ``RANGE``: [0, 1) for floats, the whole range of 8- and 16-bit
    integers, [0, 2**31) for wider ones."""
    if dtype.kind == "f":
        return 0.0, 1.0
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        info = np.iinfo(dtype)
        return int(info.min), int(info.max) + 1
    return 0, 2**31


def random_fill(out: np.ndarray, seed: int, low=None, high=None, span: Span | None = None):
    """Fill ``out`` (any shape, in row-major element order) in place.

    Raises:
        PxRuntimeError: ``high <= low``, or a range outside the element type.
    """
    dtype = out.dtype
    z = splitmix64(int(seed), out.size)
    if dtype == np.bool_:
        out.reshape(-1)[:] = (z >> np.uint64(63)).astype(bool)
        return
    lo, hi = default_range(dtype) if low is None else (low, high)
    if not hi > lo:
        raise PxRuntimeError(f"RANDOM RANGE needs low < high, got {lo} and {hi}", span)
    flat = out.reshape(-1)
    if dtype.kind == "f":
        if dtype.itemsize == 8:
            u = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
        else:
            u = ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)).astype(dtype)
        lo_t, hi_t = dtype.type(lo), dtype.type(hi)
        flat[:] = lo_t + u.astype(dtype) * (hi_t - lo_t)
        return
    lo, hi = int(lo), int(hi)
    info = np.iinfo(dtype)
    if lo < int(info.min) or hi - 1 > int(info.max):
        raise PxRuntimeError(f"RANDOM RANGE {lo} {hi} is outside {dtype}", span)
    width = hi - lo
    if width <= 2**32:
        offs = ((z >> np.uint64(32)) * np.uint64(width)) >> np.uint64(32)
    else:
        offs = z % np.uint64(width)
    flat[:] = (np.int64(lo) + offs.astype(np.int64)) if lo < 0 or dtype.kind == "i" \
        else (np.uint64(lo) + offs)
