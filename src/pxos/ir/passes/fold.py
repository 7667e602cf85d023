"""Folding integer operations of constants into one constant (WGSL needs it).

WGSL evaluates an expression of literals alone when the shader is created, and refuses
the shader where that overflows (``2147483647i + 1i``, ``18i << 31u``): its
const-expressions do not wrap, where pxos's integers do (docs/language.md, "Arithmetic that
C leaves undefined, defined here"). After :func:`fold_integers`, no integer operation has
only constants for operands, so the target never evaluates one; the constant is computed
here with pxos's own rules (the interpreter's evaluator, ``ir/evaluate``). Float operations
are left alone: they round, and a target may evaluate them at another precision.
"""

from __future__ import annotations

from pxos.ir import nodes as ir
from pxos.ir.evaluate import eval_scalar
from pxos.ir.passes.rewrite import map_body

PURE_CALLS = ("min", "max", "abs", "clamp", "select", "rotl", "rotr")  # integer, no state


def fold_integers(body: ir.Body) -> ir.Body:
    """``body`` with every integer or bool operation whose operands are all integer or
    bool constants replaced by its value (an :class:`ir.Const` of the operation's type)."""
    return map_body(body, _folded)


def _folded(e: ir.Expr) -> ir.Expr:
    if isinstance(e, ir.Unary):
        operands = (e.operand,)
    elif isinstance(e, ir.Binary):
        operands = (e.lhs, e.rhs)
    elif isinstance(e, ir.Cast):
        operands = (e.operand,)
    elif isinstance(e, ir.Call) and e.fn in PURE_CALLS:
        operands = e.args
    else:
        return e
    if not _exact(e) or not all(isinstance(o, ir.Const) and _exact(o) for o in operands):
        return e
    value = eval_scalar(e, {}).item()
    return ir.Const(e.span, bool(value) if e.type.kind == "b" else int(value), type=e.type)


def _exact(e: ir.Expr) -> bool:
    """Whether ``e`` is an integer or bool (a value with no rounding)."""
    return e.type is not None and e.type.kind in "biu"
