"""The operation table (``ir/functions``): every stage reads its spellings from it, and
every operation gives NumPy's (or C's documented) result on every backend present."""

from __future__ import annotations

import builtins
import math
import re

import numpy as np
import pytest

from pxos.errors import PxNameError, PxTypeError
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.ir.constants import fold_constants
from pxos.ir.functions import ARITY, ATOMICS, OPERATIONS, lowering, python_spellings
from pxos.ir.reserved import check_name
from pxos.span import Span
from pxos.lang.px.parser import parse_program
from pxos.lang.py import calls, markers
from tests.conftest import ROOT

OPERATORS = {"ADD", "SUB", "MUL", "DIV", "MOD", "AND", "OR", "XOR", "SHL", "SHR", "NEG", "NOT"}


def test_grammar_instruction_words_are_the_table_and_the_operators():
    grammar = (ROOT / "src/pxos/lang/px/grammar.lark").read_text()
    rule = re.search(r"^!opcode:(.*?)^!", grammar, re.S | re.M).group(1)
    words = set(re.findall(r'"([A-Z_]+)"', rule))
    assert words == OPERATORS | {f.px for f in OPERATIONS.values() if f.callable}


def test_grammar_atomic_words_are_the_table():
    grammar = (ROOT / "src/pxos/lang/px/grammar.lark").read_text()
    rule = re.search(r"^!atomic_op:(.*?)^!", grammar, re.S | re.M).group(1)
    assert set(re.findall(r'"([A-Z_]+)"', rule)) == {a.px for a in ATOMICS.values()}
    assert all(getattr(markers, a.python.split(".")[1]) in calls.ATOMICS
               for a in ATOMICS.values())


def test_every_python_spelling_builds_its_operation():
    modules = {"builtins": builtins, "math": math, "numpy": np, "pxos": markers}
    table = calls._table()
    for spelling, (name, _how) in python_spellings().items():
        module, attr = spelling.split(".")
        assert getattr(modules[module], attr) in table, spelling
        assert OPERATIONS[name].callable


@pytest.mark.parametrize("word", ["SQRT", "RSQRT", "SELECT", "ROTL", "ATOMIC_EXCH", "sqrtf",
                                  "fminf", "fmodf", "roundf"])
def test_operation_words_and_c_names_are_reserved(word):
    with pytest.raises(PxNameError):
        check_name(word, Span("t.px", 1, 1))


def test_opencl_overloads_the_math_names_and_others_fall_back_to_the_default():
    assert lowering("sqrt", "opencl").float == "sqrt"
    assert lowering("sqrt", "c").float == "sqrtf|sqrt"
    assert lowering("sqrt", "cuda") is lowering("sqrt", "default")
    assert lowering("min", "opencl").int == "@min"  # integer helpers are the dialect's


def kernel(expr: str, elem: str = "float", out: str = "float"):
    src = f"""GPU_KERNEL k
    GPU_PARAM a {elem}[]
    GPU_PARAM b {elem}[]
    GPU_PARAM c {elem}[]
    GPU_PARAM out {out}[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE {expr} → out[i]
GPU_END
"""
    return check_program(parse_program(src, "t.px")).kernels[0]


RNG = np.random.default_rng(5)
A = RNG.uniform(0.1, 4.0, 256).astype(np.float32)
B = RNG.uniform(-3.0, 3.0, 256).astype(np.float32)
C = RNG.uniform(-1.0, 1.0, 256).astype(np.float32)
HALVES = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 3.7, -3.7] * 37, np.float32)[:256]
FLOAT_CASES = {  # expression -> independent reference (NumPy and C's definitions)
    "abs(b[i])": lambda: np.abs(B),
    "sqrt(a[i])": lambda: np.sqrt(A),
    "rsqrt(a[i])": lambda: (1 / np.sqrt(A.astype(np.float64))).astype(np.float32),
    "exp(b[i])": lambda: np.exp(B),
    "log(a[i])": lambda: np.log(A),
    "sin(b[i])": lambda: np.sin(B),
    "cos(b[i])": lambda: np.cos(B),
    "tanh(b[i])": lambda: np.tanh(B),
    "floor(b[i])": lambda: np.floor(B),
    "ceil(b[i])": lambda: np.ceil(B),
    "round(c[i] * 5.0)": lambda: np.array([math.copysign(math.floor(abs(x) + 0.5), x)
                                          for x in (C * np.float32(5)).astype(np.float64)],
                                         np.float32),
    "min(a[i], b[i])": lambda: np.minimum(A, B),
    "max(a[i], b[i])": lambda: np.maximum(A, B),
    "pow(a[i], c[i])": lambda: np.power(A, C),
    "fma(a[i], b[i], c[i])": lambda: (A.astype(np.float64) * B + C).astype(np.float32),
    "select(b[i] > 0.0, a[i], c[i])": lambda: np.where(B > 0, A, C),
}


def test_the_float_cases_cover_every_float_operation():
    used = {re.match(r"[a-z]+", e).group(0) for e in FLOAT_CASES}
    assert used == {n for n, f in OPERATIONS.items() if f.callable} - {"rotl", "rotr"}


# WGSL bounds sin and cos only absolutely (2^-11 on [-pi, pi]: the WGSL specification's
# "Floating Point Accuracy" table), and NVIDIA's Vulkan driver uses its hardware sine (PTX's
# sin.approx.f32: at most 2^-20.9 absolute), so webgpu is held to 2e-6 there
WEBGPU_ATOL = {"sin(b[i])": 2e-6, "cos(b[i])": 2e-6}


@pytest.mark.parametrize("expr", sorted(FLOAT_CASES))
def test_float_operation_matches_numpy(backend, expr):
    out = np.zeros(256, np.float32)
    run_kernel(backend, kernel(expr), [A, B, C, out], (256,))
    atol = WEBGPU_ATOL.get(expr, 1e-7) if backend == "webgpu" else 1e-7
    np.testing.assert_allclose(out, FLOAT_CASES[expr](), rtol=2e-6, atol=atol)


def test_round_is_half_away_from_zero(backend):
    out = np.zeros(256, np.float32)
    run_kernel(backend, kernel("round(a[i])"), [HALVES, B, C, out], (256,))
    want = [math.copysign(math.floor(abs(float(x)) + 0.5), float(x)) for x in HALVES]
    np.testing.assert_array_equal(out, np.array(want, np.float32))


I = np.array([0, 1, -1, 7, -8, 2**31 - 1, -2**31, 123456789] * 32, np.int32)
J = np.array([3, -3, 31, 33, 0, 1, -1, 5] * 32, np.int32)
INT_CASES = {
    "abs(a[i])": lambda: np.abs(I),  # abs(MIN) wraps to MIN, as NumPy's
    "min(a[i], b[i])": lambda: np.minimum(I, J),
    "max(a[i], b[i])": lambda: np.maximum(I, J),
    "floor(a[i])": lambda: I,
    "fma(a[i], b[i], c[i])": lambda: (I.astype(np.int64) * J + I).astype(np.int32),
    "rotl(a[i], b[i])": lambda: _rot(I, J, True),
    "rotr(a[i], b[i])": lambda: _rot(I, J, False),
    "a[i] / b[i]": lambda: _cdiv(I, J)[0],
    "a[i] % b[i]": lambda: _cdiv(I, J)[1],
}


def _rot(x, n, left):
    out = []
    for v, k in zip(x.view(np.uint32).tolist(), (n & 31).tolist()):
        r = ((v << k) | (v >> (32 - k))) if left else ((v >> k) | (v << (32 - k)))
        out.append(r & 0xFFFFFFFF)
    return np.array(out, np.uint32).view(np.int32)


def _cdiv(x, y):
    """docs/language.md: truncating division; by zero gives 0; MIN / -1 gives MIN."""
    q, r = [], []
    for a, b in zip(x.tolist(), y.tolist()):
        if b == 0:
            q.append(0), r.append(0)
            continue
        t = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
        q.append((t + 2**31) % 2**32 - 2**31)
        r.append(0 if b == -1 else a - t * b)
    return np.array(q, np.int32), np.array(r, np.int32)


@pytest.mark.parametrize("expr", sorted(INT_CASES))
def test_integer_operation_matches_the_definition(backend, expr):
    out = np.zeros(256, np.int32)
    run_kernel(backend, kernel(expr, "int", "int"), [I, J, I, out], (256,))
    np.testing.assert_array_equal(out, INT_CASES[expr]())


def test_arity_is_the_table_and_excludes_operators():
    assert ARITY["fma"] == 3 and ARITY["select"] == 3 and "div" not in ARITY


CONSTANTS = {  # CONST expression -> its exact value (Python's math, C's rules)
    "sqrt(2.0)": math.sqrt(2.0), "rsqrt(4.0)": 0.5, "exp(1.0)": math.e,
    "log(10.0)": math.log(10.0), "sin(1.0)": math.sin(1.0), "cos(1.0)": math.cos(1.0),
    "tanh(0.5)": math.tanh(0.5), "floor(-2.5)": -3.0, "ceil(2.1)": 3.0,
    "round(-2.5)": -3.0, "round(2.5)": 3.0, "abs(-7)": 7, "min(3, -4)": -4,
    "max(3, -4)": 3, "pow(2.0, 10.0)": 1024.0, "fma(3, 4, 5)": 17,
    "select(TRUE, 1, 2)": 1,
}


@pytest.mark.parametrize("expr", sorted(CONSTANTS))
def test_constant_expressions_use_each_functions_exact_rule(expr):
    program = fold_constants(parse_program(f"CONST c = {expr}\nPRINT c\n", "t.px"))
    value = program.statements[-1].items[0].value
    assert value == CONSTANTS[expr] and type(value) is type(CONSTANTS[expr])


def test_a_rotation_is_refused_in_a_constant():
    with pytest.raises(PxTypeError, match="rotl is not allowed in a constant"):
        fold_constants(parse_program("CONST c = rotl(1, 2)\nPRINT c\n", "t.px"))
