"""AES-256 in counter mode as a pxos kernel: one thread per 16-byte block.

The method is the table-based ("T-table") AES of Daemen and Rijmen (The Design of Rijndael,
section 4.2) with its tables in shared memory, as the fast GPU implementations do
(C. Tezcan, "Optimization of Advanced Encryption Standard on Graphics Processing Units",
IEEE Access 9, 2021: 878.6 Gbps AES-128 on an RTX 2070 Super, with the tables in shared
memory, replicated per bank).
pxos keeps one 256-word table ``TE0`` and the S-box per block and gets ``TE1..TE3`` by
rotating (``rotr`` by 8, 16, 24 bits), which trades three table reads' worth of shared
memory for three rotations; there is no per-bank replication of the tables.

The counter block is the 128-bit big-endian value ``iv + i`` for block ``i`` (as
``cryptography``'s ``modes.CTR``: the carry runs through all 16 bytes), or with ``wrap32``
only the last 32 bits count (GCM's ``inc32``). Data are little-endian ``u32`` words, so the
big-endian keystream word is byte-swapped before the XOR.
"""

from __future__ import annotations

from pxos.host.pykernel import kernel
from pxos.lang.py import markers as px


@kernel(block=(256,))
def aes256_ctr_blocks(data: px.Array[px.u32, 1], out: px.Array[px.u32, 1],
                      te0: px.Array[px.u32, 1], sbox: px.Array[px.u32, 1],
                      round_keys: px.Array[px.u32, 1], c0: px.u32, c1: px.u32, c2: px.u32,
                      c3: px.u32, wrap32: px.i32):
    """``out = data ^ AES-256(counter block i)`` for whole 16-byte blocks ``i``."""
    te = px.shared(256, px.u32)
    sb = px.shared(256, px.u32)
    rk = px.shared(60, px.u32)
    lid = px.local_id()
    te[lid] = te0[lid]
    sb[lid] = sbox[lid]
    if lid < 60:
        rk[lid] = round_keys[lid]
    px.sync_threads()
    i = px.thread_id()
    if i < len(data) // 4:
        n3 = c3 + px.u32(i)
        n2 = c2
        n1 = c1
        n0 = c0
        if wrap32 == 0 and n3 < c3:
            n2 = c2 + px.u32(1)
            if n2 == px.u32(0):
                n1 = c1 + px.u32(1)
                if n1 == px.u32(0):
                    n0 = c0 + px.u32(1)
        s0 = n0 ^ rk[0]
        s1 = n1 ^ rk[1]
        s2 = n2 ^ rk[2]
        s3 = n3 ^ rk[3]
        for r in range(1, 14):
            t0 = (te[s0 >> 24] ^ px.rotr(te[(s1 >> 16) & 255], 8)
                  ^ px.rotr(te[(s2 >> 8) & 255], 16) ^ px.rotr(te[s3 & 255], 24) ^ rk[4 * r + 0])
            t1 = (te[s1 >> 24] ^ px.rotr(te[(s2 >> 16) & 255], 8)
                  ^ px.rotr(te[(s3 >> 8) & 255], 16) ^ px.rotr(te[s0 & 255], 24) ^ rk[4 * r + 1])
            t2 = (te[s2 >> 24] ^ px.rotr(te[(s3 >> 16) & 255], 8)
                  ^ px.rotr(te[(s0 >> 8) & 255], 16) ^ px.rotr(te[s1 & 255], 24) ^ rk[4 * r + 2])
            t3 = (te[s3 >> 24] ^ px.rotr(te[(s0 >> 16) & 255], 8)
                  ^ px.rotr(te[(s1 >> 8) & 255], 16) ^ px.rotr(te[s2 & 255], 24) ^ rk[4 * r + 3])
            s0 = t0
            s1 = t1
            s2 = t2
            s3 = t3
        k0 = (((sb[s0 >> 24] << 24) | (sb[(s1 >> 16) & 255] << 16)
              | (sb[(s2 >> 8) & 255] << 8) | sb[s3 & 255]) ^ rk[56])
        k1 = (((sb[s1 >> 24] << 24) | (sb[(s2 >> 16) & 255] << 16)
              | (sb[(s3 >> 8) & 255] << 8) | sb[s0 & 255]) ^ rk[57])
        k2 = (((sb[s2 >> 24] << 24) | (sb[(s3 >> 16) & 255] << 16)
              | (sb[(s0 >> 8) & 255] << 8) | sb[s1 & 255]) ^ rk[58])
        k3 = (((sb[s3 >> 24] << 24) | (sb[(s0 >> 16) & 255] << 16)
              | (sb[(s1 >> 8) & 255] << 8) | sb[s2 & 255]) ^ rk[59])
        w = i * 4
        out[w] = data[w] ^ px.rotl(((k0 & 0xFF00FF) << 8) | ((k0 >> 8) & 0xFF00FF), 16)
        out[w + 1] = data[w + 1] ^ px.rotl(((k1 & 0xFF00FF) << 8) | ((k1 >> 8) & 0xFF00FF), 16)
        out[w + 2] = data[w + 2] ^ px.rotl(((k2 & 0xFF00FF) << 8) | ((k2 >> 8) & 0xFF00FF), 16)
        out[w + 3] = data[w + 3] ^ px.rotl(((k3 & 0xFF00FF) << 8) | ((k3 >> 8) & 0xFF00FF), 16)
