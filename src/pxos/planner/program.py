"""Placing a whole program: every statement on a device, with residency.

Each placeable statement (``RUN``, ``REDUCE``, ``SORT``) has candidate devices; every
other statement runs on the host. A placement's cost is its predicted time
(``planner/model``) including the copies it causes, which depend on where earlier
statements left each array. The planner searches placements statement by statement,
keeping for each distinct residency state (which places hold each array's current
contents) the cheapest way to reach it, so a chain of GPU statements keeps its data on the
GPU, and one cheap step is not sent to another device if the copies there and back cost
more than it saves. States beyond :data:`BEAM` are pruned, cheapest kept.

A run plans the rest of the program once and follows that plan while the run stays where
the plan expected it to be (``planner/ahead``); it plans again from its real state, with
the sizes it now knows, only where the run leaves the plan (model-predictive control,
re-planned on events rather than at every step), so planning stays linear in the length
of the program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np

from pxos import backends, registry
from pxos.backends.base import HOST
from pxos.ir import nodes as ir
from pxos.planner.ahead import array_shapes, sizing_params
from pxos.planner.costs import ZEROS, StepCosts, features_of, statement_key
from pxos.planner.calibration import (
    CUDA_LIBRARY, Machine, complete, machine as this_machine,
)
from pxos.planner.decision import Decision
from pxos.planner.dryrun import DryRun, Step
from pxos.planner.history import History, fingerprint, history_for
from pxos.ir.analysis.split import elementwise
from pxos.planner.hybrid import hybrid_pair, memory_of, split_pays
from pxos.planner.model import Estimate
from pxos.planner.alike import planner_line
from pxos.planner.order import weight
from pxos.planner.reason import explain_choice, host_reason

BEAM = 16
HORIZON = 64  # statements an explanation's "what the other choice costs" looks ahead


@dataclass
class _Path:
    cost: float
    where: dict[str, frozenset]
    choices: list = field(default_factory=list)  # (device, estimates, copies) per step
    built: frozenset = frozenset()  # (device, id(kernel)) whose build the path paid

    def key(self):
        return frozenset(self.where.items())


class Planner(StepCosts):
    """Plans a program's statements (see the module docstring).

    Args:
        program: from ``ir.check_host.check_program``.
        device: ``--device``: ``auto`` lets the model choose; a backend name pins kernels
            (and library operations, to ``cuda`` when it is ``cuda``, else to the host).
        machine: calibrated figures (default: this machine's, calibrated on first use).
        history: corrections learned from runs (default: this machine's).
        checked: kernels are built with bounds checks (a different compiled kernel).
        files: where ``READ_FILE`` looks, for the shapes of the files it reads (the run's
            ``host.files.FileAccess``); None: those shapes are unknown until the run.
    """

    def __init__(self, program: ir.Program, device: str = "auto",
                 machine: Machine | None = None, history: History | None = None,
                 checked: bool = False, files=None):
        self.program = program
        self.device = device
        self.machine = machine or this_machine()
        if self.machine.pending:  # measure the candidates calibration left for later
            complete(self.machine, None if device == "auto" else [device, CUDA_LIBRARY])
        self.history = history if history is not None else history_for(self.machine.key)
        self.checked = checked
        self.files = files
        self.kernel_devices = backends.auto_candidates(
            registry.compiling(self.machine.present())) or [registry.interpreter()]
        self.library_sides = [s for s in registry.library_sides() if s in self.machine.library]
        self._built: dict = {}
        self._pair: tuple | None = None  # the HYBRID pair offered, () for none; see _hybrid
        self._works: dict = {}  # (kernel id, sizes, trip scalars) -> (kernel, Work)
        self._threads: dict = {}  # a launch's thread counts (planner/dryrun), all plans
        self._reasons: dict = {}  # see _explained
        self._unbuilt: set = set()  # (device, id(kernel)) found not built, this plan
        self._estimates: dict = {}  # (step index, device, copies) -> Estimate, this plan
        self._nbytes: dict = {}
        self.expected: dict[int, tuple] = {}  # see steps()
        self._lines = program.source.splitlines() if program.source else []
        self.entries, self._positions = planner_line(program)

    def position(self, stmt: ir.Stmt) -> int:
        """Where ``stmt`` first stands in the planner's line (``planner/order``; a
        statement alike to the one before it stands with it: ``planner/alike``)."""
        return self._positions[id(stmt)]

    # -- candidates
    def options(self, step: Step) -> tuple[list[str], str | None]:
        """(candidate devices, what pinned them or None) for one statement."""
        if step.kind == "run":
            if self.device != "auto":
                return [self.device], f"--device {self.device}"
            target = step.kernel.target
            if target in registry.device_backends():
                return [target], f"GPU_TARGET {target}"
            if target == "cpu":
                cpu = [d for d in self.kernel_devices if not self.machine.is_gpu(d)]
                return cpu[:1] or [registry.interpreter()], "GPU_TARGET cpu"
            return list(self.kernel_devices) + self._hybrid(step), None
        if step.kind in ("reduce", "sort"):
            if self.device != "auto":
                side = registry.library_side(self.device)
                return [side], f"--device {self.device}"
            return list(self.library_sides), None
        return [HOST], None

    def _hybrid(self, step: Step) -> list[str]:
        """``["c+cuda"]`` where a HYBRID split may pay: an elementwise kernel, a CPU
        backend and a device with its own memory, unchecked (see ``planner/hybrid``)."""
        if self._pair is None:  # the machine and candidates are the planner's for life
            found = hybrid_pair(self.machine, self.kernel_devices)
            self._pair = (found if found is not None and split_pays(self.machine, found)
                          else ())
        pair = self._pair
        if not pair or self.checked \
                or not elementwise(step.kernel) \
                or not all(isinstance(a, np.ndarray) and a.ndim == 1
                           and len(a) == step.threads[0] for a in step.args.values()
                           if hasattr(a, "ndim") and a.ndim):
            return []
        return [f"{pair[0]}+{pair[1]}"]

    # -- search
    def text(self, stmt: ir.Stmt) -> str:
        """``stmt``'s line of source, stripped (its keyword where there is no source)."""
        return self._lines[stmt.span.line - 1].strip() if self._lines else ir.keyword(stmt)

    def steps(self, start: int = 0, values: dict | None = None,
              horizon: int | None = None) -> list[Step]:
        """The dry run of the statements from ``start`` on (``horizon`` of them at most;
        None: to the end)."""
        dry = DryRun(self.program, values, self.files, self._threads)
        self._unbuilt, self._estimates, self.expected = set(), {}, {}
        out = []
        stop = None if horizon is None else start + horizon
        for i, entry in enumerate(self.entries[start:stop], start):
            shapes = array_shapes(dry.values)
            step = dry.step(i, entry.stmt)
            if step.kind != "host" and step.known:  # what planner/ahead compares a run with
                self.expected[i] = (shapes, () if step.kind != "run" else tuple(
                    np.asarray(step.args[p]).item() for p in sizing_params(step.kernel)))
            step.weight = weight(entry, dry.trips)
            out.append(step)
        self._nbytes = {}
        for s in out:
            for name in s.reads:
                v = dry.values.get(name)
                if v is not None and hasattr(v, "nbytes"):
                    self._nbytes.setdefault(name, v.nbytes)
        return out

    def _search(self, steps: list[Step], where: dict, forced: dict | None = None) -> _Path:
        """The cheapest placement of ``steps`` from residency ``where`` (``forced``: step
        index -> the device it must take). A step's outcome from a state (its estimate,
        copies and the state after) is found once per state, statement signature
        (:func:`_signature`) and device: the many alike RUNs of a program (a
        Floyd–Warshall ``RUN fw d k`` per ``k``) share it (issue 14)."""
        paths = {None: _Path(0.0, dict(where))}
        seen: dict[tuple, tuple] = {}  # (state key, signature, device) -> outcome
        for step in steps:
            options, _ = self.options(step)
            if forced and step.index in forced:
                options = [forced[step.index]]
            sig = self._signature(step)
            new: dict = {}
            for state, path in paths.items():
                for device in options:
                    key = (state, sig, device if "+" not in device else (device, step.index))
                    found = seen.get(key)
                    if found is None:
                        found = seen[key] = self._outcome(step, path.where, device)
                    est, copies, after, after_key = found
                    cost, built = _step_cost(path, step, device, est)
                    if after_key not in new or new[after_key].cost > cost:
                        new[after_key] = _Path(cost, after, path.choices + [(device, est,
                                                                             copies)], built)
            paths = new if len(new) <= BEAM else \
                dict(sorted(new.items(), key=lambda kv: kv[1].cost)[:BEAM])
        return min(paths.values(), key=lambda p: p.cost)

    def _signature(self, step: Step) -> tuple:
        """What a step's outcome from a residency state depends on besides the device:
        for a known ``RUN``, its kernel, launch work and the arrays it touches (its
        estimate is one per kernel and work, ``StepCosts._estimate_once``); else the
        step itself."""
        if step.kind != "run" or not step.known:
            return ("step", step.index)
        return ("run", id(step.kernel), id(self._work(step)), tuple(step.reads),
                tuple(step.writes), tuple(step.overwrites), tuple(step.defines),
                tuple(step.zeros), tuple(step.swaps))

    def _outcome(self, step: Step, where: dict, device: str) -> tuple:
        """(estimate, copies, residency after, its key) of ``step`` on ``device`` from
        residency ``where`` (read, not changed)."""
        memory = memory_of(self.machine, device)
        copies = self._copies(where, step, memory)
        est = self._estimate_once(step, device, copies) if step.known else \
            Estimate(device, 0.0)
        after = dict(where)
        _apply(after, step, memory)
        return est, copies, after, frozenset(after.items())

    def plan(self, start: int = 0, values: dict | None = None,
             where: dict | None = None, first_only: bool = False) -> dict[int, Decision]:
        """Decisions for the statements from ``start`` on, by statement index.

        Args:
            values: the names defined so far (a run's; None at the start).
            where: for each array, the places holding its current contents (``host``,
                memory names, ``zeros``).
            first_only: explain only the decision for ``start`` (the rest of the program
                is still planned, to place ``start`` well).
        """
        ahead = self.plan_ahead(start, values, where)
        if first_only:
            ahead = {start: ahead[start]}
        return {i: decide() for i, (decide, _) in ahead.items()}

    def plan_ahead(self, start: int = 0, values: dict | None = None,
                   where: dict | None = None, horizon: int | None = None
                   ) -> dict[int, tuple[Callable[[], Decision], dict]]:
        """As :meth:`plan` (for ``horizon`` statements at most; None: to the end of the
        program), each decision as a function that makes it (explaining a choice
        costs more than making it; a run explains only the statements it reaches), with
        the residency the plan expects just before its statement (array name -> places).
        :attr:`expected` then holds, for each placeable statement whose sizes the dry run
        knew, the arrays' shapes and dtypes (:func:`array_shapes`) and the launch's sizing
        arguments the plan expects there."""
        steps = self.steps(start, values, horizon)
        where = {k: frozenset(v) for k, v in (where or {}).items()}
        best = self._search(steps, where)
        out: dict[int, tuple[Callable[[], Decision], dict]] = {}
        state = dict(where)
        for step, (device, est, copies) in zip(steps, best.choices):
            before = dict(state)
            out[step.index] = (partial(self._decide, steps, step, before, device, est,
                                       copies), before)
            _apply(state, step, memory_of(self.machine, device))
        return out

    def plan_statements(self) -> list[Decision]:
        """One decision per statement of the program, in source order (nested ones
        included): for a statement in a host loop, that of its steady-state iteration; for
        one alike to the statement before it, that statement's decision as its own."""
        decisions = self.plan()
        last = {}
        for i, e in enumerate(self.entries):
            if i in decisions:
                last[id(e.stmt)] = decisions[i]
                for s in e.alike:
                    last[id(s)] = decisions[i].for_statement(s.span.line, self.text(s))
        return [last[id(s)] for s in ir.walk(self.program.statements) if id(s) in last]

    def _decide(self, steps, step: Step, state, device, est, copies) -> Decision:
        s = step.stmt
        line, text = s.span.line, self.text(s)
        options, pin = self.options(step)
        if step.kind == "host":
            return Decision(line, text, HOST, {HOST: est.seconds}, {HOST: est},
                            host_reason(s, copies), False, {}, copies)
        if not step.known:
            return Decision(line, text, device, {}, {}, "sizes known only at run time: "
                            "planned when the statement is reached", pin is not None)
        local = {d: self._estimate_once(step, d, self._copies(state, step,
                                                              memory_of(self.machine, d)))
                 for d in options}
        local = {d: e for d, e in local.items() if e.seconds != float("inf")} or {device: est}
        saved = 0.0
        fastest = min(local, key=lambda d: local[d].seconds)
        if fastest != device:  # what the locally fastest choice would cost, looking ahead
            first = step.index - steps[0].index  # steps are consecutive from steps[0]
            ahead = steps[first:first + HORIZON]
            alt = self._search(ahead, state, {step.index: fastest})
            rest = self._search(ahead, state)
            saved = alt.cost - rest.cost
        reason, features = self._explained(step, device, local, pin, saved)
        predicted = dict(sorted(((d, e.seconds) for d, e in local.items()),
                                key=lambda kv: kv[1]))
        if step.kind == "run":
            key, n = fingerprint(step.kernel), self._work(step).threads
        else:
            key, n = f"{step.kind.upper()} {step.array.dtype}", int(step.array.size)
        kind = statement_key(step.kind, device)
        return Decision(line, text, device, predicted, local, reason, pin is not None,
                        features, copies, fingerprint=key, size=n, launch_key=kind,
                        forgoes=_forgone(local, device) if step.kind == "run" else ())

    def _explained(self, step: Step, device: str, local: dict, pin, saved: float):
        """(reason, features) of a decision: made once for the same launch work, candidate
        estimates, pin and saving (a program of many RUNs of one kernel at one size, as a
        Floyd–Warshall ``RUN fw d k`` per ``k``, words each decision alike). The features
        dict is shared by those decisions (read only)."""
        work = self._work(step) if step.kind == "run" else None
        key = (id(work), step.kind, device, pin, saved, tuple(
            (d, e.seconds, e.bound, e.split, e.work_s, e.overhead_s)
            for d, e in local.items()))
        found = self._reasons.get(key) if work is not None else None
        if found is not None and found[0] is work:
            return found[1], found[2]
        features = self._features(step)
        reason = explain_choice(self.machine, step, device, local, pin, saved, features,
                                list(self.kernel_devices))
        if work is not None:
            if len(self._reasons) >= 4096:
                self._reasons.clear()
            self._reasons[key] = (work, reason, features)  # work kept: its id stays its
        return reason, features

    def learn(self, decision: Decision, measured: float, checked: bool = False,
              warming: bool = False) -> None:
        """Record that ``decision``'s statement took ``measured`` seconds: sets
        ``decision.measured`` and, for an unchecked run (of a decision that teaches),
        updates the correction the model applies to this kernel on this device
        (``planner/history``). ``warming``: the statement's launch was not yet in its
        final form (prepared in that time, or through the Python way before its native
        launcher: ``host/run_launch.RunLaunch.warming``), which teaches no launch overhead
        and a kernel's correction only from a long run (``History.learn``): on the H100
        machine, ``RUN``s on ``c`` that took 32–55 µs so, and 12 µs once native, taught
        ``c`` a correction of 3.2 and kept the program on ``cuda`` at 1.6× the time."""
        if checked or not decision.teaches:  # a checked kernel is another kernel
            decision.measured = measured
            return
        decision.learn(self.history, measured, warming)

    def _features(self, step: Step) -> dict:
        if step.kind == "run":
            w = self._work(step)
            f = w.as_dict()
            f["kernel"] = step.kernel.name
            f["accesses"] = [
                {"array": a.array, "kind": a.kind, "pattern": a.pattern, "stride": a.stride,
                 "line": a.span.line, "col": a.span.col}
                for a in features_of(step.kernel).accesses if not a.shared]
            f["shared_bytes"] = features_of(step.kernel).shared_bytes
            return f
        if step.kind in ("reduce", "sort"):
            return {"elements": int(step.array.size), "bytes": int(step.array.nbytes)}
        return {}


def _forgone(local: dict[str, Estimate], device: str) -> tuple:
    """``Decision.forgoes``: the devices of ``local`` (device -> estimate) not built yet
    that would beat ``device`` once built."""
    if device not in local:
        return ()
    chosen = local[device].steady_s
    return tuple((d, e.steady_s, e.compile_s) for d, e in local.items()
                 if e.compile_s and d != device and e.steady_s < chosen)


def _step_cost(path: _Path, step: Step, device: str, est: Estimate) -> tuple:
    """(the cost of ``path`` followed by ``step`` on ``device``, predicted ``est``; the
    builds paid on the way). A kernel not yet built on a device is built once: its first
    step there pays the build, the steps after it on the same path (and the copies a
    statement's weight stands for: its loop's iterations, the statements alike it) do not.
    Charged at every step, a build made a program of 200 ``RUN``s of one kernel pay it 200
    times in the plan, and kept it on whichever device it was first built for."""
    cost = path.cost + est.steady_s * step.weight
    if not est.compile_s:
        return cost, path.built
    key = (device, id(step.kernel))
    if key in path.built:
        return cost, path.built
    return cost + est.compile_s, path.built | {key}


def _apply(where: dict, step: Step, memory: str) -> None:
    """The residency after ``step`` ran with its data in ``memory``."""
    for name in step.reads:  # a copy is made (zeros are made in place) if needed
        where[name] = where.get(name, frozenset({HOST})) | {memory}
    for name in step.writes:
        where[name] = frozenset({memory})
    for name in step.overwrites:
        where[name] = frozenset({HOST})
    for name in step.zeros:
        where[name] = frozenset({HOST, ZEROS})
    for name in step.defines:
        where[name] = frozenset({memory if step.kind == "sort" else HOST})
    for a, b in step.swaps:
        where[a], where[b] = where.get(b, frozenset({HOST})), where.get(a, frozenset({HOST}))
