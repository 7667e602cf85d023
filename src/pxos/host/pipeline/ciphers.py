"""ENCRYPT and DECRYPT: AES-256-CTR, AES-256-GCM and ChaCha20, on the host through
``cryptography`` or on a pxos backend through the kernels of this package.

Nonces: CTR takes the 16-byte initial counter block of ``cryptography``'s ``modes.CTR``
(a 128-bit big-endian counter); GCM a 12-byte nonce (SP 800-38D: counter block 1 makes the
tag mask, the data start at 2), the 16-byte tag appended to the ciphertext; ChaCha20 RFC
8439's plain cipher with a 12-byte nonce and the block counter starting at 0.
"""

from __future__ import annotations

import hmac

import numpy as np

from pxos.errors import PxArgumentError, PxRuntimeError
from pxos.host.pipeline.aes_kernel import aes256_ctr_blocks
from pxos.host.pipeline.aes_tables import SBOX, TE0, expand_key
from pxos.host.pipeline.bytes import as_bytes_array, check_length
from pxos.host.pipeline.chacha_kernel import chacha20_blocks
from pxos.host.pipeline.ghash import ghash

NONCE_BYTES = {"aes256ctr": 16, "aes256gcm": 12, "chacha20": 12}
TAG_BYTES = 16
MAX_WORDS = 2 ** 31 - 64  # u32 words per kernel call: the kernels' indices are i32


def checked(data, key, nonce, cipher: str):
    """The three arguments as u8 arrays, lengths checked (PxArgumentError names them)."""
    data = as_bytes_array(data, "data")
    key, nonce = _host_bytes(key, "key"), _host_bytes(nonce, "nonce")
    check_length(key, 32, "key", cipher)
    check_length(nonce, NONCE_BYTES[cipher], "nonce", cipher)
    return data, key, nonce


def _host_bytes(x, what: str) -> bytes:
    arr = as_bytes_array(x, what)
    return arr.tobytes() if isinstance(arr, np.ndarray) else arr.get().tobytes()


def _module(arr):
    return np if isinstance(arr, np.ndarray) else __import__("cupy")


def keystream_xor(data, cipher: str, key: bytes, counter: bytes, device: str,
                  start: int = 0):
    """``data`` XOR the keystream of ``cipher`` from ``counter`` (16 bytes for AES: the
    counter block, with GCM's 32-bit wrap for ``aes256gcm``; 12 for ChaCha20, whose block
    counter starts at ``start``), by a kernel."""
    xp, n = _module(data), len(data)
    unit = 64 if cipher == "chacha20" else 16
    whole = -(-n // unit) * unit
    if whole // 4 >= MAX_WORDS:
        gib = MAX_WORDS * 4 / 2 ** 30
        raise PxArgumentError(f"{cipher} on a pxos backend takes at most {gib:.0f} GiB per "
                              f"call (kernels index i32 words); got {n} bytes")
    if whole != n or n % 4:
        src = xp.zeros(whole, xp.uint8)
        src[:n] = data
    else:
        src = xp.ascontiguousarray(data)
    out = xp.empty(whole // 4, xp.uint32)
    if whole:
        run_keystream(src.view(xp.uint32), out, cipher, key, counter, device, start)
    return out.view(xp.uint8)[:n]


def keystream_tables(cipher: str, key: bytes, xp=np) -> tuple:
    """The key-dependent kernel arguments, as arrays of ``xp`` (NumPy, or CuPy to keep them
    on the GPU): ChaCha20's eight key words; AES's T-table, S-box and 60 round keys. A
    stream makes them once, so no chunk uploads them again."""
    if cipher == "chacha20":
        return (xp.asarray(np.frombuffer(key, "<u4").astype(np.uint32)),)
    return (xp.asarray(TE0), xp.asarray(SBOX.astype(np.uint32)), xp.asarray(expand_key(key)))


def run_keystream(words, out, cipher: str, key: bytes, counter: bytes, device: str,
                  start: int = 0, tables: tuple | None = None) -> None:
    """One kernel launch over whole blocks: ``words`` and ``out`` are u32 arrays whose length
    is a multiple of 16 (ChaCha20) or 4 (AES); the benchmark calls this with its own buffers.
    ``tables``: ``keystream_tables(cipher, key, …)`` made beforehand on the same device."""
    xp = _module(words)
    tables = tables or keystream_tables(cipher, key, xp)
    if cipher == "chacha20":
        nonce = xp.asarray(np.frombuffer(counter, "<u4").astype(np.uint32))
        chacha20_blocks(words, out, tables[0], nonce, np.uint32(start), device=device)
        return
    c = [np.uint32(int.from_bytes(counter[4 * i:4 * i + 4], "big")) for i in range(4)]
    aes256_ctr_blocks(words, out, *tables, *c, int(cipher == "aes256gcm"),
                      device=device, threads=(len(words) // 4,))


def _gcm_tag(ciphertext, key: bytes, nonce: bytes, device: str) -> bytes:
    """The GCM tag: ``E(K, J0) ^ GHASH_H(C)`` with ``H = E(K, 0)``, both by the AES kernel."""
    masks = keystream_xor(np.zeros(32, np.uint8), "aes256ctr", key, bytes(16), device)
    h = int.from_bytes(masks[:16].tobytes(), "big")
    j0 = keystream_xor(np.zeros(16, np.uint8), "aes256gcm", key, nonce + b"\0\0\0\1", device)
    return (int.from_bytes(j0.tobytes(), "big") ^ ghash(ciphertext, h, device)).to_bytes(16, "big")


def kernel_encrypt(data, cipher: str, key: bytes, nonce: bytes, device: str):
    """Encrypt on a pxos backend (``data`` a NumPy array, or CuPy on cuda)."""
    if cipher == "aes256gcm":
        body = keystream_xor(data, cipher, key, nonce + b"\0\0\0\2", device)
        tag = _module(body).asarray(np.frombuffer(_gcm_tag(body, key, nonce, device), np.uint8))
        return _module(body).concatenate([body, tag])
    return keystream_xor(data, cipher, key, nonce, device)


def kernel_decrypt(data, cipher: str, key: bytes, nonce: bytes, device: str):
    """Decrypt on a pxos backend; GCM checks the tag before it decrypts anything."""
    if cipher == "aes256gcm":
        body, tag = split_tag(data)
        want = _gcm_tag(body, key, nonce, device)
        got = tag.tobytes() if isinstance(tag, np.ndarray) else tag.get().tobytes()
        if not hmac.compare_digest(want, got):
            raise PxRuntimeError("aes256gcm: authentication tag does not match "
                                 "(wrong key or nonce, or the data were changed)")
        return keystream_xor(body, cipher, key, nonce + b"\0\0\0\2", device)
    return keystream_xor(data, cipher, key, nonce, device)


def split_tag(data):
    """(ciphertext, tag) of GCM input. Raises PxRuntimeError if shorter than a tag."""
    if len(data) < TAG_BYTES:
        raise PxRuntimeError(f"aes256gcm: the input has {len(data)} bytes, fewer than the "
                             f"{TAG_BYTES}-byte authentication tag")
    return data[:len(data) - TAG_BYTES], data[len(data) - TAG_BYTES:]
