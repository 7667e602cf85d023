"""Stream filters: the pipeline primitives applied to a byte stream, chunk by chunk.

A filter takes any slicing of its input (``push(data)``, then ``close()``) and gives the
same bytes as the one-shot primitive on the whole input, so chunk sizes never change a
result:

- ``KeystreamFilter``: AES-256-CTR and ChaCha20 continue their counter across chunks (the
  counter block of byte ``p`` is ``nonce + p // 16`` as a 128-bit big-endian number, as
  ``cryptography``'s ``modes.CTR``; ChaCha20's block counter is ``p // 64``, RFC 8439), so
  the streamed ciphertext equals the one-shot ciphertext of the whole file. Each chunk is
  encrypted by OpenSSL on C threads that share its pieces out (``evp_threads``: the GIL
  released once per chunk), else cut into one part per worker of ``pool`` through
  ``openssl_evp`` (the GIL released per call), else by ``cryptography``.
- ``CodecFilter``: zstd, LZ4 and deflate through the libraries' streaming objects; the
  output is one standard frame (zstd with a content checksum but without the content size
  in its header, as ``zstd`` writes from a pipe; LZ4 with independent 1 MiB blocks, each
  with its checksum, compressed side by side on every core), readable by the usual tools
  and by ``codecs.decompress``.
- sinks that read the stream in order and give one value at the end: ``Sha256Sink``,
  ``Crc32cSink`` and ``Utf8Sink``.

Every error is a ``PxRuntimeError`` without a place; the caller adds the statement's.
"""

from __future__ import annotations

import codecs as _textcodecs
import hashlib
import zlib

import numpy as np

from pxos.errors import PxArgumentError, PxRuntimeError
from pxos.extras import require
from pxos.host.pipeline.codecs import LEVELS, host_codec
from pxos.host.pipeline.crc32c import crc32c, crc32c_extend
from pxos.host.pipeline.lz4_frame import BlockCompressor
from pxos.host.pipeline.lz4_unpack import BlockDecompressor

MIN_PART = 1 << 20  # bytes: smaller chunks are not split between workers


def _joined(pending: np.ndarray, data) -> np.ndarray:
    data = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else data
    return np.concatenate([pending, data]) if len(pending) else data


def parts(length: int, unit: int, workers: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges cutting ``length`` bytes into at most ``workers`` parts, each a
    multiple of ``unit`` bytes (but the last) and at least ``MIN_PART`` bytes."""
    count = max(1, min(workers, length // MIN_PART))
    step = -(-length // count // unit) * unit or unit
    return [(lo, min(lo + step, length)) for lo in range(0, length, step)] or [(0, 0)]


class KeystreamFilter:
    """AES-256-CTR (``aes256ctr``) or ChaCha20 over a stream; ``device`` ``host`` runs
    ``cryptography``, a backend name the pxos kernels. Encryption and decryption are one
    operation. ``key`` 32 bytes, ``nonce`` 16 (CTR) or 12 (ChaCha20), checked by the caller.

    Raises (from ``push``): PxArgumentError when ChaCha20's 32-bit block counter would wrap
    (256 GiB under one nonce, RFC 8439 section 2.4).
    """

    def __init__(self, cipher: str, key: bytes, nonce: bytes, device: str = "host",
                 pool=None):
        self.cipher, self.key, self.nonce, self.device, self.pool = (cipher, key, nonce,
                                                                     device, pool)
        self.unit = 64 if cipher == "chacha20" else 16
        self.block = 0  # keystream blocks used so far
        self.pending = np.zeros(0, np.uint8)  # < one block, waiting for the rest
        self.ring = None  # on cuda: the chunks in flight (cuda_ring)

    def push(self, data) -> np.ndarray:
        buf = _joined(self.pending, data)
        whole = len(buf) // self.unit * self.unit
        self.pending = buf[whole:].copy()
        return self._xor(buf[:whole])

    def close(self) -> np.ndarray:
        out, self.pending = self._xor(self.pending), np.zeros(0, np.uint8)
        if self.ring is not None:  # the chunks still on the GPU
            out = np.concatenate([out] + self.ring.drain())
        return out

    def _cuda(self, data: np.ndarray, start: int, chacha_start: int) -> np.ndarray:
        """Queue ``data`` on the GPU; the outputs of earlier chunks that are done (so a
        chunk's bytes may come out one ``push`` later: ``close`` gives the rest)."""
        if self.ring is None:
            from pxos.host.pipeline.cuda_ring import CudaKeystreamRing

            self.ring = CudaKeystreamRing(self.cipher, self.key)
        if not len(data):
            return data
        done = self.ring.submit(data, self.counter(start), chacha_start)
        return np.concatenate(done) if done else np.zeros(0, np.uint8)

    def _xor(self, data: np.ndarray) -> np.ndarray:
        n, start = len(data), self.block
        self.block += -(-n // self.unit)
        if self.cipher == "chacha20" and self.block > 2 ** 32:
            raise PxArgumentError("chacha20: more than 256 GiB under one nonce would wrap "
                                  "its 32-bit block counter (RFC 8439); split the file")
        chacha_start = start if self.cipher == "chacha20" else 0
        if self.device == "cuda":  # pinned buffers and streams: host/pipeline/cuda_ring
            return self._cuda(data, start, chacha_start)
        if self.device != "host":
            from pxos.host.pipeline.ciphers import keystream_xor

            return np.asarray(keystream_xor(data, self.cipher, self.key,
                                            self.counter(start), self.device, chacha_start))
        out = np.empty(n + 16, np.uint8)  # cryptography's update_into wants a block spare
        self.xor_into(data, out, start)
        return out[:n]

    def xor_into(self, src: np.ndarray, dst: np.ndarray, block: int) -> None:
        """On the host: ``dst[:len(src)] = src XOR`` the keystream from keystream block
        ``block``, one part per worker of the pool; ``dst`` may be ``src`` (in place) and
        needs 16 bytes to spare only on ``cryptography``'s path (no libcrypto)."""
        from pxos.host.pipeline import evp_threads

        n = len(src)
        if n and evp_threads.helper() is not None:  # C threads, the GIL released once
            evp_threads.xor_keystream(self.cipher, self.key, self._iv(block), src, dst[:n],
                                      getattr(self.pool, "workers", 1))
            return
        jobs = [(src[lo:hi], dst[lo:hi + 16], block + lo // self.unit)
                for lo, hi in parts(n, self.unit, getattr(self.pool, "workers", 1))]
        if self.pool is None or len(jobs) == 1:
            for job in jobs:
                self._host_part(*job)
        else:
            self.pool.run(self._host_part, jobs)

    def counter(self, block: int) -> bytes:
        """The counter block (AES) or nonce (ChaCha20) for keystream block ``block``."""
        if self.cipher == "chacha20":
            return self.nonce
        return ((int.from_bytes(self.nonce, "big") + block) % 2 ** 128).to_bytes(16, "big")

    def _iv(self, block: int) -> bytes:
        """OpenSSL's 16-byte IV for keystream block ``block``: the counter block (AES), or
        the 32-bit little-endian block counter ‖ the nonce (ChaCha20)."""
        if self.cipher == "chacha20":
            return block.to_bytes(4, "little") + self.nonce
        return self.counter(block)

    def _host_part(self, src: np.ndarray, dst: np.ndarray, block: int) -> None:
        """One part: OpenSSL through ``openssl_evp`` (the GIL released, so the parts run
        on all cores), else ``cryptography`` (which holds it)."""
        from pxos.host.pipeline import openssl_evp

        if not len(src):
            return
        iv = self._iv(block)
        if openssl_evp.available():
            openssl_evp.xor_keystream(self.cipher, self.key, iv, src, dst[:len(src)])
            return
        ciphers = require("cryptography.hazmat.primitives.ciphers", "pipelines",
                          f"{self.cipher} on the host without OpenSSL's libcrypto")
        Cipher, algorithms, modes = ciphers.Cipher, ciphers.algorithms, ciphers.modes
        c = (Cipher(algorithms.ChaCha20(self.key, iv), None) if self.cipher == "chacha20"
             else Cipher(algorithms.AES(self.key), modes.CTR(iv)))
        c.encryptor().update_into(src, dst)


class CodecFilter:
    """zstd, lz4 or deflate compression (``decompress`` False) or decompression of a stream.
    ``workers`` > 1 lets zstd compress with that many threads (one standard frame still);
    ``pool`` (``cores.CorePool``) compresses LZ4's independent blocks side by side
    (``lz4_frame.BlockCompressor``: one standard frame too) and decodes them so
    (``lz4_unpack.BlockDecompressor``).

    Raises: PxArgumentError for an unknown codec or level; PxRuntimeError (from ``push`` or
    ``close``) for corrupt or truncated compressed input.
    """

    def __init__(self, codec: str, decompress: bool, level: int | None = None,
                 workers: int = 1, pool=None):
        host_codec(codec)
        self.codec, self.decompress, self.pool = codec, decompress, pool
        low, default, high = LEVELS[codec]
        level = default if level is None else level
        if not isinstance(level, int) or not low <= level <= high:
            raise PxArgumentError(f"{codec} level must be an integer from {low} to {high}; "
                                  f"got {level!r}")
        self.head = b""  # the LZ4 frame header, given with the first output
        self.gzip = None  # deflate: whether the input is gzip members (first bytes 1f 8b)
        self.obj = self._open(level, workers)

    def _open(self, level: int, workers: int):
        if self.codec == "zstd":
            import zstandard
            if self.decompress:
                return zstandard.ZstdDecompressor().decompressobj()
            threads = workers if workers > 1 else 0
            return zstandard.ZstdCompressor(level=level, threads=threads,
                                            write_checksum=True).compressobj()
        if self.codec == "lz4":
            if self.decompress:  # independent blocks on every core (lz4_unpack)
                return BlockDecompressor(self.pool)
            obj = BlockCompressor(level, self.pool)  # independent blocks, on every core
            self.head = obj.begin()
            return obj
        # 47: a zlib or a gzip header, found from the stream (nvCOMP writes gzip members)
        return zlib.decompressobj(47) if self.decompress else zlib.compressobj(level)

    def push(self, data) -> bytes:
        if self.decompress:
            return self._guarded(lambda: self._unpack(data))
        out, self.head = self.head + self.obj.compress(data), b""
        return out

    def _unpack(self, raw) -> bytes:
        if self.gzip is None and len(raw):
            self.gzip = bytes(raw[:1]) == b"\x1f"
        out = []
        while len(raw):
            if self.obj.eof:  # zstd: the next frame; gzip: the next member; LZ4, zlib: one
                if self.codec == "lz4" or (self.codec == "deflate" and not self.gzip):
                    raise ValueError("bytes after the frame")
                self.obj = self._open(0, 1)
            out.append(self.obj.decompress(raw))
            raw = (self.obj.unused_data or b"") if self.obj.eof else b""
        return out[0] if len(out) == 1 else b"".join(out)  # a copy holds the GIL

    def close(self) -> bytes:
        if not self.decompress:
            return self.head + self.obj.flush()
        return self._guarded(self._finish)

    def _finish(self) -> bytes:
        tail = self.obj.flush() if self.codec == "deflate" else b""
        if not self.obj.eof:
            raise ValueError("the input ends early")
        if getattr(self.obj, "unused_data", b""):
            raise ValueError("bytes after the frame")
        return tail

    def _guarded(self, work) -> bytes:
        errors = (RuntimeError, zlib.error, ValueError, EOFError)
        if self.codec == "zstd":
            import zstandard

            errors += (zstandard.ZstdError,)
        try:
            return work()
        except errors as err:
            raise PxRuntimeError(f"{self.codec}: the compressed input is corrupt or "
                                 f"truncated ({err})") from None


class Sha256Sink:
    """SHA-256 of a stream (``hashlib``); ``value()`` is the 32-byte digest."""

    def __init__(self):
        self.h = hashlib.sha256()

    def push(self, data) -> None:
        self.h.update(data)

    def value(self) -> bytes:
        return self.h.digest()


class Crc32cSink:
    """CRC32C of a stream: each chunk's CRC joined to the running one (``crc32c_extend``);
    a large chunk is cut into one part per worker of ``pool`` (``crc32c.crc32c``)."""

    def __init__(self, pool=None):
        self.crc, self.pool = 0, pool

    def push(self, data) -> None:
        if len(data):
            got = crc32c(np.frombuffer(data, np.uint8), pool=self.pool)
            self.crc = crc32c_extend(self.crc, got, len(data))

    def value(self) -> int:
        return self.crc


class Utf8Sink:
    """Strict UTF-8 of a stream (a character may span two chunks); ``value()`` raises
    PxRuntimeError (as ``formats.validate``) where the bytes are not UTF-8."""

    def __init__(self):
        self.dec, self.seen, self.error = _textcodecs.getincrementaldecoder("utf-8")(), 0, None

    def push(self, data, final: bool = False) -> None:
        if self.error is None:
            buffered = len(self.dec.getstate()[0])
            try:
                self.dec.decode(bytes(data), final)
            except UnicodeDecodeError as err:
                self.error = f"not UTF-8: {err.reason} at byte {self.seen - buffered + err.start}"
            self.seen += len(data)

    def value(self) -> None:
        self.push(b"", final=True)
        if self.error is not None:
            raise PxRuntimeError(self.error)
