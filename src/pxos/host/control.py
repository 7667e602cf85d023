"""Host control flow of a running program (version 2): ``IF``/``ELIF``/``ELSE``, ``FOR``,
``WHILE``, ``BREAK`` and ``CONTINUE``, run as loops (never unrolled).

A mixin of :class:`pxos.host.program.ProgramRun`: it runs bodies statement by statement
through the run's ``execute`` and ``evaluate``; a jump (``BREAK``/``CONTINUE``) leaves a
body as the string ``"break"``/``"continue"``, which the innermost loop takes.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxRuntimeError, PxTypeError
from pxos.host.run_loop import WARM, native_iterations, prepare
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
        name, values_now, body = stmt.var, self.values, stmt.body
        if all(type(s) is ir.Run for s in body) and len(values) > WARM \
                and _fits(values, var.dtype):  # its launches may repeat in C
            values = self._native_for(stmt, var, values)
        if len(body) == 1 and not isinstance(body[0], _FLOW):  # one plain statement
            execute, only = self.execute, body[0]
            for value in _typed(values, var.dtype):
                values_now[name] = value
                execute(only)
            return None
        for value in _typed(values, var.dtype):
            values_now[name] = value
            if self._block(body) == "break":
                break
        return None

    def _native_for(self, stmt: ir.For, var, values: range) -> range:
        """Run the first :data:`WARM <host.run_loop>` iterations of a loop of RUN
        statements the general way, then as many as ``host/run_loop`` takes natively;
        returns the values left to run."""
        name, body = stmt.var, stmt.body
        for n, value in enumerate(_typed(values[:WARM], var.dtype)):
            self.values[name] = value
            self._block(body)
            if n == 0:
                prepare(self, body)  # the native launchers, for the next iterations
        rest = values[WARM:]

        def at(i: int) -> None:
            self.values[name] = var.dtype.type(rest[i])  # fits: checked by the caller

        i, j = native_iterations(self, body, len(rest), at)
        if j:  # the rest of an iteration the native part stopped in
            self._block(body[j:])
            i += 1
        return rest[i:]

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


_FLOW = (ir.If, ir.For, ir.While, ir.Break, ir.Continue)
_CHUNK = 4096  # loop values made at once


def _fits(values: range, dtype: np.dtype) -> bool:
    """Whether every value of ``values`` fits integer ``dtype`` (False for floats)."""
    if dtype.kind not in "iu" or not values:
        return False
    info = np.iinfo(dtype)
    return info.min <= min(values[0], values[-1]) and max(values[0], values[-1]) <= info.max


def _typed(values: range, dtype: np.dtype):
    """``values`` as scalars of ``dtype`` (a ``FOR`` variable's), made by NumPy a chunk at
    a time (a scalar made from a Python int costs ~0.3 µs, a RUN in a host loop ~3 µs:
    issue 14); where a value does not fit ``dtype``, one by one, so that it raises as
    ``dtype.type(value)`` does."""
    if not _fits(values, dtype):
        yield from map(dtype.type, values)
        return
    for i in range(0, len(values), _CHUNK):
        part = values[i:i + _CHUNK]
        yield from np.arange(part.start, part.stop, part.step, dtype=dtype)
