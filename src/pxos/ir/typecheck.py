"""Typing of expressions, shared by kernels and host programs.

:func:`type_expr` returns the expression with every node's ``type`` set and with an explicit
:class:`~pxos.ir.nodes.Cast` wherever an operand converts (C's usual arithmetic
conversions, ``pxos.ir.types``). After it, every operation computes in one type: a backend
never needs the conversion rules, and the NumPy interpreter, whose own promotion rules
differ from C's, gives the same answer as the C code.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

import numpy as np

from pxos.errors import PxNameError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.functions import OPERATIONS
from pxos.ir.types import BOOL, F32, I32, I64, U64, Array, Scalar, common_type, fits, promote

# lookup(name) -> the type of a name in scope, or None when undefined
Lookup = Callable[[str], Scalar | Array | None]


def const_type(value: int | float | bool) -> Scalar:
    """The type of an integer or bool literal, as C gives it (``i32``, else ``i64``, else
    ``u64``); float literals are ``f32`` until the float-literal rule retypes them."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, float):
        return F32
    for t in (I32, I64, U64):
        if fits(value, t):
            return t
    shown = str(value) if value.bit_length() <= 256 else f"of {value.bit_length()} bits"
    raise PxTypeError(f"integer literal {shown} does not fit in 64 bits", None)


def convert(expr: ir.Expr, to: Scalar) -> ir.Expr:
    """``expr`` converted to ``to``: unchanged if it already has that type, a literal
    re-typed (its value converted as C would), otherwise wrapped in a Cast.

    Raises:
        PxTypeError: a finite literal that would become infinite in ``to``.
    """
    if isinstance(expr, ir.Const) and to.is_float:
        check_float_fits(expr, to)
    if expr.type == to:
        return expr
    if isinstance(expr, ir.Const):
        return ir.Const(expr.span, convert_value(expr.value, to), type=to)
    return ir.Cast(expr.span, expr, to, type=to)


def check_float_fits(const: ir.Const, to: Scalar) -> None:
    """Refuse a finite literal that float type ``to`` cannot hold (``1e39`` as ``f32``):
    C compilers reject such a literal or make it infinity, so it is refused in every
    backend alike. Infinities and NaN themselves (``np.inf`` in a Python kernel) are fine.

    Raises:
        PxTypeError: at the literal's span.
    """
    value = const.value
    if isinstance(value, bool) or not math.isfinite(value):
        return
    largest = float(np.finfo(to.dtype).max)
    with np.errstate(over="ignore"):
        overflows = abs(value) > largest and math.isinf(convert_value(value, to))
    if overflows:
        raise PxTypeError(f"the literal {value:.6g} is too large for {to} (largest "
                          f"{largest:.6g}); it would become infinity", const.span,
                          "compute in f64 (f64(…) or an f64 operand), or use a smaller value")


def check_float_literals(exprs) -> None:
    """:func:`check_float_fits` for every typed float literal in ``exprs`` (a typed
    kernel's expressions, nested ones included)."""
    for expr in exprs:
        for e in ir.subexprs(expr):
            if isinstance(e, ir.Const) and e.type is not None and e.type.is_float:
                check_float_fits(e, e.type)


def convert_value(value, to: Scalar):
    """A Python literal converted to type ``to`` (integers wrap, floats round to ``to``)."""
    if to == BOOL:
        return bool(value)
    if to.is_float:
        return float(np.array(value, dtype=np.float64).astype(to.dtype))
    if isinstance(value, float):
        return int(value)  # C truncates toward zero
    return int(np.array(int(value) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64).astype(to.dtype))


class ExprTyper:
    """Types expressions against a scope.

    Args:
        lookup: gives the type of a name in scope (scalar variable or array), None if none.
        builtins: whether launch indices (THREAD_ID …) may appear (thread code only).
        ndim: the launch's dimensionality, for index builtins with an axis.
    """

    def __init__(self, lookup: Lookup, builtins: bool = True, ndim: int = 1):
        self.lookup = lookup
        self.builtins = builtins
        self.ndim = ndim

    def scalar(self, expr: ir.Expr) -> ir.Expr:
        """Type ``expr``; it must be a scalar (an array name alone is an error)."""
        method = getattr(self, "_" + type(expr).__name__.lower(), None)
        if method is None:
            raise PxTypeError(f"{type(expr).__name__} is not allowed here", expr.span)
        return method(expr)

    # -- leaves
    def _const(self, e: ir.Const) -> ir.Const:
        try:
            return replace(e, type=const_type(e.value))
        except PxTypeError as err:
            raise PxTypeError(err.message, e.span) from None

    def _str(self, e: ir.Str) -> ir.Expr:
        raise PxTypeError("a string is only allowed in PRINT and as a path", e.span)

    def _var(self, e: ir.Var) -> ir.Var:
        t = self.lookup(e.name)
        if t is None:
            raise PxNameError(f"undefined name {e.name!r}", e.span,
                              "assign it first (SET, LOAD, an instruction or an index)")
        if isinstance(t, Array):
            raise PxTypeError(f"{e.name!r} is an array ({t}); index it, e.g. {e.name}[i]",
                              e.span)
        return replace(e, type=t)

    def array(self, name: str, span) -> Array:
        t = self.lookup(name)
        if t is None:
            raise PxNameError(f"undefined array {name!r}", span)
        if not isinstance(t, Array):
            raise PxTypeError(f"{name!r} is a scalar ({t}), not an array", span)
        return t

    def index(self, array: str, index: tuple[ir.Expr, ...], span) -> tuple[Array, tuple]:
        """Type the indices of ``array[index]``; they must match its rank and be integers."""
        t = self.array(array, span)
        if len(index) != t.ndim:
            raise PxTypeError(f"{array!r} is {t.ndim}-D ({t}) but is indexed with "
                              f"{len(index)} index{'es' * (len(index) != 1)}", span)
        typed = []
        for i in index:
            i = self.scalar(i)
            if not i.type.is_int:
                raise PxTypeError(f"an index must be an integer, got {i.type}", i.span,
                                  "convert it with i32(x) or CAST")
            typed.append(i)
        return t, tuple(typed)

    def _load(self, e: ir.Load) -> ir.Load:
        t, index = self.index(e.array, e.index, e.span)
        return replace(e, index=index, type=t.elem)

    def _dim(self, e: ir.Dim) -> ir.Dim:
        t = self.array(e.array, e.span)
        if e.axis_span is not None and not 0 <= e.axis < t.ndim:
            raise PxTypeError(f"DIM({e.array}, {e.axis}): {e.array!r} is {t}, so the axis is "
                              + " or ".join(map(str, range(t.ndim))), e.axis_span)
        if e.which == "cols" and t.ndim < 2:
            raise PxTypeError(f"COLS needs a 2-D or 3-D array; {e.array!r} is {t}", e.span)
        return replace(e, type=I32)

    def _builtin(self, e: ir.Builtin) -> ir.Builtin:
        if not self.builtins:
            raise PxTypeError(f"{e.name.upper()} is only available in thread code", e.span)
        if e.axis is not None and self.ndim < 2:
            raise PxTypeError(
                f"{e.name.upper()} → x, y needs a 2-D launch", e.span,
                "give GPU_THREADS nx, ny, or make the first array parameter 2-D")
        if e.axis is not None and e.axis >= self.ndim:
            raise PxTypeError(
                f"{e.name.upper()} → x, y, z needs a 3-D launch; this one is {self.ndim}-D",
                e.span, "give GPU_THREADS nx, ny, nz (the default launch of a 3-D array is 2-D)")
        return replace(e, type=I32)

    # -- operations
    def _unary(self, e: ir.Unary) -> ir.Expr:
        a = self.scalar(e.operand)
        if e.op == "not":
            return replace(e, operand=convert(a, BOOL), type=BOOL)
        if e.op == "bnot":
            if a.type == BOOL:
                return replace(e, op="not", operand=a, type=BOOL)
            if not a.type.is_int:
                raise PxTypeError(f"~ needs an integer, got {a.type}", e.span)
        t = promote(a.type)
        return replace(e, operand=convert(a, t), type=t)

    def unify(self, *args: ir.Expr):
        """Convert typed operands to their common type; returns (*converted, type).

        An unsuffixed float literal takes the float type of the other operands, ``f32``
        when they are integers (spec, "Types")."""
        strong = [x.type for x in args if not _weak(x)]
        t = promote(strong[0]) if strong else F32
        for s in strong[1:]:
            t = common_type(t, s)
        if len(strong) < len(args) and not t.is_float:
            t = F32
        return tuple(convert(x, t) for x in args) + (t,)

    def _binary(self, e: ir.Binary) -> ir.Expr:
        a, b = self.scalar(e.lhs), self.scalar(e.rhs)
        if e.op in ("and", "or"):
            return replace(e, lhs=convert(a, BOOL), rhs=convert(b, BOOL), type=BOOL)
        if e.op in ("shl", "shr", "band", "bor", "bxor"):
            for x in (a, b):
                if x.type.is_float:
                    raise PxTypeError(f"a bitwise operation needs integers, got {x.type}",
                                      x.span)
            if e.op in ("band", "bor", "bxor") and a.type == b.type == BOOL:
                return replace(e, lhs=a, rhs=b, type=BOOL)
        if e.op in ("shl", "shr"):
            t = promote(a.type)  # C: the type of the promoted left operand
            return replace(e, lhs=convert(a, t), rhs=convert(b, t), type=t)
        a, b, t = self.unify(a, b)
        if e.op in ir.COMPARISONS:
            return replace(e, lhs=a, rhs=b, type=BOOL)
        return replace(e, lhs=a, rhs=b, type=t)

    def _call(self, e: ir.Call) -> ir.Expr:
        """Type a call by its operation's typing rule (``ir/functions``)."""
        fn = OPERATIONS[e.fn]
        if len(e.args) != fn.arity:
            raise PxTypeError(f"{e.fn} takes {fn.arity} operand{'s' * (fn.arity > 1)}, "
                              f"got {len(e.args)}", e.span)
        args = [self.scalar(a) for a in e.args]
        if fn.typing == "select":
            *ab, t = self.unify(args[1], args[2])
            return replace(e, args=(convert(args[0], BOOL), *ab), type=t)
        if fn.typing == "rotate":
            x, n = args
            if not x.type.is_int or not (n.type.is_int or n.type == BOOL):
                raise PxTypeError(f"{e.fn.upper()} needs integers, got {x.type} and {n.type}",
                                  e.span)
            return replace(e, args=(x, convert(n, x.type)), type=x.type)
        *typed, t = self.unify(*args)
        if fn.typing == "float" and not t.is_float:
            t = F32
            typed = [convert(x, t) for x in typed]
        if t == BOOL:
            raise PxTypeError(f"{e.fn} needs numbers, got bool", e.span)
        return replace(e, args=tuple(typed), type=t)

    def _cast(self, e: ir.Cast) -> ir.Expr:
        a = self.scalar(e.operand)
        if _weak(a) and e.to.is_float and e.to.bits >= 32:
            check_float_fits(a, e.to)  # f64(0.1) is 0.1 in double, f32(0.1) in float (and
            return ir.Const(e.span, convert_value(a.value, e.to), type=e.to)  # no longer weak
        return replace(e, operand=a, type=e.to)


def _weak(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and e.weak
