"""The OpenCL C code reads like the C and CUDA code (same names, `#line` directives) and
spells what OpenCL C 1.2 lacks: fixed-width integer types, `bool` and `f16` buffers,
atomics per address space. Where an OpenCL device is present, it builds the code."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest

from pxos import backends
from pxos.backends import opencl as opencl_backend
from pxos.codegen.opencl import render_opencl, required_extensions
from pxos.errors import PxBackendError
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file, parse_program
from tests.conftest import EXAMPLES

KERNELS = [(path.name, k) for path in sorted(EXAMPLES.glob("*.px"))
           for k in check_program(parse_file(path)).kernels]

SHARED_ATOMICS = """\
GPU_KERNEL hist
    GPU_PARAM keys int[]
    GPU_PARAM counts u32[]
    GPU_PARAM big long[]
    GPU_PARAM total double[]
    GPU_SHARED_MEM local_counts u32 8
    GPU_SHARED_MEM local_big long 2
    GPU_SHARED_MEM local_sum double 1
    GPU_BLOCK 64
GPU_THREAD_CODE:
    THREAD_ID → i
    LOCAL_ID → l
    IF l < 8:
        STORE 0 → local_counts[l]
    IF l < 2:
        STORE 0 → local_big[l]
    IF l == 0:
        STORE 0.0 → local_sum[0]
    SYNC_THREADS
    SET k = 0
    IF i < LEN(keys):
        SET k = keys[i]
    SET wide = i64(k) * 4000000000
    ATOMIC_ADD local_counts[k % 8] 1
    ATOMIC_MAX local_big[0] wide
    ATOMIC_XOR local_big[1] wide
    ATOMIC_ADD local_sum[0] 0.5
    SYNC_THREADS
    IF l < 8:
        ATOMIC_ADD counts[l] local_counts[l]
    IF l < 2:
        ATOMIC_MAX big[l] local_big[l]
    IF l == 0:
        ATOMIC_ADD total[0] local_sum[0]
GPU_END
"""


def kernel(src: str):
    return check_program(parse_program(src, "t.px")).kernels[0]


def opencl():
    """The ``opencl`` backend, or a skip (a failure where CI requires it)."""
    try:
        return backends.get("opencl")
    except PxBackendError as e:
        if "opencl" in os.environ.get("PXOS_REQUIRE_BACKENDS", "").split(","):
            pytest.fail(f"the opencl backend is required here but missing: {e}")
        pytest.skip(f"no OpenCL device: {e}")


def test_opencl_code_is_readable():
    reduce = check_program(parse_file(EXAMPLES / "reduce.px")).kernels[0]
    src = render_opencl(reduce).source
    assert "#include" not in src and "typedef long int64_t;" in src
    assert "#pragma OPENCL FP_CONTRACT OFF" in src  # a * b + c stays two roundings
    assert ("__kernel __attribute__((reqd_work_group_size(256, 1, 1))) void k_block_sum("
            "int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, __global float *v_data, "
                "int64_t d0_data,") in src
    assert "__local float v_tile[256];" in src
    assert "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);" in src
    assert "const int32_t pxos_lx = (int32_t)get_local_id(0);" in src
    assert "get_num_groups" not in src  # only the geometry the kernel reads is declared
    assert f'#line 8 "{EXAMPLES / "reduce.px"}"' in src
    assert "pxos_err" not in src and "cl_khr" not in src


def test_bool_and_f16_cross_as_uchar_and_half():
    src = render_opencl(kernel("""\
GPU_KERNEL k
    GPU_PARAM flags bool[]
    GPU_PARAM on bool
    GPU_PARAM h f16[]
    GPU_PARAM d f64[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE flags[i] AND on → flags[i]
    STORE h[i] * 2.0 → h[i]
    SET x = f16(d[i])
GPU_END
""")).source
    assert "__global uchar *v_flags" in src and "uchar v_on" in src
    assert "__global half *v_h" in src
    assert "vload_half(v_i, v_h)" in src and "vstore_half(" in src
    assert "v_x = pxos_to_f16_f64(v_d[v_i]);" in src  # one rounding from f64
    assert "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" in src


def test_atomics_on_shared_arrays_take_local_pointers():
    k = kernel(SHARED_ATOMICS)
    src = render_opencl(k).source
    assert ("pxos_atomic_add_local_u32(volatile __local uint32_t *p, uint32_t v) "
            "{ return atomic_add(p, v); }") in src
    assert "pxos_atomic_max_local_i64(volatile __local int64_t *p" in src
    assert "atom_cmpxchg(q, seen, as_ulong(as_double(seen) + v))" in src
    assert "pxos_atomic_add_u32(volatile __global uint32_t *p" in src
    assert required_extensions(k) == ("cl_khr_fp64", "cl_khr_int64_base_atomics",
                                      "cl_khr_int64_extended_atomics")


def test_atomics_on_shared_arrays_build_and_match_interp():
    opencl()
    keys = np.arange(1000, dtype=np.int32) * 7 % 23
    results = {}
    for device in ("interp", "opencl"):
        args = [keys, np.zeros(8, np.uint32), np.zeros(2, np.int64), np.zeros(1, np.float64)]
        run_kernel(device, kernel(SHARED_ATOMICS), args, (1024,), checked=True)
        results[device] = args
    for got, want in zip(results["opencl"], results["interp"]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("checked", [False, True], ids=["plain", "checked"])
@pytest.mark.parametrize("name,kernel", KERNELS, ids=[f"{n}:{k.name}" for n, k in KERNELS])
def test_example_kernels_build(name, kernel, checked):
    compiled = opencl().compile(kernel, checked)
    assert compiled.source.checked == checked


def test_device_is_chosen_by_name(monkeypatch):
    device = opencl().device
    cl = pytest.importorskip("pyopencl")
    monkeypatch.setenv(opencl_backend.DEVICE_ENV, "no such device")
    with pytest.raises(PxBackendError, match="names no OpenCL device"):
        opencl_backend.choose_device(cl)
    monkeypatch.setenv(opencl_backend.DEVICE_ENV, device.name.upper())
    assert opencl_backend.choose_device(cl).name == device.name


def test_missing_extension_and_build_failure_are_backend_errors(monkeypatch):
    opencl()
    backend = opencl_backend.OpenCLBackend()  # a fresh one, not the shared instance
    present, backend._extensions = backend._extensions, set()  # a device without fp64
    with pytest.raises(PxBackendError, match="needs the OpenCL extension cl_khr_fp64"):
        backend.compile(kernel("GPU_KERNEL k\n    GPU_PARAM d f64[]\nGPU_THREAD_CODE:\n"
                               "    THREAD_ID → i\n    STORE d[i] * 2.0 → d[i]\nGPU_END\n"))
    backend._extensions = present
    real = opencl_backend.render_opencl
    monkeypatch.setattr(opencl_backend, "render_opencl", lambda k, checked=False: replace(
        real(k, checked), source=real(k, checked).source + "\nnot C at all;\n"))
    with pytest.raises(PxBackendError, match="OpenCL compiler rejected the code generated"):
        backend.compile(kernel(SHARED_ATOMICS))
