"""Checked mode as an IR pass: every array index carries an explicit bounds check.

:func:`check_bounds` wraps each index of every ``Load``, ``STORE`` target and ``ATOMIC``
target in a :class:`Bound` node, which a renderer spells as the dialect's bounds-check
helper (``codegen/intrinsics``: the index if ``0 <= i < extent``, else the first violation
recorded in the flag buffer ``pxos_err`` and 0, so nothing outside the array is touched).
The node carries what the backend reports after the launch (``backends/checked``): the
access's `.px` line and column (a load's own span; a ``STORE`` or ``ATOMIC`` statement's
span for its target, as the interpreter reports them), the array's number in
:func:`array_ids` and the axis. Every target thus gets checked mode from one pass, as
Taichi's ``check_out_of_bound`` pass gives it to each of its backends
(``taichi/transforms/check_out_of_bound.cpp``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pxos.ir import nodes as ir
from pxos.ir.passes.rewrite import map_body
from pxos.span import Span
from pxos.ir.types import I64, Array


@dataclass(frozen=True)
class Bound(ir.Call):
    """``args[0]`` (an index, any integer type) checked against the extent of axis
    ``axis`` of ``array``; its value, ``i64``, is the index, or 0 after a violation.

    Attributes:
        array: the array indexed (a parameter or a shared array).
        axis: the axis of the index (0 for the first, slowest one).
        array_no: ``array``'s position in :func:`array_ids` (what ``pxos_err`` records).
        where: the access reported on a violation.
    """

    array: str = ""
    axis: int = 0
    array_no: int = 0
    where: Span | None = None


def unchecked(e: ir.Expr) -> ir.Expr:
    """The index inside a :class:`Bound` (``e`` itself if it is no Bound): what an analysis
    of access patterns reads in a checked kernel."""
    return e.args[0] if isinstance(e, Bound) else e


def array_ids(kernel: ir.Kernel) -> list[str]:
    """The arrays of a kernel in the order checked mode numbers them: array parameters,
    then shared arrays (``pxos_err[3]`` holds this number)."""
    return [p.name for p in kernel.params if isinstance(p.type, Array)] + \
        [s.name for s in kernel.shared]


def check_bounds(kernel: ir.Kernel) -> ir.Kernel:
    """``kernel`` with every array index wrapped in a :class:`Bound` (module docstring).

    Args:
        kernel: a checked kernel (``ir.check.check_kernel``), without Bound nodes.

    Returns:
        The same kernel with a rewritten body; its variables, access and launch unchanged.
    """
    ids = {name: n for n, name in enumerate(array_ids(kernel))}

    def wrap(array: str, index: tuple, where: Span) -> tuple:
        return tuple(Bound(i.span, "bound", (i,), type=I64, array=array, axis=axis,
                           array_no=ids[array], where=where)
                     for axis, i in enumerate(index))

    def visit(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Load):
            return replace(e, index=wrap(e.array, e.index, e.span))
        return e

    def target(stmt: ir.Store | ir.Atomic, index: tuple) -> tuple:
        return wrap(stmt.array, index, stmt.span)

    return replace(kernel, body=map_body(kernel.body, visit, target))

