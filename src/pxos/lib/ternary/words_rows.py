"""int64 to and from balanced-ternary trits on a GPU in the API's own layout: ``encode``'s
int8 ``(n, 41)``, row-major, least significant trit first, so that a block of numbers owns
one contiguous run of bytes (41 a number). What :func:`pxos.ternary.encode
<pxos.lib.ternary.convert.encode>` and ``decode`` run on ``cuda`` for 41 trits and a
count that is a multiple of 8 (:func:`rows_applies`).

The planes kernels (:mod:`pxos.lib.ternary.words_wide`) write 41 digit rows at once, a
pattern whose own ceiling on the H200 is about 88 % of a device copy; a contiguous stream
of encode's bytes reached 94.6-95.5 % (``benchmarks/ternary_variant_kernels.py``). Here
the output is contiguous, and the transpose goes through shared memory
(:func:`encode_rows41` reached 96.2 % of the copy on the H200 with blocks of 128,
docs/ternary.md §6):

- a thread takes 4 consecutive numbers, whose 164 bytes are 41 aligned 4-byte words.
  Each number's digits come from the fixed-point fractions of
  :mod:`pxos.lib.ternary.words` (parts of at most 8 digits, two parts of one number in
  the two 16-bit halves of a register, one multiply by 3 a digit of both), pushed into
  4-digit words most significant first (``w = w * 256 + d``), ``(w + 0x7F7F7F7F) ^
  0x80808080`` making each byte d - 1;
- number r of the 4 starts at byte 41 r = 40 r + r: its 4-digit words go to words 10 r
  .. 10 r + 9 shifted up by r bytes (a funnel shift of two words), the previous
  number's last 4 bytes filling the gap, and its last 4 bytes (digits 37-40) are word 40
  after the fourth number;
- the thread stores its 41 words to shared memory (stride 41 words: no bank conflict),
  and after a barrier the block writes its ``41 * 4 * ROWS_BLOCK`` bytes as consecutive
  8-byte words, adjacent threads writing adjacent words.

:func:`decode_rows41` runs the same path backwards: the tile read as consecutive 8-byte
words, each thread's 41 words from shared memory, the funnel shifts undone.
"""

from __future__ import annotations

import pxos
from pxos import Array, i8, i32, i64, u32, u64
from pxos.lib.ternary.words import H19, LOW19, M3, M6, M8, OFF_HIGH, OFF_LOW, P19, Q19

ROWS_BLOCK = 128            # threads a block: 512 numbers, 20,992 bytes of shared memory
TILE = 41 * ROWS_BLOCK      # 4-byte words of a block's output
DECODE_BLOCK = ROWS_BLOCK   # decode_rows41's threads a block
GROUP = 4                   # numbers a thread


def rows_kernel(block: int = ROWS_BLOCK):
    """:func:`encode_rows41` with blocks of ``block`` threads (its tile: ``41 * block``
    4-byte words of shared memory, at most 48 KB: ``block`` <= 292). Each block size is a
    kernel of its own (the benchmark's variants); :data:`encode_rows41` is ``ROWS_BLOCK``'s.
    """
    tile_words = 41 * block

    @pxos.kernel(block=(block,))
    def encode_rows41(x: Array[i64, 1], t: Array[u64, 1], stride: i32):
        """The trits of x into ``t``, the flat uint64 view of an int8 ``(n, 41)`` array
        (``n = x.shape[0]``, a multiple of 8); thread ``lid`` of block ``b`` takes numbers
        4 (g + lid) .. 4 (g + lid) + 3 for g = b * block, then g + stride, … (launch a
        whole number of blocks; ``stride`` = threads launched). Every thread of a block
        reaches both barriers of a round (the loop's bound is the block's)."""
        tile = pxos.shared(tile_words, u32)
        lid = pxos.local_id()
        groups = x.shape[0] // GROUP
        g = pxos.block_id() * block
        while g < groups:
            i = g + lid
            if i < groups:
                tail = u32(0)
                for r in range(GROUP):
                    a = u64(x[GROUP * i + r]) ^ (u64(1) << u64(63))   # x + 2**63 as uint64
                    q = a // u64(P19)
                    u = u32(a - q * u64(P19)) + u32(OFF_LOW)
                    c = u >= u32(P19)
                    u = pxos.select(c, u - u32(P19), u)
                    q += u64(OFF_HIGH) + u64(c)
                    top = u32(q // u64(P19))
                    m = u32(q - u64(top) * u64(P19))
                    h = top * u32(27) + m // u32(43046721)
                    # digits 0-7 (low half) and 8-15 (high half)
                    f = (((u % u32(6561)) * u32(M8)) >> u32(13)) + u32(1)
                    f |= ((((u // u32(6561) % u32(6561)) * u32(M8)) >> u32(13)) + u32(1)) \
                        << u32(16)
                    w1 = u32(0)
                    w3 = u32(0)
                    for k in range(4):          # digits 7-k and 15-k
                        f = f * u32(3)
                        w1 = w1 * u32(256) + ((f >> u32(14)) & u32(3))
                        w3 = w3 * u32(256) + (f >> u32(30))
                        f = f & u32(0x3FFF3FFF)
                    w0 = u32(0)
                    w2 = u32(0)
                    for k in range(4):          # digits 3-k and 11-k
                        f = f * u32(3)
                        w0 = w0 * u32(256) + ((f >> u32(14)) & u32(3))
                        w2 = w2 * u32(256) + (f >> u32(30))
                        f = f & u32(0x3FFF3FFF)
                    # digits 19-26 (low half) and 27-34 (high half)
                    f = (((m % u32(6561)) * u32(M8)) >> u32(13)) + u32(1)
                    f |= ((((m // u32(6561) % u32(6561)) * u32(M8)) >> u32(13)) + u32(1)) \
                        << u32(16)
                    w6 = u32(0)
                    w8 = u32(0)
                    for k in range(3):          # digits 26-k and 34-k
                        f = f * u32(3)
                        w6 = w6 * u32(256) + ((f >> u32(14)) & u32(3))
                        w8 = w8 * u32(256) + (f >> u32(30))
                        f = f & u32(0x3FFF3FFF)
                    w5 = u32(0)
                    w7 = u32(0)
                    for k in range(4):          # digits 23-k and 31-k
                        f = f * u32(3)
                        w5 = w5 * u32(256) + ((f >> u32(14)) & u32(3))
                        w7 = w7 * u32(256) + (f >> u32(30))
                        f = f & u32(0x3FFF3FFF)
                    f = f * u32(3)              # digits 19 and 27
                    w4 = ((f >> u32(14)) & u32(3)) << u32(24)
                    w6 = w6 | (f >> u32(30)) << u32(24)
                    # digits 16-18 (low half, 3 digits) and 35-40 (high half, 6 digits)
                    f = (u // u32(43046721)) * u32(M3) \
                        | ((((h * u32(M6)) >> u32(5)) + u32(1)) << u32(16))
                    f = f * u32(3)              # digits 18 and 40
                    w4 = w4 | ((f >> u32(14)) & u32(3)) << u32(16)
                    w10 = f >> u32(30)
                    f = f & u32(0x3FFF3FFF)
                    w9 = u32(0)
                    for k in range(4):          # digits 17-k (k < 2) and 39-k
                        f = f * u32(3)
                        w4 = pxos.select(k < 2, w4 | ((f >> u32(14)) & u32(3)) << u32(8 - 8 * k),
                                         w4)
                        w9 = w9 * u32(256) + (f >> u32(30))
                        f = f & u32(0x3FFF3FFF)
                    f = f * u32(3)              # digit 35
                    w8 = w8 | (f >> u32(30)) << u32(24)
                    # bytes d - 1; number r's bytes start r bytes into word 10 r
                    tops = u32(0x01010101) << u32(7)
                    lows = u32(0x7F7F7F7F)
                    w0 = (w0 + lows) ^ tops
                    w1 = (w1 + lows) ^ tops
                    w2 = (w2 + lows) ^ tops
                    w3 = (w3 + lows) ^ tops
                    w4 = (w4 + lows) ^ tops
                    w5 = (w5 + lows) ^ tops
                    w6 = (w6 + lows) ^ tops
                    w7 = (w7 + lows) ^ tops
                    w8 = (w8 + lows) ^ tops
                    w9 = (w9 + lows) ^ tops
                    w10 = (w10 + u32(0x7F)) ^ u32(0x80)
                    s = u64(32 - 8 * r)
                    at = 41 * lid + 10 * r
                    tile[at] = u32((u64(w0) << u64(32) | u64(tail)) >> s)
                    tile[at + 1] = u32((u64(w1) << u64(32) | u64(w0)) >> s)
                    tile[at + 2] = u32((u64(w2) << u64(32) | u64(w1)) >> s)
                    tile[at + 3] = u32((u64(w3) << u64(32) | u64(w2)) >> s)
                    tile[at + 4] = u32((u64(w4) << u64(32) | u64(w3)) >> s)
                    tile[at + 5] = u32((u64(w5) << u64(32) | u64(w4)) >> s)
                    tile[at + 6] = u32((u64(w6) << u64(32) | u64(w5)) >> s)
                    tile[at + 7] = u32((u64(w7) << u64(32) | u64(w6)) >> s)
                    tile[at + 8] = u32((u64(w8) << u64(32) | u64(w7)) >> s)
                    tile[at + 9] = u32((u64(w9) << u64(32) | u64(w8)) >> s)
                    tail = (w9 >> u32(8)) | (w10 << u32(24))    # digits 37-40
                tile[41 * lid + 40] = tail
            pxos.sync_threads()
            words = (min(groups - g, block) * 41) >> 1
            base = i64(g >> 1) * 41           # g is even: a whole number of uint64 words
            j = lid
            while j < words:
                t[base + j] = u64(tile[2 * j]) | u64(tile[2 * j + 1]) << u64(32)
                j += block
            pxos.sync_threads()
            g += stride

    return encode_rows41


encode_rows41 = rows_kernel()


def decode_kernel(block: int = ROWS_BLOCK):
    """:func:`decode_rows41` with blocks of ``block`` threads (as :func:`rows_kernel`)."""
    tile_words = 41 * block

    @pxos.kernel(block=(block,))
    def decode_rows41(t: Array[u64, 1], x: Array[i64, 1], overflow: Array[i8, 1],
                      stride: i32):
        """x[i] = the value of trits ``t`` (the flat uint64 view of an int8 ``(n, 41)``
        array of trits in -1..1, n a multiple of 8); overflow[i] = 1 where it does not fit
        int64 (x[i] is then meaningless). The block reads its tile as consecutive 8-byte
        words into shared memory; thread ``lid`` then takes numbers 4 (g + lid) ..
        4 (g + lid) + 3 (launch as :func:`encode_rows41`). Each 4-digit word's standard
        digits (d + 1 a byte, ``((w ^ 0x80808080) + 0x01010101) ^ 0x80808080``) give
        their value b0 + 3 b1 + 9 b2 + 27 b3 as the top byte of ``w * 0x0103091B`` (no
        lower byte reaches 256); the parts of 19, 19 and 3 digits join by Horner's rule
        in 81 and take off their offsets (3**m - 1) / 2 before the two 64-bit steps and
        the overflow test of ``words.decode_words``."""
        tile = pxos.shared(tile_words, u32)
        lid = pxos.local_id()
        groups = x.shape[0] // GROUP
        g = pxos.block_id() * block
        while g < groups:
            words = (min(groups - g, block) * 41) >> 1
            base = i64(g >> 1) * 41
            j = lid
            while j < words:
                w = t[base + j]
                tile[2 * j] = u32(w)
                tile[2 * j + 1] = u32(w >> u64(32))
                j += block
            pxos.sync_threads()
            i = g + lid
            if i < groups:
                tops = u32(0x01010101) << u32(7)
                ones = u32(0x01010101)
                mul = u32(0x0103091B)
                for r in range(GROUP):
                    s = u64(8 * r)
                    at = 41 * lid + 10 * r
                    w0 = ((u32((u64(tile[at + 1]) << u64(32) | u64(tile[at])) >> s) ^ tops)
                          + ones) ^ tops
                    w1 = ((u32((u64(tile[at + 2]) << u64(32) | u64(tile[at + 1])) >> s)
                           ^ tops) + ones) ^ tops
                    w2 = ((u32((u64(tile[at + 3]) << u64(32) | u64(tile[at + 2])) >> s)
                           ^ tops) + ones) ^ tops
                    w3 = ((u32((u64(tile[at + 4]) << u64(32) | u64(tile[at + 3])) >> s)
                           ^ tops) + ones) ^ tops
                    w4 = ((u32((u64(tile[at + 5]) << u64(32) | u64(tile[at + 4])) >> s)
                           ^ tops) + ones) ^ tops
                    w5 = ((u32((u64(tile[at + 6]) << u64(32) | u64(tile[at + 5])) >> s)
                           ^ tops) + ones) ^ tops
                    w6 = ((u32((u64(tile[at + 7]) << u64(32) | u64(tile[at + 6])) >> s)
                           ^ tops) + ones) ^ tops
                    w7 = ((u32((u64(tile[at + 8]) << u64(32) | u64(tile[at + 7])) >> s)
                           ^ tops) + ones) ^ tops
                    w8 = ((u32((u64(tile[at + 9]) << u64(32) | u64(tile[at + 8])) >> s)
                           ^ tops) + ones) ^ tops
                    w9 = ((u32((u64(tile[at + 10]) << u64(32) | u64(tile[at + 9])) >> s)
                           ^ tops) + ones) ^ tops
                    d40 = ((tile[at + 10] >> u32(8 * r)) + u32(1)) & u32(255)
                    low = (((w4 & u32(0xFFFFFF)) * mul) >> u32(24)) * u32(81) \
                        + ((w3 * mul) >> u32(24))
                    low = (low * u32(81) + ((w2 * mul) >> u32(24))) * u32(81) \
                        + ((w1 * mul) >> u32(24))
                    low = low * u32(81) + ((w0 * mul) >> u32(24))            # digits 0-18
                    mid = (((w9 & u32(0xFFFF)) * mul) >> u32(24)) * u32(81) \
                        + ((w8 * mul) >> u32(24))
                    mid = (mid * u32(81) + ((w7 * mul) >> u32(24))) * u32(81) \
                        + ((w6 * mul) >> u32(24))
                    mid = (mid * u32(81) + ((w5 * mul) >> u32(24))) * u32(3) \
                        + (w4 >> u32(24))                                     # 19-37
                    top = ((w9 >> u32(16)) * mul >> u32(24)) + d40 * u32(9)   # 38-40
                    v = i64(i32(top) - 13) * P19 + i64(i32(mid) - H19)
                    lo = i32(low) - H19
                    bad = i8(0)
                    if v > Q19 + 1 or v < -Q19 - 1 or (v == Q19 + 1 and lo >= -LOW19) or (
                            v == -Q19 - 1 and lo < LOW19):
                        bad = i8(1)
                    x[GROUP * i + r] = v * P19 + i64(lo)
                    overflow[GROUP * i + r] = bad
            pxos.sync_threads()
            g += stride

    return decode_rows41


decode_rows41 = decode_kernel(DECODE_BLOCK)


def rows_applies(count: int, width: int) -> bool:
    """Whether :func:`encode_rows41` takes a batch: 41 trits, a count a multiple of 8 (the
    output as whole uint64 words), and at most 2**31 - 1 of those words (a kernel array's
    limit, docs/language.md)."""
    return width == 41 and count > 0 and count % 8 == 0 and count * 41 // 8 < 2**31


def rows_launch(count: int, per_sm: int = 0, sms: int = 0,
                block: int = ROWS_BLOCK) -> tuple[int, int]:
    """``(threads, stride)`` for :func:`encode_rows41` (blocks of ``block`` threads) on
    ``count`` numbers: a block a tile (``per_sm`` 0), or ``per_sm`` blocks an SM of a GPU
    with ``sms`` SMs looping."""
    blocks = -(-count // (GROUP * block))
    if per_sm:
        blocks = min(blocks, per_sm * sms)
    return blocks * block, blocks * block


__all__ = ["DECODE_BLOCK", "GROUP", "ROWS_BLOCK", "TILE", "decode_kernel",
           "decode_rows41", "encode_rows41", "rows_applies", "rows_kernel", "rows_launch"]
