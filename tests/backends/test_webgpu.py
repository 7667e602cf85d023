"""The webgpu backend and the WGSL dialect: what WGSL lacks is refused with a PxTypeError or
emulated (8- and 16-bit integers wrap as NumPy's do, bool buffers, float atomics), a 1-D
launch past 65535 workgroups, kernel times, and a clean "not available" where WebGPU has
no adapter. Every example's kernels that fit WGSL's types build on the device."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.backends.base import make_launch
from pxos.codegen.wgsl import WgslDialect, render_wgsl
from pxos.errors import PxBackendError, PxTypeError
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file, parse_program
from tests.conftest import EXAMPLES

PRESENT = "webgpu" in backends.available()
needs_webgpu = pytest.mark.skipif(not PRESENT, reason="no WebGPU adapter here")
N = 1000


def kernel(src: str):
    return check_program(parse_program(src, "t.px")).kernels[0]


HALF = kernel("""GPU_KERNEL k
GPU_PARAM h f16[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE h[i] * 3.0 → h[i]
GPU_END
""")
WIDE = kernel("""GPU_KERNEL k
GPU_PARAM w i64[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE w[i] * 3 → w[i]
GPU_END
""")


def test_types_wgsl_lacks_are_refused_at_their_line():
    with pytest.raises(PxTypeError, match="parameter 'h' has type f16") as e:
        WgslDialect(wide=True).admit(HALF)
    assert e.value.span.line == 1
    with pytest.raises(PxTypeError, match="type i64"):
        WgslDialect(wide=False).admit(WIDE)
    WgslDialect(wide=True).admit(WIDE)  # with shader-int64, i64 is WGSL's own
    f64_exp = kernel("""GPU_KERNEL k
GPU_PARAM d double[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE exp(d[i]) → d[i]
GPU_END
""")
    with pytest.raises(PxTypeError, match="no exp on f64") as e:
        render_wgsl(f64_exp, wide=True)
    assert e.value.span.line == 5


@needs_webgpu
def test_narrow_integers_and_bools_wrap_as_numpy():
    src = """GPU_KERNEL k
GPU_PARAM b u8[]
GPU_PARAM c i8[]
GPU_PARAM s i16[]
GPU_PARAM flags bool[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE u8(b[i] + 200) → b[i]
    STORE c[i] * i8(3) - i8(100) → c[i]
    STORE s[i] * i16(300) → s[i]
    STORE flags[i] == FALSE → flags[i]
GPU_END
"""
    b = np.arange(N, dtype=np.uint8)
    c = (np.arange(N) - 500).astype(np.int8)
    s = (np.arange(N) * 37 - 15000).astype(np.int16)
    flags = np.arange(N) % 3 == 0
    with np.errstate(over="ignore"):
        want = [(b.astype(np.int32) + 200).astype(np.uint8),
                c * np.int8(3) - np.int8(100), s * np.int16(300), ~flags]
    args = [b.copy(), c.copy(), s.copy(), flags.copy()]
    run_kernel("webgpu", kernel(src), args, (N,))
    for got, ref in zip(args, want):
        np.testing.assert_array_equal(got, ref)


@needs_webgpu
def test_f16_is_refused_by_the_backend_not_crashed():
    with pytest.raises(PxTypeError, match="f16"):
        run_kernel("webgpu", HALF, [np.zeros(4, np.float16)], (4,))


@needs_webgpu
def test_one_dimensional_launch_past_65535_workgroups():
    src = """GPU_KERNEL k
GPU_PARAM out i32[]
GPU_BLOCK 64
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE i * 3 → out[i]
GPU_END
"""
    n = 65535 * 64 + 1000  # 65551 blocks: two rows of workgroups
    out = np.zeros(n, np.int32)
    run_kernel("webgpu", kernel(src), [out], (n,))
    np.testing.assert_array_equal(out, np.arange(n, dtype=np.int32) * 3)


@needs_webgpu
def test_launch_timed_gives_the_kernel_time():
    backend = backends.get("webgpu")
    src = """GPU_KERNEL k
GPU_PARAM a float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] + 1.0 → a[i]
GPU_END
"""
    a = np.zeros(N, np.float32)
    run_kernel("webgpu", kernel(src), [a], (N,))
    np.testing.assert_array_equal(a, np.ones(N, np.float32))
    moved = backend.to_device(a)
    k = kernel(src)
    assert 0.0 < backend.launch_timed(backend.compile(k), [moved], make_launch(k, (N,))) < 10
    backend.to_host(moved, a)
    np.testing.assert_array_equal(a, np.full(N, 2, np.float32))


EXAMPLE_KERNELS = [(path.name, k) for path in sorted(EXAMPLES.glob("*.px"))
                   for k in check_program(parse_file(path)).kernels]


@needs_webgpu
@pytest.mark.parametrize("name, k", EXAMPLE_KERNELS, ids=[f"{n}:{k.name}"
                                                           for n, k in EXAMPLE_KERNELS])
def test_every_example_kernel_builds(name, k):
    backend = backends.get("webgpu")
    for checked in (False, True):
        built = backend.compile(k, checked)
        assert built.source.entry in built.source.source


def test_no_adapter_is_a_backend_error(monkeypatch):
    wgpu = pytest.importorskip("wgpu")
    from pxos.backends.webgpu import WebGPUBackend
    monkeypatch.setattr(wgpu.gpu, "request_adapter_sync", lambda **kw: None)
    with pytest.raises(PxBackendError, match="no WebGPU adapter"):
        WebGPUBackend()


def test_turned_off_by_the_environment(monkeypatch):
    from pxos.backends.webgpu import WebGPUBackend
    monkeypatch.setenv("PXOS_WEBGPU", "0")
    with pytest.raises(PxBackendError, match="turned off"):
        WebGPUBackend()
