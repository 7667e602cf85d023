"""REDUCE SUM on cuda (backends/cuda_reduce): one pass, f64 accumulation for floats, exact
(wrapping at 64 bits) for integers, against NumPy on the same data; the same result on
every run. Without a GPU, NVRTC still compiles every variant (where it is installed)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pxos import backends
from pxos.backends.cuda_reduce import TYPES, kernel_source

needs_cuda = pytest.mark.skipif("cuda" not in backends.available(), reason="no cuda here")


@pytest.mark.parametrize("aligned", [True, False], ids=["vector", "element"])
@pytest.mark.parametrize("dtype", list(TYPES), ids=str)
def test_every_variant_compiles_with_nvrtc_for_sm_90(dtype, aligned):
    try:
        from cuda.core import Program, ProgramOptions
    except ImportError as e:
        if os.environ.get("PXOS_REQUIRE_NVRTC") == "1":
            pytest.fail(f"NVRTC is required here (PXOS_REQUIRE_NVRTC=1) but missing: {e}")
        pytest.skip(f"NVRTC is not installed: {e}")
    options = ProgramOptions(name="reduce.cu", arch="sm_90")
    code = Program(kernel_source(dtype, aligned), code_type="c++",
                   options=options).compile("cubin")
    assert b"pxos_reduce_sum" in bytes(code.code)


SIZES = [1, 3, 511, 512, 513, 100_003, 2**22 + 7]


@needs_cuda
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_sums_match_numpy_in_f64(n, dtype):
    import cupy

    from pxos.backends.library import reduce_array

    a = (np.random.default_rng(n).random(n) * 2 - 0.5).astype(dtype)
    got = reduce_array("sum", cupy.asarray(a))
    assert got.dtype == np.float64
    assert got == pytest.approx(np.sum(a, dtype=np.float64), rel=1e-12, abs=1e-12)
    assert reduce_array("sum", cupy.asarray(a)) == got  # a fixed summation tree


@needs_cuda
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.int64, np.uint64])
def test_integer_sums_are_exact_and_wrap_as_numpy(n, dtype):
    import cupy

    from pxos.backends.library import reduce_array

    info = np.iinfo(dtype)
    a = np.random.default_rng(n).integers(info.min, info.max, n, dtype=dtype,
                                          endpoint=True)
    want = np.sum(a, dtype=np.uint64 if info.min == 0 else np.int64)
    got = reduce_array("sum", cupy.asarray(a))
    assert got.dtype == want.dtype and got == want


@needs_cuda
def test_unaligned_views_and_other_types_still_sum():
    import cupy

    from pxos.backends.library import reduce_array

    a = np.arange(1001, dtype=np.float32)
    view = cupy.asarray(a)[1:]  # 4 bytes past a 16-byte boundary: element loads
    assert reduce_array("sum", view) == np.sum(a[1:], dtype=np.float64)
    h = np.arange(100, dtype=np.int16)  # not this kernel's: CuPy's sum
    assert reduce_array("sum", cupy.asarray(h)) == np.sum(h, dtype=np.int64)


@needs_cuda
def test_sums_in_turn_on_two_kernels_and_two_streams_each_get_their_own_result():
    """The aligned and the element kernel share a workspace (its sum and launch number in
    host memory); a second stream has its own. Each sum must wait for its own launch."""
    import cupy

    from pxos.backends.library import reduce_array

    rng = np.random.default_rng(5)
    arrays = [rng.random(n).astype(np.float32) for n in (4097, 100_003, 2**20 + 1)]
    device = [cupy.asarray(a) for a in arrays]
    stream = cupy.cuda.Stream(non_blocking=True)
    for _ in range(5):
        for a, d in zip(arrays, device):
            assert reduce_array("sum", d) == pytest.approx(np.sum(a, dtype=np.float64),
                                                           rel=1e-12)
            assert reduce_array("sum", d[1:]) == pytest.approx(
                np.sum(a[1:], dtype=np.float64), rel=1e-12)  # unaligned: element loads
            with stream:
                assert reduce_array("sum", d[3:]) == pytest.approx(
                    np.sum(a[3:], dtype=np.float64), rel=1e-12)


def test_numpy_arrays_and_scalars_sum_on_the_host_as_numpy_does():
    from pxos.backends.library import reduce_array

    a = np.arange(1, 1001, dtype=np.float32) / 7
    got = reduce_array("sum", a)
    assert got.dtype == np.float64 and got == np.sum(a, dtype=np.float64)
    scalar = reduce_array("sum", np.float32(2.5))  # a NumPy scalar is not a CuPy array
    assert scalar.dtype == np.float64 and scalar == 2.5
    u = reduce_array("sum", np.array([2**63, 2**63 - 1], dtype=np.uint64))
    assert u.dtype == np.uint64 and int(u) == (2**64 - 1)
