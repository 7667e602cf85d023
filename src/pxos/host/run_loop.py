"""A `.px` host loop of RUN statements, launched from C once its launches repeat.

Through ``ProgramRun.execute`` a RUN in a host loop costs a few Python calls beyond its
launch (the statement's step, the residency, the interrupt marker: about 2 µs on ``c``),
where the launch itself, through its native launcher (``host/native_call``), costs a
tenth of that. Once every statement of a ``FOR`` body is a RUN whose native launch
repeats one argument tuple (:meth:`RunLaunch.repeated_args <host.run_launch>`: constant
scalars, and the same host arrays, current on the host), the loop's remaining iterations
run in the helper's ``repeat`` (``native_loop.h``): per launch the interrupt marker
(``host/interrupt``), the launch, and its :class:`Step <host.steps>`, in C.

Taken only where nothing but the launches happens between them: no listener (a profile
sees the general path), no RUN argument that reads a name (so none reads the loop
variable), and a pinned device or planner decisions that stand (see :func:`_launches`).
"""

from __future__ import annotations

from typing import Callable, Sequence

from pxos import events
from pxos.host.interrupt import NOW
from pxos.host.native_call import FAULTED, NOT_TAKEN, loaded
from pxos.host.residency import NO_TRANSFERS
from pxos.host.steps import Step
from pxos.ir import nodes as ir

WARM = 2  # iterations the general path runs first: the launch prepared, then its tuple


def native_iterations(run, body: Sequence[ir.Stmt], count: int,
                      at: Callable[[int], None]) -> tuple[int, int]:
    """Run up to ``count`` iterations of host-loop ``body`` natively, where it can.

    Args:
        run: the ``ProgramRun``.
        at: sets the loop variable to its ``i``-th value of these iterations (called for
            the iteration that ends the native part, also when it raises).

    Returns:
        ``(i, j)``: the native part ran iterations ``0 .. i-1`` and statements ``0 ..
        j-1`` of iteration ``i``; the caller runs the rest the general way (``(0, 0)``:
        nothing ran natively).

    Raises:
        PxBoundsError, PxFaultError: as a RUN; KeyboardInterrupt between launches.
    """
    launches = _launches(run, body)
    if launches is None or count <= 0:
        return 0, 0
    steps = run.steps
    before = len(steps)
    i = j = status = None
    try:
        i, j, status = loaded().repeat(launches, count, steps, Step, NOW, "RUN",
                                       NO_TRANSFERS)
    finally:
        if i is None:  # raised before a launch (native_loop.h): that launch's iteration
            i = (len(steps) - before) // len(body)
        at(min(i, count - 1))
        _teach(run, steps, before, launches)
    if status == FAULTED:
        stmt, decision = launches[j][2], launches[j][5]
        prepared = run._run_launches[(id(stmt), _key_device(run, decision))]
        prepared.backend.check_fault(prepared.compiled)  # raises PxFaultError
    return (i, j) if status == NOT_TAKEN else (count, 0)


def _teach(run, steps: list, before: int, launches: tuple) -> None:
    """Teach the planner from the native part's first steps (``steps[before:]``) until
    each decision of ``launches`` (``_launches``) is settled: a decision goes native
    once it has taught (``Decision.taught``), and settles after ``TAUGHT`` times."""
    left = {id(d): d for *_, d in launches if d is not None and not d.settled}
    for step in steps[before:]:
        if not left:
            return
        decision = left.get(id(step.decision))
        if decision is not None:
            run._learn(decision, step.seconds)
            if decision.settled:
                del left[id(decision)]


def prepare(run, body: Sequence[ir.Stmt]) -> None:
    """After a first iteration of host-loop ``body`` (which prepared its launches), make
    each RUN's native launcher at once (a loop runs it again: ``RunLaunch.go_native``)."""
    for stmt, step in _last_steps(run, body) or ():
        prepared = run._run_launches.get((id(stmt), _key_device(run, step.decision)))
        if prepared is not None:
            prepared.go_native()


def _key_device(run, decision) -> str:
    """The device part of a prepared launch's key (``ProgramRun._run``'s): the device
    the planner chose, else ``--device``."""
    return decision.device if decision is not None else run.device


def _last_steps(run, body: Sequence[ir.Stmt]) -> list | None:
    """``(stmt, its step)`` for each statement of ``body`` from the iteration that just
    ran (the last steps of the run), or None where they are not that iteration's."""
    steps = run.steps[-len(body):]
    if len(steps) != len(body) or any(s.span is not stmt.span
                                      for s, stmt in zip(steps, body)):
        return None
    return list(zip(body, steps))


def _launches(run, body: Sequence[ir.Stmt]) -> tuple | None:
    """Per statement ``(launcher, args, stmt, span, device, decision)`` for ``repeat``,
    or None where the loop cannot go native.

    With the planner consulted (``--device auto`` or ``--explain``), each statement
    repeats the decision of the iteration before it: the planner would give it again,
    since its key (the statement, the residency state, the sizing scalars, the
    follower's generation: ``host/program_plan``) stays while nothing moves and nothing
    is learned: taken only where each decision has taught once already (at a launch in
    its final form: what it teaches after that, from the native part's steps, moves
    the history's medians, not the choice) and the residency's version is the one the
    launches' tuples were made at.
    """
    if events.LISTENERS or loaded() is None:
        return None
    last = _last_steps(run, body)
    if last is None:
        return None
    out = []
    for stmt, step in last:
        decision = step.decision
        if type(stmt) is not ir.Run or (decision is None) != run._pinned or (
                decision is not None and (not decision.taught
                                          or decision.device != step.device)):
            return None
        prepared = run._run_launches.get((id(stmt), _key_device(run, decision)))
        args = None if prepared is None else prepared.repeated_args(run.residency)
        if args is None:
            return None
        out.append((prepared.native, args, stmt, stmt.span, prepared.name, decision))
    return tuple(out)
