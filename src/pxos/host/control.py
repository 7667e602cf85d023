"""Host control flow of a running program (version 2): ``IF``/``ELIF``/``ELSE``, ``FOR``,
``WHILE``, ``BREAK`` and ``CONTINUE``, run as loops (never unrolled).

A mixin of :class:`pxos.host.program.ProgramRun`: it runs bodies statement by statement
through the run's ``execute`` and ``evaluate``; a jump (``BREAK``/``CONTINUE``) leaves a
body as the string ``"break"``/``"continue"``, which the innermost loop takes.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxRuntimeError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.check_host import common_of
from pxos.ir.types import scalar_of_dtype


class HostControl:
    """Running host bodies, loops and branches (mixed into ``ProgramRun``)."""

    def _block(self, body: ir.Body) -> str | None:
        """Run ``body``; returns ``"break"`` or ``"continue"`` when a jump leaves it."""
        for stmt in body:
            if isinstance(stmt, (ir.Break, ir.Continue)):
                return ir.keyword(stmt).lower()
            if not isinstance(stmt, (ir.If, ir.For, ir.While)):
                self.execute(stmt)
                continue
            flow = self._control(stmt)
            if flow is not None:
                return flow
        return None

    def run_statement(self, stmt: ir.Stmt) -> None:
        """Run one top-level statement of the program, a host loop or IF included.

        Raises:
            PxError: as :meth:`run`.
        """
        self._block((stmt,))

    def _control(self, stmt: ir.Stmt) -> str | None:
        if isinstance(stmt, ir.If):
            for cond, body in stmt.arms:
                if self._true(cond):
                    return self._block(body)
            return self._block(stmt.orelse)
        if isinstance(stmt, ir.While):
            while self._true(stmt.cond):
                if self._block(stmt.body) == "break":
                    break
            return None
        var, values = self._for_range(stmt)
        make, name, values_now, body = var.dtype.type, stmt.var, self.values, stmt.body
        for value in values:
            values_now[name] = make(value)
            if self._block(body) == "break":
                break
        return None

    def _true(self, cond: ir.Expr) -> bool:
        return bool(self.evaluate(cond))

    def _for_range(self, s: ir.For):
        """The loop variable's type and its values: the bounds are evaluated once, when
        the loop starts (as Python's ``range``); the variable keeps an earlier type."""
        bounds = [self.evaluate(e) for e in (s.start, s.stop, s.step) if e is not None]
        for e, v in zip((s.start, s.stop, s.step), bounds):
            if np.asarray(v).dtype.kind not in "iub":
                raise PxTypeError(f"FOR bounds must be integers, got {np.asarray(v).dtype}",
                                  e.span)
        start, stop, step = (int(v) for v in bounds + [1] * (3 - len(bounds)))
        if step == 0:
            raise PxRuntimeError("FOR STEP is 0; the loop would never end", s.step.span)
        old = self.values.get(s.var)
        var = scalar_of_dtype(np.asarray(old).dtype) if old is not None else \
            common_of([scalar_of_dtype(np.asarray(v).dtype) for v in bounds])
        return var, range(start, stop, step)

