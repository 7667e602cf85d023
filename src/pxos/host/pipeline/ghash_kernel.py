"""GCM's GHASH (NIST SP 800-38D, section 6.4) as a pxos kernel: a parallel Horner scheme.

Thread ``j`` folds chunk ``j`` of 128-bit blocks as ``Y = Y * G ^ X`` (multiply first), so
chunk ``j`` yields ``sum_k X_k G^(L-k)``; the chunk results, folded the same way with
``G^L``, give the whole sum. ``ghash.py`` repeats this level by level (the standard GPU
approach: a reduction over blocks by powers of H). The multiply is SP 800-38D's Algorithm 1,
bit by bit with masks (no branches), on the block as two big-endian ``u64`` halves.
``swap`` = 1 reads raw bytes (little-endian ``u64`` loads, byte-swapped), 0 reads halves.
"""

from __future__ import annotations

from pxos.host.pykernel import kernel
from pxos.lang.py import markers as px


@kernel
def ghash_chunks(blocks: px.Array[px.u64, 1], partial: px.Array[px.u64, 1], gh: px.u64,
                 gl: px.u64, chunk: px.i32, pad: px.i32, swap: px.i32):
    """``partial[2j], partial[2j+1]`` = the folded chunk ``j`` (front-padded by ``pad``)."""
    for j in px.parallel(len(partial) // 2):
        m8 = (px.u64(0xFF00FF) << 32) | px.u64(0xFF00FF)
        m16 = (px.u64(0xFFFF) << 32) | px.u64(0xFFFF)
        poly = px.u64(0xE1) << 56
        yh = px.u64(0)
        yl = px.u64(0)
        for i in range(max(j * chunk - pad, 0), (j + 1) * chunk - pad):
            zh = px.u64(0)
            zl = px.u64(0)
            vh = gh
            vl = gl
            for k in range(128):
                word = yh if k < 64 else yl
                m = px.u64(0) - ((word >> (63 - (k & 63))) & px.u64(1))
                zh ^= vh & m
                zl ^= vl & m
                low = px.u64(0) - (vl & px.u64(1))
                vl = (vl >> 1) | (vh << 63)
                vh = (vh >> 1) ^ (poly & low)
            xh = blocks[2 * i]
            xl = blocks[2 * i + 1]
            if swap == 1:
                xh = ((xh & m8) << 8) | ((xh >> 8) & m8)
                xh = ((xh & m16) << 16) | ((xh >> 16) & m16)
                xh = (xh << 32) | (xh >> 32)
                xl = ((xl & m8) << 8) | ((xl >> 8) & m8)
                xl = ((xl & m16) << 16) | ((xl >> 16) & m16)
                xl = (xl << 32) | (xl >> 32)
            yh = zh ^ xh
            yl = zl ^ xl
        partial[2 * j] = yh
        partial[2 * j + 1] = yl
