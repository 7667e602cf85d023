"""Ternary search, batched over many queries as kernels, with binary search beside it.

- :func:`searchsorted`: for each query, the first index of a sorted array whose element is
  ``>= query`` (NumPy's ``searchsorted(side="left")``), by ternary search (two probes cut
  the range to a third) or by binary search (one probe halves it).
- :func:`argmax_unimodal`: for each row of a 2-D array that rises then falls, the index of
  its maximum, by ternary search (two probes drop a third) or by binary search on the
  slope (``f[m] < f[m + 1]``: one comparison halves the range).

Each returns the comparisons each query made as well, when asked. On a sorted array
ternary search makes ``5/3·log₃ n ≈ 1.05·log₂ n`` element comparisons on average and
``2·log₃ n ≈ 1.26·log₂ n`` at worst, against binary search's ``log₂ n``: fewer rounds,
more comparisons. For a peak, ternary search needs ``log₁.₅ n ≈ 1.71·log₂ n`` comparisons
against ``log₂ n`` for binary search on the slope (docs/ternary.md).
"""

from __future__ import annotations

import numpy as np

import pxos
from pxos import Array, i32, i64
from pxos.errors import PxArgumentError, PxTypeError


@pxos.kernel
def ternary_sorted_kernel(a, q, out: Array[i64, 1], comps: Array[i32, 1]):
    """out[j] = first i with a[i] >= q[j] (len(a) if none), by ternary search."""
    for j in pxos.parallel(len(q)):
        v = q[j]
        lo = i64(0)
        hi = i64(len(a))
        c = i32(0)
        while lo < hi:
            third = (hi - lo) // 3
            m1 = lo + third
            m2 = hi - 1 - third
            c += 1
            if a[m1] >= v:
                hi = m1
            elif m2 > m1:
                c += 1
                if a[m2] >= v:
                    lo = m1 + 1
                    hi = m2
                else:
                    lo = m2 + 1
            else:
                lo = m1 + 1
        out[j] = lo
        comps[j] = c


@pxos.kernel
def binary_sorted_kernel(a, q, out: Array[i64, 1], comps: Array[i32, 1]):
    """out[j] = first i with a[i] >= q[j] (len(a) if none), by binary search."""
    for j in pxos.parallel(len(q)):
        v = q[j]
        lo = i64(0)
        hi = i64(len(a))
        c = i32(0)
        while lo < hi:
            m = lo + (hi - lo) // 2
            c += 1
            if a[m] >= v:
                hi = m
            else:
                lo = m + 1
        out[j] = lo
        comps[j] = c


@pxos.kernel
def ternary_peak_kernel(f, out: Array[i64, 1], comps: Array[i32, 1]):
    """out[r] = argmax of row f[r] (rises strictly, then falls strictly), ternary search."""
    for r in pxos.parallel(f.shape[0]):
        lo = i64(0)
        hi = i64(f.shape[1] - 1)
        c = i32(0)
        while hi - lo > 2:
            third = (hi - lo) // 3
            m1 = lo + third
            m2 = hi - third
            c += 1
            if f[r, m1] < f[r, m2]:
                lo = m1 + 1
            else:
                hi = m2 - 1
        best = lo
        k = lo + 1
        while k <= hi:
            c += 1
            if f[r, k] > f[r, best]:
                best = k
            k += 1
        out[r] = best
        comps[r] = c


@pxos.kernel
def binary_peak_kernel(f, out: Array[i64, 1], comps: Array[i32, 1]):
    """out[r] = argmax of row f[r] by binary search on the slope f[m] < f[m + 1]."""
    for r in pxos.parallel(f.shape[0]):
        lo = i64(0)
        hi = i64(f.shape[1] - 1)
        c = i32(0)
        while lo < hi:
            m = lo + (hi - lo) // 2
            c += 1
            if f[r, m] < f[r, m + 1]:
                lo = m + 1
            else:
                hi = m
        out[r] = lo
        comps[r] = c


def _numeric(x, name: str, ndim: int) -> np.ndarray:
    x = np.ascontiguousarray(x)
    if x.dtype.kind not in "iuf" or x.ndim != ndim:
        raise PxTypeError(f"{name} must be a {ndim}-D integer or float array, got "
                          f"{x.dtype} with shape {x.shape}")
    return x


def _method(method: str):
    if method not in ("ternary", "binary"):
        raise PxArgumentError(f"method must be 'ternary' or 'binary', got {method!r}")


def searchsorted(a, q, method: str = "ternary", return_comparisons: bool = False,
                 device: str | None = None):
    """For each query, the first index ``i`` with ``a[i] >= q[j]`` (``len(a)`` if none).

    Args:
        a: 1-D sorted array (ascending; integers or floats); q: 1-D queries of the same
            dtype (converted if not).
        method: ``"ternary"`` or ``"binary"``.
        return_comparisons: also return the element comparisons per query (int32).

    Returns:
        int64 indices, equal to ``numpy.searchsorted(a, q)``; with the comparisons if asked.

    Raises:
        PxTypeError: not 1-D numeric arrays. PxArgumentError: an unknown method, or an
            empty ``a``.
    """
    _method(method)
    a = _numeric(a, "a", 1)
    q = _numeric(np.asarray(q, a.dtype), "q", 1)
    if a.size == 0:
        raise PxArgumentError("searchsorted needs a non-empty sorted array")
    out, comps = np.empty(q.size, np.int64), np.empty(q.size, np.int32)
    if q.size:
        kern = ternary_sorted_kernel if method == "ternary" else binary_sorted_kernel
        kern(a, q, out, comps, device=device)
    return (out, comps) if return_comparisons else out


def argmax_unimodal(f, method: str = "ternary", return_comparisons: bool = False,
                    device: str | None = None):
    """For each row of ``f`` (rows × n: strictly rising, then strictly falling; either part
    may be empty), the index of its maximum. ``argmin_unimodal`` of ``-f`` gives minima.

    Returns:
        int64 indices (``numpy.argmax(f, axis=1)`` for such rows); with the comparisons per
        row if asked. A row with a plateau beside its peak may give another index.

    Raises:
        PxTypeError: not a 2-D numeric array. PxArgumentError: an unknown method or n = 0.
    """
    _method(method)
    f = _numeric(f, "f", 2)
    if f.shape[1] == 0:
        raise PxArgumentError("argmax_unimodal needs rows of at least one element")
    out, comps = np.empty(f.shape[0], np.int64), np.empty(f.shape[0], np.int32)
    if f.shape[0]:
        kern = ternary_peak_kernel if method == "ternary" else binary_peak_kernel
        kern(f, out, comps, device=device)
    return (out, comps) if return_comparisons else out


def argmin_unimodal(f, method: str = "ternary", return_comparisons: bool = False,
                    device: str | None = None):
    """The index of each row's minimum, for rows that fall then rise (as
    :func:`argmax_unimodal` of ``-f``)."""
    f = _numeric(f, "f", 2)
    return argmax_unimodal(-f if f.dtype.kind != "u" else f.max() - f, method,
                           return_comparisons, device)


__all__ = ["argmax_unimodal", "argmin_unimodal", "searchsorted"]
