"""The Python front-end (``lang/py``): each construct becomes the IR `.px` would build, runs
on every backend present, and computes what CPython computes for the same function.

The reference is independent of pxos: the kernel function itself, run by CPython on object
arrays of Python numbers with ``pxos.parallel`` replaced by nested ``range``s, or NumPy.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from math import sqrt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pxos
import pxos as px
from pxos import f32, parallel
from pxos.ir.evaluate import eval_scalar
from pxos.host.launch import run_kernel
from pxos.ir import nodes as ir
from pxos.ir.check import check_kernel
from pxos.ir.check_host import check_program
from pxos.span import NOWHERE, Span
from pxos.ir.types import BOOL, F32, I32, Array, scalar_of_dtype
from pxos.lang.px.parser import parse_file, parse_program
from pxos.lang.py.frontend import annotated_types, kernel_ir
from tests.conftest import EXAMPLES

RNG = np.random.default_rng(11)
SCALE = 3          # a global constant
HALF = np.float64(0.1)  # a NumPy scalar global: an f64 constant


def build(fn, args, ndim=None, block=None) -> ir.Kernel:
    """The checked IR of ``fn`` for these arguments (types as the runtime takes them)."""
    names = fn.__code__.co_varnames[:len(args)]
    return check_kernel(kernel_ir(fn, {n: type_of(a) for n, a in zip(names, args)}, ndim,
                                  block))


def type_of(a):
    if isinstance(a, np.ndarray):
        return Array(scalar_of_dtype(a.dtype), a.ndim)
    if isinstance(a, bool):
        return BOOL
    return I32 if isinstance(a, int) else F32 if isinstance(a, float) else \
        scalar_of_dtype(a.dtype)


def run(fn, backend, *args, ndim=None, block=None, threads=None) -> ir.Kernel:
    """Compile ``fn`` and run it on ``backend``; arrays are updated in place."""
    k = build(fn, args, ndim, block)
    values = [a if isinstance(a, np.ndarray) else p.type.dtype.type(a)
              for a, p in zip(args, k.params)]
    if threads is None:
        env = {p.name: v for p, v in zip(k.params, values)}
        threads = [int(eval_scalar(e, env)) for e in k.threads]
    run_kernel(backend, k, values, threads)
    return k


def in_python(fn, *args, monkeypatch) -> list:
    """Run ``fn`` in CPython: arrays as object arrays of Python numbers, ``pxos.parallel``
    as nested ranges. Returns the arguments afterwards."""
    def sequential(*extents):
        return itertools.product(*map(range, extents)) if len(extents) > 1 \
            else range(extents[0])
    monkeypatch.setattr(pxos, "parallel", sequential)
    objects = [np.array(a.tolist(), dtype=object) if isinstance(a, np.ndarray) else a
               for a in args]
    fn(*objects)
    monkeypatch.undo()
    return objects


def assert_like_python(got: np.ndarray, want: np.ndarray, atol: float = 1e-6) -> None:
    """Integers wrap to ``got``'s width; floats agree to 1e-5 relative, ``atol`` absolute
    (f32 against Python's f64)."""
    if got.dtype.kind in "iu":
        bits, lo = got.dtype.itemsize * 8, int(np.iinfo(got.dtype).min)
        want = np.array([(int(v) - lo) % 2 ** bits + lo for v in want.flat]).reshape(got.shape)
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want.astype(np.float64), rtol=1e-5, atol=atol)


def strip(node):
    """``node`` with every span replaced by the same placeholder."""
    if isinstance(node, Span):
        return NOWHERE
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(node, **{f.name: strip(getattr(node, f.name))
                                            for f in dataclasses.fields(node)})
    return tuple(strip(x) for x in node) if isinstance(node, tuple) else node


# ---------------------------------------------------------------- the same IR as `.px`
def saxpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
          out: pxos.Array[pxos.f32, 1]):
    """Thread form, as examples/saxpy.px."""
    i = pxos.thread_id()
    r = a * x[i] + y[i]
    out[i] = r


def test_saxpy_is_the_px_saxpy():
    px_saxpy = check_program(parse_file(EXAMPLES / "saxpy.px")).kernels[0]
    assert strip(check_kernel(kernel_ir(saxpy, {}))) == strip(px_saxpy)


def test_loop_form_saxpy_is_px_with_gpu_threads():
    def saxpy(a: f32, x, y, out):  # nested: an indented source
        for i in parallel(len(x)):
            out[i] = a * x[i] + y[i]
    array = Array(F32, 1)
    python = check_kernel(kernel_ir(saxpy, {"x": array, "y": array, "out": array}))
    text = """GPU_KERNEL saxpy
GPU_PARAM a float
GPU_PARAM x float[]
GPU_PARAM y float[]
GPU_PARAM out float[]
GPU_THREADS LEN(x)
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a * x[i] + y[i] → out[i]
GPU_END
"""
    assert strip(python) == strip(check_program(parse_program(text)).kernels[0])
    assert python.span.line == saxpy.__code__.co_firstlineno and python.guarded


def test_annotations_win_and_strings_are_evaluated():
    # this file has `from __future__ import annotations`: every annotation is a string
    assert annotated_types(saxpy) == {"a": F32, "x": Array(F32, 1), "y": Array(F32, 1),
                                      "out": Array(F32, 1)}
    k = kernel_ir(saxpy, {"a": I32, "x": Array(I32, 1)})
    assert [str(p.type) for p in k.params] == ["f32", "f32[]", "f32[]", "f32[]"]


# ---------------------------------------------------------------- Python's arithmetic
def divisions(a, b, q, r, t):
    for i in pxos.parallel(len(a)):
        q[i] = a[i] // b[i]
        r[i] = a[i] % b[i]
        t[i] = a[i] / b[i]


def python_divmod(a, b):
    """Python's // and % (0 for a zero divisor, as pxos defines), wrapped to 32 bits."""
    pairs = list(zip(a.tolist(), b.tolist()))
    q = [x // y if y else 0 for x, y in pairs]
    r = [x % y if y else 0 for x, y in pairs]
    return [np.array(v, dtype=object) for v in (q, r)]


def check_int_division(backend, a, b):
    q, r = np.zeros_like(a), np.zeros_like(a)
    t = np.zeros(len(a), np.float32)
    run(divisions, backend, a, b, q, r, t)
    want_q, want_r = python_divmod(a, b)
    assert_like_python(q, want_q)
    assert_like_python(r, want_r)
    with np.errstate(all="ignore"):  # true division in f32: a / 0 is ±inf or nan
        np.testing.assert_array_equal(t, a.astype(np.float32) / b.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8])
def test_integer_division_is_pythons(backend, dtype):
    info = np.iinfo(dtype)
    a = RNG.integers(info.min, info.max, 2000, endpoint=True).astype(dtype)
    b = np.concatenate([RNG.integers(-9, 10, 1000), RNG.integers(info.min, info.max, 1000)])
    a[:4], b[:4] = info.min, (-1, 0, 1, info.min)  # MIN // -1 wraps; x // 0 is 0
    if dtype == np.int8:  # i8 operands compute in i32 (C's promotion): store in i32
        a, b = a.astype(np.int32), b.astype(np.int8).astype(np.int32)
    check_int_division(backend, a, b.astype(a.dtype))


@settings(max_examples=15, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(-2**31, 2**31 - 1),
                          st.integers(-2**31, 2**31 - 1) | st.integers(-3, 3)),
                min_size=1, max_size=40))
def test_integer_division_hypothesis(backend, pairs):
    a, b = (np.array(v, np.int32) for v in zip(*pairs))
    check_int_division(backend, a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_floor_division_and_modulo_are_pythons(backend, dtype):
    a = RNG.uniform(-100, 100, 2000).astype(dtype)
    b = (RNG.uniform(0.05, 9, 2000) * RNG.choice([-1, 1], 2000)).astype(dtype)
    a[:3], b[:3] = (1.0, -1.0, 6.0), (0.1, 0.1, -3.0)  # 1 // 0.1 is 9.0 in Python
    q, r, t = np.zeros_like(a), np.zeros_like(a), np.zeros_like(a)
    run(divisions, backend, a, b, q, r, t)
    np.testing.assert_array_equal(q, np.floor_divide(a, b))
    np.testing.assert_array_equal(r, np.mod(a, b))
    np.testing.assert_array_equal(t, a / b)
    assert q[0] == 1.0 // 0.1 and r[2] == 0.0


def unsigned_div(a, b, q, r):
    for i in pxos.parallel(len(a)):
        q[i] = a[i] // b[i]
        r[i] = a[i] % b[i]


def test_unsigned_division_needs_no_fix(backend):
    a = RNG.integers(0, 2**32, 500, dtype=np.uint64).astype(np.uint32)
    b = RNG.integers(1, 2**32, 500, dtype=np.uint64).astype(np.uint32)
    q, r = np.zeros_like(a), np.zeros_like(a)
    run(unsigned_div, backend, a, b, q, r)
    np.testing.assert_array_equal(q, a // b)
    np.testing.assert_array_equal(r, a % b)


def integer_ops(a, b, out):
    for i in pxos.parallel(len(a)):
        x = a[i]
        y = b[i]
        s = x ** 3 + y ** 0 - x ** 1 * 2
        s += (x << 3) ^ (y >> 1) | (x & 255)
        s -= -x + ~y + (not x) - (x < y < 100) + (x == y or y > 3)
        s += (x if y > 0 else -y) + abs(y) + min(x, y, 7) + max(x, 4)
        s += (x or 9) * 2 + (y and 5) + int(bool(x)) + SCALE + pow(y, 2)
        s ^= (1 if 0 < x <= 50 and not y == 3 else 0) * 1000
        out[i] = s


def test_integer_expressions_are_pythons(backend, monkeypatch):
    a = RNG.integers(-60, 60, 300).astype(np.int32)
    b = RNG.integers(-20, 20, 300).astype(np.int32)
    a[:2] = 0
    out = np.zeros_like(a)
    run(integer_ops, backend, a, b, out)
    assert_like_python(out, in_python(integer_ops, a, b, out, monkeypatch=monkeypatch)[2])


def float_ops(a, b, out, flags):
    for i in pxos.parallel(len(a)):
        x = a[i]
        y = b[i]
        v = x ** 2.0 + math.sqrt(abs(x)) + sqrt(y) - math.exp(-y) + math.log(y)
        v += math.sin(x) * math.cos(x) + math.tanh(y) + math.pi + math.fabs(x) / 7
        v += math.floor(x) + math.ceil(x) + round(x) + round(2.5) + math.trunc(x)
        v += math.fmod(x, y) + math.pow(y, 0.5) + pxos.fma(x, y, 1.0) + 3 / 4
        v += pxos.rsqrt(y) + max(x, y) - min(x, 0.0) + float(SCALE) + int(x)
        v += pxos.select(x > y, x, y) + np.float32(0.25) + np.floor(x) + np.fmin(x, y)
        v += np.where(x > 0, x, 0.0) + (x if x < y else -y)
        out[i] = v
        flags[i] = x > 0 and y > 1 or x < -3


def test_float_expressions_are_pythons(backend, monkeypatch):
    a = RNG.uniform(-5, 5, 300).astype(np.float32)
    b = RNG.uniform(0.5, 4, 300).astype(np.float32)
    a[:4] = (0.5, 1.5, -0.5, -2.5)  # round() halves to even
    out, flags = np.zeros_like(a), np.zeros(300, np.bool_)
    run(float_ops, backend, a, b, out, flags)
    monkeypatch.setattr(pxos, "fma", lambda x, y, z: x * y + z)
    monkeypatch.setattr(pxos, "rsqrt", lambda x: 1 / math.sqrt(x))
    monkeypatch.setattr(pxos, "select", lambda c, x, y: x if c else y)
    want = in_python(float_ops, a, b, out, flags, monkeypatch=monkeypatch)
    assert_like_python(out, want[2], atol=1e-4)  # f32 sums of some 30 terms up to 30
    np.testing.assert_array_equal(flags, want[3].astype(bool))


def casts(a, out_u8, out_f64, out_i):
    for i in pxos.parallel(len(a)):
        out_u8[i] = pxos.u8(a[i])
        d: pxos.f64 = 0.1
        out_f64[i] = d + HALF + px.f64(a[i]) + np.float64(0.2)
        out_i[i] = int(a[i]) + round(a[i]) + math.floor(a[i] * 2.0)


def test_casts_and_f64_constants(backend):
    a = np.array([0.0, 1.5, 2.5, -2.5, 254.9, -7.75], np.float32)
    u8, f64, i32 = np.zeros(6, np.uint8), np.zeros(6), np.zeros(6, np.int32)
    run(casts, backend, a, u8, f64, i32)
    ok = a >= 0  # a negative float to u8 is undefined (backends differ)
    np.testing.assert_array_equal(u8[ok], a[ok].astype(np.uint8))
    np.testing.assert_array_equal(f64, 0.1 + 0.1 + a.astype(np.float64) + 0.2)  # f64 exact
    np.testing.assert_array_equal(i32, [int(v) + round(v) + math.floor(v * 2) for v in a])
