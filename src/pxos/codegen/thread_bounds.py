"""Index-set splitting of the thread loop: a kernel's bounds test becomes the loop's bounds.

A stencil guards its body with a test of its thread indices against extents, as
``if i >= 1 and i < n - 1 and j >= 1 and j < m - 1: …``. On a GPU every thread evaluates
it; on a CPU, where the threads of a block are a loop, the test is a branch in the loop
that the compiler vectorises only with masked loads (which gcc cannot do for neighbouring
elements: "no vectype for stmt: .MASK_LOAD"). So, as polyhedral compilers split an index
set, :func:`split_bounds` finds, in a loop-form kernel whose body is

    <index> = THREAD_ID(axis) …           (each index assigned only there)
    IF <a AND b AND …>: <body>            (no ELSE, the last statement)

every conjunct of the form ``index < e``, ``index <= e``, ``index > e`` or ``index >= e``
(``i32`` on both sides, ``e`` pure and the same for every thread: constants, scalar
parameters, extents), and ``codegen/c`` narrows each thread loop to the threads that pass
them; the rest of the test stays an ``if``. Threads outside the narrowed loop did nothing
before either, and the removed conjuncts read no memory, so the result is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pxos.ir import nodes as ir
from pxos.ir.types import I32, Array

_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}


@dataclass
class ThreadBounds:
    """What :func:`split_bounds` found.

    Attributes:
        lower: per launch axis (0 = x), ``(e, k)`` pairs: the index is at least ``e + k``.
        upper: per axis, ``(e, k)`` pairs: the index is below ``e + k``.
        body: the kernel's body with the found conjuncts removed from its test.
    """

    lower: dict[int, list] = field(default_factory=dict)
    upper: dict[int, list] = field(default_factory=dict)
    body: ir.Body = ()


def split_bounds(kernel: ir.Kernel, uniform: frozenset[str] = frozenset()
                 ) -> ThreadBounds | None:
    """The loop bounds in ``kernel``'s test, or None where the body has not that shape
    (see the module docstring); ``uniform``: local variables computed once per block before
    the thread loop (``ir/passes/uniform``), which a bound may read as a parameter."""
    if not kernel.guarded or not kernel.body:
        return None
    *prefix, test = kernel.body
    axes: dict[str, int] = {}
    for s in prefix:
        if not (isinstance(s, ir.Assign) and isinstance(s.value, ir.Builtin)
                and s.value.name == "thread_id"
                and (s.value.axis is not None or kernel.ndim == 1)):
            return None
        axes[s.name] = s.value.axis or 0
    if not (isinstance(test, ir.If) and len(test.arms) == 1 and not test.orelse):
        return None
    if any(assignments(kernel.body, name) != 1 for name in axes):
        return None
    params = {p.name for p in kernel.params
              if not isinstance(p.type, Array) and not assignments(kernel.body, p.name)}
    params |= uniform
    found = ThreadBounds()
    rest = []
    for c in _conjuncts(test.arms[0][0]):
        bound = _bound(c, axes, params)
        if bound is None:
            rest.append(c)
            continue
        axis, side, e, k = bound
        (found.lower if side == "lower" else found.upper).setdefault(axis, []).append((e, k))
    if not found.lower and not found.upper:
        return None
    arm = test.arms[0][1]
    if rest:
        cond = rest[0]
        for c in rest[1:]:
            cond = ir.Binary(c.span, "and", cond, c, type=cond.type)
        arm = (ir.If(test.span, ((cond, arm),)),)
    found.body = tuple(prefix) + tuple(arm)
    return found


def _conjuncts(e: ir.Expr) -> list[ir.Expr]:
    if isinstance(e, ir.Binary) and e.op == "and":
        return _conjuncts(e.lhs) + _conjuncts(e.rhs)
    return [e]


def _bound(c: ir.Expr, axes: dict[str, int], params: set[str]):
    """``(axis, "lower"|"upper", e, k)`` for a conjunct ``index <op> e``, else None."""
    if not (isinstance(c, ir.Binary) and c.op in _FLIP
            and c.lhs.type == I32 and c.rhs.type == I32):
        return None
    op, v, e = c.op, c.lhs, c.rhs
    if not (isinstance(v, ir.Var) and v.name in axes):
        op, v, e = _FLIP[op], c.rhs, c.lhs
    if not (isinstance(v, ir.Var) and v.name in axes and is_uniform(e, params)):
        return None
    side, k = {"lt": ("upper", 0), "le": ("upper", 1), "gt": ("lower", 1),
               "ge": ("lower", 0)}[op]
    return axes[v.name], side, e, k


def is_uniform(e: ir.Expr, params: set[str]) -> bool:
    """Whether ``e`` is the same in every thread and reads no memory."""
    for x in ir.subexprs(e):
        if isinstance(x, (ir.Load, ir.Builtin)):
            return False
        if isinstance(x, ir.Var) and x.name not in params:
            return False
    return True


def assignments(body: ir.Body, name: str) -> int:
    """How many statements of ``body`` assign ``name``."""
    n = 0
    for s in ir.walk(body):
        n += (isinstance(s, ir.Assign) and s.name == name) or \
            (isinstance(s, ir.For) and s.var == name) or \
            (isinstance(s, ir.Atomic) and s.result == name)
    return n
