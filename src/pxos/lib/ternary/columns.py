"""The planes kernels of :mod:`pxos.lib.ternary.planes` for device backends (a GPU, an
OpenCL or WebGPU device): one thread per number (a column of the digit-major array), its
carry and value in registers, adjacent threads reading and writing adjacent bytes of each
digit row (coalesced). Same arguments and results as the CPU kernels there, less
``chunk``.
"""

from __future__ import annotations

import pxos
from pxos import Array, i8, i32, i64
from pxos.lib.ternary.kernels import HI


@pxos.kernel
def encode_columns(x: Array[i64, 1], t: Array[i8, 2], rest: Array[i64, 1]):
    """t[:, i] = the trits of x[i]; rest[i] = what is left above the top digit."""
    for i in pxos.parallel(x.shape[0]):
        v = x[i]
        for k in range(t.shape[0]):
            q = v // 3                 # floor: r in 0..2, no overflow even at -2**63
            r = v - q * 3
            up = i64(r == 2)
            t[k, i] = i8(r - 3 * up)
            v = q + up
        rest[i] = v


@pxos.kernel
def decode_columns(t: Array[i8, 2], x: Array[i64, 1], overflow: Array[i8, 1]):
    """x[i] = the value of column i (Horner from the top); overflow[i] = 1 where it does
    not fit int64."""
    for i in pxos.parallel(t.shape[1]):
        v = i64(0)
        bad = i8(0)
        k = t.shape[0] - 1
        while k >= 0:
            d = i64(t[k, i])
            if v > HI or v < -HI - 1 or (v == -HI - 1 and d < 1):
                bad = i8(1)
            v = v * 2 + (v + d)
            k -= 1
        x[i] = v
        overflow[i] = bad


@pxos.kernel
def add_columns(a: Array[i8, 2], b: Array[i8, 2], sign_b: i8, out: Array[i8, 2]):
    """out = a + sign_b * b for planes of equal width (out one digit wider)."""
    for i in pxos.parallel(a.shape[1]):
        carry = i32(0)
        for k in range(a.shape[0]):
            s = carry + i32(a[k, i]) + i32(sign_b) * i32(b[k, i])
            carry = i32(s >= 2) - i32(s <= -2)
            out[k, i] = i8(s - 3 * carry)
        out[a.shape[0], i] = i8(carry)


@pxos.kernel
def mul_columns(a: Array[i8, 2], b: Array[i8, 2], out: Array[i8, 2]):
    """out = a * b (wa + wb digits): column sums of the trit products, one carry pass."""
    for i in pxos.parallel(a.shape[1]):
        carry = i32(0)
        wa = a.shape[0]
        wb = b.shape[0]
        for k in range(wa + wb):
            s = carry
            j = max(0, k - wb + 1)
            while j < wa and j <= k:
                s += i32(a[j, i]) * i32(b[k - j, i])
                j += 1
            d = (s + 1) % 3 - 1
            carry = (s - d) // 3
            out[k, i] = i8(d)


@pxos.kernel
def compare_columns(a: Array[i8, 2], b: Array[i8, 2], out: Array[i8, 1]):
    """out[i] = sign(a[:, i] - b[:, i]) for planes of equal width."""
    for i in pxos.parallel(a.shape[1]):
        r = i8(0)
        k = a.shape[0] - 1
        while k >= 0 and r == 0:
            r = i8(a[k, i] > b[k, i]) - i8(a[k, i] < b[k, i])
            k -= 1
        out[i] = r


__all__ = ["add_columns", "compare_columns", "decode_columns", "encode_columns",
           "mul_columns"]
