"""``CONST name = expr``: named constants, evaluated once and put where they are used.

A constant's expression is a *literal expression*: literals, operators, the functions of
``ir/functions`` (each by its exact rule, ``fold``), casts, and constants defined above it.
It is evaluated once, exactly: integers as Python integers (no wrap-around; the result must
fit in 64 bits; ``/`` and ``%`` truncate toward zero as in C), floats in double precision.
Each use of the name then reads as if its value had been written there as a literal: an
integer constant has the type of such a literal (``i32`` when it fits, else ``i64``, else
``u64``), a float constant is an unsuffixed float literal (it takes the float type of the
other operand, ``f32`` by default), a bool constant is ``TRUE``/``FALSE``.

:func:`fold_constants` returns the program with every use of a constant replaced by its
literal, in kernels (thread code, ``GPU_THREADS``) and host statements alike, so no later
stage knows about constants.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace

from pxos.errors import PxNameError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.functions import OPERATIONS
from pxos.ir.reserved import check_name
from pxos.ir.typecheck import convert_value

_LIMIT = (-(2**63), 2**64 - 1)  # what a 64-bit integer literal can hold (i64 or u64)


def fold_constants(program: ir.Program) -> ir.Program:
    """The program with each ``CONST`` evaluated and its uses replaced by literals.

    Raises:
        PxNameError: a constant defined twice, named like a kernel, or used as a kernel
            parameter, variable or host name.
        PxTypeError: an expression that is not a literal expression, or whose value does
            not fit in 64 bits, or a division by zero.
    """
    values: dict[str, ir.Const] = {}
    where: dict[str, ir.ConstDef] = {}
    for s in program.statements:
        if not isinstance(s, ir.ConstDef):
            continue
        span = s.span.find(s.name)
        check_name(s.name, span, "constant name")
        if s.name in where:
            raise PxNameError(f"constant {s.name!r} is defined twice (first on line "
                              f"{where[s.name].span.line})", span)
        if program.kernel(s.name) is not None:
            raise PxNameError(f"{s.name!r} is the name of a kernel", span)
        values[s.name] = _literal(_evaluate(s.value, values), s.span)
        where[s.name] = s
    if not values:
        return program
    for k in program.kernels:
        for p in k.params:
            _not_constant(p.name, p.span, where)
    fold = _Substitution(values, where)
    kernels = tuple(replace(k, threads=None if k.threads is None else
                            tuple(fold.expr(e) for e in k.threads),
                            body=fold.body(k.body)) for k in program.kernels)
    return replace(program, kernels=kernels, statements=fold.body(program.statements))


def _not_constant(name: str, span, where: dict) -> None:
    if name in where:
        raise PxNameError(f"{name!r} is a constant (CONST on line {where[name].span.line}); "
                          "it cannot be assigned or declared again", span,
                          "choose another name")


class _Substitution:
    """Replaces constant names by their literals in expressions and statements."""

    def __init__(self, values: dict[str, ir.Const], where: dict[str, ir.ConstDef]):
        self.values = values
        self.where = where

    def expr(self, e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Var) and e.name in self.values:
            return replace(self.values[e.name], span=e.span)
        return self._fields(e)

    def body(self, body: ir.Body) -> ir.Body:
        return tuple(self.stmt(s) for s in body)

    def stmt(self, s: ir.Stmt) -> ir.Stmt:
        if isinstance(s, ir.ConstDef):
            return s
        for attr in ("name", "result", "var"):  # names a statement defines
            name = getattr(s, attr, None)
            if isinstance(name, str):
                _not_constant(name, s.span.find(name), self.where)
        return self._fields(s)

    def _fields(self, node):
        changes = {}
        for f in fields(node):
            value = getattr(node, f.name)
            new = self._value(value)
            if new is not value:
                changes[f.name] = new
        return replace(node, **changes) if changes else node

    def _value(self, value):
        if isinstance(value, ir.Expr):
            return self.expr(value)
        if isinstance(value, ir.Stmt):
            return self.stmt(value)
        if isinstance(value, tuple) and value and not isinstance(value[0], str):
            new = tuple(self._value(v) for v in value)
            return value if all(a is b for a, b in zip(new, value)) else new
        return value


def _literal(value: int | float | bool, span) -> ir.Const:
    if isinstance(value, bool):
        return ir.Const(span, value)
    if isinstance(value, int):
        if not _LIMIT[0] <= value <= _LIMIT[1]:
            raise PxTypeError(f"the constant's value {value} does not fit in 64 bits", span)
        return ir.Const(span, value)
    if not math.isfinite(value):
        raise PxTypeError(f"the constant's value is {value}; a constant must be finite",
                          span)
    return ir.Const(span, float(value), weak=True)


def _evaluate(e: ir.Expr, values: dict[str, ir.Const]):
    """The exact value of literal expression ``e`` (see the module docstring)."""
    if isinstance(e, ir.Const):
        return e.value
    if isinstance(e, ir.Var):
        if e.name in values:
            return values[e.name].value
        raise PxNameError(f"{e.name!r} is not a constant defined above; a CONST is a "
                          "literal expression of literals and earlier constants", e.span)
    if isinstance(e, ir.Unary):
        a = _evaluate(e.operand, values)
        if e.op == "not":
            return not a
        if e.op == "bnot":
            if isinstance(a, float):
                raise PxTypeError("~ needs an integer", e.span)
            return not a if isinstance(a, bool) else ~a
        return -a
    if isinstance(e, ir.Binary):
        return _binary(e, _evaluate(e.lhs, values), _evaluate(e.rhs, values))
    if isinstance(e, ir.Call):
        return _call(e, [_evaluate(a, values) for a in e.args])
    if isinstance(e, ir.Cast):
        return convert_value(_evaluate(e.operand, values), e.to)
    raise PxTypeError("a CONST is a literal expression: literals, operators, functions, "
                      "casts and earlier constants (no arrays, LEN or launch indices)", e.span)


def _binary(e: ir.Binary, a, b):
    op = e.op
    if op in ("and", "or"):
        return (bool(a) and bool(b)) if op == "and" else (bool(a) or bool(b))
    if op in ir.COMPARISONS:
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b, "eq": a == b,
                "ne": a != b}[op]
    if op in ("band", "bor", "bxor", "shl", "shr"):
        if isinstance(a, float) or isinstance(b, float):
            raise PxTypeError("a bitwise operation needs integers", e.span)
        if op in ("shl", "shr") and not 0 <= b < 64:
            raise PxTypeError(f"a shift by {b} in a constant; shifts are by 0 to 63", e.span)
        return {"band": a & b, "bor": a | b, "bxor": a ^ b, "shl": a << b,
                "shr": a >> b}[op]
    if op in ("div", "mod") and b == 0:
        raise PxTypeError("division by zero in a constant", e.span)
    if op == "div":
        if isinstance(a, float) or isinstance(b, float):
            return a / b
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q
    if op == "mod":
        if isinstance(a, float) or isinstance(b, float):
            return math.fmod(a, b)
        return a - b * _binary(replace(e, op="div"), a, b)
    return {"add": a + b, "sub": a - b, "mul": a * b}[op]


def _call(e: ir.Call, args: list):
    """A function of constant values, by its exact rule in the operation table."""
    fold = OPERATIONS[e.fn].fold
    if fold is None:
        raise PxTypeError(f"{e.fn} is not allowed in a constant", e.span)
    try:
        return fold(args)
    except (ValueError, OverflowError, ZeroDivisionError) as err:
        raise PxTypeError(f"{e.fn} of {args} in a constant: {err}", e.span) from None
