"""ChaCha20 (RFC 8439, section 2.4) as a pxos kernel: one thread per 64-byte block.

The plain cipher of RFC 8439 with its 32-bit block counter starting at **0** for the first
64 bytes (the AEAD construction of section 2.8 starts at 1; pxos does not use it), a 32-byte
key and a 12-byte nonce. ``cryptography``'s ``algorithms.ChaCha20`` takes a 16-byte nonce,
the 4-byte little-endian counter followed by the 12-byte nonce, so the host path passes
``b"\0\0\0\0" + nonce`` and both paths give the same bytes. The state is sixteen ``u32``
variables (a kernel has no local arrays); the quarter rounds are written out.
"""

from __future__ import annotations

import numpy as np

from pxos.host.pykernel import kernel
from pxos.lang.py import markers as px


@kernel
def chacha20_blocks(data: px.Array[px.u32, 1], out: px.Array[px.u32, 1],
                    key: px.Array[px.u32, 1], nonce: px.Array[px.u32, 1], counter: px.u32):
    """``out = data ^ keystream`` for whole 64-byte blocks (16 little-endian words each)."""
    for b in px.parallel(len(data) // 16):
        s0 = px.u32(0x61707865)
        s1 = px.u32(0x3320646E)
        s2 = px.u32(0x79622D32)
        s3 = px.u32(0x6B206574)
        s4 = key[0]
        s5 = key[1]
        s6 = key[2]
        s7 = key[3]
        s8 = key[4]
        s9 = key[5]
        s10 = key[6]
        s11 = key[7]
        s12 = counter + px.u32(b)
        s13 = nonce[0]
        s14 = nonce[1]
        s15 = nonce[2]
        x0 = s0; x1 = s1; x2 = s2; x3 = s3; x4 = s4; x5 = s5; x6 = s6; x7 = s7
        x8 = s8; x9 = s9; x10 = s10; x11 = s11; x12 = s12; x13 = s13; x14 = s14; x15 = s15
        for r in range(10):
            x0 += x4; x12 = px.rotl(x12 ^ x0, 16); x8 += x12; x4 = px.rotl(x4 ^ x8, 12)
            x0 += x4; x12 = px.rotl(x12 ^ x0, 8); x8 += x12; x4 = px.rotl(x4 ^ x8, 7)
            x1 += x5; x13 = px.rotl(x13 ^ x1, 16); x9 += x13; x5 = px.rotl(x5 ^ x9, 12)
            x1 += x5; x13 = px.rotl(x13 ^ x1, 8); x9 += x13; x5 = px.rotl(x5 ^ x9, 7)
            x2 += x6; x14 = px.rotl(x14 ^ x2, 16); x10 += x14; x6 = px.rotl(x6 ^ x10, 12)
            x2 += x6; x14 = px.rotl(x14 ^ x2, 8); x10 += x14; x6 = px.rotl(x6 ^ x10, 7)
            x3 += x7; x15 = px.rotl(x15 ^ x3, 16); x11 += x15; x7 = px.rotl(x7 ^ x11, 12)
            x3 += x7; x15 = px.rotl(x15 ^ x3, 8); x11 += x15; x7 = px.rotl(x7 ^ x11, 7)
            x0 += x5; x15 = px.rotl(x15 ^ x0, 16); x10 += x15; x5 = px.rotl(x5 ^ x10, 12)
            x0 += x5; x15 = px.rotl(x15 ^ x0, 8); x10 += x15; x5 = px.rotl(x5 ^ x10, 7)
            x1 += x6; x12 = px.rotl(x12 ^ x1, 16); x11 += x12; x6 = px.rotl(x6 ^ x11, 12)
            x1 += x6; x12 = px.rotl(x12 ^ x1, 8); x11 += x12; x6 = px.rotl(x6 ^ x11, 7)
            x2 += x7; x13 = px.rotl(x13 ^ x2, 16); x8 += x13; x7 = px.rotl(x7 ^ x8, 12)
            x2 += x7; x13 = px.rotl(x13 ^ x2, 8); x8 += x13; x7 = px.rotl(x7 ^ x8, 7)
            x3 += x4; x14 = px.rotl(x14 ^ x3, 16); x9 += x14; x4 = px.rotl(x4 ^ x9, 12)
            x3 += x4; x14 = px.rotl(x14 ^ x3, 8); x9 += x14; x4 = px.rotl(x4 ^ x9, 7)
        w = b * 16
        out[w + 0] = data[w + 0] ^ (x0 + s0)
        out[w + 1] = data[w + 1] ^ (x1 + s1)
        out[w + 2] = data[w + 2] ^ (x2 + s2)
        out[w + 3] = data[w + 3] ^ (x3 + s3)
        out[w + 4] = data[w + 4] ^ (x4 + s4)
        out[w + 5] = data[w + 5] ^ (x5 + s5)
        out[w + 6] = data[w + 6] ^ (x6 + s6)
        out[w + 7] = data[w + 7] ^ (x7 + s7)
        out[w + 8] = data[w + 8] ^ (x8 + s8)
        out[w + 9] = data[w + 9] ^ (x9 + s9)
        out[w + 10] = data[w + 10] ^ (x10 + s10)
        out[w + 11] = data[w + 11] ^ (x11 + s11)
        out[w + 12] = data[w + 12] ^ (x12 + s12)
        out[w + 13] = data[w + 13] ^ (x13 + s13)
        out[w + 14] = data[w + 14] ^ (x14 + s14)
        out[w + 15] = data[w + 15] ^ (x15 + s15)


def keystream_words(key: np.ndarray, nonce: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The key (32 bytes) and nonce (12 bytes) as the kernel's little-endian ``u32`` words."""
    return (np.frombuffer(key.tobytes(), "<u4").astype(np.uint32),
            np.frombuffer(nonce.tobytes(), "<u4").astype(np.uint32))
