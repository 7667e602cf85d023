"""Following a plan through a run, and planning again only where the run leaves it.

Planning the rest of a program at every placeable statement costs the length of the rest
each time: quadratic in the program's length. :class:`PlanFollower` plans the rest once
and keeps, for each statement ahead, the plan's decision with what the plan expected just
before it: where each array's current contents are, each array's shape and dtype, and the
scalar arguments that size the launch. When the run reaches the statement in that state,
the decision stands; otherwise (a different residency, other sizes, a statement whose
sizes the dry run could not know) the follower plans the rest again from the real state.

A plan also goes when a measurement contradicts it: the first time a kernel (or library
operation) on a device takes more than :data:`SURPRISE` times longer or shorter than
predicted, the history has just learned something that may change later decisions, so the
next placeable statement plans again. The first run of each kernel on each device is not
counted (it carries first-use costs, a driver's lazy set-up, that the model does not claim
to predict). Once per kernel and device keeps the number of plans bounded by the number of
kernels, not statements.

A plan looks :data:`AHEAD` statements ahead, not to the end of the program: each plan costs
a bounded time, and a long program is planned piece by piece as the run reaches each piece
(a statement beyond the plan is planned when reached). And a statement alike to one decided
before (the same kernel on the same arrays with the same launch-sizing scalars, or the same
library operation, reached in the same residency state: :meth:`PlanFollower.alike`) takes
that decision without planning: a straight program of 500 ``RUN fw d k`` plans once, and
each later ``RUN`` costs a dictionary lookup and a copy of the decision (issue 14).
"""

from __future__ import annotations

import numpy as np

from pxos.ir import nodes as ir
from pxos.ir.analysis.features import trip_names
from pxos.planner.decision import Decision

SURPRISE = 2.0
AHEAD = 64  # entries a run's plan looks ahead (model-predictive control's horizon)
TEACHING = 8  # statements alike whose measured times a shared decision teaches


def sizing_params(kernel: ir.Kernel) -> tuple[str, ...]:
    """The scalar parameters of ``kernel`` that size its launch: those its thread counts
    are computed from and those its loops' trip counts read (``ir.analysis.features.
    trip_names``); remembered per kernel object (the planner asks at every step of a dry
    run)."""
    found = _SIZING.get(id(kernel))
    if found is not None and found[0] is kernel:
        return found[1]
    used = {x.name for e in kernel.threads for x in ir.subexprs(e) if isinstance(x, ir.Var)}
    used |= trip_names(kernel)
    names = tuple(p.name for p in kernel.params if p.name in used)
    if len(_SIZING) >= 1024:
        _SIZING.clear()
    _SIZING[id(kernel)] = (kernel, names)  # the kernel kept: its id is not reused
    return names


_SIZING: dict[int, tuple] = {}


class PlanFollower:
    """Decisions for a run's placeable statements from as few plans as the run allows.

    Args:
        planner: a ``planner.program.Planner`` of the running program.

    Attributes:
        plans: how many times the program ahead was planned (for tests and benchmarks: at
            most one per state the plan did not foresee, and one per :data:`AHEAD`
            statements unlike any decided before).
        generation: a number that changes whenever the decisions taken so far stop
            standing (a surprise, a HYBRID split that lost): a caller that keeps
            decisions (a host loop's, once per residency state) keys them with it.
        contradicted: a decision's measured time was longer than another device's
            predicted time and :data:`SURPRISE` times its own (its kernel's first run
            included), or a split lost: the choice
            may have been wrong, so a caller that keeps decisions beyond a run
            (``host/program_memo``) plans the next run anew, with what the history
            learned.
    """

    def __init__(self, planner):
        self.planner = planner
        self.plans = 0
        self._ahead: dict[int, tuple] = {}  # index -> (makes its Decision, residency)
        self._expected: dict[int, tuple] = {}
        self._seen: set[tuple[str, str]] = set()  # (kernel, device) measured once
        self._surprised: set[tuple[str, str]] = set()
        self._alike: dict[tuple, list] = {}  # key -> [decision, id(stmt), teaching left]
        self.generation = 0
        self.contradicted = False  # a measured time says another device may have won
        self.forgoing = False  # a decision taken forwent an unbuilt device (Decision.forgoes)

    def alike(self, stmt: ir.Stmt, key: tuple) -> Decision | None:
        """The decision taken for a statement alike to ``stmt`` in the same state, as
        ``stmt``'s own (a copy, with its line and text), or None if none was taken since
        the last surprise. ``key`` is what the decision depends on besides the program
        ahead: the statement's signature (kernel and arrays, or operation), the residency
        state and the array shapes, and the launch-sizing scalars (the caller's; any
        hashable value that is equal exactly when those are). The first :data:`TEACHING`
        statements that share a decision teach the history their measured times, the
        others only record them (``Decision.teaches``)."""
        found = self._alike.get(key)
        if found is None:
            return None
        decision, stmt_id, left = found
        if stmt_id == id(stmt):
            return decision
        found[2] = left - 1
        return decision.for_statement(stmt.span.line, self.planner.text(stmt), left > 0)

    def decide(self, stmt: ir.Stmt, values: dict, where: dict, sizing: tuple,
               key: tuple | None = None) -> Decision:
        """The decision for placeable ``stmt``, reached with ``values`` (the run's names),
        ``where`` (array name -> places holding its current contents) and ``sizing`` (the
        values of :func:`sizing_params` for a ``RUN``; ``()`` otherwise); with ``key``
        (see :meth:`alike`), statements alike take it from then on."""
        index = self.planner.position(stmt)
        planned = self._ahead.get(index)
        expected = self._expected.get(index)
        if planned is None or expected is None or expected[1] != sizing \
                or expected[0] != array_shapes(values) \
                or any(frozenset(p) != planned[1].get(n) for n, p in where.items()):
            self.plans += 1
            self._ahead = self.planner.plan_ahead(index, values, where, AHEAD)
            self._expected = dict(self.planner.expected)
            planned = self._ahead[index]
        decision = planned[0]()
        self.forgoing = self.forgoing or bool(decision.forgoes)
        if decision.line != stmt.span.line:  # planned as the statement alike before it
            decision = decision.for_statement(stmt.span.line, self.planner.text(stmt))
        if key is not None:
            if len(self._alike) >= ALIKE_LIMIT:
                self._alike.clear()
            self._alike[key] = [decision, id(stmt), TEACHING - 1]
        return decision

    def forget(self) -> None:
        """Drop the plan ahead and the decisions kept for statements alike."""
        self._ahead = {}
        self._alike.clear()
        self.generation += 1

    def measured(self, decision: Decision) -> None:
        """``decision`` has its measured time: forget the plan ahead and the decisions
        taken (:meth:`forget`) if the measurement contradicts the prediction the first
        time for its kernel and device, or if it was a HYBRID split that lost to the
        best device alone."""
        predicted = decision.predicted.get(decision.device)
        if not predicted or not decision.measured or not decision.fingerprint \
                or not decision.teaches:
            return
        alone = [t for d, t in decision.predicted.items() if "+" not in d]
        if "+" in decision.device and alone and decision.measured > min(alone):
            self.contradicted = True
            self.forget()  # a split that lost: withdrawn (Decision.learn), not repeated
            return
        others = [t for d, t in decision.predicted.items() if d != decision.device]
        if others and decision.measured > max(min(others), SURPRISE * predicted):
            # another device was predicted faster than this ran, and this ran far slower
            # than predicted (first runs included): a step that ran as predicted was
            # chosen knowing the others' predictions (for the steps after it, perhaps: a
            # first RUN that copies its data to the GPU), and contradicts nothing
            self.contradicted = True
        ratio = predicted / decision.measured
        key = (decision.fingerprint, decision.device)
        if key not in self._seen:  # its first run: first-use costs
            self._seen.add(key)
            return
        if (ratio > SURPRISE or ratio < 1 / SURPRISE) and key not in self._surprised:
            self._surprised.add(key)
            self.forget()


ALIKE_LIMIT = 4096  # decisions kept for statements alike


def array_shapes(values: dict) -> dict[str, tuple]:
    """Each array's (shape, dtype string) among ``values``."""
    return {n: (v.shape, v.dtype.str) for n, v in values.items() if isinstance(v, np.ndarray)}
