"""Integer ``/``, ``%`` and ``ABS`` at every sign, zero and ``MIN / -1``, and float ``%`` at
signed zeros, infinities and NaN, on every backend present, against Python's integers and
NumPy's ``fmod`` (docs/language.md, "Arithmetic that C leaves undefined, defined here").

On ``webgpu`` these exercise the WGSL helpers that divide magnitudes as unsigned numbers:
Vulkan leaves SPIR-V's signed remainder undefined for negative operands."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.testing import for_each_backend

SRC = """GPU_KERNEL k
GPU_PARAM a {t}[]
GPU_PARAM b {t}[]
GPU_PARAM q {t}[]
GPU_PARAM r {t}[]
GPU_PARAM m {t}[]
GPU_THREAD_CODE:
    THREAD_ID → i
    LOAD a[i] → x
    LOAD b[i] → y
    STORE x / y → q[i]
    STORE x % y → r[i]
    ABS x → v
    STORE v → m[i]
GPU_END
"""


def wrap(v: int, bits: int) -> int:
    """``v`` as a two's-complement integer of ``bits`` bits."""
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def c_divmod(x: int, y: int, bits: int) -> tuple[int, int]:
    """C's truncating quotient and remainder, 0 for a zero divisor, wrapped to ``bits``."""
    if y == 0:
        return 0, 0
    q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
    return wrap(q, bits), wrap(x - q * y, bits)


@for_each_backend()
@pytest.mark.parametrize("t", ["i8", "i16", "i32", "i64"])
def test_signed_division_every_sign(t, backend):
    bits = int(t[1:])
    lo, hi = -2 ** (bits - 1), 2 ** (bits - 1) - 1
    values = [lo, lo + 1, -7, -2, -1, 0, 1, 2, 7, hi]
    pairs = list(itertools.product(values, values))
    dtype = np.dtype(f"int{bits}")
    a = np.array([x for x, _ in pairs], dtype)
    b = np.array([y for _, y in pairs], dtype)
    q, r, m = (np.zeros(len(pairs), dtype) for _ in range(3))
    kernel = check_program(parse_program(SRC.format(t=t), "t.px")).kernels[0]
    run_kernel(backend, kernel, [a, b, q, r, m], (len(pairs),))
    want = [c_divmod(x, y, bits) for x, y in pairs]
    assert q.tolist() == [w[0] for w in want]
    assert r.tolist() == [w[1] for w in want]
    assert m.tolist() == [wrap(abs(x), bits) for x, _ in pairs]


@for_each_backend()
def test_float_mod_is_fmod_at_zeros_infinities_and_nan(backend):
    values = [5.5, -5.5, 2.0, -2.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, 3e38]
    pairs = list(itertools.product(values, values))
    a = np.array([x for x, _ in pairs], np.float32)
    b = np.array([y for _, y in pairs], np.float32)
    r = np.zeros(len(pairs), np.float32)
    src = ("GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_PARAM b float[]\nGPU_PARAM r float[]\n"
           "GPU_THREAD_CODE:\n    THREAD_ID → i\n    STORE a[i] % b[i] → r[i]\nGPU_END\n")
    run_kernel(backend, check_program(parse_program(src, "t.px")).kernels[0], [a, b, r],
               (len(pairs),))
    with np.errstate(invalid="ignore"):
        want = np.fmod(a, b)
    np.testing.assert_array_equal(r, want)  # NaN where NumPy's is NaN
    assert (np.signbit(r) == np.signbit(want))[~np.isnan(want)].all()  # -0.0 stays -0.0


@for_each_backend()
@pytest.mark.parametrize("t", ["int", "uint", "i64"])
def test_a_quotient_by_zero_feeds_an_index(t, backend):
    """``i / i`` (0 in thread 0) as an index: gcc 12 vectorised the former helper (a
    division under a branch) wrongly in an ``omp simd`` loop and dropped thread 0's store
    (found by tests/test_fuzz_kernels.py, seed 708)."""
    src = f"""GPU_KERNEL k
GPU_PARAM out int[]
GPU_PARAM x int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET q = {t}(i) / {t}(i)
    STORE x[q & 255] → out[i]
GPU_END
"""
    kernel = check_program(parse_program(src, "t.px")).kernels[0]
    x = np.arange(1000, 1256, dtype=np.int32)
    out = np.full(64, -1, np.int32)
    run_kernel(backend, kernel, [out, x], (64,))
    i = np.arange(64)
    want = x[np.where(i == 0, 0, 1)]
    np.testing.assert_array_equal(out, want)
