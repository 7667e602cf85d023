"""Raw deflate chunks as gzip members, so that nvCOMP's deflate output is a standard file.

Each nvCOMP deflate chunk is a complete raw deflate stream (RFC 1951) whose last block is
final, so the chunks cannot be joined into one zlib stream; but RFC 1952 (section 2.2)
makes a gzip file any sequence of members, and ``gzip -d``, Python's ``gzip`` and
``codecs.decompress`` read them all. A member is a 10-byte header (``1f 8b``, method 8,
no flags, no time, OS 255 "unknown"), the deflate data, then the CRC-32 of the chunk and
its length, both 4 bytes little-endian.

The CRC-32 of each chunk comes from the ``crc32c_chunks`` kernel with the CRC-32 table
(the reflected polynomial 0xEDB88320, ISO 3309): it gives each chunk's register started
at 0, and by linearity ``crc32(x) = reg0(x) ^ crc32(len(x) zero bytes)`` (zlib's
``crc32`` of the zero bytes is the same for every full chunk). A short last chunk is
summed on the host.
"""

from __future__ import annotations

import zlib

import numpy as np

HEADER = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF])
HEAD, TAIL = len(HEADER), 8


def _table() -> np.ndarray:
    """The 256-entry table of the reflected CRC-32 (polynomial 0xEDB88320)."""
    reg = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        reg = np.where(reg & 1, (reg >> np.uint32(1)) ^ np.uint32(0xEDB88320),
                       reg >> np.uint32(1)).astype(np.uint32)
    return reg


TABLE = _table()


def chunk_crcs(data, chunk: int, device: str) -> np.ndarray:
    """CRC-32 (zlib's) of each ``chunk``-byte chunk of ``data`` (a u8 array on ``device``:
    NumPy, or CuPy on cuda), the last one possibly short, as u32 on the host."""
    xp = np if isinstance(data, np.ndarray) else __import__("cupy")
    full = len(data) // chunk
    crcs = np.zeros(-(-len(data) // chunk), np.uint32)
    if full:
        from pxos.host.pipeline.crc32c_kernel import crc32c_chunks

        regs = xp.zeros(full, xp.uint32)
        crc32c_chunks(data[:full * chunk], regs, xp.asarray(TABLE), chunk, 0, device=device,
                      threads=(full,))
        regs = regs if xp is np else regs.get()
        crcs[:full] = regs ^ np.uint32(zlib.crc32(bytes(chunk)))
    if full < len(crcs):
        rest = data[full * chunk:]
        crcs[full] = zlib.crc32((rest if xp is np else rest.get()).tobytes())
    return crcs


def member_bytes(data, chunk: int, starts: np.ndarray, sizes: np.ndarray,
                 device: str) -> tuple[np.ndarray, np.ndarray]:
    """(positions, values): the header and trailer bytes of every member, for a stream in
    which chunk ``b``'s deflate data (``sizes[b]`` bytes) start at ``starts[b]``."""
    n = len(starts)
    lengths = np.minimum(chunk, len(data) - np.arange(n, dtype=np.int64) * chunk)
    trailer = np.stack([chunk_crcs(data, chunk, device), lengths.astype(np.uint32)], axis=1)
    values = np.concatenate([np.tile(np.frombuffer(HEADER, np.uint8), (n, 1)),
                             trailer.astype("<u4").view(np.uint8).reshape(n, TAIL)], axis=1)
    at = np.asarray(starts, np.int64)[:, None]
    positions = np.concatenate([at - HEAD + np.arange(HEAD),
                                at + np.asarray(sizes, np.int64)[:, None] + np.arange(TAIL)],
                               axis=1)
    return positions.reshape(-1), values.reshape(-1)
