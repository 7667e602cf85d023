"""Index arithmetic for the block-cutting analysis (``ir/analysis/halo``): integer casts
stripped, constants read, an expression's operands, and how far from an edge a comparison
of a thread index with a constant or an extent changes its outcome (its *reach*)."""

from __future__ import annotations

from pxos.ir import nodes as ir

# a comparison read from its other side: ``c < x`` is ``x > c``
FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}


def strip_casts(e: ir.Expr) -> ir.Expr:
    """``e`` without its casts between integer types."""
    while isinstance(e, ir.Cast) and getattr(e.to, "kind", "f") in "iu":
        e = e.operand
    return e


def constant(e: ir.Expr) -> int | None:
    """The value of ``e`` if it is an integer literal (under integer casts), else None."""
    e = strip_casts(e)
    if isinstance(e, ir.Const) and isinstance(e.value, int) and not isinstance(e.value, bool):
        return int(e.value)
    return None


def operands(e: ir.Expr) -> tuple[ir.Expr, ...]:
    """The direct sub-expressions of ``e`` (none for a leaf)."""
    if isinstance(e, ir.Unary):
        return (e.operand,)
    if isinstance(e, ir.Binary):
        return (e.lhs, e.rhs)
    if isinstance(e, ir.Call):
        return tuple(e.args)
    if isinstance(e, ir.Cast):
        return (e.operand,)
    return ()


def low_reach(op: str, p: int) -> int:
    """Reach of ``x OP p`` near the low edge: positions below it see another outcome."""
    if op in ("lt", "ge"):
        return max(0, p)
    if op in ("le", "gt"):
        return max(0, p + 1)
    return p + 1 if p >= 0 else 0  # eq, ne


def high_reach(op: str, s: int) -> int:
    """Reach of ``x OP n - s`` near the high edge ``n``."""
    if op in ("lt", "ge"):
        return max(0, s)
    if op in ("le", "gt"):
        return max(0, s - 1)
    return s if s >= 1 else 0  # eq, ne
