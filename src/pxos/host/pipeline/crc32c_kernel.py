"""CRC32C's per-chunk register as a pxos kernel: one thread per chunk, the 256-entry table
(reflected Castagnoli polynomial 0x82F63B78) in shared memory, one table step per byte.

Chunk ``j`` covers bytes ``[j * chunk - pad, (j + 1) * chunk - pad)`` of ``data``; the
``pad`` bytes before the start are zeros, which leave a zero register unchanged, so every
register starts at 0 and ``crc32c.combine`` joins the chunks (the init and final XOR are
applied there).
"""

from __future__ import annotations

from pxos.host.pykernel import kernel
from pxos.lang.py import markers as px


@kernel(block=(256,))
def crc32c_chunks(data: px.Array[px.u8, 1], registers: px.Array[px.u32, 1],
                  table: px.Array[px.u32, 1], chunk: px.i32, pad: px.i32):
    """``registers[j]`` = the CRC register after chunk ``j``, started at 0."""
    tb = px.shared(256, px.u32)
    lid = px.local_id()
    tb[lid] = table[lid]
    px.sync_threads()
    j = px.thread_id()
    if j < len(registers):
        reg = px.u32(0)
        for i in range(max(j * chunk - pad, 0), (j + 1) * chunk - pad):
            reg = tb[(reg ^ px.u32(data[i])) & 255] ^ (reg >> 8)
        registers[j] = reg
