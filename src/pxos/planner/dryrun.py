"""A program's statements walked without running them, for planning.

The dry run keeps each name's type and shape: arrays are stand-ins that take no memory
(NumPy views with zero strides, so ``LEN``, shapes and ``nbytes`` are right), scalars are
evaluated where they can be (``SET n = LEN(a) / 2``), ``READ_FILE`` takes the shape from
the file's header. For each statement it gives what the model needs (:class:`Step`): the
arrays read and written and, for a launch, the kernel, its arguments and thread counts.
A statement whose sizes cannot be known before the run (a file that does not exist yet)
gets ``known=False``; the run plans it again when it gets there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from pxos.ir.evaluate import eval_scalar
from pxos.errors import PxError
from pxos.ir import nodes as ir
from pxos.ir.analysis.features import launch_threads
from pxos.ir.check_host import reduce_type
from pxos.ir.typecheck import ExprTyper, convert_value
from pxos.planner.ahead import sizing_params
from pxos.planner.order import GUESSED_TRIPS
from pxos.ir.types import Array, scalar_of_dtype


def stand_in(shape, dtype) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` that takes no memory (all zeros, read-only)."""
    return np.broadcast_to(np.zeros((), dtype), tuple(int(n) for n in shape))


@dataclass
class Step:
    """What one statement does, as the planner sees it.

    Attributes:
        kind: ``run``, ``reduce``, ``sort`` (placeable) or ``host`` (runs on the host).
        reads: arrays whose current contents the statement needs.
        writes: arrays it changes in place (``overwrites``: replaces every element without
            reading them; ``defines``: new arrays).
        zeros: arrays it defines as all zeros (``ALLOC``: made where first used).
        kernel, args, threads: a launch's kernel, arguments by parameter name, counts.
        array: the array a ``REDUCE`` or ``SORT`` reads.
        known: the sizes are known before the run.
    """

    index: int
    stmt: ir.Stmt
    kind: str = "host"
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    overwrites: list[str] = field(default_factory=list)
    defines: list[str] = field(default_factory=list)
    zeros: list[str] = field(default_factory=list)
    kernel: ir.Kernel | None = None
    args: dict[str, object] = field(default_factory=dict)
    threads: list[int] = field(default_factory=list)
    array: np.ndarray | None = None
    swaps: list[tuple[str, str]] = field(default_factory=list)
    known: bool = True
    weight: float = 1.0  # how many times this statement runs (host loops: planner/order)
    work: object = None  # the launch's ir.analysis.features.Work, once the planner asks


def _loads(e: ir.Expr, arrays) -> list[str]:
    names = []
    for x in ir.subexprs(e):
        if isinstance(x, ir.Load) and x.array in arrays:
            names.append(x.array)
        if isinstance(x, ir.Var) and x.name in arrays:
            names.append(x.name)
    return names


def _read_exprs(s: ir.Stmt) -> tuple[ir.Expr, ...]:
    if isinstance(s, ir.Print):
        return s.items
    if isinstance(s, ir.Verify):
        return (s.lhs, s.rhs)
    if isinstance(s, ir.If):
        return tuple(cond for cond, _ in s.arms)
    return (s.cond,)


class DryRun:
    """Walks a checked program's statements from given values (see the module docstring).

    Args:
        program: from ``ir.check_host.check_program``.
        values: the names defined so far (a run's real values, or empty at the start).
        files: where ``READ_FILE`` looks: the run's ``host.files.FileAccess`` (any object
            with its ``peek(path, as_type)``); None: a file's shape is not known before
            the run reads it.
        threads: launch thread counts found before, by kernel, array shapes and sizing
            scalars, to reuse and extend (a planner's, across its plans).
    """

    def __init__(self, program: ir.Program, values: dict | None = None, files=None,
                 threads: dict | None = None):
        self.program = program
        self.files = files
        self.values: dict[str, object] = {
            k: (stand_in(v.shape, v.dtype) if isinstance(v, np.ndarray) else v)
            for k, v in (values or {}).items()}
        self.unknown: set[str] = set()
        self._trips: dict[int, float] = {}
        self._threads: dict[tuple, list[int]] = {} if threads is None else threads
        # (id(kernel), sizes, sizing scalars) -> counts

    def _type_of(self, name):
        v = self.values.get(name)
        if v is None:
            return None
        t = scalar_of_dtype(np.asarray(v).dtype)
        return Array(t, v.ndim) if isinstance(v, np.ndarray) else t

    def _eval(self, e: ir.Expr):
        if type(e) is ir.Const and not isinstance(e.value, float):  # RUN k d 5: an int
            return _literal(e.value, type(e.value))
        typed = ExprTyper(self._type_of, builtins=False).scalar(e)
        return eval_scalar(typed, self.values)

    def _arrays(self) -> set[str]:
        return {k for k, v in self.values.items() if isinstance(v, np.ndarray)}

    def step(self, index: int, s: ir.Stmt) -> Step:
        """The :class:`Step` of statement ``s``, and its effect on the names."""
        out = Step(index, s)
        try:
            self._step(s, out)
        except Exception:  # sizes that depend on what only the run knows
            out.known = False
        names = {getattr(s, "name", None), getattr(s, "result", None)} - {None}
        if not out.known or any(n in self.unknown for n in out.reads):
            out.known = False
            self.unknown |= names
        else:
            self.unknown -= names
        return out

    def _step(self, s: ir.Stmt, out: Step) -> None:
        arrays = self._arrays()
        if isinstance(s, ir.ReadFile):
            found = self.files.peek(s.path, s.as_type) if self.files else None
            if found is None:
                self.values[s.name] = stand_in((0,), np.uint8)
                out.known = False
            else:
                self.values[s.name] = stand_in(*found)
            out.defines.append(s.name)
        elif isinstance(s, ir.WriteFile):
            out.reads.append(s.name)
        elif isinstance(s, ir.Alloc):
            dims = [int(self._eval(d)) for d in s.dims]
            self.values[s.name] = stand_in(dims, s.elem.dtype)
            out.zeros.append(s.name)
        elif isinstance(s, ir.AllocLike):
            other = self.values[s.other]
            self.values[s.name] = stand_in(other.shape, other.dtype)
            out.zeros.append(s.name)
        elif isinstance(s, (ir.Fill, ir.RandomFill)):
            out.overwrites.append(s.name)
        elif isinstance(s, ir.Assign):
            out.reads += _loads(s.value, arrays)
            value = self._eval(s.value)
            old = self.values.get(s.name)
            self.values[s.name] = value if old is None else np.asarray(value).astype(
                np.asarray(old).dtype)[()]
        elif isinstance(s, ir.Run):
            self._run(s, out)
        elif isinstance(s, ir.Reduce):
            out.kind, out.array = "reduce", self.values[s.source]
            out.reads.append(s.source)
            t = reduce_type(s.op, scalar_of_dtype(out.array.dtype))
            self.values[s.result] = t.dtype.type(0)
        elif isinstance(s, ir.Sort):
            out.kind, out.array = "sort", self.values[s.source]
            out.reads.append(s.source)
            self.values[s.result] = stand_in(out.array.shape, out.array.dtype)
            out.defines.append(s.result)
        elif isinstance(s, (ir.Print, ir.Verify, ir.If, ir.While)):
            for e in _read_exprs(s):
                out.reads += _loads(e, arrays)
        elif isinstance(s, ir.For):
            old = self.values.get(s.var)
            start = self._eval(s.start)
            self.values[s.var] = start if old is None else np.asarray(start).astype(
                np.asarray(old).dtype)[()]
        elif isinstance(s, (ir.Crypt, ir.Hash, ir.Codec, ir.Validate)):
            out.reads.append(s.source)
            if not isinstance(s, ir.Validate):  # the size of a result is known when it runs
                self.values[s.result] = stand_in((0,), np.uint8)
                out.defines.append(s.result)
                out.known = False
        elif isinstance(s, ir.ReadEnv):
            self.values[s.name] = stand_in((0,), np.uint8)
            out.defines.append(s.name)
        elif isinstance(s, ir.Swap):
            self.values[s.a], self.values[s.b] = self.values[s.b], self.values[s.a]
            out.swaps.append((s.a, s.b))

    def trips(self, loop: ir.Stmt) -> float:
        """How many times a host loop's body runs, from the bounds as known now (a
        ``WHILE``, or bounds known only at run time: ``planner/order.GUESSED_TRIPS``)."""
        if id(loop) not in self._trips:
            n = GUESSED_TRIPS
            if isinstance(loop, ir.For):
                try:
                    start, stop = int(self._eval(loop.start)), int(self._eval(loop.stop))
                    step = int(self._eval(loop.step)) if loop.step is not None else 1
                    n = len(range(start, stop, step)) if step else 0
                except (PxError, KeyError, TypeError, ValueError):
                    pass  # bounds read what only the run knows: keep the guess
            self._trips[id(loop)] = n
        return self._trips[id(loop)]

    def _run(self, s: ir.Run, out: Step) -> None:
        kernel = self.program.kernel(s.kernel)
        out.kind, out.kernel = "run", kernel
        sizing = sizing_params(kernel)
        access = dict(kernel.access)
        for a, p in zip(s.args, kernel.params):
            if isinstance(p.type, Array):
                out.args[p.name] = self.values[a.name]
                out.reads.append(a.name)
                if "w" in access.get(p.name, ""):
                    out.writes.append(a.name)
            else:
                v = self._eval(a)
                out.args[p.name] = p.type.dtype.type(convert_value(np.asarray(v).item(),
                                                                   p.type))
        # the thread counts follow from the arrays' shapes and the sizing scalars: the
        # same for every RUN of a kernel in that state (a long program repeats it)
        key = (id(kernel), tuple(
            (v.shape if isinstance(v, np.ndarray) else v.item()) if p.name in sizing else
            (v.shape if isinstance(v, np.ndarray) else None)
            for p, v in zip(kernel.params, out.args.values())))
        threads = self._threads.get(key)
        if threads is None:
            threads = self._threads[key] = launch_threads(kernel, out.args, s.span)
        out.threads = list(threads)


@cache
def _literal(value, kind: type):
    """An integer or boolean literal's value as the checker types it (``ir/typecheck``);
    ``kind`` keeps ``True`` and ``1`` apart."""
    typed = ExprTyper(lambda name: None, builtins=False).scalar(ir.Const(None, value))
    return eval_scalar(typed, {})
