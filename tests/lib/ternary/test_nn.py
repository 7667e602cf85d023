"""pxos.ternary.nn: quantizers against their formulas, packed kernels against dense NumPy,
and every ternary kernel compiled for CUDA with NVRTC."""

from __future__ import annotations

import numpy as np
import pytest

import pxos.ternary as T
from pxos.codegen.cuda import render_cuda
from pxos.errors import PxArgumentError, PxShapeError
from pxos.lib.ternary import nn_kernels as NK
from pxos.testing import for_each_backend
from tests.codegen.test_cuda_codegen import nvrtc

RNG = np.random.default_rng(7)
W = RNG.normal(size=(37, 75))


def test_twn_and_absmean_follow_their_formulas():
    tw = T.nn.twn(W)
    a = np.abs(W)
    delta = 0.7 * a.mean(axis=1, keepdims=True)
    expect = np.where(W > delta, 1, np.where(W < -delta, -1, 0))
    assert np.array_equal(tw.trits(), expect)
    alpha = np.array([a[i][a[i] > delta[i]].mean() for i in range(len(W))])
    assert np.allclose(tw.scale, alpha, rtol=1e-6)
    am = T.nn.absmean(W)
    gamma = a.mean()
    assert np.array_equal(am.trits(), np.clip(np.round(W / (gamma + 1e-6)), -1, 1))
    assert np.allclose(am.scale, gamma)


def test_calibrated_threshold_is_the_least_error():
    w = RNG.normal(size=(5, 12))
    cal = T.nn.calibrated(w)
    err = ((w - cal.dense()) ** 2).sum(axis=1)
    for i in range(len(w)):                      # every threshold, with its best scale
        for delta in np.concatenate([[0.0], np.abs(w[i])]):
            t = np.sign(w[i]) * (np.abs(w[i]) > delta)
            alpha = (np.abs(w[i]) * (t != 0)).sum() / max(1, (t != 0).sum())
            assert err[i] <= ((w[i] - alpha * t) ** 2).sum() + 1e-5
    assert (err <= ((w - T.nn.twn(w).dense()) ** 2).sum(axis=1) + 1e-5).all()


@for_each_backend(argname="device")
@pytest.mark.parametrize("quantizer", ["twn", "absmean", "calibrated"])
def test_packed_kernels_equal_dense(device, quantizer):
    tw = T.nn.QUANTIZERS[quantizer](W)
    dense = tw.dense().astype(np.float64)
    x = RNG.normal(size=75).astype(np.float32)
    xb = RNG.normal(size=(6, 75)).astype(np.float32)
    assert np.allclose(T.nn.matvec(tw, x, device), dense @ x, atol=1e-4)
    assert np.allclose(T.nn.matmul(xb, tw, device), xb @ dense.T, atol=1e-4)
    xi = RNG.integers(-1000, 1000, 75)
    got = T.nn.matvec(tw, xi, device)                          # integer sums: exact
    assert np.array_equal(got / tw.scale.astype(np.float64),
                          tw.trits().astype(np.int64) @ xi)


@for_each_backend(argname="device")
def test_gpu_kernels_on_every_backend(device):
    tw = T.nn.twn(W)
    x = np.zeros(tw.packed.shape[1] * 16, np.float32)
    x[:75] = RNG.normal(size=75)
    y = np.empty(37, np.float32)
    NK.block_kernel(tw.packed, np.ascontiguousarray(x.reshape(-1, 16).T), tw.scale, y,
                    device=device, threads=37 * NK.BLOCK)
    assert np.allclose(y, tw.dense().astype(np.float64) @ x[:75], atol=1e-4)
    xb = RNG.normal(size=(3, tw.packed.shape[1] * 16)).astype(np.float32)
    yb = np.empty((3, 37), np.float32)
    NK.rows_kernel(tw.packed, xb.reshape(3, -1, 16), tw.scale, yb, device=device)
    assert np.allclose(yb, xb @ np.pad(tw.dense(), ((0, 0), (0, xb.shape[1] - 75))).T,
                       atol=1e-4)


@for_each_backend(argname="device")
def test_tiles_cover_partial_tiles_and_words(device):
    # rows not a multiple of TILE, columns not of 16, a batch: against the dense product
    w = RNG.normal(size=(NK.TILE * 2 + 5, 16 * 3 + 7))
    tw = T.nn.calibrated(w)
    assert tw.tiles.shape == (3, 4, NK.TILE)
    assert np.array_equal(tw.tiles[1, :, 3], tw.packed[NK.TILE + 3])
    assert not tw.tiles[2, :, 5:].any()
    xb = RNG.normal(size=(3, w.shape[1])).astype(np.float32)
    want = xb.astype(np.float64) @ tw.dense().astype(np.float64).T
    assert np.allclose(T.nn.matmul(xb, tw, device), want, atol=1e-4)
    xi = RNG.integers(-2**20, 2**20, w.shape[1])
    assert np.array_equal(T.nn.matvec(tw, xi, device) / tw.scale.astype(np.float64),
                          tw.trits().astype(np.int64) @ xi)


def test_tiles_kernel_is_vectorised_by_gcc():
    # the point of the tiled layout: gcc vectorises the loop over a tile's rows
    from pxos.backends.c import compiler
    from pxos.backends.c_report import vector_report

    cc = compiler()
    if cc is None:
        pytest.skip("no C compiler")
    p = np.zeros((2, 3, NK.TILE), np.uint32)
    x, y = np.zeros((1, 3, 16), np.float32), np.zeros((1, 2, NK.TILE), np.float32)
    reports = vector_report(NK.tiles_kernel.ir(p, x, y[0], y), cc)
    if not reports:
        pytest.skip(f"{cc} gives no vectorisation report")
    import inspect

    lines, first = inspect.getsourcelines(NK.tiles_kernel.fn)
    row_loop = first + next(i for i, ln in enumerate(lines) if "w = p[t, j, r]" in ln) - 1
    assert any(r.line == row_loop and r.vector_bytes >= 16 for r in reports), reports


def test_pack_round_trip_and_errors():
    t = RNG.integers(-1, 2, (3, 33)).astype(np.int8)
    tw = T.nn.pack(t, [1, 2, 3])
    assert tw.packed.shape == (3, 3) and np.array_equal(tw.trits(), t)
    assert tw.packed[0, 0] == sum((1 if v == 1 else 2 if v == -1 else 0) << (2 * k)
                                  for k, v in enumerate(t[0, :16].tolist()))
    with pytest.raises(PxArgumentError, match=r"trits\[0, 1\] = 2"):
        T.nn.pack(np.array([[0, 2]]), 1.0)
    with pytest.raises(PxShapeError, match="x must have shape"):
        T.nn.matvec(tw, np.ones(5, np.float32))
    with pytest.raises(PxArgumentError, match="int32 sums could overflow"):
        T.nn.matvec(tw, np.full(33, 2**27, np.int64), "c")     # 33 * 2**27 > 2**31


@for_each_backend(argname="device")
@pytest.mark.parametrize("rows,cols", [(3, 5), (37, 16 * 33 + 5),
                                       (NK.WARP_ROWS_BLOCK + 9, 16 * (NK.X_WORDS + 40) + 3)])
def test_warp_kernel_rows_words_and_chunks(device, rows, cols):
    # rows not a multiple of a block's, words not of a warp's 32, more words than one
    # staging of x (two chunks), against the dense product in float64
    if device == "interp" and cols > 1000:
        pytest.skip("the interpreter takes minutes on 10^6 weights")
    tw = T.nn.twn(RNG.normal(size=(rows, cols)))
    x = np.zeros(tw.packed.shape[1] * 16, np.float32)
    x[:cols] = RNG.normal(size=cols)
    y = np.full(rows, np.nan, np.float32)
    NK.warp_kernel(tw.packed, np.ascontiguousarray(x.reshape(-1, 16).T), tw.scale, y,
                   device=device, threads=NK.warp_blocks(rows) * NK.WARP_BLOCK)
    assert np.allclose(y, tw.dense().astype(np.float64) @ x[:cols], atol=1e-4 * cols ** 0.5)


def _kernel_args():
    p = np.zeros((4, 2), np.uint32)
    f1, f2, i1 = np.zeros(32, np.float32), np.zeros((8, 256), np.float32), np.zeros(32, np.int32)
    i8 = np.zeros((4, 5), np.int8)
    t3, x3 = np.zeros((1, 2, NK.TILE), np.uint32), np.zeros((3, 2, 16), np.float32)
    yield NK.tiles_kernel, (t3, x3, f2[:1, :NK.TILE], np.zeros((3, 1, NK.TILE), np.float32)), None
    yield NK.tiles_int_kernel, (t3, x3.astype(np.int32), np.zeros((3, 1, NK.TILE), np.int32)), None
    yield NK.block_kernel, (p, f2[:16, :2], f1[:4], f1[:4]), (4 * NK.BLOCK,)
    yield NK.warp_kernel, (p, f2[:16, :2], f1[:4], f1[:4]), (NK.WARP_BLOCK,)
    yield NK.rows_kernel, (p, x3, f1[:4], np.zeros((3, 4), np.float32)), None
    from pxos.lib.ternary import kernels as K
    yield K.add_rows, (i8, i8, 1, np.zeros((4, 6), np.int8)), None
    yield K.mul_rows, (i8, i8, np.zeros((4, 10), np.int8)), None
    yield K.decode_rows, (i8, np.zeros(4, np.int64), np.zeros(4, np.int8)), None
    yield K.encode_rows, (np.zeros(4, np.int64), i8, np.zeros(4, np.int64)), None
    from pxos.lib.ternary import columns as C
    from pxos.lib.ternary import planes as P
    i64 = np.zeros(5, np.int64)
    for kernels in ((P.add_planes, C.add_columns), (P.compare_planes, C.compare_columns)):
        args = (i8.T.copy(), i8.T.copy()) + ((1,) if "add" in kernels[0].__name__ else ())
        out = np.zeros((6, 4), np.int8) if "add" in kernels[0].__name__ else i8[:, 0].copy()
        for k in kernels:
            yield k, args + (out,), None
    for k in (P.mul_planes, C.mul_columns):
        yield k, (i8.T.copy(), i8.T.copy(), np.zeros((10, 4), np.int8)), None
    for k in (P.encode_planes, C.encode_columns):
        yield k, (i64[:4], i8.T.copy(), i64[:4]), None
    for k in (P.decode_planes, C.decode_columns):
        yield k, (i8.T.copy(), i64[:4], i8[:, 0].copy()), None
    from pxos.lib.ternary import words as W
    yield W.encode_words, (i64[:4], np.zeros((41, 1), np.uint32), 256), (256,)
    yield W.decode_words, (np.zeros((41, 1), np.uint32), i64[:4], i8[:, 0].copy(), 256), (256,)
    yield T.logic.gate_kernel, (1, i8[0], i8[0], i8[0]), None
    yield T.search.ternary_sorted_kernel, (f1, f1, np.zeros(32, np.int64), i1), None
    yield T.search.ternary_peak_kernel, (f2, np.zeros(8, np.int64), i1[:8]), None
    d = np.zeros(27)
    yield T.qutrit.gate_kernel, (d, d, d[:9], d[:9], 3), None
    yield T.qutrit.csum_kernel, (d, d, 1, 3), None
    yield T.qutrit.probability_kernel, (d, d, d), None


@pytest.mark.parametrize("kernel,args,threads", list(_kernel_args()),
                         ids=lambda v: getattr(v, "__name__", ""))
def test_kernels_compile_for_cuda(kernel, args, threads):
    compile_cubin = nvrtc()
    path, _ = compile_cubin(render_cuda(kernel.ir(*args, threads=threads)), "90")
    assert path.read_bytes()[:4] == b"\x7fELF"


@for_each_backend(argname="device")
def test_every_code_in_every_position(device):
    # each of the 16 trits of a word, each code 0/1/2, against a decode written here
    codes = RNG.integers(0, 3, (NK.TILE, 16))
    codes[:3] = np.arange(3)[:, None]
    words = (codes.astype(np.uint64) << (2 * np.arange(16, dtype=np.uint64))).sum(axis=1)
    tw = T.nn.TernaryWeights(words.astype(np.uint32)[:, None], np.ones(NK.TILE, np.float32), 16)
    x = (2.0 ** np.arange(16)).astype(np.float32)            # every sum exact in float32
    want = np.select([codes == 1, codes == 2], [1, -1], 0) @ x
    assert np.array_equal(T.nn.matvec(tw, x, device), want)
    assert np.array_equal(T.nn.matmul(x[None], tw, device)[0], want)
