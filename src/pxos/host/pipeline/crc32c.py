"""CRC32C (Castagnoli, as iSCSI and ext4 use it): the data split into equal chunks whose
registers are computed in parallel (NumPy across chunks on ``host``, one kernel thread per
chunk on a pxos backend), then joined by a parallel combine.

The combine uses CRC's linearity: the register after ``A || B`` is the register after ``A``
advanced over ``len(B)`` zero bytes, XOR the register of ``B`` started at 0. Advancing over
``n`` zero bytes is a 32 × 32 matrix over GF(2) (as zlib's ``crc32_combine``); the chunks
are joined pairwise, ``log2(chunks)`` NumPy steps, squaring the matrix at each level.
"""

from __future__ import annotations

import numpy as np

from pxos.host.pipeline.bytes import as_bytes_array, to_host
from pxos.host.pipeline.crc32c_kernel import crc32c_chunks

POLY = 0x82F63B78  # reflected Castagnoli polynomial


def _table() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(POLY), t >> 1).astype(np.uint32)
    return t


TABLE = _table()


def _zero_byte_matrix() -> np.ndarray:
    """Columns: the register image of each single bit after one zero byte."""
    cols = np.array([1 << b for b in range(32)], np.uint32)
    for _ in range(8):
        cols = np.where(cols & 1, (cols >> 1) ^ np.uint32(POLY), cols >> 1).astype(np.uint32)
    return cols


def _apply(cols: np.ndarray, regs: np.ndarray) -> np.ndarray:
    """``cols`` (a 32-column GF(2) matrix) times every register in ``regs``."""
    out = np.zeros_like(regs)
    for b in range(32):
        bit = (regs >> np.uint32(b)) & np.uint32(1)
        out ^= np.where(bit, cols[b], np.uint32(0)).astype(np.uint32)
    return out


def _power(cols: np.ndarray, n: int) -> np.ndarray:
    """The matrix advancing over ``n`` zero bytes, by repeated squaring of ``cols``."""
    result = np.array([1 << b for b in range(32)], np.uint32)
    while n:
        if n & 1:
            result = _apply(cols, result)
        cols = _apply(cols, cols)
        n >>= 1
    return result


def combine(registers: np.ndarray, chunk: int, length: int) -> int:
    """The CRC32C of ``length`` bytes from the registers of its equal chunks (zero-padded in
    front), each started at 0: a pairwise tree, then the init 0xFFFFFFFF and the final XOR."""
    regs = np.asarray(registers, np.uint32)
    size = 1 << max(len(regs) - 1, 0).bit_length()
    regs = np.concatenate([np.zeros(size - len(regs), np.uint32), regs])
    step = _power(_zero_byte_matrix(), chunk)
    while len(regs) > 1:
        regs = _apply(step, regs[0::2]) ^ regs[1::2]
        step = _apply(step, step)
    init = int(_apply(_power(_zero_byte_matrix(), length), np.array([0xFFFFFFFF], np.uint32))[0])
    return (int(regs[0]) ^ init) ^ 0xFFFFFFFF


def crc32c_extend(crc: int, more: int, length: int) -> int:
    """The CRC32C of ``A || B`` from ``crc`` (of ``A``), ``more`` (of ``B``) and ``len(B)``
    bytes: ``crc`` advanced over ``length`` zero bytes, XOR ``more`` (zlib's
    ``crc32_combine``; the init and final XOR cancel)."""
    step = _power(_zero_byte_matrix(), length)
    return int(_apply(step, np.array([crc], np.uint32))[0]) ^ more


def _chunking(length: int, chunks: int) -> tuple[int, int, int]:
    """(chunk length, number of chunks, zero pad in front) for ``length`` bytes."""
    count = max(1, min(chunks, length))
    chunk = -(-length // count) if length else 1
    count = -(-length // chunk) if length else 1
    return chunk, count, count * chunk - length


def crc32c(data, *, device: str = "host", chunks: int | None = None) -> int:
    """CRC32C of a byte string or 1-D u8 array (NumPy, or CuPy on ``cuda``), as an int.

    ``device="host"`` computes the chunk registers in NumPy, one vector step per byte of a
    chunk (``chunks`` default 4096 chunks); a pxos backend runs ``crc32c_chunks``, one
    thread per chunk (default: chunks of 4 KiB, at least 256 chunks).
    Raises PxArgumentError for other data.
    """
    arr = as_bytes_array(data, "data")
    length = len(arr)
    if chunks is None:
        chunks = 4096 if device == "host" else max(256, length // 4096)
    chunk, count, pad = _chunking(length, chunks)
    if device == "host":
        regs = _host_registers(to_host(arr), chunk, count, pad)
    else:
        xp = np if isinstance(arr, np.ndarray) else __import__("cupy")
        regs = xp.zeros(count, xp.uint32)
        if length:
            crc32c_chunks(arr, regs, xp.asarray(TABLE), chunk, pad, device=device,
                          threads=(count,))
        regs = regs if xp is np else regs.get()
    return combine(regs, chunk, length)


def _host_registers(arr: np.ndarray, chunk: int, count: int, pad: int) -> np.ndarray:
    """The chunk registers in NumPy: the chunks as rows, one table step per column."""
    rows = np.zeros(count * chunk, np.uint8)
    rows[pad:] = arr
    rows = rows.reshape(count, chunk)
    regs = np.zeros(count, np.uint32)
    for k in range(chunk):
        regs = TABLE[(regs ^ rows[:, k]) & 0xFF] ^ (regs >> np.uint32(8))
    return regs
