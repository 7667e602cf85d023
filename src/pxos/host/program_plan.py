"""The planner's decisions for a running program's placeable statements.

A mixin of :class:`pxos.host.program.ProgramRun`: with ``--device auto`` (or
``--explain``), each ``RUN``, ``REDUCE`` and ``SORT`` asks the planner where to run
(``planner/ahead``'s ``PlanFollower``), once per residency state, array shapes and
launch-sizing scalars. In a host loop where nothing moves between iterations, the
decision is found by the residency's version number without building that key (issue 14:
``--device auto`` costs what the pinned device costs).
"""

from __future__ import annotations

import numpy as np

from pxos.ir import nodes as ir

SEEN_LIMIT = 4096  # remembered (statement, residency version, sizing) lookups


class PlannedStatements:
    """Placing statements through the planner (mixed into ``ProgramRun``)."""

    def _plan(self, stmt: ir.Stmt):
        """The planner's decision for placeable ``stmt`` (None when ``device`` pins it and
        no explanation was asked for): the rest of the program planned from here."""
        if self.device != "auto" and not self.explain:
            return None
        if self.planner is None:
            from pxos.planner.ahead import PlanFollower
            from pxos.planner.program import Planner
            self.planner = Planner(self.program, self.device, checked=self.checked,
                                   files=self.files)
            self.follower = PlanFollower(self.planner)
        used = self._sizing_args.get(id(stmt))  # () for most: no sizing scalar
        sizing = self._sizing(stmt) if used is None or used else ()
        seen = (id(stmt), self.residency.version, sizing)  # nothing moved since: no key
        found = self._seen_plans.get(seen)
        if found is not None:
            return found
        key = self._plan_key(stmt, sizing)
        if key not in self._plans:  # decided once per residency state (host loops)
            where = {n: self.residency.places(n) for n, v in self.values.items()
                     if isinstance(v, np.ndarray)}
            self._plans[key] = self.follower.decide(stmt, self.values, where, key[2])
        if len(self._seen_plans) >= SEEN_LIMIT:
            self._seen_plans.clear()
        self._seen_plans[seen] = self._plans[key]
        return self._plans[key]

    def _sizing(self, stmt: ir.Stmt) -> tuple:
        """The values of ``stmt``'s scalar arguments that size its launch (a RUN's)."""
        if not isinstance(stmt, ir.Run):
            return ()
        used = self._sizing_args.get(id(stmt))
        if used is None:
            from pxos.planner.ahead import sizing_params

            kernel = self.kernel(stmt.kernel)
            names = sizing_params(kernel)
            used = self._sizing_args[id(stmt)] = tuple(
                a for a, p in zip(stmt.args, kernel.params) if p.name in names)
        return tuple(self.evaluate(a).item() for a in used)

    def _plan_key(self, stmt: ir.Stmt, sizing: tuple) -> tuple:
        """What a decision for ``stmt`` depends on: where each array is, the arrays'
        shapes and dtypes, and the scalar arguments that size a launch."""
        arrays = tuple((n, frozenset(self.residency.places(n)), v.shape, v.dtype.str)
                       for n, v in self.values.items() if isinstance(v, np.ndarray))
        return id(stmt), arrays, sizing

    def kernel(self, name: str) -> ir.Kernel | None:
        """The program's kernel ``name`` (None if there is none)."""
        found = self._kernels.get(name)
        if found is None:
            found = self._kernels[name] = self.program.kernel(name)
        return found
