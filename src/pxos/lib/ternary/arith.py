"""Exact balanced-ternary arithmetic on batches of trit arrays.

Operands are trit arrays ``(..., width)`` (least significant first); their leading axes
broadcast as NumPy's do, and their widths may differ. Results are wide enough to be exact:
``add``/``sub`` give ``max(wa, wb) + 1`` trits, ``mul`` gives ``wa + wb``. Nothing
overflows and nothing rounds, except where a function says it rounds.

Division follows Python's ``divmod``: the quotient is rounded toward −∞ (floor) and the
remainder has the sign of the divisor, so ``a == q * b + r`` and ``0 <= |r| < |b|``.
"""

from __future__ import annotations

import builtins

import numpy as np

from pxos.errors import PxArgumentError, PxRuntimeError
from pxos.lib.ternary import kernels as K
from pxos.lib.ternary.convert import (
    INT64_TRITS, check_trits, decode, encode, rows, to_ints, width_for,
)


def _pair(a, b):
    a, b = check_trits(a, "a"), check_trits(b, "b")
    lead = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    if a.shape[:-1] != lead:
        a = np.ascontiguousarray(np.broadcast_to(a, lead + a.shape[-1:]))
    if b.shape[:-1] != lead:
        b = np.ascontiguousarray(np.broadcast_to(b, lead + b.shape[-1:]))
    return a, b, lead


def _add(a, b, sign_b: int, device):
    a, b, lead = _pair(a, b)
    out = np.empty(lead + (max(a.shape[-1], b.shape[-1]) + 1,), np.int8)
    if out.size:
        K.add_rows(rows(a), rows(b), sign_b, rows(out), device=device)
    return out


def add(a, b, device: str | None = None) -> np.ndarray:
    """``a + b``, exact: int8 trits ``(..., max(wa, wb) + 1)``.

    Raises:
        PxArgumentError: a trit outside −1..1 (position named), or shapes that do not
            broadcast.
    """
    return _add(a, b, 1, device)


def sub(a, b, device: str | None = None) -> np.ndarray:
    """``a - b``, exact: int8 trits ``(..., max(wa, wb) + 1)`` (as :func:`add`)."""
    return _add(a, b, -1, device)


def mul(a, b, device: str | None = None) -> np.ndarray:
    """``a * b``, exact: int8 trits ``(..., wa + wb)`` (as :func:`add`)."""
    a, b, lead = _pair(a, b)
    out = np.empty(lead + (a.shape[-1] + b.shape[-1],), np.int8)
    if out.size:
        K.mul_rows(rows(a), rows(b), rows(out), device=device)
    return out


def compare(a, b, device: str | None = None):
    """``sign(a - b)``: −1, 0 or 1 per number (an int8 array of the broadcast leading
    shape; a Python int for two single numbers)."""
    a, b, lead = _pair(a, b)
    out = np.empty(lead, np.int8)
    if out.size:
        K.compare_rows(rows(a), rows(b), out.reshape(-1), device=device)
    return int(out) if out.ndim == 0 else out


def sign(t, device: str | None = None):
    """The sign of each number (int8 array of ``t.shape[:-1]``; a Python int for one
    number): its most significant nonzero trit."""
    t = check_trits(t)
    out = np.empty(t.shape[:-1], np.int8)
    if out.size:
        K.sign_rows(rows(t), out.reshape(-1), device=device)
    return int(out) if out.ndim == 0 else out


def _scaled(t, s, device):
    out = np.empty_like(t)
    if out.size:
        K.scale_rows(rows(t), np.ascontiguousarray(s, np.int8).reshape(-1), rows(out),
                     device=device)
    return out


def neg(t, device: str | None = None) -> np.ndarray:
    """``-t``: every trit negated (same shape; never overflows, the range is symmetric)."""
    t = check_trits(t)
    return _scaled(t, np.full(t.shape[:-1], -1, np.int8), device)


def abs(t, device: str | None = None) -> np.ndarray:  # noqa: A001 (the issue's name)
    """``|t|``, same shape."""
    t = check_trits(t)
    return _scaled(t, sign(t, device), device)


def shift_left(t, k: int) -> np.ndarray:
    """``t * 3**k``: ``k`` zero trits below, ``width + k`` trits."""
    t = check_trits(t)
    if k < 0:
        raise PxArgumentError(f"shift_left needs k >= 0, got {k}; use shift_right")
    return np.concatenate([np.zeros(t.shape[:-1] + (k,), np.int8), t], axis=-1)


def shift_right(t, k: int) -> np.ndarray:
    """``t / 3**k`` rounded to the nearest integer (balanced ternary's truncation is
    rounding to nearest; ties cannot happen as 3**k is odd): the top ``width - k`` trits
    (one zero trit if ``k >= width``)."""
    t = check_trits(t)
    if k < 0:
        raise PxArgumentError(f"shift_right needs k >= 0, got {k}; use shift_left")
    if k >= t.shape[-1]:
        return np.zeros(t.shape[:-1] + (1,), np.int8)
    return np.ascontiguousarray(t[..., k:])


def divmod(a, b, device: str | None = None):  # noqa: A001 (the issue's name)
    """Floor division, as Python's ``divmod``: ``(q, r)`` with ``a == q*b + r``, ``r`` of
    the sign of ``b`` and ``|r| < |b|``. ``q`` has ``wa`` trits, ``r`` has ``wb``.

    Numbers of at most 40 trits divide in int64 between the conversion kernels; wider
    ones divide as exact Python ints on the host.

    Raises:
        PxRuntimeError: a divisor is zero (its index is named).
    """
    a, b, lead = _pair(a, b)
    wa, wb = a.shape[-1], b.shape[-1]
    zero = np.argwhere(sign(b.reshape((-1,) + b.shape[-1:]), device) == 0)
    if zero.size:
        at = np.unravel_index(int(zero[0][0]), lead) if lead else ()
        raise PxRuntimeError(f"division by zero: b[{', '.join(map(str, at))}] is 0")
    if builtins.max(wa, wb) < INT64_TRITS:
        x = decode(a.reshape((-1, wa)), device)
        y = decode(b.reshape((-1, wb)), device)
        q, r = np.divmod(x, y)
    else:
        x = to_ints(a.reshape((-1, wa)))
        y = to_ints(b.reshape((-1, wb)))
        q = np.array([v // w for v, w in zip(x, y)] + [None], object)[:-1]
        r = np.array([v % w for v, w in zip(x, y)] + [None], object)[:-1]
    return (encode(q, builtins.max(wa, 1), device).reshape(lead + (wa,)),
            encode(r, wb, device).reshape(lead + (wb,)))


def fit(t) -> np.ndarray:
    """``t`` with the zero trits above the largest number's top nonzero trit removed."""
    t = check_trits(t)
    nonzero = np.flatnonzero(np.any(rows(t) != 0, axis=0))
    return np.ascontiguousarray(t[..., :builtins.max(1, nonzero[-1] + 1 if nonzero.size else 1)])


__all__ = ["abs", "add", "compare", "divmod", "fit", "mul", "neg", "shift_left",
           "shift_right", "sign", "sub", "width_for"]
