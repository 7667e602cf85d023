"""Differential fuzzing of the code generators: random integer kernels, run on every backend
present, against this file's own evaluator of the same program (plain Python integers; it
shares no code with pxos).

Each seed makes one kernel of ``i32``/``u32`` arithmetic with the operations whose C meaning
pxos defines for itself (docs/language.md, "Arithmetic that C leaves undefined, defined
here"): wrapping ``+ - *``, division and remainder by zero and ``MIN_INT / -1``, shift
counts modulo 32, mixed signedness, ``min``/``max``/``select``/``rotl``/``rotr``; under
``IF``/``ELIF``/``ELSE``, ``FOR`` with per-thread bounds, ``WHILE`` with ``BREAK`` and
``CONTINUE``, ``RETURN``, array reads, and one kind of combining atomic on a small
histogram (so its result does not depend on the threads' order). One seed in three makes a
kernel of the shape the C backend runs in lockstep over SIMD lanes (``codegen/c_escape``).
Integers leave no room for rounding: every element must be equal.

``PXOS_FUZZ_COUNT`` sets the seeds (default 24), ``PXOS_FUZZ_START`` the first (0); a
failing seed's kernel is printed in the assertion, to be kept as a plain case.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from functools import partial

import numpy as np
import pytest

from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.random_barrier_kernels import BLOCK, barrier_program
from tests.random_float_kernels import FLOAT_EDGES, FloatGenerator
from tests.random_kernels import (BINS, EDGES, XS, Generator, PlaneGenerator, common, program,
                                  python_program, wrap)

COUNT = int(os.environ.get("PXOS_FUZZ_COUNT", "24"))
START = int(os.environ.get("PXOS_FUZZ_START", "0"))  # the first seed: new ones
SEEDS = range(START, START + COUNT)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Return(Exception):
    pass


# ------------------------------------------------------------------ the reference evaluator

def _binary(op: str, t: str, a: int, b: int, floor: bool = False) -> int:
    """``a op b`` in type ``t`` (both operands already converted to it, but for shifts);
    ``floor``: ``/`` and ``%`` as Python's ``//`` and ``%`` (the Python front end)."""
    if op in ("<<", ">>"):
        c = b & (int(t[1:]) - 1)  # the count modulo the width
        return wrap(a << c, t) if op == "<<" else wrap(a >> c, t)  # a's sign: arithmetic
    if op in ("/", "%"):
        if b == 0:
            return 0
        if floor:
            return wrap(a // b if op == "/" else a % b, t)
        q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # toward zero
        return wrap(q if op == "/" else a - q * b, t)
    return wrap({"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b,
                 "^": a ^ b}[op], t)


def evaluate(e: tuple, env: dict) -> int:
    """The value of expression ``e`` (``(kind, type, …)``) with the variables ``env``."""
    kind, t = e[0], e[1]
    if kind == "lit":
        return wrap(e[2], t)
    if kind == "var":
        return env[e[2]]
    if kind == "tile":
        return env["tile"][evaluate(e[2], env)]
    if kind == "load":
        return env["f" if t[0] == "f" else "x"][evaluate(e[2], env) & (XS - 1)]
    if kind == "cast":
        r = wrap(evaluate(e[2], env), t)
        if env["finite"] and t[0] == "f" and not np.isfinite(r):  # f32 of a large f64
            env["unsure"] = True
        return r
    if kind == "neg":  # t: the operand's type, promoted
        return wrap(-evaluate(e[2], env), t)
    if kind == "inv":
        return wrap(~evaluate(e[2], env), t)
    if kind == "call1":
        return {"sqrt": np.sqrt, "floor": np.floor, "ceil": np.ceil,
                "abs": np.abs}[e[2]](wrap(evaluate(e[3], env), t))
    if kind == "select":
        return wrap(evaluate(e[3] if truth(e[2], env) else e[4], env), t)
    a = evaluate(e[3], env)
    b = evaluate(e[4], env)
    if t[0] == "f":  # + - * /, fmin, fmax: IEEE 754, one rounding in t
        x, y = wrap(a, t), wrap(b, t)
        if kind in ("min", "max") and x == y == 0 and np.signbit(x) != np.signbit(y):
            env["unsure"] = True  # C's fmin(0.0, -0.0) may be either zero
        r = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
             "min": np.fmin, "max": np.fmax}[e[2]](x, y)
        if env["finite"] and not np.isfinite(r):  # webgpu may assume none (FloatGenerator)
            env["unsure"] = True
        return r
    if kind == "bin":
        return _binary(e[2], t, a if e[2] in ("<<", ">>") else wrap(a, t), wrap(b, t),
                       env["floor"])
    if kind in ("min", "max"):
        return (min if kind == "min" else max)(wrap(a, t), wrap(b, t))
    bits = int(t[1:])  # rotl, rotr: within a's own width, not promoted
    c, u = b & (bits - 1), a & ((1 << bits) - 1)
    r = (u << c | u >> (bits - c)) if kind == "rotl" else (u >> c | u << (bits - c))
    return wrap(r, t)


def truth(c: tuple, env: dict) -> bool:
    """A condition: ``(cmp, op, a, b)``, ``(and|or, c1, c2)`` or ``(not, c)``."""
    if c[0] == "and":
        return truth(c[1], env) and truth(c[2], env)
    if c[0] == "or":
        return truth(c[1], env) or truth(c[2], env)
    if c[0] == "not":
        return not truth(c[1], env)
    _, op, a, b = c
    t = common(a[1], b[1])
    x, y = wrap(evaluate(a, env), t), wrap(evaluate(b, env), t)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y,
            "!=": x != y}[op]


def execute(body: list, env: dict) -> None:
    """One thread's statements (the kernel's ``out``, ``hist`` and ``atomic`` in ``env``)."""
    for s in body:
        kind = s[0]
        if kind == "set":
            env[s[1]] = wrap(evaluate(s[2], env), env["types"][s[1]])
        elif kind == "store" and len(s) > 2:  # tile[lid]
            env["tile"][env["lid"]] = wrap(evaluate(s[1], env), "i32")
        elif kind == "store":
            env["out"][env["i"]] = wrap(evaluate(s[1], env), env["arrays"]["out"])
        elif kind == "fstore":
            env["fo"][env["i"]] = v = np.float32(evaluate(s[1], env))
            env["unsure"] = env.get("unsure") or (env["finite"] and not np.isfinite(v))
        elif kind == "atomic":
            t = env["arrays"]["hist"]
            b, v = evaluate(s[1], env) & (BINS - 1), wrap(evaluate(s[2], env), t)
            h = env["hist"]
            h[b] = {"ADD": lambda: wrap(h[b] + v, t), "MIN": lambda: min(h[b], v),
                    "MAX": lambda: max(h[b], v), "AND": lambda: h[b] & v,
                    "OR": lambda: h[b] | v, "XOR": lambda: h[b] ^ v}[env["atomic"]]()
        elif kind == "if":
            arm = next((b for c, b in s[1] if truth(c, env)), s[2])
            execute(arm, env)
        elif kind in ("break", "continue", "return"):
            raise {"break": _Break, "continue": _Continue, "return": _Return}[kind]
        elif kind == "for":
            _, name, lo, hi, body_ = s
            for k in range(lo, evaluate(hi, env)):
                env[name] = k
                if _trip(body_, env):
                    break
        else:  # while: the counter first, then the body
            _, counter, bound, body_ = s
            env[counter] = 0
            while env[counter] < evaluate(bound, env):
                env[counter] += 1
                if _trip(body_, env):
                    break


def _trip(body: list, env: dict) -> bool:
    """One trip of a loop's body; whether it broke out."""
    try:
        execute(body, env)
    except _Break:
        return True
    except _Continue:
        pass
    return False


def thread_env(g: Generator, tid: int, **arrays) -> dict:
    """Thread ``tid``'s variables (at zero, as locals start) and what :func:`execute`
    reads besides: the arrays (lists) and ``g``'s types and atomic."""
    env = {v: wrap(0, t) for v, t in g.types.items()}
    env.update(i=tid, atomic=g.atomic, types=g.types, arrays=g.arrays, floor=False,
               finite=getattr(g, "finite", False))
    env.update(arrays)
    return env


def same(out, hist, want_out: list, want_hist: list, seed: int, backend: str, src: str):
    """Assert that the kernel's ``out`` and ``hist`` hold the model's values."""
    assert out.tolist() == want_out, f"seed {seed} on {backend}: out differs\n{src}"
    assert hist.tolist() == want_hist, f"seed {seed} on {backend}: hist differs\n{src}"


def reference(body: list, g: Generator, out, x, hist, floor: bool = False, f=None,
              fo=None, plane: int = 0) -> set:
    """Every thread of the kernel, one after another, on ``out``, ``hist`` and ``fo``
    (lists); ``floor``: the Python front end's ``//`` and ``%``. Returns the threads whose
    result is not decided: ``min``/``max`` of two zeros of opposite signs, which C's
    ``fmin``/``fmax`` (and NumPy's, depending on the array's length) may answer with
    either, and that a division may then turn into either infinity. ``plane``: the
    columns of a 2-D launch (thread ``i`` is at ``tx, ty = i % plane, i // plane``)."""
    unsure = set()
    for tid in range(len(out)):
        env = thread_env(g, tid, x=x, out=out, hist=hist, floor=floor, f=f, fo=fo)
        if plane:
            env.update(tx=tid % plane, ty=tid // plane)
        try:
            with np.errstate(all="ignore"):
                execute(body, env)
        except _Return:
            pass
        if env.get("unsure"):
            unsure.add(tid)
    return unsure


def _values(rng, n: int, t: str = "i32") -> np.ndarray:
    """``n`` values of integer type ``t``: a third of them edge values (wrapped into
    ``t``), the others uniform over ``t``'s range."""
    dtype = np.dtype({"i": "int", "u": "uint"}[t[0]] + t[1:])
    info = np.iinfo(dtype)
    edges = np.array([wrap(v, t) for v in EDGES + (-2**31, 2**63 - 1, -2**63)], dtype)
    v = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    return np.where(rng.random(n) < 0.3, rng.choice(edges, n), v).astype(dtype)


def _arrays(rng, n: int, g: Generator) -> tuple:
    """``out``, ``x`` and ``hist`` of ``g``'s kernel, of their element types."""
    return tuple(_values(rng, size, g.arrays[name])
                 for name, size in (("out", n), ("x", XS), ("hist", BINS)))


@pytest.mark.parametrize("checked", [False, True], ids=["plain", "checked"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_integer_kernel(seed, backend, checked):
    """Each kernel also in checked mode (``--checked``: every access bounds-checked),
    where its indices, all in bounds, must change nothing."""
    src, body, g = program(seed)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    out, x, hist = _arrays(rng, n, g)
    want_out, want_hist = out.tolist(), hist.tolist()
    reference(body, g, want_out, x.tolist(), want_hist)
    launch(src, False, backend, [out, x, hist], Path(f"fuzz{seed}"), checked=checked)
    same(out, hist, want_out, want_hist, seed, backend, src)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_plane_kernel(seed, backend):
    """The integer kernels on a 2-D launch (``GPU_THREADS cols, rows``; x first)."""
    src, body, g = program(seed, PlaneGenerator)
    rng = np.random.default_rng(seed)
    cols, rows = (int(v) for v in rng.integers(1, 20, 2))
    out, x, hist = _arrays(rng, cols * rows, g)
    want_out, want_hist = out.tolist(), hist.tolist()
    reference(body, g, want_out, x.tolist(), want_hist, plane=cols)
    launch(src, False, backend, [out, x, hist, np.int32(cols), np.int32(rows)],
           Path(f"fuzz2d{seed}"), threads=(cols, rows))
    same(out, hist, want_out, want_hist, seed, backend, src)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_python_kernel(seed, backend, tmp_path):
    """The same kernels written as Python functions (``@pxos.kernel``, ``pxos.parallel``;
    ``//`` and ``%`` floor), through the Python front end."""
    src, body, g = python_program(seed)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    out, x, hist = _arrays(rng, n, g)
    want_out, want_hist = out.tolist(), hist.tolist()
    reference(body, g, want_out, x.tolist(), want_hist, floor=True)
    launch(src, True, backend, [out, x, hist], tmp_path / f"fuzz_py{seed}")
    same(out, hist, want_out, want_hist, seed, backend, src)


def launch(src: str, python: bool, backend: str, args: list, stem: Path,
           threads: tuple | None = None, checked: bool = False) -> None:
    """Run the kernel ``src`` on ``backend`` over ``args``, ``threads`` (default: one per
    element of the first array): as ``.px`` (``checked``: in checked mode), or
    (``python``) as the module ``stem``.py's function ``fuzz``."""
    if not python:
        kernel = check_program(parse_program(src, f"{stem.name}.px")).kernels[0]
        run_kernel(backend, kernel, args, threads or (len(args[0]),), checked)
        return
    path = stem.with_suffix(".py")
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"{stem.name}_{backend}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.fuzz(*args, device=backend)


def _floats(rng, n: int, finite: bool = False) -> np.ndarray:
    special = np.array([v for v in FLOAT_EDGES if abs(v) <= 65504] if finite else
                       FLOAT_EDGES + (np.inf, -np.inf, np.nan, 1e-40), np.float32)
    scale = 10.0 ** rng.integers(-3, 4 if finite else 7, n)
    v = (rng.standard_normal(n) * scale).astype(np.float32)
    return np.where(rng.random(n) < 0.3, rng.choice(special, n), v).astype(np.float32)


@pytest.mark.parametrize("python", [False, True], ids=["px", "python"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_float_kernel(seed, backend, python, tmp_path):
    """Kernels that also compute in ``f32`` and ``f64`` (``tests/random_float_kernels``):
    every operation rounds once, so every backend's floats equal NumPy's bit for bit
    (NaN equal to NaN, and ``-0.0`` to ``0.0``, which ``min``/``max`` may exchange)."""
    finite = backend == "webgpu"  # no infinities or NaNs there (FloatGenerator)
    make = python_program if python else program
    src, body, g = make(seed, partial(FloatGenerator, finite=finite))
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    out, x, hist = _arrays(rng, n, g)
    f, fo = _floats(rng, XS, finite), _floats(rng, n, finite)
    want_out, want_hist, want_fo = out.tolist(), hist.tolist(), list(fo)
    unsure = reference(body, g, want_out, x.tolist(), want_hist, floor=python, f=list(f),
                       fo=want_fo)
    launch(src, python, backend, [out, x, hist, f, fo], tmp_path / f"fuzzf{seed}")
    sure = np.array([t not in unsure for t in range(n)], bool)
    assert out[sure].tolist() == np.array(want_out, out.dtype)[sure].tolist(), \
        f"seed {seed} on {backend}: out differs\n{src}"
    assert unsure or hist.tolist() == want_hist, f"seed {seed} on {backend}: hist differs\n{src}"
    np.testing.assert_array_equal(fo[sure], np.array(want_fo, np.float32)[sure],
                                  err_msg=f"seed {seed} on {backend}: fo differs\n{src}")


def run_segments(segments: list, envs: list) -> None:
    """A block's threads (``envs``) through a barrier kernel's segments, turn by turn
    (``tests/random_barrier_kernels``)."""
    for seg in segments:
        if seg[0] == "stmts":
            for env in envs:
                with np.errstate(all="ignore"):
                    execute(seg[1], env)
        elif seg[0] == "loop":
            for trip in range(seg[2]):
                for env in envs:
                    env[seg[1]] = trip
                run_segments(seg[3], envs)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_barrier_kernel(seed, backend):
    """Blocks of 64 threads taking turns at a shared array between ``SYNC_THREADS``."""
    src, segments, g = barrier_program(seed)
    rng = np.random.default_rng(seed)
    n = BLOCK * int(rng.integers(1, 4))
    out, x, hist = _arrays(rng, n, g)
    want_out, want_hist, xs = out.tolist(), hist.tolist(), x.tolist()
    for block in range(0, n, BLOCK):
        tile = [0] * BLOCK
        envs = [thread_env(g, block + lid, lid=lid, x=xs, out=want_out, hist=want_hist,
                           tile=tile) for lid in range(BLOCK)]
        run_segments(segments, envs)
    launch(src, False, backend, [out, x, hist], Path(f"fuzzb{seed}"))
    same(out, hist, want_out, want_hist, seed, backend, src)
