"""CRC32C of one buffer on every core, in C threads (``crc32c_threads.c`` beside this file).

Why: the ``crc32c`` package runs at about 12 GB/s a core from memory, so an 8 MiB part
takes 0.7 ms, and on the Python pool (``cores.CorePool``) each chunk wakes a sleeping
worker through a future (about 50 µs on a VM) and hands the GIL back and forth: two
cores gave 1.5× one (``benchmarks/pipeline_cores.py``). The helper releases the GIL once
per call; the calling thread and the workers of a persistent pool (``core_threads.h``,
whose workers busy-wait 100 µs before they sleep, so back-to-back chunks start without a
wake-up) take ``PIECE`` bytes at a time from a shared counter, and the pieces' CRCs are
joined in C (zlib's ``crc32_combine``, as ``crc32c.crc32c_extend``).

Each piece's CRC comes from the package's own hardware function, ``_crc32c_hw_adler`` in
its extension module (Mark Adler's SSE4.2 code; the package's ``crc32c.crc32c`` calls it
with the register inverted before and after), whose address Python hands the helper as
``lz4_threads`` hands liblz4's. It is not the package's documented API: where it is
missing (another version, an ARM build, no SSE4.2: ``crc32c.hardware_based`` false), where
the helper cannot be built, or with ``PXOS_NATIVE_CALL=0`` or ``PXOS_CRC32C_THREADS=0``,
:func:`helper` is None and ``crc32c.py`` runs the package on the Python pool. One worker
runs the same code as many (the one-core baseline of ``pipeline_cores.py``).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

SOURCE = Path(__file__).with_name("crc32c_threads.c")
NAME = "pxos_crc32c_threads"
PIECE = 256 << 10  # bytes a thread takes from the counter at a time (20-40 µs)
_SYMBOL = "_crc32c_hw_adler"


def helper():
    """The built helper, bound to the ``crc32c`` package's hardware function and checked
    against the package's public ``crc32c.crc32c`` (:func:`_agrees`), or None
    (``native_call.bound_extension``; ``PXOS_CRC32C_THREADS=0`` switches it off)."""
    from pxos.host.native_call import bound_extension

    return bound_extension(SOURCE, NAME, "PXOS_CRC32C_THREADS", _addresses, _agrees)


def _addresses() -> list | None:
    try:
        import crc32c
        import crc32c._crc32c as ext
        if not crc32c.hardware_based:
            return None
        return [ctypes.cast(getattr(ctypes.CDLL(ext.__file__), _SYMBOL), ctypes.c_void_p).value]
    except (ImportError, OSError, AttributeError):  # no package, or one without the symbol
        return None


def _agrees(module) -> bool:
    """Whether the bound helper gives the package's public ``crc32c.crc32c`` on a few
    lengths and cuts: the symbol is not the package's documented API, so a version whose
    function means something else is refused here rather than trusted (the Python pool
    then serves)."""
    from crc32c import crc32c as reference

    data = bytes(range(256)) * 4099 + b"pxos"   # 1,049,348 bytes: pieces and a tail
    for n, start in ((0, 0), (1, 0), (31, 7), (PIECE + 5, 3), (len(data), 0)):
        part = data[:n]
        if module.crc32c(part, start, PIECE, 2) != reference(part, start):
            return False
    return True


def crc32c(data, workers: int, crc: int = 0) -> int:
    """The CRC32C of the bytes ``crc`` is the CRC32C of, followed by ``data`` (a contiguous
    buffer: bytes, or a 1-D u8 NumPy array), on at most ``workers`` threads taking
    ``PIECE`` bytes at a time. Call only where :func:`helper` is not None."""
    return helper().crc32c(data, crc, PIECE, max(1, workers))


def set_spin(ns: int) -> None:
    """How long the pool's threads busy-wait after a call before they sleep (ns; 0: never).
    Call only where :func:`helper` is not None."""
    helper().set_spin(ns)
