"""The C backend's CPU code: wrap-around without -fwrapv (codegen/ranges), bounds tests as
thread-loop bounds (codegen/thread_bounds), interchanged and jammed inner loops
(codegen/interchange), CPU block shapes, and `pxos compile --explain` (backends/c_report).
Every result is compared with NumPy, bit for bit where the language promises it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import pxos
from pxos import Array, f32, f64, i32, i64
from pxos.backends.c_report import parse_report


@pxos.kernel
def wrap32(a: Array[i32, 1], out: Array[i32, 1]):
    for i in pxos.parallel(len(a)):
        out[i] = -(a[i] * 65537 + 2147483647) - i


@pxos.kernel
def wrap64(a: Array[i64, 1], out: Array[i64, 1]):
    for i in pxos.parallel(len(a)):
        out[i] = a[i] * a[i] + a[i] - pxos.i64(9223372036854775807)


def test_integer_arithmetic_wraps_on_every_backend(backend):
    a = np.array([0, 1, -1, 2**31 - 1, -2**31, 123456789, -98765], np.int32)
    out = np.zeros_like(a)
    wrap32(a, out, device=backend)
    with np.errstate(over="ignore"):
        want = -(a * np.int32(65537) + np.int32(2147483647)) - np.arange(len(a), dtype=np.int32)
    np.testing.assert_array_equal(out, want)
    b = np.array([0, 3, -2**63, 2**63 - 1, 2**32 + 5], np.int64)
    out64 = np.zeros_like(b)
    wrap64(b, out64, device=backend)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out64, b * b + b - np.int64(2**63 - 1))


@pxos.kernel
def stencil2d(a: Array[f64, 2], b: Array[f64, 2]):
    for i, j in pxos.parallel(a.shape[0], a.shape[1]):
        if i >= 1 and i < a.shape[0] - 1 and j > 1 and j <= a.shape[1] - 2 and a[i, j] > 0.2:
            b[i, j] = 0.2 * (a[i, j] + a[i, j - 1] + a[i, j + 1] + a[i + 1, j] + a[i - 1, j])


@pxos.kernel
def stencil3d(a: Array[f32, 3], b: Array[f32, 3]):
    for z, y, x in pxos.parallel(a.shape[0], a.shape[1], a.shape[2]):
        if 0 < z and z < a.shape[0] - 1 and y >= 1 and y < a.shape[1] - 1 and x >= 1 \
                and x < a.shape[2] - 1:
            b[z, y, x] = a[z - 1, y, x] + a[z + 1, y, x] + a[z, y - 1, x] + a[z, y + 1, x] \
                + a[z, y, x - 1] + a[z, y, x + 1] - 6.0 * a[z, y, x]


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (37, 300), (300, 37)])
def test_bounds_test_becomes_loop_bounds(backend, shape):
    a = np.random.default_rng(1).random(shape)
    b = np.full_like(a, -1.0)
    stencil2d(a, b, device=backend)
    inner = np.full_like(a, -1.0)
    for i in range(1, shape[0] - 1):
        for j in range(2, shape[1] - 1):
            if a[i, j] > 0.2:
                inner[i, j] = 0.2 * ((((a[i, j] + a[i, j - 1]) + a[i, j + 1]) + a[i + 1, j])
                                     + a[i - 1, j])
    np.testing.assert_array_equal(b, inner)


def test_3d_stencil_on_odd_shapes(backend):
    a = np.random.default_rng(2).random((5, 19, 263), dtype=np.float32)
    b = np.zeros_like(a)
    stencil3d(a, b, device=backend)
    c = a[1:-1, 1:-1, 1:-1]
    want = np.zeros_like(a)
    want[1:-1, 1:-1, 1:-1] = (((((a[:-2, 1:-1, 1:-1] + a[2:, 1:-1, 1:-1]) + a[1:-1, :-2, 1:-1])
                               + a[1:-1, 2:, 1:-1]) + a[1:-1, 1:-1, :-2]) + a[1:-1, 1:-1, 2:]) \
        - np.float32(6.0) * c
    np.testing.assert_array_equal(b, want)


@pxos.kernel
def matmul(a: Array[f64, 2], b: Array[f64, 2], c: Array[f64, 2]):
    for i, j in pxos.parallel(c.shape[0], c.shape[1]):
        acc: f64 = 0.0
        for k in range(a.shape[1]):
            acc += a[i, k] * b[k, j]
        c[i, j] = acc


@pxos.kernel
def column_sums(a: Array[f32, 2], out: Array[f32, 1]):
    for j in pxos.parallel(a.shape[1]):
        s = 0.0
        for i in range(1, a.shape[0], 1):
            s += a[i, j] * 0.5
        out[j] = s + a[0, j]


@pytest.mark.parametrize("n, k, m", [(1, 1, 1), (7, 13, 131), (130, 3, 9)])
def test_interchanged_inner_loop_sums_in_order(backend, n, k, m):
    rng = np.random.default_rng(3)
    a, b = rng.random((n, k)), rng.random((k, m))
    c = np.zeros((n, m))
    matmul(a, b, c, device=backend)
    want = np.zeros((n, m))
    for kk in range(k):  # the same order of additions as each thread's loop
        want = want + a[:, kk:kk + 1] * b[kk:kk + 1, :]
    np.testing.assert_array_equal(c, want)
    x = rng.random((n + 2, m), dtype=np.float32)
    out = np.zeros(m, np.float32)
    column_sums(x, out, device=backend)
    acc = np.zeros(m, np.float32)
    for i in range(1, n + 2):
        acc = acc + x[i] * np.float32(0.5)
    np.testing.assert_array_equal(out, acc + x[0])


@pxos.kernel
def row_dots(a: Array[f64, 2], x: Array[f64, 1], y: Array[f64, 1]):
    for i in pxos.parallel(a.shape[0]):
        acc: f64 = 0.0
        scale = 1.0 + pxos.f64(i) * 0.25
        for j in range(a.shape[1]):
            acc += a[i, j] * x[j]
        y[i] = acc * scale


@pxos.kernel
def inner_band(a: Array[f32, 2], out: Array[f32, 1]):
    for i in pxos.parallel(a.shape[0]):
        if i >= 1 and i < a.shape[0] - 1:
            s = 0.0
            for k in range(a.shape[1]):
                s += a[i - 1, k] * a[i + 1, k]
            out[i] = s


@pxos.kernel
def gram_t(a: Array[f64, 2], b: Array[f64, 2], c: Array[f64, 2]):
    for i, j in pxos.parallel(c.shape[0], c.shape[1]):
        acc: f64 = 0.0
        for k in range(a.shape[1]):
            acc += a[i, k] * b[j, k]
        c[i, j] = acc


@pytest.mark.parametrize("n, m", [(1, 1), (7, 5), (8, 3), (9, 17), (67, 4), (200, 33)])
def test_jammed_inner_loop_sums_each_row_in_order(backend, n, m):
    rng = np.random.default_rng(n * 100 + m)
    a, x = rng.random((n, m)), rng.random(m)
    y = np.full(n, -1.0)
    row_dots(a, x, y, device=backend)
    acc = np.zeros(n)
    for j in range(m):  # each row's additions in the loop's order
        acc = acc + a[:, j] * x[j]
    np.testing.assert_array_equal(y, acc * (1.0 + np.arange(n) * 0.25))
    f = rng.random((n + 2, m), dtype=np.float32)
    out = np.full(n + 2, -1.0, np.float32)
    inner_band(f, out, device=backend)
    s = np.zeros(n, np.float32)
    for k in range(m):
        s = s + f[:-2, k] * f[2:, k]
    np.testing.assert_array_equal(out[1:-1], s)
    assert out[0] == out[-1] == -1.0


@pytest.mark.parametrize("n, m, k", [(3, 7, 5), (2, 130, 9), (5, 17, 1)])
def test_jammed_2d_inner_loop_with_strided_rows(backend, n, m, k):
    rng = np.random.default_rng(7)
    a, b = rng.random((n, k)), rng.random((m, k))
    c = np.zeros((n, m))
    gram_t(a, b, c, device=backend)
    want = np.zeros((n, m))
    for kk in range(k):
        want = want + a[:, kk:kk + 1] * b[:, kk][None, :]
    np.testing.assert_array_equal(c, want)


@pxos.kernel
def project3d(a: Array[f32, 3], w: Array[f32, 2], out: Array[f32, 3]):
    for z, y, x in pxos.parallel(out.shape[0], out.shape[1], out.shape[2]):
        s = 0.0
        for k in range(w.shape[1]):
            s += a[z, y, k] * w[x, k]
        out[z, y, x] = s


@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 5, 40)])
def test_jammed_3d_inner_loop(backend, shape):
    rng = np.random.default_rng(11)
    k = 6
    a = rng.random(shape[:2] + (k,), dtype=np.float32)
    w = rng.random((shape[2], k), dtype=np.float32)
    out = np.zeros(shape, np.float32)
    project3d(a, w, out, device=backend)
    want = np.zeros(shape, np.float32)
    for kk in range(k):
        want = want + a[:, :, kk:kk + 1] * w[:, kk][None, None, :]
    np.testing.assert_array_equal(out, want)


@pxos.kernel
def batched_matmul(a: Array[f64, 3], b: Array[f64, 2], c: Array[f64, 3]):
    for z, i, j in pxos.parallel(c.shape[0], c.shape[1], c.shape[2]):
        acc: f64 = 0.0
        for k in range(a.shape[2]):
            acc += a[z, i, k] * b[k, j]
        c[z, i, j] = acc


@pytest.mark.parametrize("shape", [(2, 9, 37), (3, 4, 16), (1, 3, 5)])
def test_tiled_3d_interchange_sums_in_order(backend, shape):
    rng = np.random.default_rng(13)
    k = 7
    a, b = rng.random(shape[:2] + (k,)), rng.random((k, shape[2]))
    c = np.zeros(shape)
    batched_matmul(a, b, c, device=backend)
    want = np.zeros(shape)
    for kk in range(k):
        want = want + a[:, :, kk:kk + 1] * b[kk][None, None, :]
    np.testing.assert_array_equal(c, want)


@pxos.kernel
def two_loops(a: Array[f64, 2], b: Array[f64, 2], out: Array[f64, 2]):
    for i, j in pxos.parallel(out.shape[0], out.shape[1]):
        s: f64 = 0.0
        for k in range(a.shape[1]):
            if a[i, k] > 0.5:
                s += a[i, k] * b[k, j]
        t: f64 = s * 0.5
        for q in range(a.shape[1]):  # another name: a loop variable assigned once
            t += b[q, j]
        out[i, j] = t - s


@pytest.mark.parametrize("n, m, k", [(5, 37, 6), (9, 16, 3), (4, 130, 2)])
def test_tiles_keep_values_across_two_inner_loops(backend, n, m, k):
    rng = np.random.default_rng(n + m + k)
    a, b = rng.random((n, k)), rng.random((k, m))
    out = np.zeros((n, m))
    two_loops(a, b, out, device=backend)
    s = np.zeros((n, m))
    for kk in range(k):
        s = np.where(a[:, kk:kk + 1] > 0.5, s + a[:, kk:kk + 1] * b[kk][None, :], s)
    t = s * 0.5
    for kk in range(k):
        t = t + b[kk][None, :]
    np.testing.assert_array_equal(out, t - s)


def test_inner_loops_run_in_tiles():
    from pxos.codegen.c import render_c
    from pxos.codegen.c_loops import JAM, TILE_X, TILE_Y

    a, x = np.zeros((4, 4)), np.zeros(4)
    src = render_c(row_dots.ir(a, x, x)).source  # rows apart: unroll-and-jam
    assert f"pxos_t += {JAM}" in src and f"#pragma GCC unroll {JAM}" in src
    src = render_c(matmul.ir(a, a, a)).source  # consecutive along x: register tiles
    assert f"pxos_t += {TILE_X}" in src and f"#pragma GCC unroll {TILE_Y}" in src
    src = render_c(column_sums.ir(a.astype(np.float32), x.astype(np.float32))).source
    assert "pxos_t" not in src  # 1-D: the interchange on the whole block
    assert "pxos_ty" in render_c(two_loops.ir(a, a, a)).source


def test_generated_c_has_no_fwrapv_and_vectorises_the_thread_loop():
    from pxos.backends.c import FLAGS
    from pxos.codegen.c import render_c

    assert "-fwrapv" not in FLAGS
    a = np.zeros((4, 4))
    src = render_c(stencil2d.ir(a, a)).source
    assert "#pragma omp simd" in src and "pxos_lx_lo" in src
    src = render_c(matmul.ir(a, a, a)).source
    assert "once per block" in src  # k runs around the threads


def test_parse_report_maps_loops_to_source_lines():
    text = "\n".join([
        "k.py:5:3: optimized: loop vectorized using 32 byte vectors",
        "k.py:5:3: optimized: loop vectorized using 16 byte vectors",
        "k.py:9:1: missed: couldn't vectorize loop",
        "k.py:10:4: missed: not vectorized: control flow in loop.",
        "other.c:3:1: missed: not vectorized: multiple nested loops.",
    ])
    loops = parse_report(text, "k.py")
    assert [(x.line, x.vector_bytes, x.reason) for x in loops] == [
        (5, 32, ""), (9, 0, "control flow in loop.")]
    assert loops[1].render() == "line 9: not vectorized: control flow in loop."


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_compile_explain_reports_the_vectorised_thread_loop():
    from typer.testing import CliRunner  # in-process: no second interpreter to start

    from pxos.cli.main import app
    px = Path(__file__).resolve().parents[2] / "examples" / "heat3d.px"

    def run(target):
        return CliRunner().invoke(app, ["compile", "--target", target, "--explain", str(px)])
    proc = run("c")
    assert proc.exit_code == 0, proc.output
    # line 10 (THREAD_ID) begins the thread loop; gcc's own words for the others
    assert "kernel heat_step" in proc.output and "line 10: vectorized (" in proc.output
    # other loops: vectorized or not, in gcc's own words (a wider CPU vectorizes more)
    for line in proc.output.splitlines()[1:]:
        assert line.startswith("  line ") and ": vectorized (" in line \
            or ": not vectorized: " in line, line
    bad = run("cuda")
    assert bad.exit_code == 2 and "needs --target c" in bad.output
