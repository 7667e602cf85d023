"""The planes kernels of :mod:`pxos.lib.ternary.planes` for device backends (a GPU, an
OpenCL or WebGPU device): one thread per number (a column of the digit-major array), its
carry and value in registers, adjacent threads reading and writing adjacent bytes of each
digit row (coalesced). Same arguments and results as the CPU kernels there, less
``chunk``.
"""

from __future__ import annotations

import pxos
from pxos import Array, i8, i32, i64, u32, u64

P19 = 1162261467  # 3**19, the largest power of 3 below 2**31
# 2**63 - 1 = (Q19 + 1) * 3**19 - LOW19 - 1 and -2**63 = -(Q19 + 1) * 3**19 + LOW19, so
# v * 3**19 + low (|low| <= (3**19 - 1) / 2) fits int64 iff |v| <= Q19, or
# v == Q19 + 1 and low <= -LOW19 - 1, or v == -Q19 - 1 and low >= LOW19
Q19 = 7935711798
LOW19 = 340173325
H19 = 581130733   # (3**19 - 1) / 2: l + H19 in standard ternary, less 1 a digit, is l balanced
PACKED = 4        # numbers a thread of encode_words takes: one uint32 store a digit
# (3**41 - 1) / 2 - 2**63 = OFF_HIGH * 3**19 + OFF_LOW, the offset encode_words adds to the
# unsigned x + 2**63
OFF_HIGH = 7754818005
OFF_LOW = 921304058


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
def encode_words(x: Array[i64, 1], t: Array[u32, 2]):
    """The trits of x[4 i .. 4 i + 3] into t[:, i], one byte each (little-endian), for
    ``t`` the (width, n / 4) uint32 view of an int8 planes array of width >= 41 (every
    int64 fits: no rest). Same trits as :func:`encode_columns`, 4 numbers a thread.

    Balanced ternary is standard ternary of x + 11…1 (base 3), less 1 a digit (Knuth,
    TAOCP vol. 2, 4.1): here x + (3**41 - 1) / 2, which is the unsigned x + 2**63 plus
    OFF_HIGH * 3**19 + OFF_LOW. One unsigned 64-bit division by 3**19 (nvcc: a multiply-
    high by the reciprocal, Granlund and Montgomery 1994) gives the low 19 digits' part,
    the offset's parts are added with one carry, and a second division of the high part
    (< 2**35) gives the middle 19 digits' part and the top 3 digits. No carry chain
    follows: each digit is a 32-bit division by 3 (a multiply-high and a shift) and a
    multiply-subtract (about 7 SASS instructions a digit and number, sm_90, where
    :func:`encode_columns` takes 13). The 4 digits of a row are packed as bytes
    d0 | d1 << 8 | … and turned into d - 1 a byte without a borrow crossing bytes:
    ((S | 0x80808080) - 0x01010101) ^ 0x80808080. One 4-byte store a digit row: a warp
    writes 128 bytes, a whole line, where one number a thread writes 32."""
    for i in pxos.parallel(t.shape[1]):
        tops = u32(0x01010101) << u32(7)   # 0x80808080 (a literal past int32 fails WGSL)
        sign = u64(1) << u64(63)           # x ^ sign: x + 2**63 as uint64
        v0 = x[4 * i]
        v1 = x[4 * i + 1]
        v2 = x[4 * i + 2]
        v3 = x[4 * i + 3]
        # x + (3**41 - 1) / 2 in standard ternary, digit by digit less 1, is x balanced
        # (the offset is OFF_HIGH * 3**19 + OFF_LOW + 2**63): divide the unsigned x + 2**63
        # by 3**19 (nvcc: a multiply-high by the reciprocal), add the offset's parts, carry
        # once, and divide the high part (< 2**35) again; its quotient is the top 3 digits
        q0 = (u64(v0) ^ sign) // u64(P19)
        q1 = (u64(v1) ^ sign) // u64(P19)
        q2 = (u64(v2) ^ sign) // u64(P19)
        q3 = (u64(v3) ^ sign) // u64(P19)
        u0 = u32((u64(v0) ^ sign) - q0 * u64(P19)) + u32(OFF_LOW)
        u1 = u32((u64(v1) ^ sign) - q1 * u64(P19)) + u32(OFF_LOW)
        u2 = u32((u64(v2) ^ sign) - q2 * u64(P19)) + u32(OFF_LOW)
        u3 = u32((u64(v3) ^ sign) - q3 * u64(P19)) + u32(OFF_LOW)
        c0 = u32(u0 >= u32(P19))
        c1 = u32(u1 >= u32(P19))
        c2 = u32(u2 >= u32(P19))
        c3 = u32(u3 >= u32(P19))
        u0 -= c0 * u32(P19)
        u1 -= c1 * u32(P19)
        u2 -= c2 * u32(P19)
        u3 -= c3 * u32(P19)
        q0 += u64(OFF_HIGH) + u64(c0)
        q1 += u64(OFF_HIGH) + u64(c1)
        q2 += u64(OFF_HIGH) + u64(c2)
        q3 += u64(OFF_HIGH) + u64(c3)
        g0 = u32(q0 // u64(P19))
        g1 = u32(q1 // u64(P19))
        g2 = u32(q2 // u64(P19))
        g3 = u32(q3 // u64(P19))
        m0 = u32(q0 - u64(g0) * u64(P19))
        m1 = u32(q1 - u64(g1) * u64(P19))
        m2 = u32(q2 - u64(g2) * u64(P19))
        m3 = u32(q3 - u64(g3) * u64(P19))
        for k in range(41):
            if k == 19:
                u0 = m0
                u1 = m1
                u2 = m2
                u3 = m3
            if k == 38:
                u0 = g0
                u1 = g1
                u2 = g2
                u3 = g3
            q0 = u0 // u32(3)
            q1 = u1 // u32(3)
            q2 = u2 // u32(3)
            q3 = u3 // u32(3)
            word = ((u0 - q0 * u32(3)) | (u1 - q1 * u32(3)) << u32(8)
                    | (u2 - q2 * u32(3)) << u32(16) | (u3 - q3 * u32(3)) << u32(24))
            t[k, i] = ((word | tops) - u32(0x01010101)) ^ tops
            u0 = q0
            u1 = q1
            u2 = q2
            u3 = q3
        for k in range(41, t.shape[0]):
            t[k, i] = u32(0)


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
def decode_words(t: Array[u32, 2], x: Array[i64, 1], overflow: Array[i8, 1]):
    """x[4 i + q] = the value of column 4 i + q of the int8 planes array whose (width,
    n / 4) uint32 view is ``t``; overflow as :func:`decode_columns`, 4 numbers a thread,
    one 4-byte load a digit row (a warp reads 128 bytes, a whole line).

    A row's 4 trits become standard digits d + 1 in 0..2 a byte without a carry crossing
    bytes, ((w ^ 0x80808080) + 0x01010101) ^ 0x80808080; Horner's rule in 32 bits on the
    three groups of :func:`decode_columns` then gives each group plus (3**n - 1) / 2, taken
    off before the same two 64-bit steps and overflow test."""
    for i in pxos.parallel(t.shape[1]):
        tops = u32(0x01010101) << u32(7)   # 0x80808080
        bad0 = i8(0)
        bad1 = i8(0)
        bad2 = i8(0)
        bad3 = i8(0)
        k = t.shape[0] - 1
        while k >= 41:
            w = t[k, i]
            bad0 = bad0 | i8((w & u32(255)) != u32(0))
            bad1 = bad1 | i8((w & u32(65280)) != u32(0))
            bad2 = bad2 | i8((w & u32(16711680)) != u32(0))
            bad3 = bad3 | i8((w >> u32(24)) != u32(0))
            k -= 1
        s0 = u32(0)   # the group's standard value, then the low group's
        s1 = u32(0)
        s2 = u32(0)
        s3 = u32(0)
        top0 = i32(0)
        top1 = i32(0)
        top2 = i32(0)
        top3 = i32(0)
        mid0 = i32(0)
        mid1 = i32(0)
        mid2 = i32(0)
        mid3 = i32(0)
        for j in range(41):
            if j == 3:
                top0 = i32(s0) - 13
                top1 = i32(s1) - 13
                top2 = i32(s2) - 13
                top3 = i32(s3) - 13
                s0 = u32(0)
                s1 = u32(0)
                s2 = u32(0)
                s3 = u32(0)
            if j == 22:
                mid0 = i32(s0) - H19
                mid1 = i32(s1) - H19
                mid2 = i32(s2) - H19
                mid3 = i32(s3) - H19
                s0 = u32(0)
                s1 = u32(0)
                s2 = u32(0)
                s3 = u32(0)
            d = ((t[40 - j, i] ^ tops) + u32(0x01010101)) ^ tops
            s0 = s0 * u32(3) + (d & u32(255))
            s1 = s1 * u32(3) + ((d >> u32(8)) & u32(255))
            s2 = s2 * u32(3) + ((d >> u32(16)) & u32(255))
            s3 = s3 * u32(3) + (d >> u32(24))
        for q in range(PACKED):
            top = pxos.select(q == 0, top0, pxos.select(q == 1, top1,
                              pxos.select(q == 2, top2, top3)))
            mid = pxos.select(q == 0, mid0, pxos.select(q == 1, mid1,
                              pxos.select(q == 2, mid2, mid3)))
            low = i32(pxos.select(q == 0, s0, pxos.select(q == 1, s1,
                                  pxos.select(q == 2, s2, s3)))) - H19
            bad = pxos.select(q == 0, bad0, pxos.select(q == 1, bad1,
                              pxos.select(q == 2, bad2, bad3)))
            v = i64(top) * P19 + i64(mid)
            if v > Q19 + 1 or v < -Q19 - 1 or (v == Q19 + 1 and low >= -LOW19) or (
                    v == -Q19 - 1 and low < LOW19):
                bad = i8(1)
            x[4 * i + q] = v * P19 + i64(low)
            overflow[4 * i + q] = bad


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


__all__ = ["PACKED", "add_columns", "compare_columns", "decode_columns", "encode_columns",
           "decode_words", "encode_words", "mul_columns"]
