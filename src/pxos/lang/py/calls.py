"""Function calls in a Python kernel: casts, builtins, ``math``, pxos and a few NumPy
functions, each to the IR `.px` would build, keeping Python's meaning:

=====================================  =========================================================
call                                   IR
=====================================  =========================================================
``pxos.f32(x)`` (any pxos type),       a cast (C's conversion: floats to integers truncate)
``numpy.float32(x)`` …
``float(x)``, ``int(x)``               cast to ``f32``, to ``i32`` (truncation toward zero)
``bool(x)``                            ``x != 0``
``abs``, ``min(a, b, …)``, ``max``     ``abs``, nested ``min``/``max`` (C's ``fmin``/``fmax``
                                       for floats: a NaN operand gives the other one)
``round(x)``                           Python's: halves to even, an ``i32``
``len(a)``                             ``LEN(a)`` of a 1-D array, ``ROWS(a)`` (its first
                                       extent, as NumPy's ``len``) of a 2-D or 3-D one
``pow(a, b)``                          ``a ** b``
``math.sqrt exp log sin cos tanh``     the same functions (integers compute in ``f32``)
``math.pow``, ``math.fabs``,           ``pow``, ``abs`` of a float, ``%`` of floats (C's
``math.fmod``                          ``fmod``, as Python's)
``math.floor``, ``math.ceil``,         ``floor``, ``ceil`` or a cast, giving an ``i32`` as
``math.trunc``                         Python gives an int
``math.pi e tau inf nan``              constants
``numpy.sqrt exp log sin cos tanh``,   the same functions; ``floor ceil fabs`` of integers
``floor ceil fabs abs fmin fmax``,     compute in ``f32``; ``where(c, a, b)`` is ``select``
``where``
``pxos.select rotl rotr fma rsqrt``    the instructions
``pxos.thread_id(axis=None)`` …        ``THREAD_ID`` …: ``local_id``, ``block_id``,
                                       ``block_size`` (axis 0 = x, 1 = y, 2 = z), ``num_threads()``
=====================================  =========================================================

Atomics, ``pxos.sync_threads``, ``pxos.shared`` and ``pxos.parallel`` are statements
(``lang/py/statements``); any other call is an error naming it.
"""

from __future__ import annotations

import ast
import builtins
import math
from dataclasses import dataclass
from functools import cache
from typing import Callable

import numpy as np

from pxos.errors import PxSyntaxError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.functions import python_spellings
from pxos.ir.types import BOOL, F32, I32, Array, Scalar, scalar_of_dtype
from pxos.lang.py import markers

ATOMICS = {getattr(markers, f"atomic_{op}"): op for op in ir.ATOMIC_OPS}
STATEMENT_ONLY = {
    **{fn: f"{fn.__name__}() stands alone or as the whole right side of an assignment "
           f"(old = pxos.{fn.__name__}(a, i, v))" for fn in ATOMICS},
    markers.sync_threads: "pxos.sync_threads() is a statement of its own",
    markers.shared: "pxos.shared(...) is assigned to a name at the kernel's top level: "
                    "tile = pxos.shared(256, pxos.f32)",
    markers.parallel: "pxos.parallel(...) is the iterable of the kernel's outermost for "
                      "loop: for i in pxos.parallel(n):",
    builtins.range: "range(...) is the iterable of a for loop: for k in range(n):",
    builtins.print: "print() is not available in a kernel: kernels run as many threads at "
                    "once and do no I/O (write results into an array)",
}


def cast_type(obj) -> Scalar | None:
    """The type a cast object converts to: a pxos type or a NumPy scalar type."""
    if isinstance(obj, markers.DType):
        return obj.scalar
    if isinstance(obj, type) and issubclass(obj, np.generic):
        try:
            return scalar_of_dtype(np.dtype(obj))
        except TypeError:
            return None
    return None


def build_call(b, node: ast.Call) -> ir.Expr:
    """The IR of a call expression.

    Args:
        b: the kernel's ``ExprBuilder``.
        node: the call.

    Raises:
        PxTypeError: a function a kernel cannot call, wrong arguments.
        PxSyntaxError: a statement-only pxos function inside an expression.
    """
    fn = b.callee(node.func)
    text, span = ast.unparse(node.func), b.span(node)
    try:
        known = _table().get(fn)
        statement_only = STATEMENT_ONLY.get(fn)
    except TypeError:  # not hashable: certainly not one of ours
        known = statement_only = None
    if statement_only:
        raise PxSyntaxError(statement_only, span)
    to = cast_type(fn)
    if to is not None:
        known = _cast(to)
    if known is None:
        raise PxTypeError(f"{text}() is not a function a kernel can call", span,
                          "kernels call pxos functions and types, and the math and builtin "
                          "functions of docs/language.md (\"Python kernels\")")
    return known.build(b, bind(b, node, text, known.lo, known.hi, known.keywords), span)


@dataclass(frozen=True)
class _Fn:
    """How to build one function's call: ``build(b, args, span)`` with ``args`` the
    argument nodes in parameter order (``None`` where an optional one is not given)."""

    build: Callable
    lo: int
    hi: int | None  # None: any number of positional arguments
    keywords: tuple[str, ...] = ()  # parameters that may be passed by keyword


def bind(b, node: ast.Call, text: str, lo: int, hi: int | None,
         keywords: tuple[str, ...] = ()) -> list:
    """The argument nodes of call ``node`` in parameter order, ``None`` for optional ones
    not given.

    Args:
        b: the kernel's ``ExprBuilder`` (for spans).
        text: the function as the source names it, for messages.
        lo, hi: how many arguments it takes (``hi`` None: any number from ``lo``).
        keywords: the parameter names that may be passed by keyword, in order.

    Raises:
        PxSyntaxError: starred arguments.
        PxTypeError: too few or too many arguments, an unknown keyword.
    """
    span = b.span(node)
    args = list(node.args)
    if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None
                                                           for k in node.keywords):
        raise PxSyntaxError("starred arguments (*args, **kwargs) are not available in a "
                            "kernel", span)
    most = len(args) if hi is None else hi
    if len(args) > most:
        raise PxTypeError(f"{text}() takes at most {most} argument{'s' * (most != 1)}, got "
                          f"{len(args)}", span)
    args += [None] * (most - len(args))
    for k in node.keywords:
        if k.arg not in keywords or args[keywords.index(k.arg)] is not None:
            raise PxTypeError(f"{text}() takes no keyword argument {k.arg!r} here", span)
        args[keywords.index(k.arg)] = k.value
    if any(a is None for a in args[:lo]):
        raise PxTypeError(f"{text}() needs {lo} argument{'s' * (lo != 1)}", span)
    return args


# ---------------------------------------------------------------------- builders
def _same(name: str, to_float: bool = False) -> _Fn:
    """The IR function ``name`` of all the arguments (converted to float first)."""
    def build(b, args, span):
        values = [b.expr(a) for a in args]
        return ir.Call(span, name, tuple(b.as_float(v) for v in values) if to_float
                       else tuple(values))
    n = ir.FUNCTIONS[name]
    return _Fn(build, n, n)


def _int_result(name: str | None) -> _Fn:
    """``math.floor``/``ceil``/``trunc``: an ``i32`` from a float, an integer unchanged."""
    def build(b, args, span):
        x = b.expr(args[0])
        if not b.type_of(x).is_float:
            return x
        return ir.Cast(span, ir.Call(span, name, (x,)) if name else x, I32)
    return _Fn(build, 1, 1)


def _fold(name: str) -> _Fn:
    """``min(a, b, c)`` as ``min(min(a, b), c)``."""
    def build(b, args, span):
        values = [b.expr(a) for a in args]
        if len(values) < 2:
            raise PxTypeError(f"{name}() in a kernel takes two or more numbers", span)
        out = values[0]
        for v in values[1:]:
            out = ir.Call(span, name, (out, v))
        return out
    return _Fn(build, 1, None)


def _round(b, args, span) -> ir.Expr:
    """Python's ``round(x)``: halves to even, an integer result."""
    if args[1] is not None:
        raise PxTypeError("round(x, ndigits) is not available in a kernel", span)
    x = b.expr(args[0])
    if not b.type_of(x).is_float:
        return x
    half = ir.Const(span, 0.5, weak=True)
    tie = ir.Binary(span, "eq", ir.Binary(span, "sub", x, ir.Call(span, "floor", (x,))), half)
    even = ir.Binary(span, "mul", ir.Const(span, 2.0, weak=True),
                     ir.Call(span, "round", (ir.Binary(span, "mul", x, half),)))
    return ir.Cast(span, ir.Call(span, "select", (tie, even, ir.Call(span, "round", (x,)))),
                   I32)


def _len(b, args, span) -> ir.Expr:
    node = args[0]
    if not (isinstance(node, ast.Name) and isinstance(b.scope.get(node.id), Array)):
        b.expr(node)  # a construct error (a list, say) points at the construct
        raise PxTypeError(f"len() in a kernel takes an array, got {ast.unparse(node)}", span)
    return ir.Dim(span, node.id, "len" if b.scope[node.id].ndim == 1 else "rows")


def _bool(b, args, span) -> ir.Expr:
    x = b.expr(args[0])
    return x if b.type_of(x) == BOOL else ir.Binary(span, "ne", x, ir.Const(span, 0))


def _cast(to: Scalar) -> _Fn:
    return _Fn(lambda b, args, span: ir.Cast(span, b.expr(args[0]), to), 1, 1)


def _index(name: str) -> _Fn:
    """``pxos.thread_id(axis=None)`` and the other launch indices."""
    def build(b, args, span):
        axis = args[0] if args else None
        if axis is None or (isinstance(axis, ast.Constant) and axis.value is None):
            return ir.Builtin(span, name)
        axis = b.constant_int(axis, "the axis")
        if axis not in (0, 1, 2):
            raise PxTypeError(f"pxos.{name}(axis): axis is 0 (x), 1 (y) or 2 (z), got {axis}",
                              span)
        if b.ndim < 2:
            raise PxTypeError(f"pxos.{name}({axis}) needs a 2-D launch", span,
                              "make the first array parameter 2-D, or call the kernel with "
                              "threads=(nx, ny)")
        if axis >= b.ndim:
            raise PxTypeError(f"pxos.{name}(2) needs a 3-D launch", span,
                              "call the kernel with threads=(nx, ny, nz), or write it as "
                              "for z, y, x in pxos.parallel(d, h, w)")
        return ir.Builtin(span, name, axis)
    if name == "num_threads":
        return _Fn(build, 0, 0)
    return _Fn(build, 0, 1, ("axis",))


def _power(b, args, span) -> ir.Expr:
    if args[2] is not None:
        raise PxTypeError("pow(a, b, mod) is not available in a kernel", span)
    return b.power(b.expr(args[0]), b.expr(args[1]), span)


def _fmod(b, args, span) -> ir.Expr:
    x, y = (b.as_float(b.expr(a)) for a in args)
    return ir.Binary(span, "mod", x, y)


def _where(b, args, span) -> ir.Expr:
    return ir.Call(span, "select", (b.cond(args[0]), b.expr(args[1]), b.expr(args[2])))


_MODULES = {"builtins": builtins, "math": math, "numpy": np, "pxos": markers}


def _builder(name: str, how: str) -> _Fn:
    """The builder of operation ``name`` for a Python spelling built ``how``
    (``ir.functions.PYTHON_BUILDERS``)."""
    if how in ("same", "float"):
        return _same(name, to_float=how == "float")
    if how == "fold":
        return _fold(name)
    if how == "int":
        return _int_result(name)
    if how == "cond" and name == "select":
        return _Fn(_where, 3, 3)
    raise ValueError(f"no Python builder {how!r} for {name!r}")  # a bug in ir/functions


@cache
def _table() -> dict[object, _Fn]:
    """Callable object → builder: the operation table's Python spellings
    (``ir/functions``), then the calls that are Python's own (``round``, ``len``, casts …)."""
    table = {}
    for spelling, (name, how) in python_spellings().items():
        module, attr = spelling.split(".")
        table[getattr(_MODULES[module], attr)] = _builder(name, how)
    table.update({
        builtins.round: _Fn(_round, 1, 2), builtins.len: _Fn(_len, 1, 1),
        builtins.pow: _Fn(_power, 2, 3), builtins.float: _cast(F32),
        builtins.int: _cast(I32), builtins.bool: _Fn(_bool, 1, 1),
        math.fmod: _Fn(_fmod, 2, 2), math.trunc: _int_result(None),
    })
    for name in ir.BUILTINS:
        table[getattr(markers, name)] = _index(name)
    return table
