"""The interpreter's control flow, bounds errors, wrap-around, casts, launches and host
expressions, against independent references.
"""

from __future__ import annotations

import numpy as np
import pytest

from pxos.backends.interp import eval_scalar
from pxos.errors import PxBoundsError
from pxos.host.launch import run_kernel
from pxos.ir.typecheck import ExprTyper
from pxos.ir.types import Array, scalar_of_dtype
from pxos.lang.px.parser import parse_program
from tests.backends.interp_launch import kernel, run


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


def test_for_bounds_evaluated_once_and_per_lane():
    """``FOR``'s bounds are computed once, when the loop starts, as Python's ``range`` and
    the host's ``FOR`` (ir/passes/for_bounds): changing ``n`` in the body does not change
    the loop; each thread has its own bound and step."""
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
    STORE c * 100 + n → out[i]
GPU_END
"""
    out = np.zeros(10, np.int32)
    run(src, [out], (10,))
    want = []
    for i in range(10):
        n, c = i, 0
        for k in range(0, n, 1 + i % 2):
            c += 1
            if k == 2:
                n -= 1
        want.append(c * 100 + n)
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
