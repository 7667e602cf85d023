"""The planes kernels of :mod:`pxos.lib.ternary.planes` for device backends (a GPU, an
OpenCL or WebGPU device): one thread per number (a column of the digit-major array), its
carry and value in registers, adjacent threads reading and writing adjacent bytes of each
digit row (coalesced). Same arguments and results as the CPU kernels there, less
``chunk``. Conversions of 41 digits or more of a multiple of 4 numbers take 4 numbers a
thread instead (:mod:`pxos.lib.ternary.words`).
"""

from __future__ import annotations

import pxos
from pxos import Array, i8, i32, i64, u32

P19 = 1162261467  # 3**19, the largest power of 3 below 2**31
# 2**63 - 1 = (Q19 + 1) * 3**19 - LOW19 - 1 and -2**63 = -(Q19 + 1) * 3**19 + LOW19, so
# v * 3**19 + low (|low| <= (3**19 - 1) / 2) fits int64 iff |v| <= Q19, or
# v == Q19 + 1 and low <= -LOW19 - 1, or v == -Q19 - 1 and low >= LOW19
Q19 = 7935711798
LOW19 = 340173325


@pxos.kernel
def encode_columns(x: Array[i64, 1], t: Array[i8, 2], rest: Array[i64, 1]):
    """t[:, i] = the trits of x[i]; rest[i] = what is left above the top digit.

    With 41 digits or more (every int64 fits: rest is 0), two 64-bit floor divisions
    split x into x = (h * 3**19 + m) * 3**19 + l with 0 <= l, m < 3**19 (32-bit) and h in
    -7..7; the 38 standard ternary digits of l and m come from 32-bit divisions, each
    digit of 2 (or 3, with a carry) becoming -1 (0) and a carry. A GPU's 64-bit division is
    many instructions, its 32-bit division by a constant a multiply and a shift: this keeps
    the kernel at the speed of memory. Narrower widths take one 64-bit floor division per
    digit."""
    for i in pxos.parallel(x.shape[0]):
        v = x[i]
        if t.shape[0] >= 41:
            hi = v // P19
            h = hi // P19
            part = u32(v - hi * P19)           # l, then m
            nxt = u32(hi - h * P19)
            carry = u32(0)
            for k in range(38):
                if k == 19:
                    part = nxt
                q = part // u32(3)
                d = part - q * u32(3) + carry
                carry = u32(d >= u32(2))
                t[k, i] = i8(i32(d) - 3 * i32(carry))
                part = q
            w = i32(h) + i32(carry)
            for k in range(38, t.shape[0]):
                wq = w // 3
                wr = w - wq * 3
                wup = i32(wr == 2)
                t[k, i] = i8(wr - 3 * wup)
                w = wq + wup
            rest[i] = i64(w)
        else:
            for k in range(t.shape[0]):
                vq = v // 3                # floor: vr in 0..2, no overflow even at -2**63
                vr = v - vq * 3
                vup = i64(vr == 2)
                t[k, i] = i8(vr - 3 * vup)
                v = vq + vup
            rest[i] = v


@pxos.kernel
def decode_columns(t: Array[i8, 2], x: Array[i64, 1], overflow: Array[i8, 1]):
    """x[i] = the value of column i; overflow[i] = 1 where it does not fit int64 (x[i] is
    then meaningless).

    Horner's rule in 32 bits on three groups, digits 38..40, 19..37 and 0..18 (19 digits
    hold at most (3**19 - 1) / 2 < 2**31), then two 64-bit steps x = (top * 3**19 + mid) *
    3**19 + low with one overflow test (Q19, LOW19 above); a nonzero digit past 40 cannot
    fit. As :func:`encode_columns`, this keeps 64-bit work out of the per-digit loop."""
    for i in pxos.parallel(t.shape[1]):
        bad = i8(0)
        k = t.shape[0] - 1
        while k >= 41:
            if t[k, i] != 0:
                bad = i8(1)
            k -= 1
        top = i32(0)
        while k >= 38:
            top = top * 3 + i32(t[k, i])
            k -= 1
        mid = i32(0)
        while k >= 19:
            mid = mid * 3 + i32(t[k, i])
            k -= 1
        low = i32(0)
        while k >= 0:
            low = low * 3 + i32(t[k, i])
            k -= 1
        v = i64(top) * P19 + i64(mid)
        if v > Q19 + 1 or v < -Q19 - 1 or (v == Q19 + 1 and low >= -LOW19) or (
                v == -Q19 - 1 and low < LOW19):
            bad = i8(1)
        x[i] = v * P19 + i64(low)
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
