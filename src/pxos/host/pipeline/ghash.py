"""GHASH over a ciphertext, level by level with ``ghash_kernel``, finished on the host with
Python integers (GF(2^128) in GCM's bit order: bit 0 is the most significant bit)."""

from __future__ import annotations

import numpy as np

from pxos.host.pipeline.ghash_kernel import ghash_chunks

_R = 0xE1 << 120
CHUNK = 64      # blocks folded by one thread at each level
HOST_LIMIT = 64  # at most this many values are folded on the host


def gf_mul(x: int, y: int) -> int:
    """``x * y`` in GCM's GF(2^128) (SP 800-38D, Algorithm 1)."""
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def gf_pow(h: int, n: int) -> int:
    """``h ** n`` in GF(2^128) (``n >= 1``)."""
    result, base = None, h
    while n:
        if n & 1:
            result = base if result is None else gf_mul(result, base)
        base = gf_mul(base, base)
        n >>= 1
    return result


def ghash(ciphertext, h: int, device: str) -> int:
    """GHASH_H of the ciphertext (zero-padded to whole blocks) and the length block, with no
    associated data; ``ciphertext`` is a 1-D u8 array (NumPy, or CuPy on cuda)."""
    xp = np if isinstance(ciphertext, np.ndarray) else __import__("cupy")
    nbytes = len(ciphertext)
    count = -(-nbytes // 16)
    if nbytes % 16:
        padded = xp.zeros(count * 16, xp.uint8)
        padded[:nbytes] = ciphertext
        ciphertext = padded
    values, g, swap = ciphertext.view(xp.uint64), h, 1
    while count > HOST_LIMIT:
        groups = -(-count // CHUNK)
        partial = xp.zeros(2 * groups, xp.uint64)
        ghash_chunks(values, partial, np.uint64(g >> 64), np.uint64(g & (2 ** 64 - 1)), CHUNK,
                     groups * CHUNK - count, swap, device=device)
        values, count, g, swap = partial, groups, gf_pow(g, CHUNK), 0
    host = values if xp is np else values.get()
    if swap:
        host = np.ascontiguousarray(host).view(">u8")
    s = 0
    for i in range(count):
        s = gf_mul(s, g) ^ ((int(host[2 * i]) << 64) | int(host[2 * i + 1]))
    length_block = nbytes * 8  # len(A) = 0 in the upper half, len(C) in bits below
    return gf_mul(gf_mul(s, h) ^ length_block, h)
