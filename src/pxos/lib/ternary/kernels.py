"""The kernels behind ``pxos.ternary``'s numbers: conversion, arithmetic, comparison.

Each works on a batch of numbers stored as a 2-D int8 array ``(count, width)`` of trits in
−1..1, least significant trit first; one thread handles one number. They are plain
``@pxos.kernel`` functions, so they run on every backend (``c``, ``opencl``, ``cuda``,
``interp``); :mod:`pxos.lib.ternary.numbers` wraps them with shapes and checks.
"""

from __future__ import annotations

import pxos
from pxos import Array, i8, i32, i64, u8

# (2**63 - 1) // 3: |v| <= HI means 3*v + t cannot overflow int64 for a trit t
HI = 3074457345618258602


@pxos.kernel
def encode_rows(x: Array[i64, 1], t: Array[i8, 2], rest: Array[i64, 1]):
    """t[i] = the trits of x[i]; rest[i] = what is left above the top trit (0: it fits)."""
    for i in pxos.parallel(len(x)):
        v = x[i]
        for k in range(t.shape[1]):
            q = v // 3                 # floor: r in 0..2, no overflow even at -2**63
            r = v - q * 3
            if r == 2:
                r = -1
                q += 1
            t[i, k] = i8(r)
            v = q
        rest[i] = v


@pxos.kernel
def decode_rows(t: Array[i8, 2], x: Array[i64, 1], overflow: Array[i8, 1]):
    """x[i] = the value of row t[i] (Horner from the top); overflow[i] = 1 where it does not
    fit int64 (x[i] is then meaningless)."""
    for i in pxos.parallel(t.shape[0]):
        v = i64(0)
        bad = i8(0)
        k = t.shape[1] - 1
        while k >= 0:
            d = i64(t[i, k])
            if v > HI or v < -HI - 1 or (v == -HI - 1 and d < 1):
                bad = i8(1)
                break
            v = v * 2 + (v + d)         # 3v + d, with no intermediate past int64
            k -= 1
        x[i] = v
        overflow[i] = bad


@pxos.kernel
def add_rows(a: Array[i8, 2], b: Array[i8, 2], sign_b: i32, out: Array[i8, 2]):
    """out[i] = a[i] + sign_b * b[i] (ripple carry; out is one trit wider than a and b)."""
    for i in pxos.parallel(out.shape[0]):
        carry = i32(0)
        for k in range(out.shape[1]):
            s = carry
            if k < a.shape[1]:
                s += i32(a[i, k])
            if k < b.shape[1]:
                s += sign_b * i32(b[i, k])
            carry = i32(s >= 2) - i32(s <= -2)   # s in -3..3: no division needed
            out[i, k] = i8(s - 3 * carry)


@pxos.kernel
def mul_rows(a: Array[i8, 2], b: Array[i8, 2], out: Array[i8, 2]):
    """out[i] = a[i] * b[i] (column sums of the trit products, then one carry pass;
    out has a.shape[1] + b.shape[1] trits, which always hold the product)."""
    for i in pxos.parallel(out.shape[0]):
        carry = i32(0)
        wa = a.shape[1]
        wb = b.shape[1]
        for k in range(out.shape[1]):
            s = carry
            j = max(0, k - wb + 1)
            while j < wa and j <= k:
                s += i32(a[i, j]) * i32(b[i, k - j])
                j += 1
            d = (s + 1) % 3 - 1
            carry = (s - d) // 3
            out[i, k] = i8(d)


@pxos.kernel
def compare_rows(a: Array[i8, 2], b: Array[i8, 2], out: Array[i8, 1]):
    """out[i] = sign(a[i] - b[i]): the first differing trit from the top decides."""
    for i in pxos.parallel(len(out)):
        r = i8(0)
        k = max(a.shape[1], b.shape[1]) - 1
        while k >= 0:
            x = i32(0)
            if k < a.shape[1]:
                x = i32(a[i, k])
            y = i32(0)
            if k < b.shape[1]:
                y = i32(b[i, k])
            if x != y:
                r = i8(1)
                if x < y:
                    r = i8(-1)
                break
            k -= 1
        out[i] = r


@pxos.kernel
def sign_rows(t: Array[i8, 2], out: Array[i8, 1]):
    """out[i] = the sign of row t[i]: its most significant nonzero trit."""
    for i in pxos.parallel(len(out)):
        r = i8(0)
        k = t.shape[1] - 1
        while k >= 0:
            if t[i, k] != 0:
                r = t[i, k]
                break
            k -= 1
        out[i] = r


@pxos.kernel
def scale_rows(t: Array[i8, 2], s: Array[i8, 1], out: Array[i8, 2]):
    """out[i] = s[i] * t[i] for s[i] in -1..1 (negation, absolute value)."""
    for i, k in pxos.parallel(t.shape[0], t.shape[1]):
        out[i, k] = i8(s[i] * t[i, k])


@pxos.kernel
def pack_rows(t: Array[i8, 2], p: Array[u8, 2]):
    """p[i, j] = sum over m < 5 of (t[i, 5j+m] + 1) * 3**m: five trits per byte."""
    for i, j in pxos.parallel(p.shape[0], p.shape[1]):
        v = i32(0)
        m = 4
        while m >= 0:
            k = j * 5 + m
            d = i32(0)
            if k < t.shape[1]:
                d = i32(t[i, k])
            v = v * 3 + d + 1
            m -= 1
        p[i, j] = u8(v)


@pxos.kernel
def unpack_rows(p: Array[u8, 2], t: Array[i8, 2]):
    """The inverse of :func:`pack_rows` (t's width says how many trits to keep)."""
    for i, k in pxos.parallel(t.shape[0], t.shape[1]):
        v = i32(p[i, k // 5])
        m = k % 5
        while m > 0:
            v = v // 3
            m -= 1
        t[i, k] = i8(v % 3 - 1)
