"""What the differential kernel fuzzer (test_fuzz_kernels) found, kept as plain cases: one
statement each, on every backend present, against values worked out here by hand (Python
integers, NumPy floats)."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.testing import for_each_backend

N = 8
I = np.arange(N)


def stored(backend: str, expr: str, out_type: str = "long", dtype=np.int64,
           checked: bool = False) -> np.ndarray:
    """``STORE expr → out[i]`` for ``i`` in 0..N-1 on ``backend``, with ``x[i] = i - 4``;
    ``checked``: in checked mode."""
    src = f"""GPU_KERNEL k
GPU_PARAM out {out_type}[]
GPU_PARAM x int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE {expr} → out[i]
GPU_END
"""
    kernel = check_program(parse_program(src, "found.px")).kernels[0]
    out = np.zeros(N, dtype)
    run_kernel(backend, kernel, [out, (I - 4).astype(np.int32)], (N,), checked)
    return out


@for_each_backend()
@pytest.mark.parametrize("expr, want", [
    # a signed 32-bit value widened to u64 sign-extends (naga's u64(i32) zero-extended)
    ("i64(u64(x[i]) >> 32)", [0xFFFFFFFF if v < 0 else 0 for v in I - 4]),
    # an unsigned one widened to i64 zero-extends (naga's i64(u32) sign-extended)
    ("i64(u32(x[i]))", [(v + 2**32) % 2**32 for v in I - 4]),
    # constants alone wrap as the rest of pxos's integers (WGSL refused the shader)
    ("i64(2147483647 + 1 + i - i)", [-2**31] * N),
    ("i64((18 << 31) + i - i)", [0] * N),
    # a constant of 64 bits converted to 32 (naga converts no 64-bit literal)
    ("i64(u32(4294967295) + u32(i) - u32(i))", [2**32 - 1] * N),
    ("i64(x[i32(i64(3))])", [-1] * N),
    # an unsigned value negated (WGSL has no unary minus for u32)
    ("i64(-(u32(i)))", [(2**32 - v) % 2**32 for v in I]),
])
def test_integer_conversions_and_constants(backend, expr, want):
    assert stored(backend, expr).tolist() == want


@for_each_backend()
@pytest.mark.parametrize("expr, want", [
    # f32(0.1) widened is float 0.1, not double 0.1 (the checker kept the literal weak)
    ("f64(f32(0.1))", float(np.float32(0.1))),
    # a negative float literal negated: C read "--5.125f" as a decrement
    ("f64(-(f32(-5.125)))", 5.125),
    # an f64 literal converted to f32, and floor of an f64 literal (naga refused both)
    ("f64(f32(f64(0.1)))", float(np.float32(0.1))),
    ("-floor(f64(-5.625))", 6.0),
])
def test_float_literals_and_constants(backend, expr, want):
    assert stored(backend, expr, "double", np.float64).tolist() == [want] * N


@for_each_backend()
@pytest.mark.parametrize("index, at", [("u32(i) & u32(7)", I), ("u8(i)", I),
                                       ("u16(7 - i)", 7 - I)])
def test_an_index_of_another_integer_type_in_checked_mode(backend, index, at):
    """Checked mode's bound helper takes an ``i32`` index: WGSL converts nothing itself
    (the shader was refused for a ``u32`` index)."""
    assert stored(backend, f"x[{index}]", checked=True).tolist() == (at - 4).tolist()


def test_a_for_variable_has_its_bounds_type(backend):
    # fuzz seed 739 (2-D family): FOR j IN 0..(x[c] & 7) with x u32[] makes j a u32, so
    # min(i, v) >= j / -7 compares unsigned (the model had taken j for an i32)
    src = ("GPU_KERNEL k\n    GPU_PARAM x u32[]\n    GPU_PARAM o i32[]\nGPU_THREAD_CODE:\n"
           "    THREAD_ID → i\n    SET v = -5\n    SET n = 0\n"
           "    FOR j IN 0..(x[i] & 7):\n        IF v >= j / 2:\n            SET n = n + 1\n"
           "    STORE n → o[i]\nGPU_END\n")
    x = np.array([3, 7, 0, 5], np.uint32)
    o = np.zeros(4, np.int32)
    kernel = check_program(parse_program(src, "k.px")).kernels[0]
    run_kernel(backend, kernel, [x, o], (4,), False)
    # v = -5 converts to u32 4294967291, which is >= every j / 2: every trip counts
    assert o.tolist() == [3, 7, 0, 5]


def test_a_variable_set_in_a_loop_survives_a_barrier(backend):
    # fuzz seed 875 (block-synchronous family): PoCL 3.1, optimising, read c after
    # SYNC_THREADS as 0 in every work-item when the WHILE that set it runs at most once
    # (its body zeroes the count it tests); the opencl backend builds kernels with a
    # barrier on PoCL unoptimised (backends/opencl.build_options)
    src = ("GPU_KERNEL k\n    GPU_PARAM x u32[]\n    GPU_PARAM o i32[]\n"
           "    GPU_SHARED_MEM tile int 64\n    GPU_BLOCK 64\nGPU_THREAD_CODE:\n"
           "    THREAD_ID → i\n    LOCAL_ID → lid\n    SET c = 0\n    SET v = x[i]\n"
           "    WHILE c < (v & 3):\n        SET c = c + 1\n        SET v = u32(0)\n"
           "    STORE 1 → tile[lid]\n    SYNC_THREADS\n    STORE c → o[i]\nGPU_END\n")
    x = np.random.default_rng(1).integers(0, 2**32, 128, dtype=np.uint32)
    o = np.zeros(128, np.int32)
    kernel = check_program(parse_program(src, "k.px")).kernels[0]
    run_kernel(backend, kernel, [x, o], (128,), False)
    assert o.tolist() == [1 if v & 3 else 0 for v in x.tolist()]
