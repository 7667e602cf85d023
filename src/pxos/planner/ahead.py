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
"""

from __future__ import annotations

import numpy as np

from pxos.ir import nodes as ir
from pxos.planner.decision import Decision

SURPRISE = 2.0


def sizing_params(kernel: ir.Kernel) -> tuple[str, ...]:
    """The scalar parameters of ``kernel`` that its thread counts are computed from
    (remembered per kernel object: the planner asks at every step of a dry run)."""
    found = _SIZING.get(id(kernel))
    if found is not None and found[0] is kernel:
        return found[1]
    used = {x.name for e in kernel.threads for x in ir.subexprs(e) if isinstance(x, ir.Var)}
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
        plans: how many times the rest of the program was planned (for tests and
            benchmarks: at most one per state the plan did not foresee).
    """

    def __init__(self, planner):
        self.planner = planner
        self.plans = 0
        self._ahead: dict[int, tuple] = {}  # index -> (makes its Decision, residency)
        self._expected: dict[int, tuple] = {}
        self._seen: set[tuple[str, str]] = set()  # (kernel, device) measured once
        self._surprised: set[tuple[str, str]] = set()

    def decide(self, stmt: ir.Stmt, values: dict, where: dict, sizing: tuple) -> Decision:
        """The decision for placeable ``stmt``, reached with ``values`` (the run's names),
        ``where`` (array name -> places holding its current contents) and ``sizing`` (the
        values of :func:`sizing_params` for a ``RUN``; ``()`` otherwise)."""
        index = self.planner.position(stmt)
        planned = self._ahead.get(index)
        expected = self._expected.get(index)
        if planned is None or expected is None or expected[1] != sizing \
                or expected[0] != array_shapes(values) \
                or any(frozenset(p) != planned[1].get(n) for n, p in where.items()):
            self.plans += 1
            self._ahead = self.planner.plan_ahead(index, values, where)
            self._expected = dict(self.planner.expected)
            planned = self._ahead[index]
        return planned[0]()

    def measured(self, decision: Decision) -> None:
        """``decision`` has its measured time: forget the plan ahead if the measurement
        contradicts the prediction the first time for its kernel and device."""
        predicted = decision.predicted.get(decision.device)
        if not predicted or not decision.measured or not decision.fingerprint:
            return
        ratio = predicted / decision.measured
        key = (decision.fingerprint, decision.device)
        if key not in self._seen:  # its first run: first-use costs
            self._seen.add(key)
            return
        if (ratio > SURPRISE or ratio < 1 / SURPRISE) and key not in self._surprised:
            self._surprised.add(key)
            self._ahead = {}


def array_shapes(values: dict) -> dict[str, tuple]:
    """Each array's (shape, dtype string) among ``values``."""
    return {n: (v.shape, v.dtype.str) for n, v in values.items() if isinstance(v, np.ndarray)}
