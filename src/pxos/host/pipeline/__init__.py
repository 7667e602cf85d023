"""The secure-pipeline primitives behind ENCRYPT, DECRYPT, HASH, COMPRESS and VALIDATE.

Every function takes ``device``: ``"host"`` runs the well-kept CPU libraries
(``cryptography``, ``hashlib``, ``zstandard``, ``lz4``, ``zlib``, a NumPy CRC32C); a pxos
backend name (``c``, ``opencl``, ``cuda``, ``interp`` for tiny inputs) runs the pxos kernels
of this package on it. Data are bytes or 1-D u8 arrays (NumPy; CuPy arrays stay on the GPU
with ``device="cuda"``); results are u8 arrays of the data's module. ``devices(op)`` says
where an operation can run here. Nonce conventions: see ``ciphers``.
"""

from __future__ import annotations

import numpy as np

from pxos import backends
from pxos.errors import PxArgumentError
from pxos.host.pipeline import ciphers as _ciphers
from pxos.host.pipeline.bytes import as_bytes_array, to_host
from pxos.host.pipeline.codecs import CODECS, check_codec
from pxos.host.pipeline.codecs import compress as _compress
from pxos.host.pipeline.codecs import decompress as _decompress
from pxos.host.pipeline.crc32c import crc32c
from pxos.host.pipeline.formats import KINDS, validate
from pxos.host.pipeline.sha256 import sha256, sha256_rows

CIPHERS = ("aes256ctr", "aes256gcm", "chacha20")
_KERNEL_OPS = ("encrypt", "decrypt", "sha256", "sha256_rows", "crc32c")
_HOST_OPS = ("compress", "decompress", "validate")

__all__ = ["CIPHERS", "CODECS", "KINDS", "compress", "crc32c", "decompress", "decrypt",
           "devices", "encrypt", "sha256", "sha256_rows", "validate"]


def devices(op: str) -> list[str]:
    """Where ``op`` can run on this machine: ``"host"``, then the pxos backends present
    whose kernels implement it (none for decompress and validate; ``cuda`` for compress
    where nvCOMP is installed).

    Raises:
        PxArgumentError: an unknown operation.
    """
    if op == "compress":  # nvCOMP on cuda, where installed (nvcomp_codec)
        from pxos.host.pipeline import nvcomp_codec
        gpu = nvcomp_codec.installed() and "cuda" in backends.available() \
            and nvcomp_codec.available()
        return ["host"] + (["cuda"] if gpu else [])
    if op in _HOST_OPS:
        return ["host"]
    if op in _KERNEL_OPS:
        return ["host"] + backends.available()
    raise PxArgumentError(f"unknown operation {op!r}; expected one of "
                          + ", ".join(_KERNEL_OPS + _HOST_OPS))


def _check(cipher: str, device: str) -> None:
    if cipher not in CIPHERS:
        raise PxArgumentError(f"unknown cipher {cipher!r}; expected one of {', '.join(CIPHERS)}")
    if device != "host":
        backends.get(device)  # PxBackendError for an unknown or absent backend


def encrypt(data, cipher: str, key, nonce, *, device: str = "host"):
    """Encrypt ``data`` (bytes or 1-D u8) with ``cipher`` (one of CIPHERS) under a 32-byte
    ``key`` and its ``nonce`` (16 bytes for aes256ctr, 12 for aes256gcm and chacha20).

    Returns:
        1-D u8 ciphertext, as long as ``data`` (plus the 16-byte tag for aes256gcm).
    Raises:
        PxArgumentError: unknown cipher, or a key or nonce of the wrong length.
        PxBackendError: ``device`` is neither ``host`` nor a backend present here.
    """
    _check(cipher, device)
    data, key, nonce = _ciphers.checked(data, key, nonce, cipher)
    if device == "host":
        from pxos.host.pipeline.host_ciphers import host_encrypt
        return host_encrypt(to_host(data), cipher, key, nonce)
    return _ciphers.kernel_encrypt(data, cipher, key, nonce, device)


def decrypt(data, cipher: str, key, nonce, *, device: str = "host"):
    """The inverse of ``encrypt`` (same arguments). For aes256gcm the tag (last 16 bytes) is
    checked first and nothing is returned when it fails.

    Raises:
        PxArgumentError: as ``encrypt``.
        PxRuntimeError: "authentication tag does not match", or GCM input shorter than a tag.
    """
    _check(cipher, device)
    data, key, nonce = _ciphers.checked(data, key, nonce, cipher)
    if device == "host":
        from pxos.host.pipeline.host_ciphers import host_decrypt
        return host_decrypt(to_host(data), cipher, key, nonce)
    return _ciphers.kernel_decrypt(data, cipher, key, nonce, device)


def _host_only(op: str, device: str) -> None:
    if device != "host":
        raise PxArgumentError(f"{op} runs only on the host (and compress on cuda through "
                              f"nvCOMP); got device {device!r}")


def compress(data, codec: str, level: int | None = None, *, device: str = "host"):
    """``codecs.compress`` (zstd, lz4 or deflate) on the host; see there for formats, levels
    and errors. On ``cuda``, nvCOMP (``nvcomp_codec.gpu_compress``: lz4 and zstd, output
    in the data's module). Raises PxArgumentError for another device, or for cuda without
    nvCOMP (``pip install -e '.[pipelines-gpu]'``)."""
    check_codec(codec)
    if device == "cuda":
        from pxos.host.pipeline import nvcomp_codec
        if not nvcomp_codec.available():
            raise PxArgumentError("compress on cuda needs nvCOMP and a CUDA device "
                                  "(pip install -e '.[pipelines-gpu]'); use device host")
        return nvcomp_codec.gpu_compress(as_bytes_array(data, "data"), codec, level)
    _host_only("compress", device)
    return _compress(data, codec, level)


def decompress(data, codec: str, *, device: str = "host") -> np.ndarray:
    """``codecs.decompress`` on the host: PxRuntimeError for corrupt or truncated input."""
    check_codec(codec)
    _host_only("decompress", device)
    return _decompress(data, codec)
