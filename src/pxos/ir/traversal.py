"""Reading the IR: a statement's `.px` keyword, the expressions it evaluates, every
subexpression of an expression, and the names a body assigns (``ir/nodes`` re-exports
these; ``walk`` and ``children`` are in ``ir/statements``)."""

from __future__ import annotations

from pxos.ir.expressions import Binary, Call, Cast, Expr, Load, Unary
from pxos.ir.host_statements import Codec, Crypt
from pxos.ir.statements import Assign, Atomic, For, If, Stmt, Store, ThreadLoop, While, walk

_KEYWORDS = {"Assign": "SET", "ReadFile": "READ_FILE", "WriteFile": "WRITE_FILE",
             "ReadEnv": "READ_ENV",
             "AllocLike": "ALLOC", "RandomFill": "RANDOM", "ConstDef": "CONST",
             "Sync": "SYNC_THREADS", "Atomic": "ATOMIC"}


def keyword(stmt: Stmt) -> str:
    """The `.px` keyword that starts ``stmt``'s line (``SET``, ``READ_FILE``, ``FOR`` …)."""
    if isinstance(stmt, Crypt):
        return "DECRYPT" if stmt.decrypt else "ENCRYPT"
    if isinstance(stmt, Codec):
        return "DECOMPRESS" if stmt.decompress else "COMPRESS"
    name = type(stmt).__name__
    return _KEYWORDS.get(name) or name.upper()


def subexprs(expr: Expr):
    """``expr`` and every expression inside it, parents first."""
    yield expr
    if isinstance(expr, Load):
        parts: tuple[Expr, ...] = expr.index
    elif isinstance(expr, Unary):
        parts = (expr.operand,)
    elif isinstance(expr, Binary):
        parts = (expr.lhs, expr.rhs)
    elif isinstance(expr, Call):
        parts = expr.args
    elif isinstance(expr, Cast):
        parts = (expr.operand,)
    else:
        parts = ()
    for part in parts:
        yield from subexprs(part)


def stmt_exprs(stmt: Stmt) -> tuple[Expr, ...]:
    """The expressions a statement evaluates directly (not those of nested bodies)."""
    if isinstance(stmt, Assign):
        return (stmt.value,)
    if isinstance(stmt, Store):
        return stmt.index + (stmt.value,)
    if isinstance(stmt, If):
        return tuple(cond for cond, _ in stmt.arms)
    if isinstance(stmt, For):
        return (stmt.start, stmt.stop) + ((stmt.step,) if stmt.step else ())
    if isinstance(stmt, While):
        return (stmt.cond,)
    if isinstance(stmt, Atomic):
        return stmt.index + (stmt.value,)
    if isinstance(stmt, ThreadLoop):
        return stmt.stops
    return ()


def assigned_names(body) -> set[str]:
    """The variables that statements of ``body`` (nested ones too) assign: ``SET``
    targets, ``FOR`` variables and the old values of atomics."""
    names = set()
    for s in walk(body):
        if isinstance(s, Assign):
            names.add(s.name)
        elif isinstance(s, For):
            names.add(s.var)
        elif isinstance(s, Atomic) and s.result is not None:
            names.add(s.result)
    return names
