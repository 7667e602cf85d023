"""CUDA maps as grid-stride loops with 16-byte loads (codegen/gpu_stride): the code NVRTC
compiles, and which kernels take the vector path (no GPU here: the launch is tested on
the H200 by benchmarks/gpu.py)."""

from __future__ import annotations

import numpy as np

import pxos
from pxos.backends.cuda import LaunchPlan
from pxos.backends.base import make_launch
from pxos.codegen.cuda import render_cuda
from pxos.codegen.gpu_stride import grid_stride, quad_arrays
from tests.codegen.test_cuda_codegen import nvrtc


@pxos.kernel
def vadd(x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
         out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        t = x[i] * 2.0
        out[i] = t + y[i] + pxos.f32(i)


@pxos.kernel
def clipped(x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        if x[i] > 0.0:
            out[i] = x[i]


@pxos.kernel
def shifted(x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x) - 1):
        out[i] = x[i + 1]


@pxos.kernel
def plane(a: pxos.Array[pxos.f32, 2]):
    for i, j in pxos.parallel(a.shape[0], a.shape[1]):
        a[i, j] = 1.0


F = np.zeros(8, np.float32)


def test_a_map_moves_float4_in_a_grid_stride_loop():
    k = vadd.ir(F, F, F)
    assert grid_stride(k) and quad_arrays(k) == {"x": "float4", "y": "float4",
                                                 "out": "float4"}
    src = render_cuda(k).source
    assert "pxos_q += pxos_stride" in src and "((float4 *)v_out)[pxos_q] = pxos_v_out;" in src
    assert "pxos_v_out.w = " in src and "(int32_t)(4 * pxos_q + 3)" in src
    assert "pxos_t < pxos_nx; pxos_t += pxos_stride" in src  # the tail, and unaligned calls
    path, _ = nvrtc()(render_cuda(k), "90")
    assert path.read_bytes()[:4] == b"\x7fELF"


def test_branches_offsets_and_checked_kernels_stay_scalar():
    for k in (clipped.ir(F, F), shifted.ir(F, F)):
        assert grid_stride(k) and quad_arrays(k) is None
        src = render_cuda(k).source
        assert "float4" not in src and "pxos_t += pxos_stride" in src
        nvrtc()(render_cuda(k), "90")
    checked = render_cuda(vadd.ir(F, F, F), checked=True)
    assert "float4" not in checked.source and "pxos_bound" in checked.source
    nvrtc()(checked, "90")


def test_2d_kernels_keep_one_thread_per_element():
    k = plane.ir(np.zeros((4, 4), np.float32))
    assert not grid_stride(k)
    assert "pxos_stride" not in render_cuda(k).source


def test_the_launch_plan_caps_the_grid_of_a_grid_stride_kernel():
    k = vadd.ir(F, F, F)
    calls = []
    plan = LaunchPlan(k, 0, lambda *a: calls.append(a[1:7]), lambda: 0, 0, False,
                      max_blocks=132 * 16)
    x = type("A", (), {"data": type("D", (), {"ptr": 16})(), "shape": (2**28,)})()
    plan.run((x, x, x), make_launch(k, (2**28,)))
    assert calls[0][0] == 132 * 16 and calls[0][3] == 256
    small = make_launch(k, (1000,))
    plan.run((x, x, x), small)
    assert calls[1][0] == 4
