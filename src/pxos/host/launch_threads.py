"""The thread counts of a kernel's launch as a function of its call's arguments.

A ``@pxos.kernel`` call (``host/pykernel``) and a ``.px`` ``RUN`` (``host/program``) size
the launch from ``kernel.threads``, host expressions over the parameters. Most are a
parameter, an array's extent, a literal, or ``+ - *`` of those: they become one plain
Python ``lambda`` (made once per kernel); any other goes through the interpreter's
evaluator (``ir/evaluate``).
"""

from __future__ import annotations

from typing import Callable, Sequence

from pxos.ir import nodes as ir
from pxos.ir.evaluate import eval_scalar
from pxos.ir.types import Array


_LAMBDAS: dict[str, Callable] = {}  # the text of a lambda -> the lambda, made once


def thread_counts_of(kernel: ir.Kernel) -> Callable[[Sequence], tuple[int, ...]]:
    """The thread counts of ``kernel.threads`` as a function of the arguments: a plain
    Python expression for what host expressions usually are (a parameter, an extent, a
    literal, + - * of them), else the interpreter's evaluator.

    Returns:
        A function from the call's arguments (in parameter order) to the thread counts,
        a tuple of ints, one per axis.
    """
    index = {p.name: i for i, p in enumerate(kernel.params)}
    compiled = [_python_expr(e, index) for e in kernel.threads]
    if all(c is not None for c in compiled):
        text = f"lambda a: ({', '.join(compiled)},)"
        fn = _LAMBDAS.get(text)  # compiling one costs 40 µs, a RUN in a loop 0.3 µs
        if fn is None:
            if len(_LAMBDAS) >= 4096:
                _LAMBDAS.clear()
            fn = _LAMBDAS[text] = eval(text, {"int": int, "prod": _prod})  # noqa: S307
        return fn

    def evaluate(args):
        env = {p.name: a if isinstance(p.type, Array) else p.type.dtype.type(a)
               for p, a in zip(kernel.params, args)}
        return tuple(int(eval_scalar(e, env)) for e in kernel.threads)
    return evaluate


def _python_expr(e: ir.Expr, index: dict[str, int]) -> str | None:
    if isinstance(e, ir.Cast):
        return _python_expr(e.operand, index)
    if isinstance(e, ir.Const) and isinstance(e.value, int):
        return str(int(e.value))
    if isinstance(e, ir.Var) and e.name in index:
        return f"int(a[{index[e.name]}])"
    if isinstance(e, ir.Dim):
        i = index[e.array]
        return f"prod(a[{i}].shape)" if e.axis is None else f"a[{i}].shape[{e.axis}]"
    if isinstance(e, ir.Binary) and e.op in ("add", "sub", "mul"):
        lhs, rhs = _python_expr(e.lhs, index), _python_expr(e.rhs, index)
        if lhs is None or rhs is None:
            return None
        return f"({lhs} {dict(add='+', sub='-', mul='*')[e.op]} {rhs})"
    return None


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
