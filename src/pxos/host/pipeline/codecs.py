"""COMPRESS and DECOMPRESS on the host: ``zstandard``, ``lz4.frame`` and ``zlib``.

The formats are the standard ones, readable by the usual tools: a zstd frame (RFC 8878)
with the content size in its header and a content checksum (XXH64, so corruption is
found; ``decompress`` also reads several frames back to back, as nvCOMP writes them), an
LZ4 frame (``lz4 -d`` reads it, with a content checksum), and for ``deflate`` zlib's container (RFC 1950: a deflate stream of RFC 1951 and an
Adler-32 check, so that corruption is detected; ``decompress`` also reads gzip members
back to back, RFC 1952, which is what the GPU writes). GPU compression through nvCOMP is
in ``nvcomp_codec``.
"""

from __future__ import annotations

import zlib

import numpy as np

from pxos.errors import PxArgumentError, PxRuntimeError
from pxos.extras import require
from pxos.host.pipeline.bytes import as_bytes_array, to_host

CODECS = ("zstd", "lz4", "deflate")
# (lowest, default, highest) level of each codec
LEVELS = {"zstd": (-7, 3, 22), "lz4": (0, 0, 16), "deflate": (0, 6, 9)}


def check_codec(codec: str) -> None:
    """Raises PxArgumentError for a codec that is not one of CODECS."""
    if codec not in CODECS:
        raise PxArgumentError(f"unknown codec {codec!r}; expected one of {', '.join(CODECS)}")


LIBRARIES = {"zstd": "zstandard", "lz4": "lz4.frame"}  # the host's (the pipelines extra)


def host_codec(codec: str) -> None:
    """:func:`check_codec`, and the host library of ``codec`` installed (deflate's is
    zlib's, in the standard library).

    Raises:
        PxArgumentError: an unknown codec.
        PxPackageError: its library is not installed (the hint names the extra).
    """
    check_codec(codec)
    if codec in LIBRARIES:
        require(LIBRARIES[codec], "pipelines", f"the {codec} codec on the host")


def compress(data, codec: str, level: int | None = None) -> np.ndarray:
    """``data`` (bytes or 1-D u8) compressed by ``codec`` at ``level`` (default: the codec's
    own: zstd 3, lz4 0, deflate 6), as a new u8 array.

    Raises:
        PxArgumentError: unknown codec, or a level outside the codec's range.
    """
    host_codec(codec)
    low, default, high = LEVELS[codec]
    level = default if level is None else level
    if not isinstance(level, int) or not low <= level <= high:
        raise PxArgumentError(f"{codec} level must be an integer from {low} to {high}; "
                              f"got {level!r}")
    raw = np.ascontiguousarray(to_host(as_bytes_array(data, "data")))
    if codec == "zstd":
        import zstandard
        out = zstandard.ZstdCompressor(level=level, write_checksum=True).compress(raw)
    elif codec == "lz4":
        import lz4.frame
        out = lz4.frame.compress(raw, compression_level=level, content_checksum=True,
                                 store_size=True)
    else:
        out = zlib.compress(raw, level)
    return np.frombuffer(out, np.uint8).copy()


def decompress(data, codec: str) -> np.ndarray:
    """The bytes that ``compress`` packed, as a new u8 array.

    Raises:
        PxArgumentError: unknown codec.
        PxRuntimeError: corrupt or truncated input (names the codec and the library's reason).
    """
    host_codec(codec)
    raw = np.ascontiguousarray(to_host(as_bytes_array(data, "data"))).tobytes()
    try:
        out = _decompress(raw, codec)
    except (RuntimeError, zlib.error, ValueError) as err:  # the libraries' decode errors
        raise PxRuntimeError(f"{codec}: the compressed input is corrupt or truncated "
                             f"({err})") from None
    return np.frombuffer(out, np.uint8).copy()


def _decompress(raw: bytes, codec: str) -> bytes:
    if codec == "zstd":  # one frame, or several back to back (nvCOMP's, RFC 8878)
        import zstandard
        out = []
        while True:
            dec = zstandard.ZstdDecompressor().decompressobj()  # frames without a size too
            try:
                out.append(dec.decompress(raw))
            except zstandard.ZstdError as err:
                raise ValueError(str(err)) from None
            if not dec.eof:
                raise ValueError("the frame ends early")
            raw = dec.unused_data
            if not raw:
                return b"".join(out)
    if codec == "lz4":
        import lz4.frame
        dec = lz4.frame.LZ4FrameDecompressor()
        out = dec.decompress(raw)
        if not dec.eof or dec.unused_data:
            raise ValueError("the frame ends early" if not dec.eof else "bytes after the frame")
        return out
    gzip = raw[:2] == b"\x1f\x8b"  # nvCOMP's deflate: gzip members back to back
    out = []
    while True:
        dec = zlib.decompressobj(31 if gzip else 15)
        out.append(dec.decompress(raw) + dec.flush())
        if not dec.eof:
            raise ValueError("the stream ends early")
        raw = dec.unused_data
        if not raw:
            return b"".join(out)
        if not gzip:
            raise ValueError("bytes after the stream")
