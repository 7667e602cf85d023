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

``encode_wide`` is ``encode_words``' arithmetic (module doc of
:mod:`pxos.lib.ternary.words`) on 8 numbers a thread, each row written as one 8-byte word:
half the store instructions and twice the bytes a thread has in flight.
"""

from __future__ import annotations

import pxos
from pxos import Array, i32, i64, u32, u64
from pxos.lib.ternary.words import M3, M6, M8, OFF_HIGH, OFF_LOW, P19, WORDS_BLOCK


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


@pxos.kernel(block=(WORDS_BLOCK,))
def encode_wide(x: Array[i64, 1], t: Array[u64, 2], stride: i32):
    """The trits of x[8 i .. 8 i + 7] into t[:, i], ``t`` the (width >= 41, n / 8) uint64
    view of an int8 planes array (byte q of a word: number 8 i + q; rows past 41 written
    0); thread i takes words i, i + stride, …. The arithmetic of ``words.encode_words``
    on two of its 4-number words at once (lanes a, b: numbers 0-3; c, d: 4-7)."""
    i = pxos.block_id() * WORDS_BLOCK + pxos.local_id()
    while i < t.shape[1]:
        tops = u32(0x01010101) << u32(7)   # 0x80808080
        sign = u64(1) << u64(63)           # x ^ sign: x + 2**63 as uint64
        a0 = u64(x[8 * i + 0]) ^ sign
        a1 = u64(x[8 * i + 1]) ^ sign
        a2 = u64(x[8 * i + 2]) ^ sign
        a3 = u64(x[8 * i + 3]) ^ sign
        a4 = u64(x[8 * i + 4]) ^ sign
        a5 = u64(x[8 * i + 5]) ^ sign
        a6 = u64(x[8 * i + 6]) ^ sign
        a7 = u64(x[8 * i + 7]) ^ sign
        q0 = a0 // u64(P19)
        u0 = u32(a0 - q0 * u64(P19)) + u32(OFF_LOW)
        c0 = u0 >= u32(P19)
        u0 = pxos.select(c0, u0 - u32(P19), u0)
        q0 += u64(OFF_HIGH) + u64(c0)
        q1 = a1 // u64(P19)
        u1 = u32(a1 - q1 * u64(P19)) + u32(OFF_LOW)
        c1 = u1 >= u32(P19)
        u1 = pxos.select(c1, u1 - u32(P19), u1)
        q1 += u64(OFF_HIGH) + u64(c1)
        q2 = a2 // u64(P19)
        u2 = u32(a2 - q2 * u64(P19)) + u32(OFF_LOW)
        c2 = u2 >= u32(P19)
        u2 = pxos.select(c2, u2 - u32(P19), u2)
        q2 += u64(OFF_HIGH) + u64(c2)
        q3 = a3 // u64(P19)
        u3 = u32(a3 - q3 * u64(P19)) + u32(OFF_LOW)
        c3 = u3 >= u32(P19)
        u3 = pxos.select(c3, u3 - u32(P19), u3)
        q3 += u64(OFF_HIGH) + u64(c3)
        q4 = a4 // u64(P19)
        u4 = u32(a4 - q4 * u64(P19)) + u32(OFF_LOW)
        c4 = u4 >= u32(P19)
        u4 = pxos.select(c4, u4 - u32(P19), u4)
        q4 += u64(OFF_HIGH) + u64(c4)
        q5 = a5 // u64(P19)
        u5 = u32(a5 - q5 * u64(P19)) + u32(OFF_LOW)
        c5 = u5 >= u32(P19)
        u5 = pxos.select(c5, u5 - u32(P19), u5)
        q5 += u64(OFF_HIGH) + u64(c5)
        q6 = a6 // u64(P19)
        u6 = u32(a6 - q6 * u64(P19)) + u32(OFF_LOW)
        c6 = u6 >= u32(P19)
        u6 = pxos.select(c6, u6 - u32(P19), u6)
        q6 += u64(OFF_HIGH) + u64(c6)
        q7 = a7 // u64(P19)
        u7 = u32(a7 - q7 * u64(P19)) + u32(OFF_LOW)
        c7 = u7 >= u32(P19)
        u7 = pxos.select(c7, u7 - u32(P19), u7)
        q7 += u64(OFF_HIGH) + u64(c7)
        g0 = u32(q0 // u64(P19))
        m0 = u32(q0 - u64(g0) * u64(P19))
        h0 = g0 * u32(27) + m0 // u32(43046721)
        g1 = u32(q1 // u64(P19))
        m1 = u32(q1 - u64(g1) * u64(P19))
        h1 = g1 * u32(27) + m1 // u32(43046721)
        g2 = u32(q2 // u64(P19))
        m2 = u32(q2 - u64(g2) * u64(P19))
        h2 = g2 * u32(27) + m2 // u32(43046721)
        g3 = u32(q3 // u64(P19))
        m3 = u32(q3 - u64(g3) * u64(P19))
        h3 = g3 * u32(27) + m3 // u32(43046721)
        g4 = u32(q4 // u64(P19))
        m4 = u32(q4 - u64(g4) * u64(P19))
        h4 = g4 * u32(27) + m4 // u32(43046721)
        g5 = u32(q5 // u64(P19))
        m5 = u32(q5 - u64(g5) * u64(P19))
        h5 = g5 * u32(27) + m5 // u32(43046721)
        g6 = u32(q6 // u64(P19))
        m6 = u32(q6 - u64(g6) * u64(P19))
        h6 = g6 * u32(27) + m6 // u32(43046721)
        g7 = u32(q7 // u64(P19))
        m7 = u32(q7 - u64(g7) * u64(P19))
        h7 = g7 * u32(27) + m7 // u32(43046721)
        f0 = ((u0 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f1 = ((u1 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f2 = ((u2 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f3 = ((u3 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f4 = ((u4 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f5 = ((u5 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f6 = ((u6 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f7 = ((u7 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(8):   # digits 0..7
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[7 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = ((u0 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f1 = ((u1 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f2 = ((u2 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f3 = ((u3 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f4 = ((u4 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f5 = ((u5 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f6 = ((u6 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f7 = ((u7 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(8):   # digits 8..15
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[15 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = (u0 // u32(43046721)) * u32(M3)
        f1 = (u1 // u32(43046721)) * u32(M3)
        f2 = (u2 // u32(43046721)) * u32(M3)
        f3 = (u3 // u32(43046721)) * u32(M3)
        f4 = (u4 // u32(43046721)) * u32(M3)
        f5 = (u5 // u32(43046721)) * u32(M3)
        f6 = (u6 // u32(43046721)) * u32(M3)
        f7 = (u7 // u32(43046721)) * u32(M3)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(3):   # digits 16..18
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[18 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = ((m0 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f1 = ((m1 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f2 = ((m2 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f3 = ((m3 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f4 = ((m4 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f5 = ((m5 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f6 = ((m6 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f7 = ((m7 % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(8):   # digits 19..26
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[26 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = ((m0 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f1 = ((m1 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f2 = ((m2 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f3 = ((m3 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f4 = ((m4 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f5 = ((m5 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f6 = ((m6 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        f7 = ((m7 // u32(6561) % u32(6561)) * u32(M8) >> u32(13)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(8):   # digits 27..34
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[34 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        f0 = ((h0) * u32(M6) >> u32(5)) + u32(1)
        f1 = ((h1) * u32(M6) >> u32(5)) + u32(1)
        f2 = ((h2) * u32(M6) >> u32(5)) + u32(1)
        f3 = ((h3) * u32(M6) >> u32(5)) + u32(1)
        f4 = ((h4) * u32(M6) >> u32(5)) + u32(1)
        f5 = ((h5) * u32(M6) >> u32(5)) + u32(1)
        f6 = ((h6) * u32(M6) >> u32(5)) + u32(1)
        f7 = ((h7) * u32(M6) >> u32(5)) + u32(1)
        a = f0 | f2 << u32(16)
        b = f1 | f3 << u32(16)
        c = f4 | f6 << u32(16)
        d = f5 | f7 << u32(16)
        for k in range(6):   # digits 35..40
            ta = a * u32(3)
            tb = b * u32(3)
            tc = c * u32(3)
            td = d * u32(3)
            lo = ((ta >> u32(14)) & u32(0x00030003)) + ((tb >> u32(6)) & u32(0x03000300))
            hi = ((tc >> u32(14)) & u32(0x00030003)) + ((td >> u32(6)) & u32(0x03000300))
            t[40 - k, i] = (u64((lo + u32(0x7F7F7F7F)) ^ tops)
                             | u64((hi + u32(0x7F7F7F7F)) ^ tops) << u64(32))
            a = ta & u32(0x3FFF3FFF)
            b = tb & u32(0x3FFF3FFF)
            c = tc & u32(0x3FFF3FFF)
            d = td & u32(0x3FFF3FFF)
        for k in range(41, t.shape[0]):
            t[k, i] = u64(0)
        i += stride


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
