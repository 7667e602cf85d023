"""The host path of ENCRYPT/DECRYPT: ``cryptography`` (OpenSSL: AES-NI, vectorised
ChaCha20), with the same nonce conventions as the kernels (see ``ciphers``)."""

from __future__ import annotations

import numpy as np

from pxos.errors import PxRuntimeError
from pxos.extras import require
from pxos.host.pipeline.ciphers import split_tag

USE = "ENCRYPT and DECRYPT on the host"  # what a PxPackageError says needs cryptography


def _cipher(cipher: str, key: bytes, nonce: bytes, tag: bytes | None = None):
    """``cryptography``'s ``Cipher`` for one of the ciphers.

    Raises:
        PxPackageError: ``cryptography`` is not installed (the pipelines extra).
    """
    ciphers = require("cryptography.hazmat.primitives.ciphers", "pipelines", USE)
    algorithms, modes = ciphers.algorithms, ciphers.modes
    if cipher == "aes256ctr":
        return ciphers.Cipher(algorithms.AES(key), modes.CTR(nonce))
    if cipher == "aes256gcm":
        return ciphers.Cipher(algorithms.AES(key), modes.GCM(nonce, tag))
    # cryptography's 16-byte ChaCha20 nonce: the 32-bit little-endian counter (0), then ours
    return ciphers.Cipher(algorithms.ChaCha20(key, b"\0\0\0\0" + nonce), None)


def host_encrypt(data: np.ndarray, cipher: str, key: bytes, nonce: bytes) -> np.ndarray:
    """Encrypt a u8 array with ``cryptography``; GCM appends the 16-byte tag."""
    enc = _cipher(cipher, key, nonce).encryptor()
    out = np.empty(len(data) + 16, np.uint8)  # update_into wants a block's room to spare
    n = enc.update_into(np.ascontiguousarray(data), out) if len(data) else 0
    tail = enc.finalize()
    out[n:n + len(tail)] = np.frombuffer(tail, np.uint8)
    if cipher == "aes256gcm":
        out[len(data):] = np.frombuffer(enc.tag, np.uint8)
        return out
    return out[:len(data)]


def host_decrypt(data: np.ndarray, cipher: str, key: bytes, nonce: bytes) -> np.ndarray:
    """Decrypt a u8 array with ``cryptography``; GCM verifies the tag (PxRuntimeError)."""
    tag = None
    if cipher == "aes256gcm":
        data, tag = split_tag(data)
        tag = tag.tobytes()
    dec = _cipher(cipher, key, nonce, tag).decryptor()
    out = np.empty(len(data) + 16, np.uint8)
    n = dec.update_into(np.ascontiguousarray(data), out) if len(data) else 0
    try:
        tail = dec.finalize()
    except require("cryptography.exceptions", "pipelines", USE).InvalidTag:
        raise PxRuntimeError("aes256gcm: authentication tag does not match "
                             "(wrong key or nonce, or the data were changed)") from None
    out[n:n + len(tail)] = np.frombuffer(tail, np.uint8)
    return out[:len(data)]
