"""Rebuilding a kernel body with some expressions replaced: what the IR passes share.

:func:`map_body` calls ``visit(expr)`` on every expression of every statement, nested ones
first (so ``visit`` sees its operands already rewritten); ``visit`` returns the expression
to keep (itself, unchanged, when there is nothing to do). :func:`map_stmt` lets a pass
treat a statement's own array access (``STORE`` and ``ATOMIC`` targets) as it treats a
``Load``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from pxos.ir import nodes as ir

Visit = Callable[[ir.Expr], ir.Expr]


def map_expr(e: ir.Expr, visit: Visit) -> ir.Expr:
    """``e`` with every sub-expression rewritten by ``visit``, innermost first."""
    if isinstance(e, ir.Load):
        e = replace(e, index=tuple(map_expr(i, visit) for i in e.index))
    elif isinstance(e, ir.Unary):
        e = replace(e, operand=map_expr(e.operand, visit))
    elif isinstance(e, ir.Binary):
        e = replace(e, lhs=map_expr(e.lhs, visit), rhs=map_expr(e.rhs, visit))
    elif isinstance(e, ir.Call):
        e = replace(e, args=tuple(map_expr(a, visit) for a in e.args))
    elif isinstance(e, ir.Cast):
        e = replace(e, operand=map_expr(e.operand, visit))
    return visit(e)


def map_stmt(s: ir.Stmt, visit: Visit, target: Callable | None = None) -> ir.Stmt:
    """Statement ``s`` with its expressions (and nested bodies) rewritten by ``visit``;
    ``target(stmt, index)`` (if given) rewrites the index tuple of a ``STORE`` or
    ``ATOMIC`` target after ``visit`` has rewritten each index."""
    def ex(e):
        return map_expr(e, visit)

    def body(b):
        return map_body(b, visit, target)

    def index(stmt, idx):
        idx = tuple(ex(i) for i in idx)
        return target(stmt, idx) if target else idx

    if isinstance(s, ir.Assign):
        return replace(s, value=ex(s.value))
    if isinstance(s, (ir.Store, ir.Atomic)):
        return replace(s, index=index(s, s.index), value=ex(s.value))
    if isinstance(s, ir.If):
        return replace(s, arms=tuple((ex(c), body(b)) for c, b in s.arms),
                       orelse=body(s.orelse))
    if isinstance(s, ir.For):
        return replace(s, start=ex(s.start), stop=ex(s.stop),
                       step=ex(s.step) if s.step is not None else None, body=body(s.body))
    if isinstance(s, ir.While):
        return replace(s, cond=ex(s.cond), body=body(s.body))
    return s


def map_body(body: ir.Body, visit: Visit, target: Callable | None = None) -> ir.Body:
    """Every statement of ``body`` through :func:`map_stmt`."""
    return tuple(map_stmt(s, visit, target) for s in body)
