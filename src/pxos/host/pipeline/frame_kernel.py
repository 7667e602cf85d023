"""Packing compressed chunks into one frame, as a pxos kernel: one thread per byte.

nvCOMP compresses a batch of chunks into slots of a fixed ``stride`` (the largest a chunk
can grow to), so the chunks lie with gaps between them. This kernel closes the gaps:
chunk ``b``'s ``n`` payload bytes go to ``frame[starts[b] : starts[b] + n]``, and the
``head`` bytes before that (4 for an LZ4 block record, 0 for zstd frames) take the
record's size word, little-endian. A chunk whose ``sizes[b]`` is negative did not shrink:
its ``-sizes[b]`` bytes are copied from the uncompressed input ``raw`` instead, and the
size word gets bit 31 (LZ4's "stored" block). Thread ``t`` serves chunk ``t // span``,
byte ``t % span``, where ``span`` is the largest record of the call (not the slot's
stride, so a well-compressed batch needs few threads): reads and writes of a warp are
contiguous.
"""

from __future__ import annotations

from pxos.host.pykernel import kernel
from pxos.lang.py import markers as px


@kernel(block=(256,))
def pack_chunks(comp: px.Array[px.u8, 1], raw: px.Array[px.u8, 1],
                frame: px.Array[px.u8, 1], sizes: px.Array[px.i32, 1],
                starts: px.Array[px.i32, 1], stride: px.i32, chunk: px.i32, head: px.i32,
                span: px.i32):
    """``frame`` = every chunk's record (``head`` size bytes, then its payload) at
    ``starts[b] - head``; ``comp`` holds chunk ``b`` at ``b * stride``, ``raw`` at
    ``b * chunk``; ``span`` threads per chunk (at least its payload and ``head``)."""
    t = px.thread_id()
    b = t // span
    if b < len(sizes):
        k = t - b * span
        n = sizes[b]
        at = starts[b]
        if n >= 0:
            if k < n:
                frame[at + k] = comp[b * stride + k]
        elif k < 0 - n:
            frame[at + k] = raw[b * chunk + k]
        if k < head:
            word = px.u32(n)
            if n < 0:
                word = px.u32(0 - n) | (px.u32(1) << px.u32(31))  # bit 31: stored
            frame[at - head + k] = px.u8((word >> px.u32(8 * k)) & px.u32(255))
