"""VALIDATE … AS npy|png|utf8: does a byte string hold a well-formed file of that kind?

- ``npy``: NumPy's header (magic, version, dictionary), and exactly the data bytes the header
  promises (object arrays, which need pickle, are refused).
- ``png``: the 8-byte signature, then chunks each with a correct CRC-32, IHDR first, IEND
  last, nothing after it (PNG specification, sections 5.2 to 5.6).
- ``utf8``: strict UTF-8 (no surrogates, no overlong forms), as Python decodes it.
"""

from __future__ import annotations

import io
import zlib

import numpy as np

from pxos.errors import PxArgumentError, PxRuntimeError
from pxos.host.pipeline.bytes import as_bytes_array

KINDS = ("npy", "png", "utf8")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def validate(data, kind: str) -> None:
    """Return if ``data`` (bytes or 1-D u8) is a well-formed ``kind``.

    Raises:
        PxArgumentError: unknown kind.
        PxRuntimeError: it is not, with the reason and the byte offset where known.
    """
    if kind not in KINDS:
        raise PxArgumentError(f"unknown format {kind!r}; expected one of {', '.join(KINDS)}")
    arr = as_bytes_array(data, "data")
    raw = (arr if isinstance(arr, np.ndarray) else arr.get()).tobytes()
    {"npy": _npy, "png": _png, "utf8": _utf8}[kind](raw)


def _utf8(raw: bytes) -> None:
    try:
        raw.decode("utf-8", "strict")
    except UnicodeDecodeError as err:
        raise PxRuntimeError(f"not UTF-8: {err.reason} at byte {err.start}") from None


def _npy(raw: bytes) -> None:
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(stream)
    except (ValueError, SyntaxError) as err:
        raise PxRuntimeError(f"not an .npy file: {err}") from None
    if dtype.hasobject:
        raise PxRuntimeError("an .npy file of Python objects (pickled) is refused")
    want = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(raw) - stream.tell()
    if have != want:
        raise PxRuntimeError(f".npy header promises {want} data bytes ({dtype}, shape "
                             f"{shape}); the file has {have}")


def _png(raw: bytes) -> None:
    if not raw.startswith(_PNG_SIGNATURE):
        raise PxRuntimeError("not a PNG file: the 8-byte signature is missing")
    pos, first = len(_PNG_SIGNATURE), True
    while True:
        if pos + 12 > len(raw):
            raise PxRuntimeError(f"PNG ends inside a chunk header at byte {pos} (no IEND)")
        length = int.from_bytes(raw[pos:pos + 4], "big")
        kind = raw[pos + 4:pos + 8]
        end = pos + 8 + length
        if end + 4 > len(raw):
            raise PxRuntimeError(f"PNG chunk {kind!r} at byte {pos} runs past the end")
        if zlib.crc32(raw[pos + 4:end]) != int.from_bytes(raw[end:end + 4], "big"):
            raise PxRuntimeError(f"PNG chunk {kind!r} at byte {pos} has a wrong CRC")
        if first and kind != b"IHDR":
            raise PxRuntimeError("PNG's first chunk is not IHDR")
        first, pos = False, end + 4
        if kind == b"IEND":
            if pos != len(raw):
                raise PxRuntimeError(f"{len(raw) - pos} bytes after PNG's IEND chunk")
            return
