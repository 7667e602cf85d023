"""Balanced-ternary numbers: conversion to and from integers, strings and packed bytes.

A number is an int8 array of trits in −1..1, least significant first; a batch of numbers
is an array of shape ``(..., width)``. The value of trits ``t`` is ``sum(t[k] * 3**k)``.
int64 batches convert in kernels (:mod:`pxos.lib.ternary.kernels`); Python ints of any
size convert on the host.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxArgumentError, PxRuntimeError, PxTypeError
from pxos.lib.ternary import kernels as K
from pxos.lib.ternary import words_rows as WR

INT64_TRITS = 41  # (3**41 - 1) / 2 > 2**63: 41 trits hold every int64
_DIGITS = {"T": -1, "0": 0, "1": 1}
_CHARS = "T01"


def width_for(m: int) -> int:
    """The fewest trits that hold every integer of magnitude <= ``m`` (at least 1)."""
    w, top = 1, 1                          # top = (3**w - 1) // 2
    while top < m:
        w, top = w + 1, 3 * top + 1
    return w


def _int_trits(n: int, width: int) -> np.ndarray:
    out = np.zeros(width, np.int8)
    v = n
    for k in range(width):
        q, r = divmod(v, 3)
        if r == 2:
            r, q = -1, q + 1
        out[k] = r
        v = q
        if v == 0:
            break
    if v != 0:
        raise PxArgumentError(f"{n} does not fit in {width} trits "
                              f"(it needs {width_for(abs(n))})")
    return out


def encode(x, width: int | None = None, device: str | None = None) -> np.ndarray:
    """Integers to balanced-ternary trits.

    Args:
        x: a Python int (any size), or a NumPy integer array (any shape; an object array
            of Python ints for values beyond 64 bits).
        width: trits per number; default the fewest that hold the largest magnitude.
        device: the backend for the kernel (default: the planner's choice).

    Returns:
        int8 array ``x.shape + (width,)`` of trits in −1..1, least significant first.

    Raises:
        PxTypeError: ``x`` is not an integer or integer array.
        PxArgumentError: a value does not fit in ``width`` trits (its index is named).
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer, np.ndarray)):
        raise PxTypeError(f"encode takes an int or a NumPy integer array, got "
                          f"{type(x).__name__}")
    if isinstance(x, (int, np.integer)):
        n = int(x)
        return _int_trits(n, width or width_for(abs(n)))
    if width is not None and width < 1:
        raise PxArgumentError(f"width must be at least 1, got {width}")
    if x.dtype == object or (x.dtype == np.uint64 and x.size and x.max() > 2**63 - 1):
        return _encode_objects(x, width)
    if x.dtype.kind not in "iu":
        raise PxTypeError(f"encode takes integers, got an array of {x.dtype}")
    flat = np.ascontiguousarray(x, dtype=np.int64).reshape(-1)
    if width is None:
        big = 0 if flat.size == 0 else max(abs(int(flat.min())), abs(int(flat.max())))
        width = width_for(big)
    t = np.empty((flat.size, width), np.int8)
    rest = np.empty(flat.size, np.int64)
    if device == "cuda" and WR.rows_applies(flat.size, width):   # every int64 fits
        threads, stride = WR.rows_launch(flat.size)
        WR.encode_rows41(flat, t.reshape(-1).view(np.uint64), stride, device=device,
                         threads=threads)
    elif flat.size:
        K.encode_rows(flat, t, rest, device=device)
        bad = np.flatnonzero(rest)
        if bad.size:
            at = np.unravel_index(bad[0], x.shape)
            v = int(flat[bad[0]])
            raise PxArgumentError(f"x[{', '.join(map(str, at))}] = {v} does not fit in "
                                  f"{width} trits (it needs {width_for(abs(v))})")
    return t.reshape(x.shape + (width,))


def _encode_objects(x: np.ndarray, width: int | None) -> np.ndarray:
    values = [int(v) for v in x.reshape(-1)]
    if any(isinstance(v, bool) for v in x.reshape(-1)):
        raise PxTypeError("encode takes integers, got a bool")
    width = width or width_for(max((abs(v) for v in values), default=0))
    out = np.zeros((len(values), width), np.int8)
    for i, v in enumerate(values):
        out[i] = _int_trits(v, width)
    return out.reshape(x.shape + (width,))


def check_trits(t, name: str = "t") -> np.ndarray:
    """``t`` as a C-contiguous int8 array of at least one dimension, every element in −1..1.

    Raises:
        PxTypeError: not an integer array.
        PxArgumentError: a trit outside −1..1 (its position is named), or no trit axis.
    """
    t = np.asarray(t)
    if t.dtype.kind not in "iu" and t.dtype != np.bool_:
        raise PxTypeError(f"{name} must be an integer array of trits, got {t.dtype}")
    if t.ndim == 0 or t.shape[-1] == 0:
        raise PxArgumentError(f"{name} needs a last axis of at least one trit, "
                              f"got shape {t.shape}")
    if t.dtype == np.int8 and t.size and (t.min() >= -1 and t.max() <= 1):
        return np.ascontiguousarray(t)
    bad = np.argwhere((t < -1) | (t > 1))
    if bad.size:
        at = tuple(int(v) for v in bad[0])
        raise PxArgumentError(f"{name}[{', '.join(map(str, at))}] = {t[at]} is not a trit "
                              f"(trits are -1, 0 and 1)")
    return np.ascontiguousarray(t, dtype=np.int8)


def rows(t: np.ndarray) -> np.ndarray:
    """A checked trit array as the 2-D ``(count, width)`` batch the kernels take."""
    return t.reshape(-1, t.shape[-1])


def decode(t, device: str | None = None):
    """Trits to integers.

    Args:
        t: trits ``(..., width)``, least significant first.

    Returns:
        An int64 array of shape ``t.shape[:-1]``; for one number (a 1-D ``t``), a Python
        int, which may be wider than 64 bits.

    Raises:
        PxArgumentError: a trit outside −1..1 (position named).
        PxRuntimeError: a number of a batch does not fit int64 (index named; use
            :func:`to_ints` for exact Python ints). Never a silent wrap.
    """
    t = check_trits(t)
    if t.ndim == 1:
        return to_int(t)
    flat = rows(t)
    x = np.empty(flat.shape[0], np.int64)
    overflow = np.empty(flat.shape[0], np.int8)
    if device == "cuda" and WR.rows_applies(*flat.shape):
        threads, stride = WR.rows_launch(flat.shape[0], block=WR.DECODE_BLOCK)
        WR.decode_rows41(flat.reshape(-1).view(np.uint64), x, overflow, stride, device=device,
                         threads=threads)
    elif flat.shape[0]:
        K.decode_rows(flat, x, overflow, device=device)
    bad = np.flatnonzero(overflow)
    if bad.size:
        at = np.unravel_index(bad[0], t.shape[:-1])
        raise PxRuntimeError(f"number [{', '.join(map(str, at))}] = {to_int(flat[bad[0]])} "
                             f"does not fit int64", None,
                             "use pxos.ternary.to_ints for exact Python ints")
    return x.reshape(t.shape[:-1])


def to_int(t) -> int:
    """One number's trits (1-D) as a Python int of any size."""
    t = check_trits(t)
    v = 0
    for d in t[::-1].tolist():
        v = 3 * v + d
    return v


def to_ints(t) -> np.ndarray:
    """A batch ``(..., width)`` as an object array of exact Python ints, shape ``t.shape[:-1]``."""
    t = check_trits(t)
    flat = rows(t)
    out = np.empty(flat.shape[0], object)
    for i in range(flat.shape[0]):
        out[i] = to_int(flat[i])
    return out.reshape(t.shape[:-1])


def to_str(t) -> str | np.ndarray:
    """Trits as text, most significant first, ``T`` for −1, no leading zeros (``"0"`` for
    zero): ``to_str(encode(6)) == "1T0"``. A batch gives an object array of strings."""
    t = check_trits(t)
    if t.ndim > 1:
        flat = rows(t)
        out = np.empty(flat.shape[0], object)
        for i in range(flat.shape[0]):
            out[i] = to_str(flat[i])
        return out.reshape(t.shape[:-1])
    s = "".join(_CHARS[d + 1] for d in t[::-1].tolist()).lstrip("0")
    return s or "0"


def from_str(s: str, width: int | None = None) -> np.ndarray:
    """Text (``1``, ``0``, ``T`` for −1; most significant first) to a 1-D trit array.

    Raises:
        PxArgumentError: an empty string, a character other than 1, 0, T (its position,
            counted from 1, is named), or more significant trits than ``width``.
    """
    if not isinstance(s, str):
        raise PxTypeError(f"from_str takes a str, got {type(s).__name__}")
    if not s:
        raise PxArgumentError("an empty string is not a balanced-ternary number")
    for pos, ch in enumerate(s, 1):
        if ch not in _DIGITS:
            raise PxArgumentError(f"character {pos} of {s[:40]!r} is {ch!r}; balanced "
                                  f"ternary uses 1, 0 and T (for -1)")
    digits = s.lstrip("0") or "0"
    width = width or len(digits)
    if len(digits) > width:
        raise PxArgumentError(f"{s!r} has {len(digits)} significant trits, more than "
                              f"width {width}")
    out = np.zeros(width, np.int8)
    out[:len(digits)] = [_DIGITS[c] for c in reversed(digits)]
    return out


def pack(t, device: str | None = None) -> np.ndarray:
    """Trits ``(..., width)`` to bytes ``(..., ceil(width / 5))``, five trits per byte
    (``sum((t + 1) * 3**m)``, 243 of 256 codes: 1.6 bits per trit, 1 % above the 1.585
    bound; 2 bits per trit would take 25 % more). :func:`unpack` inverts it."""
    t = check_trits(t)
    p = np.empty(t.shape[:-1] + (-(-t.shape[-1] // 5),), np.uint8)
    if p.size:
        K.pack_rows(rows(t), p.reshape(-1, p.shape[-1]), device=device)
    return p


def unpack(p, width: int, device: str | None = None) -> np.ndarray:
    """Bytes from :func:`pack` back to int8 trits ``(..., width)``.

    Raises:
        PxArgumentError: ``p`` is not uint8, a byte is above 242, or ``width`` does not
            match the number of bytes.
    """
    p = np.ascontiguousarray(p)
    if p.dtype != np.uint8 or p.ndim == 0:
        raise PxTypeError(f"unpack takes a uint8 array from pack, got {p.dtype}")
    if p.shape[-1] != -(-width // 5):
        raise PxArgumentError(f"{p.shape[-1]} bytes hold {5 * p.shape[-1] - 4}.."
                              f"{5 * p.shape[-1]} trits, not width {width}")
    bad = np.argwhere(p > 242)
    if bad.size:
        at = tuple(int(v) for v in bad[0])
        raise PxArgumentError(f"p[{', '.join(map(str, at))}] = {p[at]} is not a packed "
                              f"byte (0..242)")
    t = np.empty(p.shape[:-1] + (width,), np.int8)
    if t.size:
        K.unpack_rows(p.reshape(-1, p.shape[-1]), t.reshape(-1, width), device=device)
    return t
