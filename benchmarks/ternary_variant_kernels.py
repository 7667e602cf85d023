"""Candidate kernels for encode on a GPU, and the memory ceilings they are measured
against, for ``benchmarks/ternary_gpu_variants.py`` (issue 19: encode of 10**8 int64 at
>= 90 % of a device-to-device copy on the H200).

Encode reads 8 bytes a number and writes 41 (one int8 trit in each of 41 digit rows of the
planes layout), so 84 % of its bytes are writes, in 41 row streams. The ceilings separate
what the arithmetic costs from what that traffic costs:

- ``store_words`` / ``store_wide``: encode's loads and stores with no arithmetic, launched
  as ``words.encode_words`` is (a thread a word), with 4-byte stores (4 numbers a thread)
  and 8-byte stores (8 numbers a thread);
- ``CEILINGS`` (CUDA C for CuPy's ``RawKernel``, a measurement, not a pxos kernel): a
  write-only stream, a read-only stream, encode's byte mix (8 read : 41 written) as
  contiguous 16-byte stores, and the planes rows with 16-byte stores (16 numbers a thread).

- ``store_rows41``: ``words_rows.encode_rows41``'s traffic with no arithmetic: the
  ``(n, 41)`` layout through the same shared-memory transpose and 8-byte stores.

The candidate that won for planes, ``encode_wide`` (8 numbers a thread, 8-byte stores),
is in :mod:`pxos.lib.ternary.words_wide`.
"""

from __future__ import annotations

import pxos
from pxos import Array, i32, i64, u32, u64
from pxos.lib.ternary.words import WORDS_BLOCK
from pxos.lib.ternary.words_rows import GROUP, ROWS_BLOCK, TILE


@pxos.kernel(block=(WORDS_BLOCK,))
def store_words(x: Array[i64, 1], t: Array[u32, 2], stride: i32):
    """encode_words' memory traffic with no arithmetic: 4 int64 in, 41 words out a thread
    (words i, i + stride, …)."""
    i = pxos.block_id() * WORDS_BLOCK + pxos.local_id()
    while i < t.shape[1]:
        w = u32(x[4 * i]) ^ u32(x[4 * i + 1]) ^ u32(x[4 * i + 2]) ^ u32(x[4 * i + 3])
        for k in range(41):
            t[k, i] = w + u32(k)
        i += stride


@pxos.kernel(block=(WORDS_BLOCK,))
def store_wide(x: Array[i64, 1], t: Array[u64, 2], stride: i32):
    """encode_wide's memory traffic with no arithmetic: 8 int64 in, 41 8-byte words out a
    thread."""
    i = pxos.block_id() * WORDS_BLOCK + pxos.local_id()
    while i < t.shape[1]:
        w = u64(x[8 * i]) ^ u64(x[8 * i + 1]) ^ u64(x[8 * i + 2]) ^ u64(x[8 * i + 3]) \
            ^ u64(x[8 * i + 4]) ^ u64(x[8 * i + 5]) ^ u64(x[8 * i + 6]) ^ u64(x[8 * i + 7])
        for k in range(41):
            t[k, i] = w + u64(k)
        i += stride


@pxos.kernel(block=(ROWS_BLOCK,))
def store_rows41(x: Array[i64, 1], t: Array[u64, 1], stride: i32):
    """``words_rows.encode_rows41``'s memory traffic with no arithmetic: 4 int64 in, 41
    words to shared memory, then the block's tile out as 8-byte words."""
    tile = pxos.shared(TILE, u32)
    lid = pxos.local_id()
    groups = x.shape[0] // GROUP
    g = pxos.block_id() * ROWS_BLOCK
    while g < groups:
        i = g + lid
        if i < groups:
            w = u32(x[GROUP * i]) ^ u32(x[GROUP * i + 1]) ^ u32(x[GROUP * i + 2]) \
                ^ u32(x[GROUP * i + 3])
            for k in range(41):
                tile[41 * lid + k] = w + u32(k)
        pxos.sync_threads()
        words = (min(groups - g, ROWS_BLOCK) * 41) >> 1
        base = i64(g >> 1) * 41
        j = lid
        while j < words:
            t[base + j] = u64(tile[2 * j]) | u64(tile[2 * j + 1]) << u64(32)
            j += ROWS_BLOCK
        pxos.sync_threads()
        g += stride


CEILINGS = r"""
extern "C" __global__ void write_v4(uint4 *out, long long n16) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n16) out[i] = make_uint4((unsigned)i, 1u, 2u, 3u);
}
extern "C" __global__ void read_v4(const uint4 *in, long long n16, unsigned *sink) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n16) {
        uint4 v = in[i];
        if ((v.x ^ v.y ^ v.z ^ v.w) == 0x9e3779b9u) sink[0] = (unsigned)i;
    }
}
/* encode's byte mix, contiguous: thread i writes 16 bytes; threads with i % 41 < 8 also
   read 16 bytes (two int64), so 8 bytes are read for each 41 written. */
extern "C" __global__ void mix_v4(const uint4 *x, uint4 *out, long long n16) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n16) return;
    unsigned r = (unsigned)(i % 41), v = (unsigned)i;
    if (r < 8) { uint4 a = x[i / 41 * 8 + r]; v ^= a.x ^ a.y ^ a.z ^ a.w; }
    out[i] = make_uint4(v, v + 1u, v + 2u, v + 3u);
}
/* the planes rows with 4-, 8- and 16-byte stores, plain or streaming (st.global.cs): thread
   i reads numbers W i .. W i + W - 1 (W = the store's bytes) and writes one store to each
   of the 41 rows of t, a (41, words) array of the store's type. */
#define ROWS(NAME, TYPE, LOADS, STORE)                                                      \
extern "C" __global__ void NAME(const uint4 *x, TYPE *t, long long words) {                \
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;                      \
    if (i >= words) return;                                                               \
    unsigned v = 0;                                                                       \
    _Pragma("unroll") for (int j = 0; j < LOADS; ++j) {                                   \
        uint4 a = x[LOADS * i + j]; v ^= a.x ^ a.y ^ a.z ^ a.w; }                         \
    _Pragma("unroll") for (int k = 0; k < 41; ++k) {                                      \
        TYPE w; unsigned *p = (unsigned *)&w;                                             \
        for (int q = 0; q < (int)(sizeof(TYPE) / 4); ++q) p[q] = v + k + q;               \
        STORE(t + k * words + i, w); }                                                    \
}
#define PLAIN(ADDRESS, VALUE) (*(ADDRESS) = (VALUE))
#define STREAMING(ADDRESS, VALUE) __stcs((ADDRESS), (VALUE))
ROWS(rows_v1, unsigned, 2, PLAIN)
ROWS(rows_v2, uint2, 4, PLAIN)
ROWS(rows_v4, uint4, 8, PLAIN)
ROWS(rows_v4_cs, uint4, 8, STREAMING)
extern "C" __global__ void write_v4_cs(uint4 *out, long long n16) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n16) __stcs(out + i, make_uint4((unsigned)i, 1u, 2u, 3u));
}
"""
