"""LZ4 frames made of independent blocks, so that the blocks can be compressed side by side
(on the cores, or by nvCOMP on a GPU) and still be one standard frame.

The format is the LZ4 Frame Format 1.6.x (``lz4_Frame_format.md`` of the LZ4 project), read
by ``lz4 -d`` and ``lz4.frame.decompress``:

    magic 04 22 4D 18 | FLG | BD | [content size, 8 bytes LE] | HC
    block*: size (4 bytes LE; bit 31 set: stored uncompressed) | data | [XXH32 of data]
    end mark 00 00 00 00

FLG sets version 01 and *block independence* (each block is a raw LZ4 block that refers
to no earlier block); BD names the largest block (64 KiB, 256 KiB, 1 MiB or 4 MiB); HC is
the second byte of XXH32 of FLG … content size. A block that does not shrink is stored
as it is (bit 31). The CPU path keeps a checksum per block (computed by ``lz4`` itself);
the GPU path stores the content size instead (the frame's reader checks it), as nvCOMP
computes no XXH32.
"""

from __future__ import annotations

import struct

import numpy as np

MAGIC = b"\x04\x22\x4d\x18"
END_MARK = b"\0\0\0\0"
BLOCK_CODES = {64 << 10: 4, 256 << 10: 5, 1 << 20: 6, 4 << 20: 7}  # BD's 3-bit code
STORED = 0x80000000  # bit 31 of a block's size: the data are not compressed

_P1, _P2, _P3, _P4, _P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
_M = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M


def xxh32_short(data: bytes, seed: int = 0) -> int:
    """XXH32 (Collet, xxHash specification 0.1.1) of fewer than 16 bytes: enough for a
    frame descriptor (at most 11 bytes).

    Raises:
        ValueError: 16 bytes or more (the four-lane stripes are not implemented here).
    """
    if len(data) >= 16:
        raise ValueError("xxh32_short takes fewer than 16 bytes")
    acc = (seed + _P5 + len(data)) & _M
    whole = len(data) // 4 * 4
    for (lane,) in struct.iter_unpack("<I", data[:whole]):
        acc = (_rotl((acc + lane * _P3) & _M, 17) * _P4) & _M
    for byte in data[whole:]:
        acc = (_rotl((acc + byte * _P5) & _M, 11) * _P1) & _M
    acc = ((acc ^ (acc >> 15)) * _P2) & _M
    acc = ((acc ^ (acc >> 13)) * _P3) & _M
    return acc ^ (acc >> 16)


def header(block_max: int, content_size: int | None = None,
           block_checksum: bool = False) -> bytes:
    """The frame header for independent blocks of at most ``block_max`` bytes (a key of
    BLOCK_CODES), with the content size when given and a checksum per block when asked."""
    flg = 0x40 | 0x20 | (0x10 if block_checksum else 0) | (0x08 if content_size is not None
                                                            else 0)
    desc = bytes([flg, BLOCK_CODES[block_max] << 4])
    if content_size is not None:
        desc += struct.pack("<Q", content_size)
    return MAGIC + desc + bytes([(xxh32_short(desc) >> 8) & 0xFF])


def block_records(data: np.ndarray, block_max: int, level: int = 0) -> bytes:
    """``data`` (any length: cut into blocks of ``block_max`` bytes, a key of
    BLOCK_CODES) as block records with their checksums, compressed by ``lz4`` at
    ``level``."""
    return b"".join(record_views(data, block_max, level))


def record_views(data: np.ndarray, block_max: int, level: int = 0) -> list[memoryview]:
    """The block records of :func:`block_records`, each a view into the one-block frame
    that ``lz4.frame`` wrote for it (it releases the GIL while it compresses), so no record
    is copied before the caller joins them: a block that would grow is stored."""
    import lz4.frame

    size = {64 << 10: lz4.frame.BLOCKSIZE_MAX64KB, 256 << 10: lz4.frame.BLOCKSIZE_MAX256KB,
            1 << 20: lz4.frame.BLOCKSIZE_MAX1MB, 4 << 20: lz4.frame.BLOCKSIZE_MAX4MB}
    out = []
    for lo in range(0, len(data), block_max):
        one = lz4.frame.compress(data[lo:lo + block_max], compression_level=level,
                                 block_size=size[block_max], block_linked=False,
                                 block_checksum=True, content_checksum=False,
                                 store_size=False)
        out.append(memoryview(one)[7:-4])  # 7 header bytes (no content size), the end mark
    return out


class BlockCompressor:
    """An LZ4 frame of independent blocks of ``BLOCK`` bytes over a stream, the blocks of
    each push compressed side by side on as many threads as ``pool`` (``cores.CorePool``,
    or None for one thread) has workers: C threads (``lz4_threads``), else the pool's.
    Blocks start at fixed multiples of ``BLOCK`` of the stream, so the bytes do not depend
    on how the stream is cut nor on the number of workers. The interface is
    that of ``lz4.frame.LZ4FrameCompressor``: ``begin()``, ``compress(data)``, ``flush()``.
    """

    BLOCK = 1 << 20
    JOB_BLOCKS = 0  # blocks per job on the Python pool; 0: one run of blocks per worker

    def __init__(self, level: int = 0, pool=None):
        self.level, self.pool = level, pool
        self.pending = np.zeros(0, np.uint8)
        self.writer = None  # lz4_threads.BlockWriter, made at the first block

    def begin(self) -> bytes:
        """The frame header: independent blocks of at most 1 MiB, each with its XXH32."""
        return header(self.BLOCK, None, block_checksum=True)

    def compress(self, data) -> bytes:
        buf = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else data
        buf = np.concatenate([self.pending, buf]) if len(self.pending) else buf
        whole = len(buf) // self.BLOCK * self.BLOCK
        self.pending = buf[whole:].copy()
        return self._records(buf[:whole])

    def flush(self) -> bytes:
        out, self.pending = self._records(self.pending), np.zeros(0, np.uint8)
        return out + END_MARK

    def _records(self, data: np.ndarray) -> bytes:
        """Block records of whole blocks (the last may be short): on ``lz4_threads``' C
        threads where it serves (one block at a time from a shared counter, ``workers``
        threads), else by the pool's workers ``JOB_BLOCKS`` blocks a job (0: one run of
        blocks per worker), joined once here (the GIL is held while bytes are copied, so
        each copy in the calling thread is time the other cores wait for). On the Python
        pool one block a job cost 9 % more CPU and scaled 1.72 against 1.78 for runs (H200
        host, 128 MiB, 2026-12-04): each job is a future and a GIL hand-over."""
        from pxos.host.pipeline import lz4_threads

        workers = getattr(self.pool, "workers", 1)
        blocks = -(-len(data) // self.BLOCK)
        if len(data) and lz4_threads.helper() is not None:  # C threads, the GIL released once
            if self.writer is None:
                self.writer = lz4_threads.BlockWriter(self.BLOCK, self.level)
            return self.writer.records(data, workers)
        if workers < 2 or blocks < 2:
            return block_records(data, self.BLOCK, self.level)
        step = (self.JOB_BLOCKS or -(-blocks // workers)) * self.BLOCK
        jobs = [(data[lo:lo + step], self.BLOCK, self.level) for lo in range(0, len(data), step)]
        runs = self.pool.run(record_views, jobs)  # one copy of the records: the join below
        return b"".join(view for run in runs for view in run)
