"""pxos.lib.ternary.nn_split: the split-K packed mat-vec kernels against the dense product
in float64, on every backend, for each split and for shapes that leave partial blocks,
words and chunks; and compiled for CUDA with NVRTC."""

from __future__ import annotations

import numpy as np
import pytest

import pxos.ternary as T
from pxos.codegen.cuda import render_cuda
from pxos.lib.ternary import nn_split as NS
from pxos.testing import for_each_backend
from tests.codegen.test_cuda_codegen import nvrtc

RNG = np.random.default_rng(11)
SHAPES = [(3, 5), (37, 16 * 33 + 5), (NS.ROWS * 8 + 9, 16 * 32 * 3 + 7)]


def inputs(rows: int, cols: int):
    """Weights, x, both layouts of x (``xt`` (16, words); ``xc`` chunked), the dense
    product in float64."""
    tw = T.nn.twn(RNG.normal(size=(rows, cols)))
    words = tw.packed.shape[1]
    x = RNG.normal(size=cols).astype(np.float32)
    xp = np.zeros(-(-words // 32) * 512, np.float32)
    xp[:cols] = x
    xt = np.ascontiguousarray(xp[:words * 16].reshape(-1, 16).T)
    xc = np.ascontiguousarray(xp.reshape(-1, 32, 16).transpose(0, 2, 1)).ravel()
    return tw, xt, xc, tw.dense().astype(np.float64) @ x.astype(np.float64)


@for_each_backend(argname="device")
@pytest.mark.parametrize("rows,cols", SHAPES)
def test_split_kernels_equal_dense(device, rows, cols):
    if device == "interp" and rows * cols > 20000:
        pytest.skip("the interpreter takes minutes on 10^5 weights")
    tw, xt, xc, want = inputs(rows, cols)
    words = tw.packed.shape[1]
    for splits in (1, 2, 4, 8):
        threads = NS.split_blocks(rows, splits) * NS.SPLIT_BLOCK
        y = np.full(rows, np.nan, np.float32)
        NS.split_kernel(tw.packed, xt, tw.scale, y, splits, device=device, threads=threads)
        assert np.allclose(y, want, atol=1e-4 * cols ** 0.5), ("split", splits)
        y = np.full(rows, np.nan, np.float32)
        NS.chunk_kernel(tw.packed.reshape(-1), words, xc, tw.scale, y, splits, device=device,
                        threads=threads)
        assert np.allclose(y, want, atol=1e-4 * cols ** 0.5), ("chunk", splits)


def test_split_kernels_compile_for_cuda():
    compile_cubin = nvrtc()
    p, f = np.zeros((8, 64), np.uint32), np.zeros(8, np.float32)
    cases = [(NS.split_kernel, (p, np.zeros((16, 64), np.float32), f, f, 2)),
             (NS.chunk_kernel, (p.ravel(), 64, np.zeros(1024, np.float32), f, f, 2))]
    for kernel, args in cases:
        ir = kernel.ir(*args, threads=(NS.split_blocks(8, 2) * NS.SPLIT_BLOCK,))
        path, _ = compile_cubin(render_cuda(ir), "90")
        assert path.read_bytes()[:4] == b"\x7fELF"
