"""The interpreter's static table of jumps: which statements may stop lanes.

``BREAK``, ``CONTINUE`` and ``RETURN`` drop lanes from the active set
(``backends/interp``); statements that cannot make any lane jump need no flag bookkeeping,
so the interpreter looks each statement up here once per launch instead of tracking flags
everywhere.
"""

from __future__ import annotations

from pxos.ir import nodes as ir


def jump_table(body: ir.Body) -> dict:
    """Static facts about jumps: ``id(stmt)`` → whether running it may stop lanes of the
    enclosing body (BREAK/CONTINUE/RETURN inside, not consumed by an inner loop), and
    ``("loop", id(loop))`` → whether its body may BREAK, CONTINUE or RETURN."""
    table: dict = {}

    def visit(stmts: ir.Body) -> tuple[bool, bool]:
        """(may break/continue the enclosing loop, may return)."""
        loop_jump = ret = False
        for s in stmts:
            if isinstance(s, (ir.Break, ir.Continue)):
                lj, r = True, False
            elif isinstance(s, ir.Return):
                lj, r = False, True
            elif isinstance(s, ir.If):
                lj = r = False
                for b in ir.children(s):
                    a, c = visit(b)
                    lj, r = lj or a, r or c
            elif isinstance(s, (ir.For, ir.While)):
                inner_lj, r = visit(s.body)
                table[("loop", id(s))] = inner_lj or r
                lj = False
            else:
                lj = r = False
            table[id(s)] = lj or r
            loop_jump, ret = loop_jump or lj, ret or r
        return loop_jump, ret

    visit(body)
    return table
