"""int64 ⇄ balanced-ternary planes on a device, 4 numbers a thread (candidates measured
against :func:`pxos.lib.ternary.columns.encode_words` and ``decode_words``).

``t`` is the (width, n / 4) uint32 view of an int8 planes array (width >= 41: every int64
fits), so that a thread reads or writes one 4-byte word a digit row for 4 numbers (byte q
of the word: number 4 i + q), and a warp a whole 128-byte line.

Encode (:func:`encode_fixed`): the digits of a part ``u < 3**19`` come from the top by
fixed-point arithmetic: ``f = ceil(u * 2**32 / 3**19)`` (within less than 3**-19 of
``u / 3**19`` from above), then each digit is the high word of the 64-bit product
``f * 3`` and ``f`` its low word: one 32 x 32 -> 64-bit multiply a digit and number
(``IMAD.WIDE.U32``), where a division by 3 and a multiply-subtract take three or more.
The method is the one of fast integer-to-decimal printing (J. Jeaiii's itoa; Lemire,
"Faster integer formatting", 2021): the fraction's error grows 3-fold a digit and stays
below one unit of the last digit while ``3**digits <= 2**32``.
"""

from __future__ import annotations

import pxos
from pxos import Array, i8, i32, i64, u32, u64

P19 = 1162261467          # 3**19
H19 = 581130733           # (3**19 - 1) / 2
# u * M19 >> 30, plus 1, is ceil(u * 2**32 / 3**19) or up to 2.09 above it: below
# u * 2**32 / 3**19 + 2**32 / 3**19 (3.69), as the digits from the top need, and below 2**32
M19 = 3967855900          # ceil(2**62 / 3**19)
M3 = 159072863            # ceil(2**32 / 27): g * M3 is within g * 0.19 of g * 2**32 / 27
# (3**41 - 1) / 2 - 2**63 = OFF_HIGH * 3**19 + OFF_LOW (columns.encode_words)
OFF_HIGH = 7754818005
OFF_LOW = 921304058
Q19 = 7935711798          # int64 range in parts of 3**19 (columns.decode_columns)
LOW19 = 340173325
WORDS_BLOCK = 256         # threads a block


@pxos.kernel(block=(WORDS_BLOCK,))
def encode_fixed(x: Array[i64, 1], t: Array[u32, 2], stride: i32):
    """The trits of x[4 i .. 4 i + 3] into t[:, i] (module docstring): the standard
    digits of x + (3**41 - 1) / 2, less 1 a digit, as ``columns.encode_words``; each
    part's digits from the top by fixed point."""
    i = pxos.block_id() * WORDS_BLOCK + pxos.local_id()
    while i < t.shape[1]:
        tops = u32(0x01010101) << u32(7)   # 0x80808080 (a literal past int32 fails WGSL)
        sign = u64(1) << u64(63)           # x ^ sign: x + 2**63 as uint64
        a0 = u64(x[4 * i]) ^ sign
        a1 = u64(x[4 * i + 1]) ^ sign
        a2 = u64(x[4 * i + 2]) ^ sign
        a3 = u64(x[4 * i + 3]) ^ sign
        q0 = a0 // u64(P19)
        q1 = a1 // u64(P19)
        q2 = a2 // u64(P19)
        q3 = a3 // u64(P19)
        u0 = u32(a0 - q0 * u64(P19)) + u32(OFF_LOW)
        u1 = u32(a1 - q1 * u64(P19)) + u32(OFF_LOW)
        u2 = u32(a2 - q2 * u64(P19)) + u32(OFF_LOW)
        u3 = u32(a3 - q3 * u64(P19)) + u32(OFF_LOW)
        c0 = u0 >= u32(P19)
        c1 = u1 >= u32(P19)
        c2 = u2 >= u32(P19)
        c3 = u3 >= u32(P19)
        u0 = pxos.select(c0, u0 - u32(P19), u0)
        u1 = pxos.select(c1, u1 - u32(P19), u1)
        u2 = pxos.select(c2, u2 - u32(P19), u2)
        u3 = pxos.select(c3, u3 - u32(P19), u3)
        q0 += u64(OFF_HIGH) + u64(c0)
        q1 += u64(OFF_HIGH) + u64(c1)
        q2 += u64(OFF_HIGH) + u64(c2)
        q3 += u64(OFF_HIGH) + u64(c3)
        g0 = u32(q0 // u64(P19))
        g1 = u32(q1 // u64(P19))
        g2 = u32(q2 // u64(P19))
        g3 = u32(q3 // u64(P19))
        # the fractions of the three parts: top (3 digits), middle and low (19 each)
        f0 = g0 * u32(M3)
        f1 = g1 * u32(M3)
        f2 = g2 * u32(M3)
        f3 = g3 * u32(M3)
        for k in range(3):
            p0 = u64(f0) * u64(3)
            p1 = u64(f1) * u64(3)
            p2 = u64(f2) * u64(3)
            p3 = u64(f3) * u64(3)
            word = (u32(p0 >> u64(32)) | u32(p1 >> u64(32)) << u32(8)
                    | u32(p2 >> u64(32)) << u32(16) | u32(p3 >> u64(32)) << u32(24))
            t[40 - k, i] = ((word | tops) - u32(0x01010101)) ^ tops
            f0 = u32(p0)
            f1 = u32(p1)
            f2 = u32(p2)
            f3 = u32(p3)
        f0 = u32((u64(u32(q0 - u64(g0) * u64(P19))) * u64(M19)) >> u64(30)) + u32(1)
        f1 = u32((u64(u32(q1 - u64(g1) * u64(P19))) * u64(M19)) >> u64(30)) + u32(1)
        f2 = u32((u64(u32(q2 - u64(g2) * u64(P19))) * u64(M19)) >> u64(30)) + u32(1)
        f3 = u32((u64(u32(q3 - u64(g3) * u64(P19))) * u64(M19)) >> u64(30)) + u32(1)
        for k in range(19):
            p0 = u64(f0) * u64(3)
            p1 = u64(f1) * u64(3)
            p2 = u64(f2) * u64(3)
            p3 = u64(f3) * u64(3)
            word = (u32(p0 >> u64(32)) | u32(p1 >> u64(32)) << u32(8)
                    | u32(p2 >> u64(32)) << u32(16) | u32(p3 >> u64(32)) << u32(24))
            t[37 - k, i] = ((word | tops) - u32(0x01010101)) ^ tops
            f0 = u32(p0)
            f1 = u32(p1)
            f2 = u32(p2)
            f3 = u32(p3)
        f0 = u32((u64(u0) * u64(M19)) >> u64(30)) + u32(1)
        f1 = u32((u64(u1) * u64(M19)) >> u64(30)) + u32(1)
        f2 = u32((u64(u2) * u64(M19)) >> u64(30)) + u32(1)
        f3 = u32((u64(u3) * u64(M19)) >> u64(30)) + u32(1)
        for k in range(19):
            p0 = u64(f0) * u64(3)
            p1 = u64(f1) * u64(3)
            p2 = u64(f2) * u64(3)
            p3 = u64(f3) * u64(3)
            word = (u32(p0 >> u64(32)) | u32(p1 >> u64(32)) << u32(8)
                    | u32(p2 >> u64(32)) << u32(16) | u32(p3 >> u64(32)) << u32(24))
            t[18 - k, i] = ((word | tops) - u32(0x01010101)) ^ tops
            f0 = u32(p0)
            f1 = u32(p1)
            f2 = u32(p2)
            f3 = u32(p3)
        for k in range(41, t.shape[0]):
            t[k, i] = u32(0)
        i += stride


@pxos.kernel(block=(WORDS_BLOCK,))
def decode_split(t: Array[u32, 2], x: Array[i64, 1], overflow: Array[i8, 1], stride: i32):
    """x[4 i + q] = the value of column 4 i + q of the int8 planes array whose (width,
    n / 4) uint32 view is ``t``; overflow[4 i + q] = 1 where it does not fit int64, as
    ``columns.decode_words``, whose one 41-step loop with two ``if``s nvcc unrolls only
    4-fold, so that a thread waits for its loads one at a time: here each group of digits
    (3, 19, 19) is its own loop of a constant count with no branch, which nvcc unrolls
    whole and whose loads it issues together."""
    i = pxos.block_id() * WORDS_BLOCK + pxos.local_id()
    while i < t.shape[1]:
        tops = u32(0x01010101) << u32(7)   # 0x80808080
        bad0 = i8(0)
        bad1 = i8(0)
        bad2 = i8(0)
        bad3 = i8(0)
        for k in range(41, t.shape[0]):
            w = t[k, i]
            bad0 = bad0 | i8((w & u32(255)) != u32(0))
            bad1 = bad1 | i8((w & u32(65280)) != u32(0))
            bad2 = bad2 | i8((w & u32(16711680)) != u32(0))
            bad3 = bad3 | i8((w >> u32(24)) != u32(0))
        s0 = u32(0)
        s1 = u32(0)
        s2 = u32(0)
        s3 = u32(0)
        for j in range(3):
            d = ((t[40 - j, i] ^ tops) + u32(0x01010101)) ^ tops
            s0 = s0 * u32(3) + (d & u32(255))
            s1 = s1 * u32(3) + ((d >> u32(8)) & u32(255))
            s2 = s2 * u32(3) + ((d >> u32(16)) & u32(255))
            s3 = s3 * u32(3) + (d >> u32(24))
        top0 = i32(s0) - 13
        top1 = i32(s1) - 13
        top2 = i32(s2) - 13
        top3 = i32(s3) - 13
        s0 = u32(0)
        s1 = u32(0)
        s2 = u32(0)
        s3 = u32(0)
        for j in range(19):
            d = ((t[37 - j, i] ^ tops) + u32(0x01010101)) ^ tops
            s0 = s0 * u32(3) + (d & u32(255))
            s1 = s1 * u32(3) + ((d >> u32(8)) & u32(255))
            s2 = s2 * u32(3) + ((d >> u32(16)) & u32(255))
            s3 = s3 * u32(3) + (d >> u32(24))
        mid0 = i32(s0) - H19
        mid1 = i32(s1) - H19
        mid2 = i32(s2) - H19
        mid3 = i32(s3) - H19
        s0 = u32(0)
        s1 = u32(0)
        s2 = u32(0)
        s3 = u32(0)
        for j in range(19):
            d = ((t[18 - j, i] ^ tops) + u32(0x01010101)) ^ tops
            s0 = s0 * u32(3) + (d & u32(255))
            s1 = s1 * u32(3) + ((d >> u32(8)) & u32(255))
            s2 = s2 * u32(3) + ((d >> u32(16)) & u32(255))
            s3 = s3 * u32(3) + (d >> u32(24))
        for q in range(4):
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
        i += stride


def launch_threads(words: int, waves: int = 0, sms: int = 0) -> tuple[int, int]:
    """``(threads, stride)`` for :func:`encode_fixed` or :func:`decode_split` on a
    ``(width, words)`` view: a thread a word (``waves`` 0), or ``waves`` blocks an SM
    of a GPU with ``sms`` SMs, each thread taking every ``stride``-th word."""
    full = -(-words // WORDS_BLOCK) * WORDS_BLOCK
    threads = full if not waves else min(full, waves * sms * WORDS_BLOCK)
    return threads, threads
