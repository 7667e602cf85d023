"""AES-256 constants and the key schedule (FIPS 197), computed on the host in NumPy/Python.

``SBOX`` is built from its definition (inverse in GF(2^8), then the affine map) rather than
typed in; ``TE0`` is the first "T-table" of the table-based implementation (Daemen and
Rijmen, "The Design of Rijndael", section 4.2): for a byte ``x`` with ``s = SBOX[x]``,
``TE0[x] = (2s, s, s, 3s)`` as a big-endian word. The other three tables are its rotations
by 8, 16 and 24 bits, which the kernel computes instead of storing.
"""

from __future__ import annotations

import numpy as np


def _xtime(a: int) -> int:
    """``a * x`` in GF(2^8) modulo AES's polynomial x^8 + x^4 + x^3 + x + 1."""
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _sbox() -> np.ndarray:
    exp, log = [0] * 255, [0] * 256
    v = 1
    for i in range(255):
        exp[i], log[v] = v, i
        v ^= _xtime(v)  # multiply by the generator 3
    box = np.zeros(256, np.uint8)
    for x in range(256):
        inv = 0 if x == 0 else exp[(255 - log[x]) % 255]
        s = inv
        for shift in range(1, 5):
            s ^= ((inv << shift) | (inv >> (8 - shift))) & 0xFF
        box[x] = s ^ 0x63
    return box


SBOX = _sbox()
TE0 = np.array([(_xtime(s) << 24) | (s << 16) | (s << 8) | (_xtime(s) ^ s)
                for s in SBOX.tolist()], np.uint32)


def expand_key(key: bytes) -> np.ndarray:
    """The 60 round-key words (``u32``, big-endian word order) of a 32-byte AES-256 key."""
    w = [int.from_bytes(key[4 * i:4 * i + 4], "big") for i in range(8)]
    rcon = 1
    for i in range(8, 60):
        t = w[i - 1]
        if i % 8 == 0:
            t = ((t << 8) | (t >> 24)) & 0xFFFFFFFF
            t = _sub_word(t) ^ (rcon << 24)
            rcon = _xtime(rcon)
        elif i % 8 == 4:
            t = _sub_word(t)
        w.append(w[i - 8] ^ t)
    return np.array(w, np.uint32)


def _sub_word(t: int) -> int:
    return int.from_bytes(bytes(int(SBOX[b]) for b in t.to_bytes(4, "big")), "big")
