"""CRC32C (Castagnoli, as iSCSI and ext4 use it) on the CPU and on pxos backends.

On ``host`` the ``crc32c`` package (ICRAR, LGPL-2.1-or-later, the ``pipelines`` extra) runs
the SSE4.2 ``crc32`` instruction (ARMv8's CRC32C on ARM, else slicing-by-8), about 12 GB/s a
core from memory, on as many threads as the caller's ``cores.CorePool`` has workers (one
per core without one): on the C threads of ``crc32c_threads`` (pieces of 256 KiB from a
shared counter, joined in C) where that helper serves, else on the Python pool (a buffer
of at least ``2 × PART`` bytes cut into one part per worker, the GIL released on buffers
from 32 KiB, the calling thread taking the first part) joined by ``crc32c_extend``.
Without the package, NumPy (about 80 MB/s a core): the data split into 4096 equal chunks
whose registers advance together, one table step per byte. On a backend, one kernel
thread per chunk (``crc32c_kernel``); ``combine`` joins the chunk registers.

Joining uses CRC's linearity: the register after ``A || B`` is the register after ``A``
advanced over ``len(B)`` zero bytes, XOR the register of ``B`` started at 0.
``crc32c_extend`` advances by multiplying by ``x^(8·len(B))`` modulo the polynomial (zlib
1.2.12's ``crc32_combine``: ``multmodp`` and ``x2nmodp``, Mark Adler); in Python about
8 µs for a length of 8 MiB, 150 µs for 2^40 - 1 bytes (one product per bit set).
``combine`` joins many registers at once: advancing over ``n`` zero bytes as a 32 × 32
matrix over GF(2), the chunks joined pairwise, ``log2(chunks)`` NumPy steps, squaring the
matrix at each level.
"""

from __future__ import annotations

import numpy as np

from pxos.host.pipeline import crc32c_threads
from pxos.host.pipeline.bytes import as_bytes_array, to_host
from pxos.host.pipeline.cores import CorePool, cpu_count
from pxos.host.pipeline.crc32c_kernel import crc32c_chunks

try:  # the pipelines extra; without it the NumPy path serves
    import crc32c as _library
except ImportError:
    _library = None

POLY = 0x82F63B78  # reflected Castagnoli polynomial
PART = 4 << 20  # bytes: the least a worker of the pool is given (about 0.3 ms at 12 GB/s)


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


def _multmodp(a: int, b: int) -> int:
    """``a · b`` modulo the polynomial, both reflected 32-bit polynomials (bit 31 is
    ``x^0``); ``a`` non-zero (zlib's ``multmodp``)."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ POLY if b & 1 else b >> 1


def _x2n_table(size: int = 72) -> list[int]:
    """``x^(2^k)`` modulo the polynomial for ``k < size`` (enough for any 64-bit length in
    bits); entry 0 is ``x``."""
    table = [1 << 30]
    while len(table) < size:
        table.append(_multmodp(table[-1], table[-1]))
    return table


_X2N = _x2n_table()


def crc32c_extend(crc: int, more: int, length: int) -> int:
    """The CRC32C of ``A || B`` from ``crc`` (of ``A``), ``more`` (of ``B``) and ``len(B)``
    = ``length`` bytes (ints; 0 <= length < 2^64): ``crc`` times ``x^(8·length)`` modulo
    the polynomial, XOR ``more`` (zlib's ``crc32_combine``; the init and final XOR cancel).
    """
    power, k = 1 << 31, 3  # x^0; the length in bytes is 2^3 times the length in bits
    while length:
        if length & 1:
            power = _multmodp(_X2N[k], power)
        length >>= 1
        k += 1
    return _multmodp(power, crc) ^ more


def library() -> str:
    """What computes CRC32C on ``host``: ``"crc32c (hardware)"``, ``"crc32c (software)"``
    (the package without SSE4.2 or ARMv8 CRC) or ``"numpy"`` (the package is absent)."""
    if _library is None:
        return "numpy"
    return "crc32c (hardware)" if _library.hardware_based else "crc32c (software)"


def _chunking(length: int, chunks: int) -> tuple[int, int, int]:
    """(chunk length, number of chunks, zero pad in front) for ``length`` bytes."""
    count = max(1, min(chunks, length))
    chunk = -(-length // count) if length else 1
    count = -(-length // chunk) if length else 1
    return chunk, count, count * chunk - length


def crc32c(data, *, device: str = "host", chunks: int | None = None, pool=None) -> int:
    """CRC32C of a byte string or 1-D u8 array (NumPy, or CuPy on ``cuda``), as an int.

    ``device="host"``: the ``crc32c`` package on as many threads as ``pool`` (a
    ``cores.CorePool``; ``None``: one thread per core) has workers (module docstring);
    without the package, NumPy over ``chunks`` chunks (default 4096). A pxos backend runs
    ``crc32c_chunks``, one thread per chunk (default: chunks of 4 KiB, at least 256 chunks).
    Raises PxArgumentError for other data.
    """
    arr = as_bytes_array(data, "data")
    length = len(arr)
    if device == "host" and _library is not None:
        return _library_crc(to_host(arr), pool)
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


def _library_crc(arr: np.ndarray, pool) -> int:
    """CRC32C of ``arr`` by the ``crc32c`` package on as many threads as ``pool`` has
    workers (None: one per core): on ``crc32c_threads``' C threads where that helper
    serves, else one part per worker of ``pool`` (None: a pool made for the call) joined
    in order by ``crc32c_extend``."""
    arr = np.ascontiguousarray(arr)
    if len(arr) <= 4 * crc32c_threads.PIECE:  # 1 MiB: less than waking a thread saves
        return _library.crc32c(arr)
    workers = cpu_count() if pool is None else pool.workers
    if crc32c_threads.helper() is not None:
        return crc32c_threads.crc32c(arr, workers)
    workers = min(workers, len(arr) // PART)
    if workers < 2:
        return _library.crc32c(arr)
    if pool is None:
        with CorePool(workers) as own:
            return _library_crc(arr, own)
    step = -(-len(arr) // workers)
    parts = [arr[lo:lo + step] for lo in range(0, len(arr), step)]
    crc = 0
    for part, got in zip(parts, pool.run_here(_library.crc32c, [(p,) for p in parts])):
        crc = crc32c_extend(crc, got, len(part))
    return crc


def _host_registers(arr: np.ndarray, chunk: int, count: int, pad: int) -> np.ndarray:
    """The chunk registers in NumPy: the chunks as rows, one table step per column."""
    rows = np.zeros(count * chunk, np.uint8)
    rows[pad:] = arr
    rows = rows.reshape(count, chunk)
    regs = np.zeros(count, np.uint32)
    for k in range(chunk):
        regs = TABLE[(regs ^ rows[:, k]) & 0xFF] ^ (regs >> np.uint32(8))
    return regs
