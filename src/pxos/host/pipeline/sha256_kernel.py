"""Batched SHA-256 (FIPS 180-4) as a pxos kernel: one thread per message (a row).

The host pads every row (FIPS 180-4, section 5.1.1) and passes the padded rows as
little-endian ``u32`` words; the kernel byte-swaps each word as it loads it. A kernel has
no local arrays, so the message schedule is a sliding window of sixteen variables
``w0..w15`` holding ``W[t..t+15]``: each round uses ``w0`` and appends ``W[t+16]`` (the last
sixteen words computed are never used). The round constants sit in shared memory.
"""

from __future__ import annotations

from pxos.host.pykernel import kernel
from pxos.lang.py import markers as px


@kernel(block=(256,))
def sha256_padded_rows(words: px.Array[px.u32, 2], digests: px.Array[px.u32, 2],
                       round_constants: px.Array[px.u32, 1], initial: px.Array[px.u32, 1]):
    """``digests[r, :]`` = the eight big-endian state words of SHA-256 of padded row ``r``."""
    kk = px.shared(64, px.u32)
    lid = px.local_id()
    if lid < 64:
        kk[lid] = round_constants[lid]
    px.sync_threads()
    row = px.thread_id()
    if row < words.shape[0]:
        h0 = initial[0]
        h1 = initial[1]
        h2 = initial[2]
        h3 = initial[3]
        h4 = initial[4]
        h5 = initial[5]
        h6 = initial[6]
        h7 = initial[7]
        for blk in range(words.shape[1] // 16):
            base = blk * 16
            x = words[row, base + 0]
            w0 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 1]
            w1 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 2]
            w2 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 3]
            w3 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 4]
            w4 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 5]
            w5 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 6]
            w6 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 7]
            w7 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 8]
            w8 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 9]
            w9 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 10]
            w10 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 11]
            w11 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 12]
            w12 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 13]
            w13 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 14]
            w14 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            x = words[row, base + 15]
            w15 = px.rotl(((x & 0xFF00FF) << 8) | ((x >> 8) & 0xFF00FF), 16)
            a = h0; b = h1; c = h2; d = h3; e = h4; f = h5; g = h6; h = h7
            for t in range(64):
                t1 = (h + (px.rotr(e, 6) ^ px.rotr(e, 11) ^ px.rotr(e, 25)) + ((e & f) ^ (~e & g))
                      + kk[t] + w0)
                t2 = ((px.rotr(a, 2) ^ px.rotr(a, 13) ^ px.rotr(a, 22))
                      + ((a & b) ^ (a & c) ^ (b & c)))
                h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2
                nw = ((px.rotr(w14, 17) ^ px.rotr(w14, 19) ^ (w14 >> 10)) + w9
                      + (px.rotr(w1, 7) ^ px.rotr(w1, 18) ^ (w1 >> 3)) + w0)
                w0 = w1; w1 = w2; w2 = w3; w3 = w4; w4 = w5; w5 = w6; w6 = w7; w7 = w8
                w8 = w9; w9 = w10; w10 = w11; w11 = w12; w12 = w13; w13 = w14; w14 = w15; w15 = nw
            h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h
        digests[row, 0] = h0
        digests[row, 1] = h1
        digests[row, 2] = h2
        digests[row, 3] = h3
        digests[row, 4] = h4
        digests[row, 5] = h5
        digests[row, 6] = h6
        digests[row, 7] = h7
