"""Streamed COMPRESS on the GPU: nvCOMP chunk by chunk, one standard stream out.

``NvcompFilter`` has the interface of ``filters.CodecFilter`` (``push(data)``, then
``close()``, each returning the next compressed bytes). It keeps back the tail of each push
that does not fill a whole nvCOMP chunk (``nvcomp_codec.CHUNK``, 64 KiB), so every chunk
but the stream's last is whole and the bytes do not depend on how the stream was cut. Each
push's whole chunks go through ``records`` (by default nvCOMP on the current CUDA device:
upload, ``nvcomp_codec.compress_piece``'s batched encode and packing kernel, download), and
the framing is that of the one-shot GPU path, written as the stream goes:

- ``lz4``: one LZ4 frame of independent 64 KiB blocks (``lz4_frame``), its header without
  the content size (unknown until the end, as ``lz4`` writes from a pipe) given with the
  first bytes, the end mark at ``close``; no checksums (nvCOMP computes no XXH32).
- ``zstd``: one zstd frame per chunk, back to back (RFC 8878, section 3).
- ``deflate``: one gzip member per chunk (RFC 1952), as ``nvcomp_codec`` writes.

``lz4 -d``, ``zstd -d``, ``gzip -d``, ``codecs.decompress`` and the streamed DECOMPRESS
(``filters.CodecFilter``) read them. An empty stream gives the codec's empty stream (an LZ4
frame with no block, one empty zstd frame, one empty gzip member).

``records`` may be replaced (the tests, where no GPU is, use a stand-in that writes the same
records from the CPU libraries' raw blocks, frames and members).
"""

from __future__ import annotations

import gzip

import numpy as np

from pxos.errors import PxArgumentError
from pxos.host.pipeline import lz4_frame, nvcomp_codec
from pxos.host.pipeline.codecs import LEVELS, check_codec


def gpu_records(piece: np.ndarray, codec: str) -> np.ndarray:
    """The packed records of ``piece`` (host u8, whole chunks but the stream's last) from
    nvCOMP on the current CUDA device, back in host memory."""
    import cupy as cp

    out = nvcomp_codec.compress_piece(cp.asarray(piece), codec)
    return out.get()


class NvcompFilter:
    """COMPRESS of a stream by nvCOMP (module docstring).

    Args:
        codec: ``lz4``, ``zstd`` or ``deflate``.
        level: None or the codec's default level (nvCOMP has no levels).
        records: ``records(piece, codec) -> u8 array``, the packed records of whole chunks
            (default :func:`gpu_records`).

    Raises:
        PxArgumentError: an unknown codec, or a level other than the codec's default.
    """

    def __init__(self, codec: str, level: int | None = None, records=None):
        check_codec(codec)
        if level is not None and level != LEVELS[codec][1]:
            raise PxArgumentError(f"nvCOMP has no {codec} levels; LEVEL {level} runs on the "
                                  "host only (leave it out, or use device host)")
        self.codec = codec
        self.records = records if records is not None else gpu_records
        self.pending = np.zeros(0, np.uint8)
        self.head = lz4_frame.header(nvcomp_codec.CHUNK) if codec == "lz4" else b""
        self.written = 0  # compressed bytes given so far (0: the stream is still empty)

    def push(self, data) -> bytes:
        buf = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
        buf = np.concatenate([self.pending, buf]) if len(self.pending) else buf
        whole = len(buf) // nvcomp_codec.CHUNK * nvcomp_codec.CHUNK
        self.pending = buf[whole:].copy()  # the caller may reuse its buffer
        return self._emit(buf[:whole])

    def close(self) -> bytes:
        out = self._emit(self.pending)
        self.pending = np.zeros(0, np.uint8)
        if self.codec == "lz4":
            return out + self._start() + lz4_frame.END_MARK
        if self.written == 0:  # nothing compressed: the empty stream
            from pxos.host.pipeline.codecs import compress

            return (gzip.compress(b"", mtime=0) if self.codec == "deflate"
                    else compress(np.zeros(0, np.uint8), "zstd").tobytes())
        return out

    def _start(self) -> bytes:
        head, self.head = self.head, b""
        return head

    def _emit(self, piece: np.ndarray) -> bytes:
        if not len(piece):
            return b""
        parts = [self.records(piece[lo:lo + nvcomp_codec.PIECE], self.codec)
                 for lo in range(0, len(piece), nvcomp_codec.PIECE)]
        body = b"".join(np.ascontiguousarray(p).tobytes() for p in parts)
        self.written += len(body)
        return self._start() + body
