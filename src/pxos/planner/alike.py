"""Statements alike: which statements of a program the planner may take one for another.

Two consecutive ``RUN`` statements are alike when they launch the same kernel on the same
arrays with the same values of the scalars that size the launch (``planner/ahead.
sizing_params``: its thread counts and its loops' trip counts): from one residency state
they cost the same, move the same copies and leave the same state, whatever their other
scalars (the ``k`` of a Floyd–Warshall ``RUN fw d k``). Nothing runs between them that
could change a scalar, so a sizing argument that is the same variable, or the same
literal, has the same value in both.
:func:`planner_line` lays a program out for the planner with runs of alike statements
collapsed (``planner/order.collapse_alike``), once per program object.
"""

from __future__ import annotations

from pxos.ir import nodes as ir
from pxos.ir.types import Array
from pxos.planner.ahead import sizing_params
from pxos.planner.order import Entry, collapse_alike, first_positions, linear_order


def planner_line(program: ir.Program) -> tuple[list[Entry], dict[int, int]]:
    """(the planner's line of ``program``, the position of each statement in it by
    ``id``): ``order.linear_order`` with alike statements collapsed, made once per
    program object (a long program is run, and so planned, many times)."""
    found = _LINES.get(id(program))
    if found is not None and found[0] is program:
        return found[1], found[2]
    entries = collapse_alike(linear_order(program.statements), _Alike(program))
    if len(_LINES) >= 64:
        _LINES.clear()
    _LINES[id(program)] = (program, entries, first_positions(entries))  # kept: id stays
    return entries, _LINES[id(program)][2]


_LINES: dict[int, tuple] = {}


class _Alike:
    """``alike(a, b)`` for the statements of one program (see the module docstring)."""

    def __init__(self, program: ir.Program):
        self.program = program

    def __call__(self, a: ir.Stmt, b: ir.Stmt) -> bool:
        if type(a) is not ir.Run or type(b) is not ir.Run or a.kernel != b.kernel \
                or len(a.args) != len(b.args):
            return False
        kernel = self.program.kernel(a.kernel)
        if kernel is None or len(kernel.params) != len(a.args):
            return False
        sizing = sizing_params(kernel)
        for x, y, p in zip(a.args, b.args, kernel.params):
            if isinstance(p.type, Array) or p.name in sizing:
                if not _same_value(x, y):
                    return False
        return True


def _same_value(x: ir.Expr, y: ir.Expr) -> bool:
    """Whether ``x`` and ``y`` have the same value between two statements with nothing
    between them: the same variable, or equal literals of one type (negated or not)."""
    if type(x) is ir.Var and type(y) is ir.Var:
        return x.name == y.name
    if type(x) is ir.Const and type(y) is ir.Const:
        return type(x.value) is type(y.value) and x.value == y.value
    if type(x) is ir.Unary and type(y) is ir.Unary:
        return x.op == y.op and _same_value(x.operand, y.operand)
    return False
