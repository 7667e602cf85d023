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

from pxos import registry
from pxos.host.program_memo import PlanMemo
from pxos.ir import nodes as ir
from pxos.ir.types import Array

SEEN_LIMIT = 4096  # decisions and residency states remembered


class PlannedStatements:
    """Placing statements through the planner (mixed into ``ProgramRun``)."""

    def _plan(self, stmt: ir.Stmt):
        """The planner's decision for placeable ``stmt`` (None when ``device`` pins it and
        no explanation was asked for): the program ahead planned from here."""
        if self._pinned:
            return None
        if self.planner is None:
            self._start_planning()
        at = id(stmt)
        state = self._state_at
        state = state[1] if state[0] == self.residency.version else self._state()
        # a statement without sizing arguments, in the state of its last decision: that
        # decision, without building a key (issue 14: a straight program's RUNs)
        last = self._last.get(at)
        if last is not None and last[0] == state and last[1] == self.follower.generation:
            return last[2]
        # the decision taken before in this state: a table lookup (issue 14: a RUN under
        # --device auto costs what it costs pinned), by what the statement's id keeps
        used = self._sizing_of.get(at)
        if used is None:
            used = self._sizing_of[at] = self._signature_of(stmt)[0]
        sizing = tuple(self.evaluate(a).item() for a in used) if used else ()
        seen = (at, state, sizing, self.follower.generation)  # once per state
        found = self._plans.get(seen)
        if found is not None:
            if not used:
                self._last[at] = (state, seen[3], found)
            return found
        key = (self._signature_of(stmt)[1], state, sizing)
        found = self.follower.alike(stmt, key)
        if found is None:
            where = {n: self.residency.places(n) for n, v in self.values.items()
                     if isinstance(v, np.ndarray)}
            found = self.follower.decide(stmt, self.values, where, sizing, key)
        if len(self._plans) >= SEEN_LIMIT:
            self._plans.clear()
        self._plans[seen] = found
        if not used:
            self._last[at] = (state, seen[3], found)
        return found

    def _learn(self, decision, seconds: float, warming: bool = False) -> None:
        """Teach the planner ``decision``'s time until it is ``Decision.settled``
        (``warming``: its launch is not yet in its final form, ``RunLaunch.warming``)."""
        if not decision.settled:
            if not decision.teaches:  # a shared decision's quiet copy (planner/ahead)
                decision.measured, decision.settled = seconds, True
                return
            self.planner.learn(decision, seconds, self.checked, warming)
            if not warming:  # (a warming launch's time says little of the choice)
                decision.taught_once()
                self.follower.measured(decision)

    def _owe_builds(self) -> None:
        """At the end of a run that followed decisions forgoing a device whose kernel is
        not built (``Decision.forgoes``): what each such ``RUN`` took beyond that device's
        prediction, added to what is owed to the build (``History.owe``: ski rental)."""
        if self.planner is None or not self.follower.forgoing:
            return
        owed: dict[tuple[str, str], list] = {}
        for step in self.steps:
            decision = step.decision
            if decision is None or not decision.forgoes or step.device != decision.device:
                continue
            for device, steady, build in decision.forgoes:
                found = owed.setdefault((decision.fingerprint, device), [0.0, build])
                found[0] += max(step.seconds - steady, 0.0)
        for (kernel, device), (seconds, build) in owed.items():
            self.planner.history.owe(kernel, device, seconds, build)

    def _library_side(self) -> str:
        """Where ``REDUCE``/``SORT`` run: the planner's choice, else the pinned device
        where it has library operations (``cuda``: CuPy's), else the host (NumPy)."""
        if self._decision is not None:
            return self._decision.device
        return registry.library_side(self.device)

    def _start_planning(self) -> None:
        """The planner and its follower of the program's earlier runs with these options
        (``host/program_memo``: their plans, states and decisions stand while the
        history's generation does), else new ones."""
        key = self._memo.plan_key(self.program, self.device, self.checked, self.allow)
        found = self._memo.plans.get(key)
        if found is None or found.history != found.planner.history.generation \
                or not found.take():
            from pxos.planner.ahead import PlanFollower
            from pxos.planner.program import Planner

            planner = Planner(self.program, self.device, checked=self.checked,
                              files=self.files)
            made = PlanMemo(planner, PlanFollower(planner), planner.history.generation)
            if found is None or found.thread is None or found.take():
                self._memo.plans[key] = made  # (else another thread's run holds it)
                made.take()
            found = made
        self.planner, self.follower = found.planner, found.follower
        self._plans, self._states, self._last = found.plans, found.states, found.last

    def _signature_of(self, stmt: ir.Stmt) -> tuple:
        """(sizing arguments, signature) of placeable ``stmt`` (:meth:`_signature`), kept
        under its position in the planner's line (``planner/alike``)."""
        at = self.planner.position(stmt)  # statements alike share it (planner/alike)
        return self._signatures.get(at) or self._signature(stmt, at)

    def _state(self) -> int:
        """A number for the residency state and array shapes (equal numbers: every array
        in the same places with the same shape and dtype), made once per residency
        version."""
        version = self.residency.version
        if self._state_at[0] != version:
            arrays = tuple((n, self.residency.places(n), v.shape, v.dtype)
                           for n, v in self.values.items() if isinstance(v, np.ndarray))
            if len(self._states) >= SEEN_LIMIT:  # numbers restart: forget their uses
                self._states.clear()
                self._plans.clear()
                self._last.clear()
                self.follower.forget()
            self._state_at = (version, self._states.setdefault(arrays, len(self._states)))
        return self._state_at[1]

    def _signature(self, stmt: ir.Stmt, at: int) -> tuple:
        """(the arguments of placeable ``stmt`` that size its launch, what it is apart from
        where it stands): a ``RUN``'s sizing arguments (``planner/ahead.sizing_params``)
        and its kernel with the arrays it passes; a library operation's fields. Kept
        under ``at``, its position in the planner's line, which the statements alike to
        it share (the same kernel, arrays and sizing arguments: ``planner/alike``)."""
        if isinstance(stmt, ir.Run):
            arrays, sizing = self._parameters(stmt.kernel)
            args = stmt.args
            found = tuple(args[i] for i in sizing), (stmt.kernel, tuple(
                args[i].name for i in arrays))
        else:
            found = (), (type(stmt).__name__, *(getattr(stmt, f) for f in (
                "op", "source", "result") if hasattr(stmt, f)))
        self._signatures[at] = found
        return found

    def _parameters(self, name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The positions of kernel ``name``'s array parameters and of its scalars that
        size a launch (``planner/ahead.sizing_params``), found once per kernel."""
        found = self._signatures.get(name)
        if found is None:
            from pxos.planner.ahead import sizing_params

            kernel = self.kernel(name)
            names = sizing_params(kernel)
            found = self._signatures[name] = (
                tuple(i for i, p in enumerate(kernel.params) if isinstance(p.type, Array)),
                tuple(i for i, p in enumerate(kernel.params) if p.name in names))
        return found

    def kernel(self, name: str) -> ir.Kernel | None:
        """The program's kernel ``name`` (None if there is none)."""
        found = self._kernels.get(name)
        if found is None:
            found = self._kernels[name] = self.program.kernel(name)
        return found
