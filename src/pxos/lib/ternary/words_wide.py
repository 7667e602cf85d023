"""int64 to balanced-ternary planes on a GPU, 8 numbers a thread: what
:mod:`pxos.lib.ternary.planes` runs on ``cuda`` for 41 digits or more and a count that is a
multiple of 8 (other counts: :func:`words.encode_words <pxos.lib.ternary.words.encode_words>`).

The arithmetic is ``encode_words``' (the module doc of :mod:`pxos.lib.ternary.words`: the
standard digits of x + (3**41 - 1) / 2 from 14-bit fixed-point fractions, two numbers a
32-bit register) on two of its 4-number words at once, and each digit row is written as one
8-byte word a thread, so a warp writes 256 bytes a row where ``encode_words`` writes 128,
with half the store instructions and about a quarter fewer instructions a number.

Measured on an H200 (10**8 numbers, 2026-12-03, ``benchmarks/ternary_gpu_variants.py``):
encode_wide 1.290 ms, 3,797 GB/s (8 read + 41 written bytes a number), 89.7 % of a
device-to-device copy (4,233 GB/s), where ``encode_words`` took 1.428 ms (81.1 %). The
ceiling of the layout itself, the same loads and stores with no arithmetic, is 87.6-88.5 %
of the copy with 8- or 16-byte stores (78.5 % with 4-byte ones); encode's byte mix written
contiguously reaches 94.6 %, and write-only and read-only streams 111 %: the 41 row streams,
not the arithmetic or the writes as such, hold encode below the copy.
"""

from __future__ import annotations

import pxos
from pxos import Array, i32, i64, u32, u64
from pxos.lib.ternary.words import M3, M6, M8, OFF_HIGH, OFF_LOW, P19, WORDS_BLOCK

WIDE = 8                  # numbers a thread: one uint64 word a digit row


@pxos.kernel(block=(WORDS_BLOCK,))
def encode_wide(x: Array[i64, 1], t: Array[u64, 2], stride: i32):
    """The trits of x[8 i .. 8 i + 7] into t[:, i], ``t`` the (width >= 41, n / 8) uint64
    view of an int8 planes array (byte q of a word: number 8 i + q; rows past 41 written
    0); thread i takes words i, i + stride, …. The arithmetic of ``words.encode_words``
    on two of its 4-number words at once (lanes a, b: numbers 0-3; c, d: 4-7)."""
    i = pxos.block_id() * WORDS_BLOCK + pxos.local_id()
    while i < t.shape[1]:
        tops = u32(0x01010101) << u32(7)   # 0x80808080
        sign = u64(1) << u64(63)           # x ^ sign: x + 2**63 as uint64
        a0 = u64(x[8 * i + 0]) ^ sign
        a1 = u64(x[8 * i + 1]) ^ sign
        a2 = u64(x[8 * i + 2]) ^ sign
        a3 = u64(x[8 * i + 3]) ^ sign
        a4 = u64(x[8 * i + 4]) ^ sign
        a5 = u64(x[8 * i + 5]) ^ sign
        a6 = u64(x[8 * i + 6]) ^ sign
        a7 = u64(x[8 * i + 7]) ^ sign
        q0 = a0 // u64(P19)
        u0 = u32(a0 - q0 * u64(P19)) + u32(OFF_LOW)
        c0 = u0 >= u32(P19)
        u0 = pxos.select(c0, u0 - u32(P19), u0)
        q0 += u64(OFF_HIGH) + u64(c0)
        q1 = a1 // u64(P19)
        u1 = u32(a1 - q1 * u64(P19)) + u32(OFF_LOW)
        c1 = u1 >= u32(P19)
        u1 = pxos.select(c1, u1 - u32(P19), u1)
        q1 += u64(OFF_HIGH) + u64(c1)
        q2 = a2 // u64(P19)
        u2 = u32(a2 - q2 * u64(P19)) + u32(OFF_LOW)
        c2 = u2 >= u32(P19)
        u2 = pxos.select(c2, u2 - u32(P19), u2)
        q2 += u64(OFF_HIGH) + u64(c2)
        q3 = a3 // u64(P19)
        u3 = u32(a3 - q3 * u64(P19)) + u32(OFF_LOW)
        c3 = u3 >= u32(P19)
        u3 = pxos.select(c3, u3 - u32(P19), u3)
        q3 += u64(OFF_HIGH) + u64(c3)
        q4 = a4 // u64(P19)
        u4 = u32(a4 - q4 * u64(P19)) + u32(OFF_LOW)
        c4 = u4 >= u32(P19)
        u4 = pxos.select(c4, u4 - u32(P19), u4)
        q4 += u64(OFF_HIGH) + u64(c4)
        q5 = a5 // u64(P19)
        u5 = u32(a5 - q5 * u64(P19)) + u32(OFF_LOW)
        c5 = u5 >= u32(P19)
        u5 = pxos.select(c5, u5 - u32(P19), u5)
        q5 += u64(OFF_HIGH) + u64(c5)
        q6 = a6 // u64(P19)
        u6 = u32(a6 - q6 * u64(P19)) + u32(OFF_LOW)
        c6 = u6 >= u32(P19)
        u6 = pxos.select(c6, u6 - u32(P19), u6)
        q6 += u64(OFF_HIGH) + u64(c6)
        q7 = a7 // u64(P19)
        u7 = u32(a7 - q7 * u64(P19)) + u32(OFF_LOW)
        c7 = u7 >= u32(P19)
        u7 = pxos.select(c7, u7 - u32(P19), u7)
        q7 += u64(OFF_HIGH) + u64(c7)
        g0 = u32(q0 // u64(P19))
        m0 = u32(q0 - u64(g0) * u64(P19))
        h0 = g0 * u32(27) + m0 // u32(43046721)
        g1 = u32(q1 // u64(P19))
        m1 = u32(q1 - u64(g1) * u64(P19))
        h1 = g1 * u32(27) + m1 // u32(43046721)
        g2 = u32(q2 // u64(P19))
        m2 = u32(q2 - u64(g2) * u64(P19))
        h2 = g2 * u32(27) + m2 // u32(43046721)
        g3 = u32(q3 // u64(P19))
        m3 = u32(q3 - u64(g3) * u64(P19))
        h3 = g3 * u32(27) + m3 // u32(43046721)
        g4 = u32(q4 // u64(P19))
        m4 = u32(q4 - u64(g4) * u64(P19))
        h4 = g4 * u32(27) + m4 // u32(43046721)
        g5 = u32(q5 // u64(P19))
        m5 = u32(q5 - u64(g5) * u64(P19))
        h5 = g5 * u32(27) + m5 // u32(43046721)
        g6 = u32(q6 // u64(P19))
        m6 = u32(q6 - u64(g6) * u64(P19))
        h6 = g6 * u32(27) + m6 // u32(43046721)
        g7 = u32(q7 // u64(P19))
        m7 = u32(q7 - u64(g7) * u64(P19))
        h7 = g7 * u32(27) + m7 // u32(43046721)
        f0 = ((u0 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f1 = ((u1 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f2 = ((u2 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f3 = ((u3 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f4 = ((u4 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f5 = ((u5 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f6 = ((u6 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f7 = ((u7 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(8):   # digits 0..7
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[7 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = ((u0 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f1 = ((u1 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f2 = ((u2 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f3 = ((u3 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f4 = ((u4 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f5 = ((u5 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f6 = ((u6 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f7 = ((u7 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(8):   # digits 8..15
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[15 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = (u0 // u32(43046721)) * u32(M3)
        f1 = (u1 // u32(43046721)) * u32(M3)
        f2 = (u2 // u32(43046721)) * u32(M3)
        f3 = (u3 // u32(43046721)) * u32(M3)
        f4 = (u4 // u32(43046721)) * u32(M3)
        f5 = (u5 // u32(43046721)) * u32(M3)
        f6 = (u6 // u32(43046721)) * u32(M3)
        f7 = (u7 // u32(43046721)) * u32(M3)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(3):   # digits 16..18
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[18 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = ((m0 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f1 = ((m1 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f2 = ((m2 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f3 = ((m3 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f4 = ((m4 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f5 = ((m5 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f6 = ((m6 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f7 = ((m7 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(8):   # digits 19..26
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[26 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = ((m0 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f1 = ((m1 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f2 = ((m2 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f3 = ((m3 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f4 = ((m4 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f5 = ((m5 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f6 = ((m6 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f7 = ((m7 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(8):   # digits 27..34
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[34 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = ((h0) * u32(M6) >> u32(5)) + u32(1)
        f1 = ((h1) * u32(M6) >> u32(5)) + u32(1)
        f2 = ((h2) * u32(M6) >> u32(5)) + u32(1)
        f3 = ((h3) * u32(M6) >> u32(5)) + u32(1)
        f4 = ((h4) * u32(M6) >> u32(5)) + u32(1)
        f5 = ((h5) * u32(M6) >> u32(5)) + u32(1)
        f6 = ((h6) * u32(M6) >> u32(5)) + u32(1)
        f7 = ((h7) * u32(M6) >> u32(5)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(6):   # digits 35..40
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[40 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        for k in range(41, t.shape[0]):
            t[k, i] = u64(0)
        i += stride


__all__ = ["WIDE", "encode_wide"]
