"""Python's operators in a kernel, as IR expressions that keep Python's meaning.

Where Python and C (and so the IR) disagree, the IR built here computes Python's answer:

====================  ======================================================================
Python                IR built
====================  ======================================================================
``a / b``             true division: integer operands are converted to ``f32`` first (the
                      result is ``f64`` only when an operand is ``f64``)
``a // b``, ``a % b`` floor division and a remainder with the divisor's sign, built from the
                      IR's truncating ``/`` and ``%`` (C's ``fmod`` for floats) and a
                      ``select``; integer division by zero gives 0, float ``//`` by zero NaN
``a ** b``            ``pow`` for floats; integers only with a constant exponent 0 to 8
                      (multiplications), anything else is a type error
``a < b < c``         ``a < b and b < c``
``a or b``            ``a`` if ``a`` is true, else ``b`` (``select``; plain ``OR`` for bools
                      and in conditions); ``and`` likewise
``x if c else y``     ``select(c, x, y)`` (only the chosen side is evaluated)
``-True``, ``~True``  ``-1``, ``-2`` (bools are integers)
====================  ======================================================================

:class:`PythonOperators` is a part of ``lang/py/expressions.ExprBuilder`` (which supplies
``expr``, ``cond``, ``span``, ``type_of`` and ``common``).
"""

from __future__ import annotations

import ast

from pxos.errors import PxSyntaxError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.types import BOOL, F32, I32

_PLAIN = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.BitAnd: "band",
          ast.BitOr: "bor", ast.BitXor: "bxor", ast.LShift: "shl", ast.RShift: "shr"}
_COMPARE = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq",
            ast.NotEq: "ne"}
_OTHER_COMPARE = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
MAX_INT_POWER = 8  # x ** n of integers expands to n - 1 multiplications


class PythonOperators:
    """The operator methods of the expression builder (``_binop``, ``_unaryop``,
    ``_boolop``, ``_compare``, ``_ifexp``; ``arith`` and ``power`` for augmented
    assignments too)."""

    def _binop(self, node: ast.BinOp) -> ir.Expr:
        return self.arith(node.op, self.expr(node.left), self.expr(node.right),
                          self.span(node))

    def arith(self, op: ast.operator, a: ir.Expr, b: ir.Expr, span) -> ir.Expr:
        """``a op b`` with Python's meaning (also for augmented assignments)."""
        kind = type(op)
        if kind in _PLAIN:
            return ir.Binary(span, _PLAIN[kind], a, b)
        if kind is ast.Div:
            if not self.common(a, b).is_float:
                a, b = ir.Cast(a.span, a, F32), ir.Cast(b.span, b, F32)
            return ir.Binary(span, "div", a, b)
        if kind in (ast.FloorDiv, ast.Mod):
            return self._floor_divmod(a, b, span, kind is ast.Mod)
        if kind is ast.Pow:
            return self.power(a, b, span)
        raise PxSyntaxError("the matrix product '@' is not available in a kernel", span)

    def _floor_divmod(self, a: ir.Expr, b: ir.Expr, span, want_mod: bool) -> ir.Expr:
        """Python's ``a // b`` or ``a % b`` from C's truncating ``/`` and ``%``: where the
        remainder is non-zero and its sign differs from the divisor's, the quotient is one
        less and the remainder ``r + b``. Float ``//`` is CPython's: ``(a - r) / b``, one
        less where the remainder was fixed, rounded to the integer it is (up to rounding)."""
        t = self.common(a, b)
        if t.kind == "u":
            return ir.Binary(span, "mod" if want_mod else "div", a, b)

        def op(name, x, y):
            return ir.Binary(span, name, x, y)
        zero = ir.Const(span, 0)
        r = op("mod", a, b)
        fix = op("band", op("ne", r, zero), op("bxor", op("lt", r, zero), op("lt", b, zero)))
        if want_mod:
            return ir.Call(span, "select", (fix, op("add", r, b), r))
        if t.is_float:
            exact = op("sub", op("div", op("sub", a, r), b), ir.Cast(span, fix, t))
            return ir.Call(span, "round", (exact,))
        q = op("div", a, b)
        return ir.Call(span, "select", (fix, op("sub", q, ir.Const(span, 1)), q))

    def power(self, a: ir.Expr, b: ir.Expr, span) -> ir.Expr:
        """``a ** b``: ``pow`` for floats; for integers, multiplications by a constant
        exponent 0 to 8."""
        t = self.common(a, b)
        if t.is_float:
            return ir.Call(span, "pow", (a, b))
        n = const_int(b)
        if n is None or not 0 <= n <= MAX_INT_POWER:
            raise PxTypeError(f"integer ** needs a constant exponent from 0 to "
                              f"{MAX_INT_POWER}", span,
                              "for other powers compute in floats: float(x) ** y")
        if n == 0:
            return ir.Cast(span, ir.Const(span, 1), t)
        out = a if self.type_of(a) == t else ir.Cast(a.span, a, t)
        for _ in range(n - 1):
            out = ir.Binary(span, "mul", out, a)
        return out

    def _unaryop(self, node: ast.UnaryOp) -> ir.Expr:
        span = self.span(node)
        if isinstance(node.op, ast.Not):
            return ir.Unary(span, "not", self.cond(node.operand))
        a = self.expr(node.operand)
        if isinstance(node.op, ast.USub):
            if isinstance(a, ir.Const) and not isinstance(a.value, bool):
                return ir.Const(span, -a.value, weak=a.weak)
            return ir.Unary(span, "neg", a)
        if self.type_of(a) == BOOL:  # +True is 1 and ~True is -2 in Python
            a = ir.Cast(a.span, a, I32)
        return a if isinstance(node.op, ast.UAdd) else ir.Unary(span, "bnot", a)

    def _boolop(self, node: ast.BoolOp) -> ir.Expr:
        parts = [self.expr(v) for v in node.values]
        if all(self.type_of(p) == BOOL for p in parts):
            return self.cond(node)
        span, out = self.span(node), parts[-1]
        for p in reversed(parts[:-1]):  # a or b: a if a else b; a and b: b if a else a
            pair = (p, out) if isinstance(node.op, ast.Or) else (out, p)
            out = ir.Call(span, "select", (p, *pair))
        return out

    def _compare(self, node: ast.Compare) -> ir.Expr:
        span = self.span(node)
        left, out = self.expr(node.left), None
        for op, right_node in zip(node.ops, node.comparators):
            if type(op) not in _COMPARE:
                word = _OTHER_COMPARE[type(op)]
                raise PxSyntaxError(f"'{word}' is not available in a kernel", span,
                                    "compare numbers with == and !=" if "is" in word else None)
            right = self.expr(right_node)
            test = ir.Binary(span, _COMPARE[type(op)], left, right)
            out = test if out is None else ir.Binary(span, "and", out, test)
            left = right
        return out

    def _ifexp(self, node: ast.IfExp) -> ir.Expr:
        return ir.Call(self.span(node), "select", (self.cond(node.test), self.expr(node.body),
                                                   self.expr(node.orelse)))


def const_int(e: ir.Expr) -> int | None:
    """The value of an integer literal or constant (``Const``, or a NumPy integer's cast
    ``Const``); None for anything else."""
    inner = e.operand if isinstance(e, ir.Cast) else e
    return inner.value if isinstance(inner, ir.Const) and type(inner.value) is int else None
