"""pxos.ternary.nn: quantizers against their formulas, packed kernels against dense NumPy,
and every ternary kernel compiled for CUDA with NVRTC."""

from __future__ import annotations

import itertools

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
def test_gpu_block_kernel_on_every_backend(device):
    tw = T.nn.twn(W)
    x = np.zeros(tw.packed.shape[1] * 16, np.float32)
    x[:75] = RNG.normal(size=75)
    table = np.empty((x.size // 4, 256), np.float32)
    NK.lut_kernel(x, table, device=device)
    y = np.empty(37, np.float32)
    NK.matvec_block_kernel(tw.packed, table, tw.scale, y, device=device,
                           threads=37 * NK.BLOCK)
    assert np.allclose(y, tw.dense().astype(np.float64) @ x[:75], atol=1e-4)


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


def _kernel_args():
    p = np.zeros((4, 2), np.uint32)
    f1, f2, i1 = np.zeros(32, np.float32), np.zeros((8, 256), np.float32), np.zeros(32, np.int32)
    i8 = np.zeros((4, 5), np.int8)
    yield NK.lut_kernel, (f1, f2), None
    yield NK.matvec_rows_kernel, (p.view(np.uint8), f2, f1[:4], f1[:4]), None
    yield NK.matvec_block_kernel, (p, f2, f1[:4], f1[:4]), (4 * NK.BLOCK,)
    yield NK.matvec_int_kernel, (p, i1, i1[:4]), None
    yield NK.matmul_kernel, (p, np.zeros((3, 32), np.float32), f1[:4],
                             np.zeros((3, 4), np.float32)), None
    from pxos.lib.ternary import kernels as K
    yield K.add_rows, (i8, i8, 1, np.zeros((4, 6), np.int8)), None
    yield K.mul_rows, (i8, i8, np.zeros((4, 10), np.int8)), None
    yield K.decode_rows, (i8, np.zeros(4, np.int64), np.zeros(4, np.int8)), None
    yield K.encode_rows, (np.zeros(4, np.int64), i8, np.zeros(4, np.int64)), None
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


def test_all_pairs_of_select_codes():
    # every byte code 0..255 of the lookup table against the sum it must select
    x = np.arange(1, 5, dtype=np.float32) * np.array([1, 10, 100, 1000], np.float32)
    table = np.empty((1, 256), np.float32)
    NK.lut_kernel(x, table, device="c")
    for c, codes in enumerate(itertools.product(range(4), repeat=4)):
        codes = codes[::-1]                      # code of input m is bits 2m, 2m+1
        want = sum(x[m] * {0: 0, 1: 1, 2: -1, 3: 0}[codes[m]] for m in range(4))
        assert table[0, c] == want
