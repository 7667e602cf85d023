"""The CUDA C and OpenCL C of 3-D kernels compile (NVRTC, the OpenCL device's compiler),
checked and not, and read the z axis from the target's own indices; the CUDA launch plan
of a 3-D kernel passes nz and a 3-D grid, and refuses a grid past CUDA's z limit."""

from __future__ import annotations

import ctypes
import struct
from types import SimpleNamespace

import numpy as np
import pytest

from pxos.backends.base import make_launch
from pxos.codegen.cuda import render_cuda
from pxos.codegen.opencl import render_opencl
from pxos.errors import PxBackendError
from tests.backends.test_three_d import AXPB, BLOCKS, INDICES, kernel
from tests.codegen.test_cuda_codegen import nvrtc
from tests.codegen.test_opencl_codegen import opencl

SOURCES = {"axpb": AXPB, "ids": INDICES, "mirror": BLOCKS}


@pytest.mark.parametrize("checked", [False, True], ids=["plain", "checked"])
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_3d_kernels_compile_with_nvrtc(name, checked):
    compile_cubin = nvrtc()
    path, _ = compile_cubin(render_cuda(kernel(SOURCES[name]), checked), "90")
    assert path.read_bytes()[:4] == b"\x7fELF"


@pytest.mark.parametrize("checked", [False, True], ids=["plain", "checked"])
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_3d_kernels_build_with_opencl(name, checked):
    compiled = opencl().compile(kernel(SOURCES[name]), checked)
    assert compiled.source.checked == checked


def test_3d_code_reads_the_z_axis():
    cuda = render_cuda(kernel(BLOCKS)).source
    assert "__launch_bounds__(16) k_mirror(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz," \
        in cuda
    assert "const int32_t pxos_lz = (int32_t)threadIdx.z;" in cuda
    assert "const int32_t pxos_bz = (int32_t)blockIdx.z;" in cuda
    assert "__shared__ float v_tile[16];" in cuda
    ocl = render_opencl(kernel(INDICES)).source
    assert "reqd_work_group_size(4, 3, 2)" in ocl and "get_group_id(2)" in ocl
    assert "(int32_t)get_num_groups(1)" in ocl  # the linear BLOCK_ID needs blocks along y


def device_array(ptr: int, shape: tuple[int, ...]):
    return SimpleNamespace(data=SimpleNamespace(ptr=ptr), shape=shape)


def test_cuda_plan_of_a_3d_launch():
    cuda = pytest.importorskip("pxos.backends.cuda")
    k = kernel(AXPB)
    calls = []
    plan = cuda.LaunchPlan(k, 0xF00, lambda *a: calls.append(a), lambda: 0xAB, 0x5C,
                           checked=False)
    a, out = device_array(0x1000, (5, 7, 45)), device_array(0x2000, (5, 7, 45))
    plan.run((a, np.float32(2), out), make_launch(k, (45, 7, 5)))
    words = struct.unpack("<" + "q" * (plan.struct.size // 8), ctypes.string_at(
        ctypes.addressof(plan.params.buffer), plan.struct.size))
    assert words[:3] == (45, 7, 5) and words[3:7] == (0x1000, 5, 7, 45)
    # blocks 32 × 4 × 2: grid 2 × 2 × 3
    assert calls == [(0xF00, 2, 2, 3, 32, 4, 2, 0, 0xAB, plan.params.address, 0)]
    plan.run((a, np.float32(2), out), make_launch(k, (45, 7, 0)))
    assert len(calls) == 1  # no blocks along z: nothing launched
    with pytest.raises(PxBackendError, match="exceeds CUDA's limit"):
        plan.run((a, np.float32(2), out), make_launch(k, (1, 1, 2 * 65536)))
