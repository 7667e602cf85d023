"""Python kernels on every backend present: statements, both forms in 1-D and 2-D, atomics,
shared memory and barriers, against CPython running the same function or NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
import pxos as px
from pxos.ir.check_host import check_program
from pxos.ir.types import I32, Array
from pxos.lang.px.parser import parse_program
from pxos.lang.py.frontend import kernel_ir
from tests.lang.test_py_frontend import SCALE, assert_like_python, in_python, run, strip

RNG = np.random.default_rng(12)


# ---------------------------------------------------------------- statements
def control(a, out):
    for i in pxos.parallel(len(a)):
        n = a[i]
        s = 0
        if n < 0:
            continue  # this index is done
        elif n == 0:
            s = -1
        elif n > 40:
            s = -2
        else:
            for k in range(n):
                s += k
            for k in range(n, 0, -3):
                s += k * 2
            step = n % 3 + 1
            for k in range(1, n, step):
                if k % 5 == 0:
                    continue
                s -= k
            m = n
            for k in range(m):  # Python evaluates range once
                m -= 1
                s += 1
            t = n
            while t != 1:
                t = t // 2 if t % 2 == 0 else 3 * t + 1
                s += 1
                if s > 100_000:
                    break
            u, v = n * 2, s
            s = u + v
        out[i] = s


def test_control_flow_is_pythons(backend, monkeypatch):
    a = RNG.integers(-5, 50, 400).astype(np.int32)
    out = np.full_like(a, 12345)
    run(control, backend, a, out)
    assert_like_python(out, in_python(control, a, out.copy(), monkeypatch=monkeypatch)[1])


def grid(img, out, weights):
    """2-D loop form over a 3-D image; shape, len and size."""
    for y, x in pxos.parallel(img.shape[0], img.shape[1]):
        acc = 0
        for c in range(3):
            acc += img[y, x, c] * weights[c]
        out[y, x] = acc + len(img) * 1000 + img.shape[1] + weights.size
        out[y, x] += y - x


def test_two_dimensional_loop_form(backend, monkeypatch):
    img = RNG.integers(0, 256, (13, 21, 3)).astype(np.uint8)
    weights = np.array([3, -1, 2], np.int32)
    out = np.zeros((13, 21), np.int32)
    k = run(grid, backend, img, out, weights)
    same = parse_program("GPU_KERNEL grid\nGPU_PARAM img u8[,,]\nGPU_THREADS COLS(img), "
                         "ROWS(img)\nGPU_THREAD_CODE:\n    RETURN\nGPU_END\n")
    assert strip(k.threads) == strip(check_program(same).kernels[0].threads)
    assert_like_python(out, in_python(grid, img, out, weights, monkeypatch=monkeypatch)[1])


def thread_form_2d(a, out):
    x = pxos.thread_id(0)
    y = pxos.thread_id(axis=1)
    if x < a.shape[1] and y < a.shape[0]:
        out[y, x] = a[y, x] * 10 + pxos.local_id(0) * 0 + pxos.num_threads() * 0


def test_thread_form_2d_and_1d_launch(backend):
    a = RNG.integers(0, 100, (7, 9)).astype(np.int32)
    out = np.zeros_like(a)
    k = run(thread_form_2d, backend, a, out, ndim=2)
    assert k.ndim == 2 and [e.operand.which for e in k.threads] == ["cols", "rows"]
    np.testing.assert_array_equal(out, a * 10)
    with pytest.raises(pxos.PxError, match=r"thread_id\(0\) needs a 2-D launch"):
        kernel_ir(thread_form_2d, {"a": Array(I32, 2), "out": Array(I32, 2)}, ndim=1)


def flat(a, out):
    i = pxos.thread_id()
    if i >= 29:
        return
    out[i // a.shape[1], i % a.shape[1]] = i


def test_thread_form_1d_launch_over_a_2d_array(backend):
    a = np.zeros((5, 6), np.int32)
    k = run(flat, backend, a, a, ndim=1)
    assert k.ndim == 1 and k.threads[0].operand.which == "len"
    np.testing.assert_array_equal(a.ravel(), list(range(29)) + [0])


# ---------------------------------------------------------------- atomics and shared memory
def histogram(img, hist, claims, order):
    for y, x in pxos.parallel(img.shape[0], img.shape[1]):
        luma = (77 * img[y, x, 0] + 150 * img[y, x, 1] + 29 * img[y, x, 2]) >> 8
        pxos.atomic_add(hist, luma, 1)
        pxos.atomic_max(claims, (y % 2, luma % 4), x)
        old = pxos.atomic_add(order, 0, 1)
        order[old + 1] = 1


def test_histogram_with_atomics(backend):
    img = RNG.integers(0, 256, (40, 31, 3)).astype(np.uint8)
    hist, claims = np.zeros(256, np.uint32), np.zeros((2, 4), np.int32)
    order = np.zeros(40 * 31 + 1, np.int32)
    run(histogram, backend, img, hist, claims, order)
    rgb = img.astype(np.int32)
    luma = (77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2]) >> 8
    np.testing.assert_array_equal(hist, np.bincount(luma.ravel(), minlength=256))
    want = np.zeros((2, 4), np.int32)
    ys, xs = np.indices(luma.shape)
    np.maximum.at(want, (ys % 2, luma % 4), xs)
    np.testing.assert_array_equal(claims, want)
    assert order[0] == 40 * 31 and order[1:].all()  # every old value seen once


def block_sum(data, partial):
    """A tree reduction whose barrier stands in a for loop of uniform bounds."""
    tile = pxos.shared(256, pxos.f32)
    tid, lid = pxos.thread_id(), pxos.local_id()
    tile[lid] = data[tid] if tid < len(data) else 0.0
    pxos.sync_threads()
    for level in range(1, 9):
        stride = pxos.block_size() >> level
        if lid < stride:
            tile[lid] += tile[lid + stride]
        pxos.sync_threads()
    if lid == 0:
        partial[pxos.block_id()] = tile[0]


def test_block_reduction_in_shared_memory(backend):
    data = RNG.uniform(-1, 1, 5000).astype(np.float32)
    partial = np.zeros(20, np.float32)
    k = run(block_sum, backend, data, partial, block=(256,))
    assert not k.guarded and k.shared[0].shape == (256,) and k.block == (256,)
    padded = np.concatenate([data, np.zeros(20 * 256 - 5000, np.float32)])
    np.testing.assert_allclose(partial, padded.reshape(20, 256).sum(1), rtol=1e-5,
                               atol=1e-5)


def transpose(a, out):
    tile = pxos.shared((16, 17), pxos.f32)
    x, y = pxos.thread_id(0), pxos.thread_id(1)
    lx, ly = pxos.local_id(0), pxos.local_id(1)
    if y < a.shape[0] and x < a.shape[1]:
        tile[ly, lx] = a[y, x]
    pxos.sync_threads()
    if y < a.shape[0] and x < a.shape[1]:
        out[x, y] = tile[ly, lx]


def test_two_dimensional_shared_tile(backend):
    a = RNG.uniform(size=(20, 37)).astype(np.float32)
    out = np.zeros((37, 20), np.float32)
    run(transpose, backend, a, out, ndim=2, block=(16, 16))
    np.testing.assert_array_equal(out, a.T)


def mandelbrot(image, max_iter: pxos.i32):
    for row, col in pxos.parallel(image.shape[0], image.shape[1]):
        cx = -2.0 + 3.0 * pxos.f32(col) / pxos.f32(image.shape[1])
        cy = -1.25 + 2.5 * pxos.f32(row) / pxos.f32(image.shape[0])
        zx = zy = 0.0
        n = 0
        while True:
            if n >= max_iter or zx * zx + zy * zy > 4.0:
                break
            t = zx * zx - zy * zy + cx
            zy = 2.0 * zx * zy + cy
            zx = t
            n += 1
        image[row, col] = pxos.u8(255 * n // max_iter)


def test_mandelbrot_with_while_and_break(backend):
    image = np.zeros((24, 36), np.uint8)
    run(mandelbrot, backend, image, 50)
    f = np.float32
    ys, xs = np.indices(image.shape)
    cx = f(-2.0) + f(3.0) * xs.astype(f) / f(36)
    cy = f(-1.25) + f(2.5) * ys.astype(f) / f(24)
    zx, zy, n = np.zeros_like(cx), np.zeros_like(cy), np.zeros(cx.shape, np.int32)
    for _ in range(50):
        live = zx * zx + zy * zy <= f(4.0)
        zx, zy = (np.where(live, zx * zx - zy * zy + cx, zx),
                  np.where(live, f(2.0) * zx * zy + cy, zy))
        n += live
    np.testing.assert_array_equal(image, (255 * n // 50).astype(np.uint8))


def test_closures_and_import_styles(backend):
    def make(k, offset):
        def shift(a, out):
            for i in px.parallel(len(a)):
                out[i] = a[i] * k + offset + SCALE
        return shift
    a = np.arange(10, dtype=np.int32)
    out = np.zeros_like(a)
    run(make(5, np.int64(2**33)), backend, a, out)  # i64 constant, wrapped into i32
    np.testing.assert_array_equal(out, (a.astype(np.int64) * 5 + 2**33 + 3).astype(np.int32))
