"""int64 ⇄ balanced-ternary planes on a device (a GPU, an OpenCL or WebGPU device), 4
numbers a thread: what :mod:`pxos.lib.ternary.planes` runs there for 41 digits or more
(every int64 fits) and a count that is a multiple of 4 (encode on ``cuda`` with a multiple
of 8: :mod:`pxos.lib.ternary.words_wide`, the same arithmetic with 8-byte stores).

``t`` is the (width, n / 4) uint32 view of an int8 planes array, so that a thread reads
or writes one 4-byte word a digit row for 4 numbers (byte q of the word: number 4 i + q)
and a warp a whole 128-byte line.

Both directions take as few instructions a digit as they can, because with one int64 (8
bytes) against 41 trit bytes a number, a GPU's integer units, not its memory, bound the
simple forms (one division by 3 a digit and number took 7 SASS instructions; the H200
reached 63 % of its peak on them):

- :func:`encode_words` splits x + (3**41 - 1) / 2 (whose standard base-3 digits, less
  1 each, are x's balanced ones: Knuth, TAOCP vol. 2, 4.1) into parts of at most 8
  digits, and takes each part's digits from the top of a 14-bit fixed-point fraction,
  ``ceil(part * 2**14 / 3**m)``, multiplying by 3 (the method of fast integer printing:
  J. Jeaiii's itoa; D. Lemire, "Faster integer formatting", 2021). Two numbers share a
  32-bit register, one in each 16-bit half, so one multiply gives a digit of both.
- :func:`decode_words` runs Horner's rule on a whole word: 4 numbers' digits, one a
  byte, for 5 digits at a time (3**5 - 1 < 256: no carry crosses a byte).

Launch shapes, measured on an H200 (10**8 numbers, 2026-12-03, against a 4.26 TB/s
device copy): encode is fastest with a thread a word (82 % of the copy's rate; 68-72 %
as a grid-stride loop of 4 to 16 blocks an SM, where the last partial wave of blocks
leaves SMs idle); decode with 4 blocks an SM, each thread looping (94 %; 79 % with a
thread a word, 77 % with 8 or 16 blocks an SM).
"""

from __future__ import annotations

import pxos
from pxos import Array, i8, i32, i64, u32, u64

PACKED = 4                # numbers a thread: one uint32 word a digit row
WORDS_BLOCK = 256         # threads a block
P19 = 1162261467          # 3**19
H19 = 581130733           # (3**19 - 1) / 2
# (3**41 - 1) / 2 - 2**63 = OFF_HIGH * 3**19 + OFF_LOW
OFF_HIGH = 7754818005
OFF_LOW = 921304058
# v * 3**19 + low (|low| <= H19) fits int64 iff |v| <= Q19, or v == Q19 + 1 and low <=
# -LOW19 - 1, or v == -Q19 - 1 and low >= LOW19 (as columns.decode_columns)
Q19 = 7935711798
LOW19 = 340173325
# the 14-bit fractions of encode_words, each exact for every part (the tests check all):
# within [p / 3**m, p / 3**m + 3**-m) times 2**14, and below 2**14
M8 = 20457                # ceil(2**27 / 3**8): ((p * M8) >> 13) + 1 for 8 digits
M3 = 607                  # ceil(2**14 / 27): p * M3 for 3 digits
M6 = 720                  # ceil(2**19 / 3**6): ((p * M6) >> 5) + 1 for 6 digits


@pxos.kernel(block=(WORDS_BLOCK,))
def encode_words(x: Array[i64, 1], t: Array[u32, 2], stride: i32):
    """The trits of x[4 i .. 4 i + 3] into t[:, i] (``t`` of width >= 41; rows past 41
    are written 0), thread i taking words i, i + stride, … (launch as
    :func:`launch_threads` says).

    Each part of at most m = 8 digits gets a 14-bit fraction ``ceil(part * 2**14 /
    3**m)`` (3**8 <= 2**14) in a 16-bit half of a register, numbers 0 and 2 in one
    register and 1 and 3 in another, so that one 32-bit multiply by 3 gives the next digit
    of two numbers (bits 14-15 of each half; no carry crosses the halves, 3 * 2**14 <
    2**16). A row's word gathers the four digits d with two shifts and masks, and
    ``(d + 0x7F) ^ 0x80`` a byte (no carry crosses bytes) is d - 1. The parts: digits 0-7,
    8-15, 16-18 of the low 19 (two 32-bit divisions by 3**8), the same of the middle 19,
    whose top 3 join the number's top 3 (digits 35-40). The low, middle and top 19/19/3
    digits come from two unsigned 64-bit divisions by 3**19 (nvcc: a multiply-high by the
    reciprocal, Granlund and Montgomery 1994) and one carry. About 13 SASS instructions a
    row of 4 numbers (sm_90), store and address included."""
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
        l00 = u0 % u32(6561)
        l10 = u0 // u32(6561) % u32(6561)
        l20 = u0 // u32(43046721)
        mid0 = u32(q0 - u64(g0) * u64(P19))
        m00 = mid0 % u32(6561)
        m10 = mid0 // u32(6561) % u32(6561)
        top0 = g0 * u32(27) + mid0 // u32(43046721)
        l01 = u1 % u32(6561)
        l11 = u1 // u32(6561) % u32(6561)
        l21 = u1 // u32(43046721)
        mid1 = u32(q1 - u64(g1) * u64(P19))
        m01 = mid1 % u32(6561)
        m11 = mid1 // u32(6561) % u32(6561)
        top1 = g1 * u32(27) + mid1 // u32(43046721)
        l02 = u2 % u32(6561)
        l12 = u2 // u32(6561) % u32(6561)
        l22 = u2 // u32(43046721)
        mid2 = u32(q2 - u64(g2) * u64(P19))
        m02 = mid2 % u32(6561)
        m12 = mid2 // u32(6561) % u32(6561)
        top2 = g2 * u32(27) + mid2 // u32(43046721)
        l03 = u3 % u32(6561)
        l13 = u3 // u32(6561) % u32(6561)
        l23 = u3 // u32(43046721)
        mid3 = u32(q3 - u64(g3) * u64(P19))
        m03 = mid3 % u32(6561)
        m13 = mid3 // u32(6561) % u32(6561)
        top3 = g3 * u32(27) + mid3 // u32(43046721)
        a = (((l00 * u32(M8)) >> u32(13)) + u32(1)) | (((l02 * u32(M8)) >> u32(13)) + u32(1)) << u32(16)
        b = (((l01 * u32(M8)) >> u32(13)) + u32(1)) | (((l03 * u32(M8)) >> u32(13)) + u32(1)) << u32(16)
        for k in range(8):   # digits 0..7
            ta = a * u32(3)
            tb = b * u32(3)
            word = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            t[7 - k, i] = (word + u32(0x7F7F7F7F)) ^ tops
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
        a = (((l10 * u32(M8)) >> u32(13)) + u32(1)) | (((l12 * u32(M8)) >> u32(13)) + u32(1)) << u32(16)
        b = (((l11 * u32(M8)) >> u32(13)) + u32(1)) | (((l13 * u32(M8)) >> u32(13)) + u32(1)) << u32(16)
        for k in range(8):   # digits 8..15
            ta = a * u32(3)
            tb = b * u32(3)
            word = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            t[15 - k, i] = (word + u32(0x7F7F7F7F)) ^ tops
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
        a = (l20 * u32(M3)) | (l22 * u32(M3)) << u32(16)
        b = (l21 * u32(M3)) | (l23 * u32(M3)) << u32(16)
        for k in range(3):   # digits 16..18
            ta = a * u32(3)
            tb = b * u32(3)
            word = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            t[18 - k, i] = (word + u32(0x7F7F7F7F)) ^ tops
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
        a = (((m00 * u32(M8)) >> u32(13)) + u32(1)) | (((m02 * u32(M8)) >> u32(13)) + u32(1)) << u32(16)
        b = (((m01 * u32(M8)) >> u32(13)) + u32(1)) | (((m03 * u32(M8)) >> u32(13)) + u32(1)) << u32(16)
        for k in range(8):   # digits 19..26
            ta = a * u32(3)
            tb = b * u32(3)
            word = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            t[26 - k, i] = (word + u32(0x7F7F7F7F)) ^ tops
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
        a = (((m10 * u32(M8)) >> u32(13)) + u32(1)) | (((m12 * u32(M8)) >> u32(13)) + u32(1)) << u32(16)
        b = (((m11 * u32(M8)) >> u32(13)) + u32(1)) | (((m13 * u32(M8)) >> u32(13)) + u32(1)) << u32(16)
        for k in range(8):   # digits 27..34
            ta = a * u32(3)
            tb = b * u32(3)
            word = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            t[34 - k, i] = (word + u32(0x7F7F7F7F)) ^ tops
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
        a = (((top0 * u32(M6)) >> u32(5)) + u32(1)) | (((top2 * u32(M6)) >> u32(5)) + u32(1)) << u32(16)
        b = (((top1 * u32(M6)) >> u32(5)) + u32(1)) | (((top3 * u32(M6)) >> u32(5)) + u32(1)) << u32(16)
        for k in range(6):   # digits 35..40
            ta = a * u32(3)
            tb = b * u32(3)
            word = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            t[40 - k, i] = (word + u32(0x7F7F7F7F)) ^ tops
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
        for k in range(41, t.shape[0]):
            t[k, i] = u32(0)
        i += stride


@pxos.kernel(block=(WORDS_BLOCK,))
def decode_words(t: Array[u32, 2], x: Array[i64, 1], overflow: Array[i8, 1], stride: i32):
    """x[4 i + q] = the value of column 4 i + q of the int8 planes array whose (width,
    n / 4) uint32 view is ``t``; overflow[4 i + q] = 1 where it does not fit int64 (x is
    then meaningless), thread i taking words i, i + stride, ….

    Horner's rule runs on the 4 numbers of a word at once: a row's 4 standard digits d +
    1, ``((w ^ 0x80808080) + 0x01010101) ^ 0x80808080``, are 4 bytes, and ``s * 3 + d``
    on the whole word adds a digit to each byte with no carry across bytes for up to 5
    digits (3**5 - 1 = 242 < 256). The bytes of each group of 5 (4 at the top of the low
    and middle 19, 3 at the top) join their number's 32-bit group by ``acc * 243 +
    byte``; the groups' offsets (3**m - 1) / 2 come off before the two 64-bit steps and
    the overflow test of ``columns.decode_columns``. Each group is a loop of a constant
    count with no branch, which nvcc unrolls whole, so a thread's loads issue together."""
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
        s = u32(0)
        for j in range(3):   # digits 40..38
            s = s * u32(3) + (((t[40 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        top0 = s & u32(255)
        top1 = (s >> u32(8)) & u32(255)
        top2 = (s >> u32(16)) & u32(255)
        top3 = s >> u32(24)
        s = u32(0)
        for j in range(4):   # digits 37..34
            s = s * u32(3) + (((t[37 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        mid0 = s & u32(255)
        mid1 = (s >> u32(8)) & u32(255)
        mid2 = (s >> u32(16)) & u32(255)
        mid3 = s >> u32(24)
        s = u32(0)
        for j in range(5):   # digits 33..29
            s = s * u32(3) + (((t[33 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        mid0 = mid0 * u32(243) + (s & u32(255))
        mid1 = mid1 * u32(243) + ((s >> u32(8)) & u32(255))
        mid2 = mid2 * u32(243) + ((s >> u32(16)) & u32(255))
        mid3 = mid3 * u32(243) + (s >> u32(24))
        s = u32(0)
        for j in range(5):   # digits 28..24
            s = s * u32(3) + (((t[28 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        mid0 = mid0 * u32(243) + (s & u32(255))
        mid1 = mid1 * u32(243) + ((s >> u32(8)) & u32(255))
        mid2 = mid2 * u32(243) + ((s >> u32(16)) & u32(255))
        mid3 = mid3 * u32(243) + (s >> u32(24))
        s = u32(0)
        for j in range(5):   # digits 23..19
            s = s * u32(3) + (((t[23 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        mid0 = mid0 * u32(243) + (s & u32(255))
        mid1 = mid1 * u32(243) + ((s >> u32(8)) & u32(255))
        mid2 = mid2 * u32(243) + ((s >> u32(16)) & u32(255))
        mid3 = mid3 * u32(243) + (s >> u32(24))
        s = u32(0)
        for j in range(4):   # digits 18..15
            s = s * u32(3) + (((t[18 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        low0 = s & u32(255)
        low1 = (s >> u32(8)) & u32(255)
        low2 = (s >> u32(16)) & u32(255)
        low3 = s >> u32(24)
        s = u32(0)
        for j in range(5):   # digits 14..10
            s = s * u32(3) + (((t[14 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        low0 = low0 * u32(243) + (s & u32(255))
        low1 = low1 * u32(243) + ((s >> u32(8)) & u32(255))
        low2 = low2 * u32(243) + ((s >> u32(16)) & u32(255))
        low3 = low3 * u32(243) + (s >> u32(24))
        s = u32(0)
        for j in range(5):   # digits 9..5
            s = s * u32(3) + (((t[9 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        low0 = low0 * u32(243) + (s & u32(255))
        low1 = low1 * u32(243) + ((s >> u32(8)) & u32(255))
        low2 = low2 * u32(243) + ((s >> u32(16)) & u32(255))
        low3 = low3 * u32(243) + (s >> u32(24))
        s = u32(0)
        for j in range(5):   # digits 4..0
            s = s * u32(3) + (((t[4 - j, i] ^ tops) + u32(0x01010101)) ^ tops)
        low0 = low0 * u32(243) + (s & u32(255))
        low1 = low1 * u32(243) + ((s >> u32(8)) & u32(255))
        low2 = low2 * u32(243) + ((s >> u32(16)) & u32(255))
        low3 = low3 * u32(243) + (s >> u32(24))
        for q in range(4):
            top = i32(pxos.select(q == 0, top0, pxos.select(q == 1, top1,
                                  pxos.select(q == 2, top2, top3)))) - 13
            mid = i32(pxos.select(q == 0, mid0, pxos.select(q == 1, mid1,
                                  pxos.select(q == 2, mid2, mid3)))) - H19
            low = i32(pxos.select(q == 0, low0, pxos.select(q == 1, low1,
                                  pxos.select(q == 2, low2, low3)))) - H19
            bad = pxos.select(q == 0, bad0, pxos.select(q == 1, bad1,
                              pxos.select(q == 2, bad2, bad3)))
            v = i64(top) * P19 + i64(mid)
            if v > Q19 + 1 or v < -Q19 - 1 or (v == Q19 + 1 and low >= -LOW19) or (
                    v == -Q19 - 1 and low < LOW19):
                bad = i8(1)
            x[4 * i + q] = v * P19 + i64(low)
            overflow[4 * i + q] = bad
        i += stride


DECODE_PER_SM = 4         # decode_words' blocks an SM on CUDA: the H200's best (module doc)


def launch_threads(words: int, per_sm: int = 0, sms: int = 0) -> tuple[int, int]:
    """``(threads, stride)`` for the kernels here on a ``(width, words)`` view: a thread a
    word (``per_sm`` 0), or ``per_sm`` blocks an SM of a GPU with ``sms`` SMs, each
    thread then taking every ``stride``-th word."""
    full = -(-words // WORDS_BLOCK) * WORDS_BLOCK
    threads = full if not per_sm else min(full, per_sm * sms * WORDS_BLOCK)
    return threads, threads


def decode_launch(words: int, device: str | None) -> tuple[int, int]:
    """``(threads, stride)`` of :func:`decode_words` on ``device``: ``DECODE_PER_SM``
    blocks an SM on ``cuda``, a thread a word elsewhere."""
    if device != "cuda":
        return launch_threads(words)
    from pxos import backends

    return launch_threads(words, DECODE_PER_SM, backends.get("cuda").sm_count)


__all__ = ["PACKED", "WORDS_BLOCK", "decode_launch", "decode_words", "encode_words",
           "launch_threads"]
