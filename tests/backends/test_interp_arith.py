"""The interpreter's integer and float arithmetic against NumPy and C's rules: division and
modulo, shifts, rotations, rounding, math functions.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends.interp_launch import run


DIVMOD = """
GPU_KERNEL dm
GPU_PARAM a {t}[]
GPU_PARAM b {t}[]
GPU_PARAM q {t}[]
GPU_PARAM r {t}[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] / b[i] → q[i]
    STORE a[i] % b[i] → r[i]
GPU_END
"""


def _c_divmod(x: int, y: int, bits: int, signed: bool):
    if y == 0:
        return 0, 0
    lo = -(1 << (bits - 1))
    if signed and x == lo and y == -1:
        return lo, 0
    q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
    return q, x - q * y


@pytest.mark.parametrize("t,dtype", [("i32", np.int32), ("u32", np.uint32), ("i64", np.int64)])
def test_integer_division_and_mod(t, dtype):
    info = np.iinfo(dtype)
    pairs = [(7, 2), (-7, 2), (7, -2), (-7, -2), (5, 0), (-5, 0), (0, 0), (info.min, -1),
             (info.min, 1), (info.max, -1), (info.max, 7), (1, 3), (-1, 3), (100, 10)]
    if dtype == np.uint32:
        pairs = [(x % 2**32, y % 2**32) for x, y in pairs]
    a = np.array([p[0] for p in pairs], dtype)
    b = np.array([p[1] for p in pairs], dtype)
    q, r = np.zeros_like(a), np.zeros_like(a)
    run(DIVMOD.format(t=t), [a, b, q, r], (len(a),))
    signed = info.min < 0
    want = [_c_divmod(int(x), int(y), info.bits, signed) for x, y in pairs]
    assert q.tolist() == [w[0] for w in want]
    assert r.tolist() == [w[1] for w in want]


def test_float_mod_is_fmod():
    src = DIVMOD.format(t="f32")
    a = np.array([7.5, -7.5, 7.5, 1.0], np.float32)
    b = np.array([2.0, 2.0, -2.0, 0.0], np.float32)
    q, r = np.zeros_like(a), np.zeros_like(a)
    run(src, [a, b, q, r], (4,))
    np.testing.assert_array_equal(r[:3], np.fmod(a[:3], b[:3]))
    assert np.isnan(r[3]) and np.isinf(q[3])


def test_shifts_mask_the_count():
    src = """
GPU_KERNEL sh
GPU_PARAM x int[]
GPU_PARAM u uint[]
GPU_PARAM n int[]
GPU_PARAM o1 int[]
GPU_PARAM o2 int[]
GPU_PARAM o3 uint[]
GPU_PARAM o4 int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE x[i] << n[i] → o1[i]
    STORE x[i] >> n[i] → o2[i]
    STORE u[i] >> n[i] → o3[i]
    SET b = u8(x[i])
    STORE b << 4 → o4[i]
GPU_END
"""
    x = np.array([1, -8, 0x12345678, -1, 3, 255], np.int32)
    u = np.array([1, 0x80000000, 0x12345678, 0xFFFFFFFF, 3, 255], np.uint32)
    n = np.array([33, 35, 32, 31, -1, 68], np.int32)
    o1, o2, o4 = (np.zeros(6, np.int32) for _ in range(3))
    o3 = np.zeros(6, np.uint32)
    run(src, [x, u, n, o1, o2, o3, o4], (6,))
    m = [int(c) & 31 for c in n]

    def wrap32(v):
        v &= 0xFFFFFFFF
        return v - (1 << 32) if v >= 1 << 31 else v

    assert o1.tolist() == [wrap32(int(a) << c) for a, c in zip(x, m)]
    assert o2.tolist() == [int(a) >> c for a, c in zip(x, m)]  # arithmetic
    assert o3.tolist() == [int(a) >> c for a, c in zip(u, m)]  # logical
    assert o4.tolist() == [(int(a) & 0xFF) << 4 for a in x]  # u8 << 4 is i32


@pytest.mark.parametrize("t,dtype,bits", [("u8", np.uint8, 8), ("u32", np.uint32, 32)])
def test_rotl_rotr(t, dtype, bits):
    src = f"""
GPU_KERNEL rot
GPU_PARAM a {t}[]
GPU_PARAM n int[]
GPU_PARAM l {t}[]
GPU_PARAM r {t}[]
GPU_THREAD_CODE:
    THREAD_ID → i
    LOAD a[i] → v
    LOAD n[i] → c
    ROTL v c → x
    ROTR v c → y
    STORE x → l[i]
    STORE y → r[i]
GPU_END
"""
    mask = (1 << bits) - 1
    a = np.array([0x81, 0x01, 0xF0, 0xA5, 0x81, 0x12] * 2, dtype)
    if bits == 32:
        a = a * np.uint32(0x01010101) ^ np.uint32(0x80000000)
    n = np.array([1, 3, 0, bits, bits + 3, -1, 7, 9, 31, 33, 2, 5], np.int32)
    left, right = np.zeros_like(a), np.zeros_like(a)
    run(src, [a, n, left, right], (len(a),))
    for v, c, lv, rv in zip(a.tolist(), n.tolist(), left.tolist(), right.tolist()):
        k = c % bits
        assert lv == ((v << k) | (v >> (bits - k))) & mask
        assert rv == ((v >> k) | (v << (bits - k))) & mask


def test_round_half_away_from_zero():
    src = """
GPU_KERNEL rnd
GPU_PARAM a float[]
GPU_PARAM o float[]
GPU_PARAM f float[]
GPU_PARAM c float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    ROUND a[i] → r
    STORE r → o[i]
    STORE floor(a[i]) → f[i]
    STORE ceil(a[i]) → c[i]
GPU_END
"""
    a = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0.49999997, 8388609.0,
                  1e30, -0.2, 2.4999998, np.inf, 3.0], np.float32)
    o, f, c = (np.zeros_like(a) for _ in range(3))
    run(src, [a, o, f, c], (len(a),))
    x = a.astype(np.float64)
    want = (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.float32)
    np.testing.assert_array_equal(o, want)
    assert np.signbit(o[10])  # round(-0.2) is -0.0, as C's round
    np.testing.assert_array_equal(f, np.floor(a))
    np.testing.assert_array_equal(c, np.ceil(a))


def test_math_functions():
    src = """
GPU_KERNEL m
GPU_PARAM a float[]
GPU_PARAM o float[,]
GPU_THREAD_CODE:
    THREAD_ID → i
    LOAD a[i] → v
    STORE sqrt(v) → o[0, i]
    STORE rsqrt(v) → o[1, i]
    STORE exp(v) → o[2, i]
    STORE log(v) → o[3, i]
    STORE tanh(v) → o[4, i]
    STORE v ** 1.5 → o[5, i]
    STORE fma(v, v, 1.0) → o[6, i]
    STORE min(v, 1.0) → o[7, i]
    STORE abs(0.0 - v) → o[8, i]
GPU_END
"""
    a = np.linspace(0.1, 4, 50).astype(np.float32)
    o = np.zeros((9, 50), np.float32)
    run(src, [a, o], (50,))
    d = a.astype(np.float64)
    want = [np.sqrt(d), 1 / np.sqrt(d), np.exp(d), np.log(d), np.tanh(d), d ** 1.5,
            d * d + 1, np.minimum(d, 1), d]
    for got, w in zip(o, want):
        np.testing.assert_allclose(got, w, rtol=1e-5)
