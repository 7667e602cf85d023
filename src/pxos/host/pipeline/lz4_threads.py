"""LZ4 blocks compressed one block at a time on every core, in C threads
(``lz4_threads.c`` beside this file), for ``lz4_frame.BlockCompressor``.

Why: on the Python pool each block is a ``lz4.frame.compress`` call that takes the GIL
back when it returns and allocates a fresh bytes object for its frame, and each chunk is
handed to the pool's threads through futures. The helper releases the GIL once per chunk;
the calling thread and the workers of a persistent pool (``core_threads.h``) take blocks
from a shared counter, and each block's frame is written into its own slot of one buffer.

The frames come from the lz4 package's own liblz4 (the addresses of LZ4F_compressFrame,
LZ4F_isError and LZ4F_compressFrameBound in ``lz4.frame``'s extension module, handed to
the helper as ``evp_threads`` hands OpenSSL's), with the preferences that
``lz4_frame.record_views`` gives ``lz4.frame.compress``, so the bytes are the same. Where
the helper cannot be built or bound (no C compiler, ``PXOS_NATIVE_CALL=0`` or
``PXOS_LZ4_THREADS=0``), :func:`helper` is None and the Python pool serves.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name("lz4_threads.c")
NAME = "pxos_lz4_threads"
_FUNCTIONS = ("LZ4F_compressFrame", "LZ4F_isError", "LZ4F_compressFrameBound",
              "LZ4_decompress_safe", "XXH32")


def helper():
    """The built helper, bound to the lz4 package's liblz4, or None
    (``native_call.bound_extension``; ``PXOS_LZ4_THREADS=0`` switches it off)."""
    from pxos.host.native_call import bound_extension

    return bound_extension(SOURCE, NAME, "PXOS_LZ4_THREADS", _addresses)


def _addresses() -> list | None:
    try:
        import lz4.frame._frame as frame_module
        lib = ctypes.CDLL(frame_module.__file__)
        return [ctypes.cast(getattr(lib, f), ctypes.c_void_p).value for f in _FUNCTIONS]
    except (ImportError, OSError, AttributeError):  # no lz4, or one built without them
        return None


class BlockWriter:
    """Block records of ``block`` bytes (64 KiB, 256 KiB, 1 MiB or 4 MiB) at ``level``, on
    C threads; it keeps its frame slots from one call to the next (``scratch``), so a
    stream's chunks do not fault a fresh buffer in each time. Make one only where
    :func:`helper` is not None."""

    def __init__(self, block: int, level: int):
        self.block, self.level = block, level
        self.stride = helper().stride(block, level)
        self.scratch = np.empty(0, np.uint8)

    def records(self, data: np.ndarray, workers: int) -> bytes:
        """``data`` (contiguous u8) cut into blocks, each an independent LZ4 block record
        with its XXH32 checksum (the bytes of ``lz4_frame.block_records``), compressed by
        at most ``workers`` threads, joined in order (the copies side by side too).

        Raises:
            RuntimeError: liblz4 failed on a block (a bug of ours: a slot holds its bound).
        """
        count, stride = -(-len(data) // self.block), self.stride
        if len(self.scratch) < count * stride:
            self.scratch = np.empty(count * stride, np.uint8)
        return helper().compress(data, self.scratch, self.block, stride, self.level,
                                 max(1, workers))


HUGE_PAGE = 2 << 20  # bytes: x86-64's transparent huge page


def output(nbytes: int) -> np.ndarray:
    """A fresh u8 array of ``nbytes`` that starts on a ``HUGE_PAGE`` boundary (a view of a
    slightly larger one), so that :func:`unpack`'s pieces of whole huge pages are each
    first touched, and faulted in, by one thread: NumPy asks for huge pages for large
    arrays, and two threads that write the two halves of one page at once wait for each
    other's fault of it."""
    raw = np.empty(nbytes + HUGE_PAGE, np.uint8)
    at = -raw.ctypes.data % HUGE_PAGE
    return raw[at:at + nbytes]


def unpack(records: list, out: np.ndarray, block: int, checked: bool,
           workers: int) -> np.ndarray:
    """Decode LZ4 block records (each a buffer: size word, data, and its XXH32 where
    ``checked``) into ``out`` (u8, at least ``len(records) * block`` bytes; best from
    :func:`output`), record ``k`` at ``k * block``, on at most ``workers`` threads taking
    ``HUGE_PAGE`` bytes of blocks at a time; the decoded lengths (int64). Call
    only where :func:`helper` is not None.

    Raises:
        ValueError: a block whose checksum does not match, or that is corrupt (its
            position in the frame's blocks of this call named).
    """
    sizes = np.empty(len(records), np.int64)
    group = max(1, HUGE_PAGE // block)  # blocks a piece: whole huge pages where out is aligned
    helper().decompress(records, out, sizes, block, checked, group, max(1, workers))
    bad = np.flatnonzero(sizes < 0)
    if len(bad):
        k = int(bad[0])
        raise ValueError(f"block {k} of this chunk "
                         + ("fails its checksum" if sizes[k] == -1 else "is corrupt"))
    return sizes
