"""int64 to the API's ``(n, 41)`` trits on a GPU with a table of 4-digit groups: the
candidate of :mod:`pxos.lib.ternary.words_rows` with fewer instructions a number.

The output path is ``encode_rows41``'s (4 numbers a thread, 41 aligned 4-byte words
shifted into place, a shared-memory tile written out as consecutive 8-byte words). The
digits differ: the parts of x + (3**41 - 1) / 2 (19, 19 and 3 standard base-3 digits,
:mod:`pxos.lib.ternary.words`) are cut by 32-bit divisions by constants into values of 4
digits, G in 0..80, and a table in shared memory gives each G's 4 trit bytes (digit k of
G, less 1, in byte k): about 11 lookups a number where ``encode_rows41`` spends some 3.5
instructions a digit. The table is 81 entries, each held ``COPIES`` = 32 times
(``table[G * 32 + lane]``), so that the 32 lanes of a warp always read 32 distinct banks;
a block fills it once, so it is launched as a few blocks an SM that loop.
"""

from __future__ import annotations

import pxos
from pxos import Array, i32, i64, u32, u64
from pxos.lib.ternary.words import OFF_HIGH, OFF_LOW, P19
from pxos.lib.ternary.words_rows import GROUP

TABLE_BLOCK = 224           # threads a block: a 36,736-byte tile and the 10,368-byte table
COPIES = 32                 # copies of each table entry: one a lane


def table_kernel(block: int = TABLE_BLOCK, copies: int = COPIES, prefetch: bool = False):
    """:func:`encode_table` with blocks of ``block`` threads and ``copies`` copies of each
    entry (tile and table within 48 KB of shared memory: 164 ``block`` + 324 ``copies``
    bytes; with 16 copies, lanes l and l + 16 share one, at most 2 of a warp's reads to a
    bank); ``prefetch`` as for ``words_rows.rows_kernel``."""
    tile_words = 41 * block
    entries = 81 * copies

    @pxos.kernel(block=(block,))
    def encode_table(x: Array[i64, 1], t: Array[u64, 1], stride: i32):
        """The trits of x into ``t``, the flat uint64 view of an int8 ``(n, 41)`` array
        (n a multiple of 8), launched as ``words_rows.rows_launch(n, per_sm, sms, block)``
        says (as ``encode_rows41``)."""
        tile = pxos.shared(tile_words, u32)
        table = pxos.shared(entries, u32)
        lid = pxos.local_id()
        e = lid
        while e < entries:       # entry G (e / 32): its digits 0-3, less 1, a byte each
            v = u32(e // copies)
            w = (v % u32(3)) | (v // u32(3) % u32(3)) << u32(8) \
                | (v // u32(9) % u32(3)) << u32(16) | (v // u32(27)) << u32(24)
            table[e] = (w + u32(0x7F7F7F7F)) ^ (u32(0x01010101) << u32(7))
            e += block
        pxos.sync_threads()
        lane = u32(lid % copies)
        groups = x.shape[0] // GROUP
        g = pxos.block_id() * block
        while g < groups:
            i = g + lid
            if i < groups:
                tail = u32(0)
                if prefetch:
                    n0 = x[GROUP * i]
                    n1 = x[GROUP * i + 1]
                    n2 = x[GROUP * i + 2]
                    n3 = x[GROUP * i + 3]
                for r in range(GROUP):
                    if prefetch:
                        num = n0
                        n0 = n1
                        n1 = n2
                        n2 = n3
                    else:
                        num = x[GROUP * i + r]
                    a = u64(num) ^ (u64(1) << u64(63))   # x + 2**63 as uint64
                    q = a // u64(P19)
                    u = u32(a - q * u64(P19)) + u32(OFF_LOW)
                    c = u >= u32(P19)
                    u = pxos.select(c, u - u32(P19), u)
                    q += u64(OFF_HIGH) + u64(c)
                    top = u32(q // u64(P19))                 # digits 38-40
                    m = u32(q - u64(top) * u64(P19))         # digits 19-37; u: 0-18
                    lo = u % u32(6561)
                    hi = u // u32(6561) % u32(6561)
                    w0 = table[(lo % u32(81)) * u32(copies) + lane]
                    w1 = table[(lo // u32(81)) * u32(copies) + lane]
                    w2 = table[(hi % u32(81)) * u32(copies) + lane]
                    w3 = table[(hi // u32(81)) * u32(copies) + lane]
                    w4 = table[(u // u32(43046721) + u32(27) * (m % u32(3))) * u32(copies)
                               + lane]
                    w5 = table[(m // u32(3) % u32(81)) * u32(copies) + lane]
                    w6 = table[(m // u32(243) % u32(81)) * u32(copies) + lane]
                    w7 = table[(m // u32(19683) % u32(81)) * u32(copies) + lane]
                    w8 = table[(m // u32(1594323) % u32(81)) * u32(copies) + lane]
                    w9 = table[(m // u32(129140163) + u32(9) * (top % u32(9))) * u32(copies)
                               + lane]
                    w10 = (top // u32(9) + u32(0x7F)) ^ u32(0x80)
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
            base = i64(g >> 1) * 41
            j = lid
            while j < words:
                t[base + j] = u64(tile[2 * j]) | u64(tile[2 * j + 1]) << u64(32)
                j += block
            pxos.sync_threads()
            g += stride

    return encode_table


encode_table = table_kernel()

__all__ = ["COPIES", "TABLE_BLOCK", "encode_table", "table_kernel"]
