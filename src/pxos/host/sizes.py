"""Array sizes without wrap-around: a size expression's exact value, to compare with the
value its ``i32``/``i64`` arithmetic gives (`.px` integer arithmetic wraps; a size that
wrapped would allocate a silently wrong number of elements, so it is an error).
"""

from __future__ import annotations

import numpy as np

from pxos.ir import nodes as ir

_EXACT = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: 0 if b == 0 else abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1),
    "mod": lambda a, b: 0 if b == 0 else a - b * (abs(a) // abs(b)
                                                  * (1 if (a < 0) == (b < 0) else -1)),
}


def exact_int(expr: ir.Expr, env: dict) -> int | None:
    """The exact integer value of a typed host expression made of integer literals and
    variables, ``LEN/ROWS/COLS``, integer casts, ``+ - * / %``, ``-x``, ``MIN``/``MAX``,
    computed with unbounded integers (``/`` and ``%`` truncate as in `.px`); None when it
    holds anything else (a float, an array element…), which is then not checked."""
    if expr.type is None or not expr.type.is_int:
        return None
    if isinstance(expr, ir.Const):
        return int(expr.value)
    if isinstance(expr, ir.Var):
        v = env.get(expr.name)
        return int(v) if isinstance(v, (int, np.integer)) else None
    if isinstance(expr, ir.Dim):
        arr = env.get(expr.array)
        if not isinstance(arr, np.ndarray):
            return None
        return arr.size if expr.axis is None else arr.shape[expr.axis]
    if isinstance(expr, ir.Cast):
        return exact_int(expr.operand, env)
    if isinstance(expr, ir.Unary) and expr.op == "neg":
        v = exact_int(expr.operand, env)
        return None if v is None else -v
    if isinstance(expr, ir.Binary) and expr.op in _EXACT:
        a, b = exact_int(expr.lhs, env), exact_int(expr.rhs, env)
        return None if a is None or b is None else _EXACT[expr.op](a, b)
    if isinstance(expr, ir.Call) and expr.fn in ("min", "max"):
        vals = [exact_int(a, env) for a in expr.args]
        return None if None in vals else (min if expr.fn == "min" else max)(vals)
    return None
