"""Digit-major batches of balanced-ternary numbers ("planes"): the layout for throughput.

A planes array is int8 ``(width, count)``: row ``k`` holds trit ``k`` (least significant
first) of every number, so the trits of one digit of many numbers are contiguous (a
structure of arrays). The kernels here walk the digits in order and, for each digit, a run
of :data:`CHUNK` numbers at once (one CPU thread): that inner loop has no dependence
between numbers, and gcc vectorises it (32 numbers per AVX2 instruction), so the carry
chain of each number advances for 32 numbers in one step. On a device backend (a GPU, an
OpenCL or WebGPU device) the kernels of :mod:`pxos.lib.ternary.columns` run instead: one
thread per number, adjacent threads reading adjacent bytes. The carry into
digit ``k`` is kept in ``out[k]`` until digit ``k`` is written, so no scratch is needed.

The results equal :mod:`pxos.lib.ternary.arith`'s on the same numbers (``add``/``sub``:
``max(wa, wb) + 1`` trits, ``mul``: ``wa + wb``, ``compare``: −1/0/1), which the tests
check, along with Python ints.
"""

from __future__ import annotations

import numpy as np

import pxos
from pxos import Array, i8, i16, i64, registry
from pxos.errors import PxArgumentError, PxRuntimeError, PxShapeError
from pxos.lib.ternary import arith
from pxos.lib.ternary import columns as C
from pxos.lib.ternary import words as W
from pxos.lib.ternary import words_wide as WW
from pxos.lib.ternary.convert import check_trits, to_int, width_for
from pxos.lib.ternary.convert import encode as encode_trits
from pxos.lib.ternary.kernels import HI

CHUNK = 1024      # numbers per CPU thread: 1 KB of each digit row, 32 AVX2 vectors
MUL_TRITS = 40    # |column sum| <= 40 + 20 (carry) fits int8: the widest short operand


@pxos.kernel
def add_planes(a: Array[i8, 2], b: Array[i8, 2], sign_b: i8, out: Array[i8, 2]):
    """out = a + sign_b * b (sign_b = ±1) for planes of equal width w; out has w + 1 rows.
    A digit sums to -3..3 (carry in and two trits): a carry of ±1 leaves -1..1."""
    for c in pxos.parallel((a.shape[1] + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, a.shape[1])
        for i in range(lo, hi):
            out[0, i] = i8(0)
        for k in range(a.shape[0]):
            for i in range(lo, hi):
                s = out[k, i] + a[k, i] + pxos.select(sign_b > i8(0), b[k, i], -b[k, i])
                carry = i8(s >= 2) - i8(s <= -2)
                out[k, i] = s - i8(3) * carry
                out[k + 1, i] = carry


@pxos.kernel
def mul_planes(a: Array[i8, 2], b: Array[i8, 2], out: Array[i8, 2]):
    """out = a * b (wa + wb rows): column k gathers the trit products a[j] * b[k - j]
    (two per pass) onto its carry, then keeps a trit and carries the rest. Needs
    min(wa, wb) <= MUL_TRITS, so that a column sum fits int8."""
    for c in pxos.parallel((a.shape[1] + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, a.shape[1])
        wa = a.shape[0]
        wb = b.shape[0]
        for i in range(lo, hi):
            out[0, i] = i8(0)
        for k in range(wa + wb):
            j = max(0, k - wb + 1)
            end = min(wa, k + 1)
            while j + 1 < end:
                for i in range(lo, hi):
                    out[k, i] += a[j, i] * b[k - j, i] + a[j + 1, i] * b[k - j - 1, i]
                j += 2
            if j < end:
                for i in range(lo, hi):
                    out[k, i] += a[j, i] * b[k - j, i]
            if k + 1 < wa + wb:
                for i in range(lo, hi):
                    s = i16(out[k, i])
                    q = (s + i16(64)) // i16(3) - i16(21)     # floor((s + 1) / 3), s >= -64
                    out[k, i] = i8(s - q * i16(3))
                    out[k + 1, i] = i8(q)


@pxos.kernel
def compare_planes(a: Array[i8, 2], b: Array[i8, 2], out: Array[i8, 1]):
    """out[i] = sign(a[:, i] - b[:, i]) for planes of equal width: the first differing
    digit from the top decides."""
    for c in pxos.parallel((a.shape[1] + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, a.shape[1])
        for i in range(lo, hi):
            out[i] = i8(0)
        k = a.shape[0] - 1
        while k >= 0:
            for i in range(lo, hi):
                d = i8(a[k, i] > b[k, i]) - i8(a[k, i] < b[k, i])
                out[i] = pxos.select(out[i] == i8(0), d, out[i])
            k -= 1


@pxos.kernel
def encode_planes(x: Array[i64, 1], t: Array[i8, 2], rest: Array[i64, 1]):
    """t[:, i] = the trits of x[i] (floor division by 3; a digit of 2 becomes -1 with a
    carry: no overflow even at -2**63); rest[i] = what is left above the top digit."""
    for c in pxos.parallel((x.shape[0] + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, x.shape[0])
        for i in range(lo, hi):
            rest[i] = x[i]
        for k in range(t.shape[0]):
            for i in range(lo, hi):
                v = rest[i]
                q = v // 3
                r = v - q * 3
                up = i64(r == 2)
                t[k, i] = i8(r - 3 * up)
                rest[i] = q + up


@pxos.kernel
def decode_planes(t: Array[i8, 2], x: Array[i64, 1], overflow: Array[i8, 1]):
    """x[i] = the value of column i (Horner from the top digit); overflow[i] = 1 where it
    does not fit int64 (x[i] is then meaningless)."""
    for c in pxos.parallel((t.shape[1] + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, t.shape[1])
        for i in range(lo, hi):
            x[i] = i64(0)
            overflow[i] = i8(0)
        k = t.shape[0] - 1
        while k >= 0:
            for i in range(lo, hi):
                v = x[i]
                d = i64(t[k, i])
                bad = (v > HI) | (v < -HI - 1) | ((v == -HI - 1) & (d < 1))
                overflow[i] = overflow[i] | i8(bad)
                x[i] = v * 2 + (v + d)           # 3v + d, no intermediate past int64
            k -= 1


def _on_device(device: str | None) -> bool:
    """Whether ``device`` keeps arrays in memory of its own (a GPU, an OpenCL or WebGPU
    device: many cheap threads), where :mod:`pxos.lib.ternary.columns` runs instead."""
    return device is not None and registry.has_device_memory(device)


def _by_words(width: int, count: int, device: str | None) -> bool:
    """Whether the 4-numbers-a-thread kernels (:func:`words.encode_words
    <pxos.lib.ternary.words.encode_words>`, ``decode_words``) apply: a device backend,
    at least 41 digits (every int64 fits) and a count that is a multiple of 4."""
    return _on_device(device) and width >= 41 and count % W.PACKED == 0


def to_planes(t) -> np.ndarray:
    """Trits ``(..., width)`` (any batch shape) to planes ``(width, count)``, count the
    number of numbers.

    Raises:
        PxArgumentError: a trit outside −1..1 (its position named).
    """
    t = check_trits(t)
    return np.ascontiguousarray(t.reshape(-1, t.shape[-1]).T)


def from_planes(p, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Planes ``(width, count)`` back to trits ``(count, width)``, or ``shape + (width,)``."""
    p = _planes(p)
    t = np.ascontiguousarray(p.T)
    return t if shape is None else t.reshape(tuple(shape) + (p.shape[0],))


def _planes(p, name: str = "p") -> np.ndarray:
    p = np.asarray(p)
    if p.ndim != 2:
        raise PxShapeError(f"{name} must be planes (width, count), got shape {p.shape}")
    return check_trits(p, name)


def _pair(a, b, pad: bool):
    a, b = _planes(a, "a"), _planes(b, "b")
    if a.shape[1] != b.shape[1]:
        raise PxShapeError(f"a and b hold {a.shape[1]} and {b.shape[1]} numbers; planes "
                           "do not broadcast")
    if pad and a.shape[0] != b.shape[0]:
        w = max(a.shape[0], b.shape[0])
        a, b = (np.concatenate([v, np.zeros((w - v.shape[0], v.shape[1]), np.int8)])
                if v.shape[0] < w else v for v in (a, b))
    return a, b


def encode(x, width: int | None = None, device: str | None = None) -> np.ndarray:
    """Integers (a NumPy integer array, any shape; object arrays of Python ints too) to
    planes ``(width, x.size)``; ``width`` as :func:`encode
    <pxos.lib.ternary.convert.encode>` chooses it.

    Raises:
        PxArgumentError: a value does not fit in ``width`` trits (its index named).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iu" or (x.dtype == np.uint64 and x.size and x.max() > 2**63 - 1):
        return to_planes(encode_trits(x.reshape(-1), width, device))
    flat = np.ascontiguousarray(x, np.int64).reshape(-1)
    if width is None:
        width = width_for(max(abs(int(flat.min())), abs(int(flat.max()))) if flat.size else 0)
    t = np.empty((width, flat.size), np.int8)
    rest = np.zeros(flat.size, np.int64)
    if flat.size and _by_words(width, flat.size, device):   # every int64 fits: no rest
        if device == "cuda" and flat.size % WW.WIDE == 0:    # the H200's best (words_wide)
            threads, stride = W.launch_threads(flat.size // WW.WIDE)
            WW.encode_wide(flat, t.view(np.uint64), stride, device=device, threads=threads)
        else:
            threads, stride = W.launch_threads(flat.size // W.PACKED)
            W.encode_words(flat, t.view(np.uint32), stride, device=device, threads=threads)
    elif flat.size:
        (C.encode_columns if _on_device(device) else encode_planes)(flat, t, rest,
                                                                   device=device)
        bad = np.flatnonzero(rest)
        if bad.size:
            v = int(flat[bad[0]])
            raise PxArgumentError(f"x[{bad[0]}] = {v} does not fit in {width} trits "
                                  f"(it needs {width_for(abs(v))})")
    return t


def decode(p, device: str | None = None) -> np.ndarray:
    """Planes to int64 ``(count,)``.

    Raises:
        PxRuntimeError: a number does not fit int64 (its index named).
    """
    p = _planes(p)
    x = np.empty(p.shape[1], np.int64)
    overflow = np.empty(p.shape[1], np.int8)
    if x.size and _by_words(p.shape[0], x.size, device):
        threads, stride = W.decode_launch(x.size // W.PACKED, device)
        W.decode_words(np.ascontiguousarray(p).view(np.uint32), x, overflow, stride,
                       device=device, threads=threads)
    elif x.size:
        (C.decode_columns if _on_device(device) else decode_planes)(p, x, overflow,
                                                                   device=device)
    bad = np.flatnonzero(overflow) if x.size else ()
    if len(bad):
        raise PxRuntimeError(f"number [{bad[0]}] = {to_int(p[:, bad[0]])} does not "
                             "fit int64", None, "from_planes and pxos.ternary.to_ints give "
                             "exact Python ints")
    return x


def _add(a, b, sign_b: int, device):
    a, b = _pair(a, b, pad=True)
    out = np.empty((a.shape[0] + 1, a.shape[1]), np.int8)
    if out.size:
        (C.add_columns if _on_device(device) else add_planes)(a, b, sign_b, out,
                                                             device=device)
    return out


def add(a, b, device: str | None = None) -> np.ndarray:
    """``a + b`` on planes with the same count: planes ``(max(wa, wb) + 1, count)``.

    Raises:
        PxArgumentError: a trit outside −1..1. PxShapeError: not planes, or counts differ.
    """
    return _add(a, b, 1, device)


def sub(a, b, device: str | None = None) -> np.ndarray:
    """``a - b`` on planes, as :func:`add`."""
    return _add(a, b, -1, device)


def mul(a, b, device: str | None = None) -> np.ndarray:
    """``a * b`` on planes with the same count: planes ``(wa + wb, count)``. Operands
    whose shorter width exceeds :data:`MUL_TRITS` go through :func:`arith.mul
    <pxos.lib.ternary.arith.mul>` (one thread per number)."""
    a, b = _pair(a, b, pad=False)
    if min(a.shape[0], b.shape[0]) > MUL_TRITS:
        return to_planes(arith.mul(a.T, b.T, device))
    out = np.empty((a.shape[0] + b.shape[0], a.shape[1]), np.int8)
    if out.size:
        (C.mul_columns if _on_device(device) else mul_planes)(a, b, out, device=device)
    return out


def compare(a, b, device: str | None = None) -> np.ndarray:
    """``sign(a - b)`` per number: int8 ``(count,)``."""
    a, b = _pair(a, b, pad=True)
    out = np.empty(a.shape[1], np.int8)
    if out.size:
        (C.compare_columns if _on_device(device) else compare_planes)(a, b, out,
                                                                     device=device)
    return out


__all__ = ["CHUNK", "MUL_TRITS", "add", "compare", "decode", "encode", "from_planes", "mul",
           "sub", "to_planes"]
