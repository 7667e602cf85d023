"""The NumPy interpreter (backends/interp) against independent NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.backends.base import make_launch
from pxos.backends.interp import InterpBackend, eval_scalar
from pxos.errors import PxBoundsError
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.ir.typecheck import ExprTyper
from pxos.ir.types import Array, scalar_of_dtype
from pxos.lang.px.parser import parse_program


def kernel(src: str):
    return check_program(parse_program(src, "t.px")).kernels[0]


def run(src: str, args: list, threads: tuple[int, ...]):
    k = kernel(src)
    backend = InterpBackend()
    backend.launch(backend.compile(k), args, make_launch(k, threads))
    backend.synchronize()
    return args


def test_saxpy():
    src = """
GPU_KERNEL saxpy
GPU_PARAM x float[]
GPU_PARAM y float[]
GPU_PARAM a float
GPU_THREAD_CODE:
    THREAD_ID → i
    SET r = a * x[i] + y[i]
    STORE r → y[i]
GPU_END
"""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000).astype(np.float32)
    y = rng.standard_normal(1000).astype(np.float32)
    want = np.float32(2.5) * x + y
    run(src, [x, y, np.float32(2.5)], (1000,))
    np.testing.assert_array_equal(y, want)


def test_2d_thread_ids():
    src = """
GPU_KERNEL coords
GPU_PARAM out int[,]
GPU_THREAD_CODE:
    THREAD_ID → x, y
    LOCAL_ID → lx, ly
    BLOCK_ID → bx, by
    THREAD_ID → t
    STORE x + 1000 * y → out[y, x]
    STORE t → tid[y, x]
    STORE lx + 100 * ly + 10000 * (bx + 100 * by) → loc[y, x]
GPU_END
""".replace("GPU_PARAM out int[,]", "GPU_PARAM out int[,]\nGPU_PARAM tid int[,]\n"
            "GPU_PARAM loc int[,]")
    h, w = 37, 21
    out, tid, loc = (np.full((h, w), -1, np.int32) for _ in range(3))
    run(src, [out, tid, loc], (w, h))
    yy, xx = np.mgrid[0:h, 0:w]
    np.testing.assert_array_equal(out, xx + 1000 * yy)
    np.testing.assert_array_equal(tid, yy * w + xx)
    np.testing.assert_array_equal(loc, xx % 16 + 100 * (yy % 16)
                                  + 10000 * (xx // 16 + 100 * (yy // 16)))


REDUCE_WHILE = """
GPU_KERNEL block_sum
GPU_PARAM a float[]
GPU_PARAM partial float[]
GPU_BLOCK 256
GPU_SHARED_MEM tile float 256
GPU_THREAD_CODE:
    THREAD_ID → i
    LOCAL_ID → l
    BLOCK_ID → b
    SET v = 0.0
    IF i < LEN(a):
        LOAD a[i] → v
    STORE v → tile[l]
    SYNC_THREADS
    SET s = 128
    WHILE s > 0:
        IF l < s:
            SET t = tile[l] + tile[l + s]
            STORE t → tile[l]
        SYNC_THREADS
        SET s = s / 2
    IF l == 0:
        STORE tile[0] → partial[b]
GPU_END
"""

REDUCE_FOR = """
GPU_KERNEL block_sum
GPU_PARAM a float[]
GPU_PARAM partial float[]
GPU_BLOCK 256
GPU_SHARED_MEM tile float 256
GPU_THREAD_CODE:
    THREAD_ID → i
    LOCAL_ID → l
    BLOCK_ID → b
    SET v = 0.0
    IF i < LEN(a):
        LOAD a[i] → v
    STORE v → tile[l]
    SYNC_THREADS
    FOR k IN 0..8:
        SET s = 128 >> k
        IF l < s:
            STORE tile[l] + tile[l + s] → tile[l]
        SYNC_THREADS
    IF l == 0:
        STORE tile[0] → partial[b]
GPU_END
"""


@pytest.mark.parametrize("src", [REDUCE_WHILE, REDUCE_FOR], ids=["while", "for"])
def test_block_reduction_shared_memory(src):
    n = 1000  # not a multiple of the block: the kernel guards itself
    a = np.random.default_rng(2).random(n).astype(np.float32)
    nblocks = -(-n // 256)
    partial = np.zeros(nblocks, np.float32)
    run(src, [a, partial], (n,))
    want = np.add.reduceat(a.astype(np.float64), np.arange(0, n, 256))
    np.testing.assert_allclose(partial, want, rtol=1e-5)


def test_shared_2d_transpose_tile():
    src = """
GPU_KERNEL tr
GPU_PARAM a int[,]
GPU_PARAM out int[,]
GPU_BLOCK 8, 8
GPU_SHARED_MEM tile int 8 8
GPU_THREAD_CODE:
    THREAD_ID → x, y
    LOCAL_ID → lx, ly
    IF x < COLS(a) AND y < ROWS(a):
        STORE a[y, x] → tile[ly, lx]
    SYNC_THREADS
    IF x < COLS(a) AND y < ROWS(a):
        STORE tile[ly, lx] * 2 + tile[ly, 7 - lx] * 0 → out[y, x]
GPU_END
"""
    a = np.arange(13 * 11, dtype=np.int32).reshape(13, 11)
    out = np.zeros_like(a)
    run(src, [a, out], (11, 13))
    np.testing.assert_array_equal(out, a * 2)


def test_histogram_atomic_add():
    src = """
GPU_KERNEL hist
GPU_PARAM data int[]
GPU_PARAM h int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    LOAD data[i] → v
    ATOMIC_ADD h[v] 1
GPU_END
"""
    data = np.random.default_rng(3).integers(0, 16, 5000).astype(np.int32)
    h = np.zeros(16, np.int32)
    run(src, [data, h], (len(data),))
    np.testing.assert_array_equal(h, np.bincount(data, minlength=16))


def test_atomic_add_old_values():
    src = """
GPU_KERNEL count
GPU_PARAM c int[]
GPU_PARAM olds int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    ATOMIC_ADD c[i % 2] 3 → old
    STORE old → olds[i]
GPU_END
"""
    n = 999
    c = np.array([0, 10], np.int32)
    olds = np.full(n, -1, np.int32)
    run(src, [c, olds], (n,))
    assert c.tolist() == [3 * 500, 10 + 3 * 499]
    assert sorted(olds[0::2].tolist()) == [3 * k for k in range(500)]
    assert sorted(olds[1::2].tolist()) == [10 + 3 * k for k in range(499)]


def test_atomic_min_max_exch_old_values():
    src = """
GPU_KERNEL at
GPU_PARAM v int[]
GPU_PARAM m int[]
GPU_PARAM olds int[]
GPU_PARAM exch int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    ATOMIC_MAX m[0] v[i] → a
    ATOMIC_MIN m[1] v[i]
    ATOMIC_EXCH m[2] i → e
    STORE a → olds[i]
    STORE e → exch[i]
GPU_END
"""
    v = np.random.default_rng(4).permutation(100).astype(np.int32)
    m = np.array([-1, 1000, -1], np.int32)
    olds, exch = np.zeros(100, np.int32), np.zeros(100, np.int32)
    run(src, [v, m, olds, exch], (100,))
    assert m[0] == 99 and m[1] == 0
    # the threads updated one after another: one saw the initial value, each other one
    # the value a thread stored before it
    assert sorted(exch.tolist() + [int(m[2])]) == list(range(-1, 100))
    assert (olds == -1).sum() == 1 and set(olds.tolist()) <= set(v.tolist()) | {-1}


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


def test_short_circuit_guards_out_of_bounds_reads():
    src = """
GPU_KERNEL guard
GPU_PARAM a int[]
GPU_PARAM out int[]
GPU_THREADS LEN(out)
GPU_THREAD_CODE:
    THREAD_ID → i
    SET r = 0
    IF i < LEN(a) AND a[i] > 0:
        SET r = 1
    IF i >= LEN(a) OR a[i] == 0:
        SET r = r + 10
    SET s = select(i < LEN(a), a[min(i, 1000)], 0 - 7)
    STORE r + 100 * s → out[i]
GPU_END
"""
    a = np.array([3, 0, -2, 5], np.int32)
    out = np.zeros(8, np.int32)
    run(src, [a, out], (8,))
    assert out.tolist() == [301, 10, -200, 501] + [10 - 700] * 4


def test_break_continue_return():
    src = """
GPU_KERNEL flow
GPU_PARAM out int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    IF i % 5 == 4:
        STORE 0 - 1 → out[i]
        RETURN
    SET s = 0
    FOR k IN 0..100:
        IF k % 3 == 0:
            CONTINUE
        IF k > i:
            BREAK
        SET j = 0
        WHILE TRUE:
            SET j = j + 1
            IF j >= k:
                BREAK
        SET s = s + k * 10 + j
    SET w = 0
    FOR k IN 20..0 STEP 0 - 3:
        SET w = w + k
    STORE s * 1000 + w → out[i]
GPU_END
"""
    n = 40
    out = np.zeros(n, np.int32)
    run(src, [out], (n,))
    want = []
    for i in range(n):
        if i % 5 == 4:
            want.append(-1)
            continue
        s = 0
        for k in range(100):
            if k % 3 == 0:
                continue
            if k > i:
                break
            j = 0
            while True:
                j += 1
                if j >= k:
                    break
            s += k * 10 + j
        want.append(s * 1000 + sum(range(20, 0, -3)))
    assert out.tolist() == want


def test_for_bounds_reevaluated_and_per_lane():
    src = """
GPU_KERNEL f
GPU_PARAM out int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET n = i
    SET c = 0
    FOR k IN 0..n STEP 1 + i % 2:
        SET c = c + 1
        IF k == 2:
            SET n = n - 1
    STORE c → out[i]
GPU_END
"""
    out = np.zeros(10, np.int32)
    run(src, [out], (10,))
    want = []
    for i in range(10):
        n, c, k = i, 0, 0
        while k < n:
            c += 1
            if k == 2:
                n -= 1
            k += 1 + i % 2
        want.append(c)
    assert out.tolist() == want


@pytest.mark.parametrize("index,bad", [("i + 1", "10"), ("i - 1", "-1")])
def test_out_of_bounds_read_raises(index, bad):
    src = f"""
GPU_KERNEL oob
GPU_PARAM data float[]
GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE data[{index}] → out[i]
GPU_END
"""
    data, out = np.zeros(10, np.float32), np.zeros(10, np.float32)
    with pytest.raises(PxBoundsError) as err:
        run(src, [data, out], (10,))
    text = str(err.value)
    assert "data" in text and "oob" in text and bad in text and "10" in text
    assert "t.px:7" in text


def test_out_of_bounds_2d_store_raises():
    src = """
GPU_KERNEL oob2
GPU_PARAM img u8[,]
GPU_THREAD_CODE:
    THREAD_ID → x, y
    STORE u8(1) → img[y, x + 1]
GPU_END
"""
    img = np.zeros((4, 5), np.uint8)
    with pytest.raises(PxBoundsError, match="img"):
        run(src, [img], (5, 4))


def test_wrap_around():
    src = """
GPU_KERNEL wrap
GPU_PARAM a int[]
GPU_PARAM b u8[]
GPU_PARAM u uint[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] + 1 → a[i]
    STORE u8(b[i] + 10) → b[i]
    STORE u[i] - 1 → u[i]
GPU_END
"""
    a = np.array([2**31 - 1, -5, 100000 * 0 + 7], np.int32)
    b = np.array([250, 255, 3], np.uint8)
    u = np.array([0, 1, 2**32 - 1], np.uint32)
    run(src, [a, b, u], (3,))
    assert a.tolist() == [-(2**31), -4, 8]
    assert b.tolist() == [4, 9, 13]
    assert u.tolist() == [2**32 - 1, 0, 2**32 - 2]
    src2 = """
GPU_KERNEL mulwrap
GPU_PARAM a int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] * 65536 → a[i]
GPU_END
"""
    a = np.array([65536, 3, -32768], np.int32)
    run(src2, [a], (3,))
    assert a.tolist() == [0, 196608, -(2**31)]


def test_casts_and_bool_ops():
    src = """
GPU_KERNEL c
GPU_PARAM a float[]
GPU_PARAM o int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    LOAD a[i] → v
    SET t = i32(v)
    SET m = (v > 0.0) & (t != 2)
    SET z = bool(v)
    STORE t * 100 + i32(m) * 10 + i32(z) + i32(NOT z) * 1000 → o[i]
GPU_END
"""
    a = np.array([2.7, -1.5, 0.0, 3.9], np.float32)
    o = np.zeros(4, np.int32)
    run(src, [a, o], (4,))
    assert o.tolist() == [201, -99, 1000, 311]


def test_unguarded_launch_runs_whole_blocks():
    src = """
GPU_KERNEL count
GPU_PARAM out int[]
GPU_PARAM c int[]
GPU_BLOCK 64
GPU_SHARED_MEM s int 64
GPU_THREAD_CODE:
    NUM_THREADS → n
    BLOCK_SIZE → bs
    ATOMIC_ADD c[0] 1
    IF c[0] < 0:
        STORE 0 → s[0]
    THREAD_ID → i
    IF i < n:
        STORE bs → out[i]
GPU_END
"""
    out, c = np.zeros(100, np.int32), np.zeros(1, np.int32)
    run(src, [out, c], (100,))
    assert c[0] == 128 and (out == 64).all()


@pytest.mark.parametrize("shape", [(0,), (5,)], ids=["empty", "five"])
def test_zero_threads_is_a_no_op(shape, backend):
    # before: on interp only, and nothing asserted
    src = """
GPU_KERNEL z
GPU_PARAM a int[]
GPU_PARAM b float[,]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE 1 → a[i]
    STORE 2.0 → b[0, i]
GPU_END
"""
    a = np.arange(shape[0], dtype=np.int32) + 7
    b = np.full((2, 3), 5.0, np.float32)
    run_kernel(backend, kernel(src), [a, b], (0,))
    np.testing.assert_array_equal(a, np.arange(shape[0]) + 7)
    np.testing.assert_array_equal(b, np.full((2, 3), 5.0))


def test_eval_scalar_host_expression():
    prog = parse_program('SET r = LEN(a) * 2 + k / 3 - a[1] + (0 - 7) % 4\n'
                         'SET f = 2.0 * x + 1\n'
                         'SET big = k + 2147483647\n', "h.px")
    env = {"a": np.arange(10, dtype=np.int32), "k": np.int32(-8), "x": np.float32(0.25)}

    def lookup(name):
        v = env.get(name)
        if isinstance(v, np.ndarray) and v.ndim > 0:
            return Array(scalar_of_dtype(v.dtype), v.ndim)
        return None if v is None else scalar_of_dtype(np.asarray(v).dtype)

    typer = ExprTyper(lookup, builtins=False)
    r, f, big = (typer.scalar(s.value) for s in prog.statements)
    got = eval_scalar(r, env)
    assert got == 10 * 2 + (-2) - 1 + (-3) and got.dtype == np.int32
    got = eval_scalar(f, env)
    assert got == np.float32(1.5) and got.dtype == np.float32
    env["k"] = np.int32(1)
    assert eval_scalar(big, env) == -(2**31)  # i32 wrap-around
    bad = typer.scalar(parse_program("SET q = a[10]\n", "h.px").statements[0].value)
    with pytest.raises(PxBoundsError, match="'a'"):
        eval_scalar(bad, env)


def test_mandelbrot_is_fast_enough():
    import time

    src = """
GPU_KERNEL mandel
GPU_PARAM out int[,]
GPU_THREAD_CODE:
    THREAD_ID → x, y
    SET cr = f32(x) / f32(COLS(out)) * 3.0 - 2.0
    SET ci = f32(y) / f32(ROWS(out)) * 2.0 - 1.0
    SET zr = 0.0
    SET zi = 0.0
    SET it = 0
    WHILE it < 64:
        IF zr * zr + zi * zi > 4.0:
            BREAK
        SET t = zr * zr - zi * zi + cr
        SET zi = 2.0 * zr * zi + ci
        SET zr = t
        SET it = it + 1
    STORE it → out[y, x]
GPU_END
"""
    h, w = 96, 128
    out = np.zeros((h, w), np.int32)
    t0 = time.perf_counter()
    run(src, [out], (w, h))
    assert time.perf_counter() - t0 < 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cr = xx / np.float32(w) * np.float32(3) - np.float32(2)
    ci = yy / np.float32(h) * np.float32(2) - np.float32(1)
    zr, zi = np.zeros_like(cr), np.zeros_like(cr)
    it = np.zeros((h, w), np.int32)
    live = np.ones((h, w), bool)
    for _ in range(64):
        live &= ~(zr * zr + zi * zi > 4)
        t = zr * zr - zi * zi + cr
        zi = np.where(live, np.float32(2) * zr * zi + ci, zi)
        zr = np.where(live, t, zr)
        it += live
    np.testing.assert_array_equal(out, it)
