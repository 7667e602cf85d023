"""Running a `.px` program: host statements top to bottom, kernels on their backend.

:class:`ProgramRun` holds the program's names (scalars, and arrays through ``host/residency``,
which keeps each array where it was last written until another device or a host statement
needs it), runs each statement and records it (:class:`Step`: statement, device, seconds,
transfers) for the command line's report."""

from __future__ import annotations

from time import perf_counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pxos import backends, events
from pxos.backends.base import HOST
from pxos.backends.checked import checked_by_default
from pxos.errors import PxBackendError, PxRuntimeError, PxTypeError
from pxos.host.control import HostControl
from pxos.host.data_statements import DataStatements
from pxos.host.files import FileAccess
from pxos.host.pipeline_run import PipelineStatements
from pxos.host.pipeline_stream import StreamStatements
from pxos.host.program_memo import memo_for
from pxos.host.program_plan import PlannedStatements
from pxos.backends.hybrid import cut, hybrid_parts, run_split
from pxos.host.interrupt import LEFT, NOW
from pxos.host.launch_threads import thread_counts_of
from pxos.backends.library import reduce_array, sort_array
from pxos.host.residency import NO_TRANSFERS, Residency, Transfers
from pxos.host.run_launch import RunLaunch, observed_launch
from pxos.host.steps import Step
from pxos.ir import nodes as ir
from pxos.ir.analysis.bounds import launch_checker
from pxos.ir.analysis.features import MAX_ELEMENTS, launch_threads
from pxos.ir.analysis.split import elementwise
from pxos.ir.check import assignable
from pxos.ir.check_host import check_launch
from pxos.ir.evaluate import eval_scalar
from pxos.ir.typecheck import ExprTyper, convert_value
from pxos.ir.types import Array, scalar_of_dtype


_HANDLERS: dict[type, str] = {}  # statement class -> ProgramRun method name
_PLACEABLE = (ir.Run, ir.Reduce, ir.Sort)  # statements the planner places
_new = tuple.__new__  # a Step without its Python __new__: 0.25 µs less per statement


@dataclass
class ProgramRun(HostControl, DataStatements, PipelineStatements, StreamStatements,
                 PlannedStatements):
    """Executes a checked program.

    Args:
        program: from ``ir.check_host.check_program``.
        device: ``auto``, ``c``, ``interp``, ``cuda`` or ``opencl`` (``--device``).
        allow: extra folders the program may read and write (``--allow-path``).
        emit: where PRINT output goes (a function of one string).
        checked: bounds-check every array access in kernels (``--checked``).
        explain: have the planner predict every placeable statement even when ``device``
            pins it, and record the measured times (``pxos run --explain``).

    Attributes:
        values: scalars by name, and each array's host array (its shape and dtype; the
            contents are current only where ``residency`` says so).
        residency: where each array's current contents are; ``residency.transfers``
            counts the copies made.
    """

    program: ir.Program
    device: str = "auto"
    allow: list[Path] = field(default_factory=list)
    emit: Callable[[str], None] = print
    checked: bool = False
    explain: bool = False
    values: dict[str, object] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def __post_init__(self):
        self.checked = self.checked or checked_by_default()  # PXOS_CHECKED=1
        self._pinned = self.device != "auto" and not self.explain  # no planner consulted
        self._files = None  # FileAccess, made at the first file statement (files)
        self.residency = Residency(backends.get)
        self._version = self.residency.changes  # [its version] (execute)
        self.planner, self._decision = None, None
        memo = self._memo = memo_for(self.program)  # what earlier runs made (program_memo)
        self._plans, self._last = {}, {}  # decisions by (id, state, sizing, …), by id (plan)
        self._state_at: tuple = (None, 0)  # (residency version, its state's number)
        self._states: dict[tuple, int] = {}  # residency state and shapes -> its number
        self.nonces: dict[tuple, int] = {}  # (cipher, key hash, nonce) -> first ENCRYPT line
        (self._signatures, self._sizing_of, self._counts, self._launches_checked, self._reads,
         self._typed, self._constants, self._keywords, self._kernels) = (
            memo.signatures, memo.sizing, memo.counts, memo.checked_launches, memo.reads,
            memo.typed, memo.constants, memo.keywords, memo.kernels)  # (host/program_memo)
        self._run_launches = memo.launches_for(self.checked)  # (id(RUN), device) -> prepared

    def run(self) -> "ProgramRun":
        """Run every host statement in order.

        Raises:
            PxError: the first failing statement, with its span; earlier outputs stay
                written, nothing half-written is left.
        """
        try:  # (the planner's history is written by planner/history, once a second at most)
            self._block(self.program.statements)
            self._owe_builds()  # (host/program_plan)
        finally:
            self._memo.release()  # the launches' argument tuples hold this run's arrays
        return self

    @property
    def files(self) -> FileAccess:
        """Where the program's file statements read and write (``host/files``), made at
        the first use (resolving the folders costs 70 µs; a program without files skips it)."""
        if self._files is None:
            self._files = self._memo.file_access(self.program.file, self.allow)
        return self._files

    @property
    def decisions(self) -> list:
        """The planner's decisions for the statements run so far, with measured times."""
        return [s.decision for s in self.steps if s.decision is not None]

    def execute(self, stmt: ir.Stmt) -> Step:
        """Run one host statement of the program and record it as a :class:`Step`.

        Raises:
            PxError: the statement failed (see :meth:`run`).
        """
        placeable = type(stmt) in _PLACEABLE
        decision = None
        if placeable and not self._pinned:  # its last decision, where it stands (_plan)
            last, at = self._last.get(id(stmt)), self._state_at
            decision = last[2] if last is not None and at[0] == self._version[0] \
                and last[0] == at[1] and last[1] == self.follower.generation \
                else self._plan(stmt)
        self._decision = decision
        if type(stmt) is ir.Run:
            step = self._native_run(stmt, decision)
            if step is not None:
                return step
        moved = self.residency.transfers
        ups, downs = moved.to_device, moved.to_host
        before = (ups, downs, moved.bytes_to_device, moved.bytes_to_host)
        handler = _HANDLERS.get(type(stmt)) or _HANDLERS.setdefault(
            type(stmt), "_" + type(stmt).__name__.lower())
        NOW[0] = stmt if placeable else None  # Ctrl-C mid-kernel: host/interrupt
        t0 = perf_counter()
        try:
            device = getattr(self, handler)(stmt) or "host"
        except KeyboardInterrupt:
            LEFT[0] = NOW[0]  # (the watcher may not have seen it: host/interrupt)
            raise
        except MemoryError as err:  # NumPy's; CuPy's OutOfMemoryError is one too
            raise PxRuntimeError(f"{ir.keyword(stmt)}: out of memory ({err})", stmt.span) from None
        finally:
            NOW[0] = None
        seconds = perf_counter() - t0
        what = self._keywords.get(id(stmt)) or self._keywords.setdefault(
            id(stmt), ir.keyword(stmt))
        if ups == moved.to_device and downs == moved.to_host:  # (bytes move with counts)
            transfers = NO_TRANSFERS
        else:
            after = (moved.to_device, moved.to_host, moved.bytes_to_device,
                     moved.bytes_to_host)
            transfers = Transfers(*(a - b for a, b in zip(after, before)))
        step = _new(Step, (stmt.span, what, device, seconds, transfers,
                           decision or self._decision))  # ENCRYPT, HASH, COMPRESS place themselves
        self.steps.append(step)
        if decision is not None and not decision.settled and decision.device == device:
            launch = self._run_launches.get((id(stmt), device)) \
                if type(stmt) is ir.Run else None
            self._learn(decision, seconds, launch is not None and launch.warming)
        return step

    def _native_run(self, stmt: ir.Run, decision) -> Step | None:
        """A ``RUN`` whose launch on its device (``decision``'s, else ``--device``) has a
        native launcher (``host/run_launch``), run and recorded without the general path: a
        host loop's launch. None: nothing ran (not prepared, a profiler listening, or the
        launcher did not take it).

        Raises:
            PxBoundsError, PxFaultError: as ``RunLaunch.native_launch``.
        """
        prepared = self._run_launches.get(
            (id(stmt), decision.device if decision is not None else self.device))
        if prepared is None or prepared.native is None or events.LISTENERS:
            return None
        NOW[0] = stmt  # Ctrl-C mid-kernel: host/interrupt
        t0 = perf_counter()
        try:
            transfers = prepared.native_launch(self, stmt)
        except KeyboardInterrupt:  # the watcher may not have seen it (host/interrupt)
            LEFT[0] = stmt
            raise
        finally:
            NOW[0] = None
        seconds = perf_counter() - t0
        if transfers is None:
            return None
        step = _new(Step, (stmt.span, "RUN", prepared.name, seconds, transfers, decision))
        self.steps.append(step)
        if decision is not None and not decision.settled:
            self._learn(decision, seconds)
        return step

    def device_array(self, name: str, memory: str = "cuda"):
        """Array ``name`` in device ``memory`` (a CuPy array for ``cuda``: it shares its
        memory with CuPy, and with PyTorch through ``torch.from_dlpack``, without copies).
        Changes made to it are seen by the program only through :meth:`mark_written`."""
        return self.residency.on_device(memory, name)

    def mark_written(self, name: str, memory: str) -> None:
        """Array ``name`` was changed in place in ``memory`` (e.g. through
        :meth:`device_array`)."""
        self.residency.written(name, memory)

    # -- values
    def _type_of(self, name: str):
        v = self.values.get(name)
        if v is None:
            return None
        t = scalar_of_dtype(np.asarray(v).dtype)
        return Array(t, v.ndim) if isinstance(v, np.ndarray) else t

    def typed(self, e: ir.Expr) -> ir.Expr:
        """A host expression typed against the current values (typed once per set of
        types of the names it reads: a host loop re-types nothing)."""
        names = self._reads.get(id(e))
        if names is None:
            names = self._reads[id(e)] = tuple(dict.fromkeys(
                x.name if isinstance(x, ir.Var) else x.array for x in ir.subexprs(e)
                if isinstance(x, (ir.Var, ir.Load, ir.Dim))))
        key = (id(e), tuple(self._type_of(n) for n in names))
        found = self._typed.get(key)
        if found is None:
            found = self._typed[key] = ExprTyper(self._type_of, builtins=False).scalar(e)
        return found

    def evaluate(self, e: ir.Expr) -> np.generic:
        """Type and evaluate a host expression with the current values (a scalar name is
        its value; an expression that reads no name is evaluated once)."""
        if type(e) is ir.Var:
            value = self.values.get(e.name)
            if isinstance(value, np.generic):
                return value
        value = self._constants.get(id(e))
        if value is not None:
            return value
        typed = self.typed(e)
        value = eval_scalar(typed, self._current(typed))
        if not self._reads[id(e)]:
            self._constants[id(e)] = value
        return value

    def _current(self, e: ir.Expr) -> dict:
        """The values, with the host contents of every array ``e`` reads made current."""
        for x in ir.subexprs(e):
            if isinstance(x, ir.Load) and x.array in self.residency:
                self.residency.on_host(x.array)
        return self.values

    def _converted(self, e: ir.Expr, to, what: str, span) -> np.generic:
        """``e`` evaluated and converted for storing into ``what`` of type ``to``
        (``ir.check.assignable``'s rules: no silent float-to-integer conversion)."""
        typed = assignable(self.typed(e), to, what, span)
        return to.dtype.type(eval_scalar(typed, self._current(typed)))

    def array(self, name: str, span, overwrite: bool = False) -> np.ndarray:
        """The host array of ``name`` with current contents; with ``overwrite``, the
        caller replaces every element, so nothing is copied back and other copies become
        stale.

        Raises:
            PxTypeError: ``name`` is not an array.
        """
        v = self.values.get(name)
        if not isinstance(v, np.ndarray):
            raise PxTypeError(f"{name!r} is not an array", span)
        if overwrite:
            self.residency.written(name, HOST)
            return v
        return self.residency.on_host(name)

    def _define_array(self, name: str, arr: np.ndarray, span, zeros: bool = False) -> None:
        if arr.size > MAX_ELEMENTS:
            raise PxRuntimeError(f"{name!r} would hold {arr.size} elements; at most "
                                 f"{MAX_ELEMENTS} are supported", span)
        self.values[name] = np.ascontiguousarray(arr)
        self.residency.define(name, self.values[name], zeros)

    # -- statements (the data statements: host/data_statements)
    def _run(self, s: ir.Run) -> str:
        kernel = self.kernel(s.kernel)  # (a native launch ran in execute: _native_run)
        args = [self._operand(a, where=None) for a in s.args]
        types = (id(s),) + tuple((a.dtype, a.ndim) if isinstance(a, np.ndarray) else type(a)
                                 for a in args)
        if types not in self._launches_checked:  # check_launch looks at types only
            check_launch(kernel, args, s.span, [a.span for a in s.args])
            self._launches_checked.add(types)
        args = [a if isinstance(p.type, Array) or type(a) is p.type.dtype.type else
                p.type.dtype.type(convert_value(np.asarray(a).item(), p.type))
                for a, p in zip(args, kernel.params)]
        name = (self._decision.device if self._decision is not None
                else backends.choose(self.device, kernel.target))
        threads = self._threads(kernel, args, s.span)
        if hybrid_parts(name):
            if not self.checked:
                launch_checker(kernel)(args, threads)  # refuse a launch out of bounds
            return self._run_split(s, kernel, args, name, threads)
        if events.LISTENERS:  # profiled (pxos profile): compile and launch events
            observed_launch(self, s, kernel, args, name, threads)
            return name
        key = (id(s), self._decision.device if self._decision is not None else self.device)
        prepared = self._run_launches.get(key)  # host/run_launch
        if prepared is None:
            prepared = self._run_launches[key] = RunLaunch(s, kernel, name, self.checked)
        prepared.launch(self.residency, args, threads)
        return name

    def _run_split(self, s: ir.Run, kernel: ir.Kernel, args: list, name: str,
                   threads: list[int]) -> str:
        """HYBRID (``backends/hybrid``): the planner's share of the elements on the CPU
        backend, the rest on the device; the results end on the host."""
        if not elementwise(kernel):
            raise PxBackendError(f"kernel {kernel.name!r} cannot be split between two "
                                 "devices: only an elementwise kernel can (one thread per "
                                 "element, each touching only its own element)", s.span)
        est = self._decision.estimates.get(name) if self._decision is not None else None
        share = est.split if est is not None and est.split is not None else 0.5
        host = [self.residency.on_host(a.name) if isinstance(p.type, Array) else v
                for a, v, p in zip(s.args, args, kernel.params)]
        cpu, device = hybrid_parts(name)
        mark = events.begin("launch", kernel.name, name, s.span, {
            "kernel": kernel, "args": host, "threads": threads,
            "decision": self._decision}) if events.LISTENERS else None
        run_split(kernel, host, cut(threads[0], share), cpu, device, self.checked,
                  self.residency.transfers)
        if mark is not None:
            events.end(mark)
        access = dict(kernel.access)
        for a, p in zip(s.args, kernel.params):
            if "w" in access.get(p.name, ""):
                self.residency.written(a.name, HOST)
        return name

    def _threads(self, kernel: ir.Kernel, args: list, span) -> list[int]:
        """The launch's thread counts, computed as a Python call's are (``host/pykernel``:
        a Python expression made once per kernel: ``host/launch_threads``), refused as
        ``launch_threads`` does."""
        count = self._counts.get(kernel.name)
        if count is None:
            count = self._counts[kernel.name] = thread_counts_of(kernel)
        threads = list(count(args))
        total = 1
        for n in threads:
            total *= n
        if total > MAX_ELEMENTS or any(n < 0 for n in threads):
            return launch_threads(kernel, {p.name: a for p, a in zip(kernel.params, args)},
                                  span)  # raises, with the interpreter's counts
        return threads

    def _source(self, name: str, span, side: str):
        if side == HOST:
            return self.array(name, span)
        if not isinstance(self.values.get(name), np.ndarray):
            raise PxTypeError(f"{name!r} is not an array", span)
        return self.residency.on_device(side, name)

    def _reduce(self, s: ir.Reduce):
        side = self._library_side()
        self.values[s.result] = reduce_array(s.op, self._source(s.source, s.span, side),
                                             s.span)
        return side

    def _sort(self, s: ir.Sort):
        side = self._library_side()
        result = sort_array(self._source(s.source, s.span, side), s.span)
        if side == HOST:
            self._define_array(s.result, result, s.span)
        else:
            self._define_array(s.result, np.empty(result.shape, result.dtype), s.span)
            self.residency.adopt(s.result, side, result)
        return side

def run_program(program: ir.Program, **options) -> ProgramRun:
    """Run a checked program (see :class:`ProgramRun` for the options)."""
    return ProgramRun(program, **options).run()

