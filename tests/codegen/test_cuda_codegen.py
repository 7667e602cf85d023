"""The CUDA code of every example compiles with NVRTC (no GPU needed), checked and not, and
reads like the C: same names, `#line` directives, CUDA's barrier and atomics."""

from __future__ import annotations

import os

import pytest

from pxos.codegen.cuda import render_cuda
from pxos.codegen.targets import render_unit_for
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file, parse_program
from tests.conftest import EXAMPLES

KERNELS = [(path.name, k) for path in sorted(EXAMPLES.glob("*.px"))
           for k in check_program(parse_file(path)).kernels]


def nvrtc():
    """The NVRTC compiler, or a skip (a failure where CI requires it)."""
    try:
        from pxos.backends.nvrtc import compile_cubin, nvrtc_version
        nvrtc_version()
        return compile_cubin
    except Exception as e:
        if os.environ.get("PXOS_REQUIRE_NVRTC") == "1":
            pytest.fail(f"NVRTC is required here (PXOS_REQUIRE_NVRTC=1) but missing: {e}")
        pytest.skip(f"NVRTC is not installed: {e}")


@pytest.mark.parametrize("checked", [False, True], ids=["plain", "checked"])
@pytest.mark.parametrize("name,kernel", KERNELS, ids=[f"{n}:{k.name}" for n, k in KERNELS])
def test_example_kernels_compile_with_nvrtc(name, kernel, checked):
    compile_cubin = nvrtc()
    path, _ = compile_cubin(render_cuda(kernel, checked), "90")
    assert path.read_bytes()[:4] == b"\x7fELF"  # a cubin is an ELF image


def test_cuda_code_is_readable():
    reduce = check_program(parse_file(EXAMPLES / "reduce.px")).kernels[0]
    src = render_cuda(reduce).source
    assert 'extern "C" __global__ void __launch_bounds__(256) k_block_sum(' in src
    assert "__shared__ float v_tile[256];" in src and "__syncthreads();" in src
    assert f'#line 8 "{EXAMPLES / "reduce.px"}"' in src
    assert "pxos_err" not in src  # bounds checks only when asked


def test_atomics_use_native_cuda_functions():
    k = check_program(parse_program("""\
GPU_KERNEL count
    GPU_PARAM keys int[]
    GPU_PARAM hist long[]
    GPU_PARAM total double[]
GPU_THREAD_CODE:
    THREAD_ID → i
    ATOMIC_ADD hist[keys[i]] 1
    ATOMIC_MAX hist[0] 5
    ATOMIC_ADD total[0] 0.5
GPU_END
""", "t.px")).kernels[0]
    src = render_cuda(k).source
    assert "atomicAdd((unsigned long long *)p" in src  # i64 add: two's complement
    assert "atomicMax((long long *)p" in src and "atomicAdd((double *)p" in src
    nvrtc()(render_cuda(k), "90")


def test_one_unit_for_several_kernels():
    kernels = check_program(parse_file(EXAMPLES / "edges.px")).kernels
    unit = render_unit_for("cuda", kernels)
    assert unit.count("typedef long long int64_t;") == 1
    assert all(f"k_{k.name}(" in unit for k in kernels)
