"""Number literals at their limits: leading zeros, more digits than 64 bits hold, floats
beyond a float type's range (`.px` and Python kernels). Each is a PxError at the literal,
never a traceback; infinities themselves still compile on every backend and NVRTC."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import pxos
from pxos.codegen.cuda import render_cuda
from pxos.codegen.opencl import render_opencl
from pxos.errors import PxSyntaxError, PxTypeError
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.codegen.test_cuda_codegen import nvrtc

KERNEL = """GPU_KERNEL k
GPU_PARAM a float[]
GPU_PARAM d f64[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE {} → a[i]
GPU_END
"""
BIG = "1" + "0" * 4400


def check(text):
    return check_program(parse_program(text, "t.px"))


@pytest.mark.parametrize("text,col", [
    ("SET x = 07\n", 9),
    ("FOR i IN 00..09:\n    PRINT i\n", 10),
    (KERNEL.format("f32(09)"), 15),
], ids=["set", "for", "call"])
def test_a_leading_zero_is_refused_with_a_hint(text, col):
    with pytest.raises(PxSyntaxError) as info:
        check(text)
    err = info.value
    assert "leading zero" in err.message and "octal" in err.hint
    assert err.span.col == col and err.span.length == 2


def test_zero_and_hex_with_leading_zeros_are_fine():
    prog = check("SET a = 0\nSET b = 0x00FF\nSET c = 18446744073709551615\n")
    assert [s.value.value for s in prog.statements] == [0, 255, 2**64 - 1]


@pytest.mark.parametrize("text", [
    f"SET x = {BIG}\n",
    "SET x = 0x" + "F" * 4000 + "\n",
    "SET x = 18446744073709551616\n",
    KERNEL.replace("GPU_THREAD_CODE", f"GPU_BLOCK {BIG}\nGPU_THREAD_CODE").format("1.0"),
    KERNEL.replace("GPU_THREAD_CODE", f"GPU_SHARED_MEM t float {BIG}\nGPU_THREAD_CODE")
    .format("1.0"),
], ids=["4401-digits", "hex-4000-digits", "2**64", "GPU_BLOCK", "GPU_SHARED_MEM"])
def test_an_integer_too_long_for_64_bits_is_a_type_error(text):
    with pytest.raises(PxTypeError) as info:
        check(text)
    assert "does not fit in 64 bits" in info.value.message
    assert len(info.value.message) < 120  # the literal is abbreviated
    assert info.value.span is not None


@pytest.mark.parametrize("expr", ["a[i] + 1e39", "1e39", "-3.5e38", "f32(d[i]) * 1e39"])
def test_a_float_literal_beyond_f32_is_refused(expr):
    with pytest.raises(PxTypeError) as info:
        check(KERNEL.format(expr))
    err = info.value
    assert "too large for f32" in err.message and "f64" in err.hint
    assert err.span.line == 6 and err.span.text[err.span.col - 1:].lstrip("-")[:2] in ("1e", "3.")


@pytest.mark.parametrize("expr", ["d[i] + 1e999", "f64(1" + "0" * 400 + ".0)"])
def test_a_float_literal_beyond_f64_is_refused(expr):
    with pytest.raises(PxTypeError) as info:
        check(KERNEL.format(f"f32({expr})"))
    assert "too large for f64" in info.value.message and info.value.span.line == 6


def test_the_same_literal_in_f64_and_the_largest_f32_run_everywhere(backend):
    kernel = check(KERNEL.format("f32(f64(1e39) / 1e10) + f32(d[i] * 1e39) + 1.0")
                   ).kernels[0]
    a, d = np.zeros(3, np.float32), np.zeros(3)
    run_kernel(backend, kernel, [a, d], (3,))
    np.testing.assert_allclose(a, np.float32(1e29) + 1, rtol=1e-6)
    kernel = check(KERNEL.format("3.4028235e38")).kernels[0]
    run_kernel(backend, kernel, [a, d], (3,))
    assert (a == np.finfo(np.float32).max).all()


# -- Python kernels: closure constants

HUGE_INT, HUGE_F, HUGE_F64 = 10**5000, 1e39, np.float64(1e300)


def _add(const):
    def k(a):
        for i in pxos.parallel(len(a)):
            a[i] = a[i] + const
    return pxos.kernel(k)


@pytest.mark.parametrize("const,message", [
    (HUGE_INT, "integer literal of 16610 bits does not fit in 64 bits"),
    (HUGE_F, "the literal 1e+39 is too large for f32"),
    (HUGE_F64, "the literal 1e+300 is too large for f32"),
], ids=["10**5000", "1e39", "np.float64(1e300)"])
def test_python_closure_constants_out_of_range(const, message, backend):
    with pytest.raises(PxTypeError) as info:
        _add(const)(np.zeros(4, np.float32), device=backend)
    assert message in info.value.message and info.value.span is not None


def test_an_infinity_constant_runs_and_compiles_everywhere(backend):
    k = _add(np.inf)
    a = np.array([1, -2, 3], np.float32)
    k(a, device=backend)
    assert np.isposinf(a).all()
    kernel = check(KERNEL.format("a[i] + 1.0")).kernels[0]
    for render in (render_cuda, render_opencl):
        assert "inf.0" not in render(kernel).source


def test_infinity_compiles_with_nvrtc():
    compile_cubin = nvrtc()
    k = _add(-np.inf)
    kernel = k.ir(np.zeros(2, np.float32))
    src = render_cuda(kernel)
    assert "PXOS_INFINITY" in src.source
    path, _ = compile_cubin(src, "90")
    assert path.read_bytes()[:4] == b"\x7fELF"
    with pytest.raises(PxTypeError):
        _add(HUGE_F).ir(np.zeros(2, np.float32))


@pytest.mark.parametrize("fn", [len, functools.partial(lambda a, b: None, 1), np.sum],
                         ids=["len", "partial", "np.sum"])
def test_kernel_of_something_not_a_function(fn):
    with pytest.raises(PxTypeError) as info:
        pxos.kernel(fn)
    assert "pxos.kernel needs a Python function" in info.value.message
