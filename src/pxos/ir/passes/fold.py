"""Folding operations of constants into one constant (WGSL needs it).

WGSL evaluates an expression of literals alone when the shader is created, and refuses
the shader where that overflows (``2147483647i + 1i``, ``18i << 31u``): its
const-expressions do not wrap, where pxos's integers do (docs/language.md, "Arithmetic that
C leaves undefined, defined here"); and naga's evaluator has no ``f64`` math functions and
converts no 64-bit literal (``floor(-5.625lf)``, ``f32(0.1lf)``). After
:func:`fold_constants`, no such operation has only constants for operands, so the target
never evaluates one; the constant is computed here with pxos's own rules (the
interpreter's evaluator, ``ir/evaluate``). Float operations are folded only where IEEE 754
rounds the result once, in the operation's type (``+ - * / %``, ``sqrt``, ``floor``,
``ceil``, ``abs``, ``min``, ``max``, negation, conversions), which every backend computes
bit for bit alike (docs/backends.md); transcendental functions, whose last bits differ
between targets, are left to the target.
"""

from __future__ import annotations

from pxos.ir import nodes as ir
from pxos.ir.evaluate import eval_scalar
from pxos.ir.passes.rewrite import map_body

EXACT_CALLS = ("min", "max", "abs", "clamp", "select", "rotl", "rotr", "floor", "ceil",
               "sqrt")  # no state, and one rounding at most


def fold_constants(body: ir.Body) -> ir.Body:
    """``body`` with every operation whose operands are all constants replaced by its
    value (an :class:`ir.Const` of the operation's type), where that value is exact
    (module docstring)."""
    return map_body(body, _folded)


def _folded(e: ir.Expr) -> ir.Expr:
    if isinstance(e, ir.Unary):
        operands = (e.operand,)
    elif isinstance(e, ir.Binary):
        operands = (e.lhs, e.rhs)
    elif isinstance(e, ir.Cast):
        operands = (e.operand,)
    elif isinstance(e, ir.Call) and e.fn in EXACT_CALLS:
        operands = e.args
    else:
        return e
    if not _numeric(e) or not all(isinstance(o, ir.Const) and _numeric(o) for o in operands):
        return e
    value = eval_scalar(e, {}).item()
    kind = e.type.kind
    value = bool(value) if kind == "b" else float(value) if kind == "f" else int(value)
    return ir.Const(e.span, value, type=e.type)


def _numeric(e: ir.Expr) -> bool:
    """Whether ``e`` is a bool, an integer, or a float of 32 or 64 bits."""
    return e.type is not None and (e.type.kind in "biu" or e.type.bits >= 32)
