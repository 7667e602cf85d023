"""Cost features of a kernel: what one thread does, symbolically, and the whole launch's
work once the arguments are known.

:func:`kernel_features` walks the thread code once and returns :class:`Features`: a list
of :class:`Term` (counts of operations of one statement, multiplied by the trip counts of
the loops around it, which stay expressions until launch) and every array access with its
pattern (``ir/analysis/access``). :func:`launch_work` evaluates the trip counts with the
launch's arguments and returns :class:`Work`: totals for the launch, and the bytes that
reach device memory under a simple cache rule (an array is read from memory at most once
per distinct element its pattern touches: stencils and small tables hit in cache).

Operation classes: ``ops`` (integer and float arithmetic, comparisons, casts, index
arithmetic and loop control, one issue slot each), ``transcendental`` (``TRANSCENDENTAL``
calls: several slots on every device), ``loads``/``stores`` of global memory, ``shared``
accesses, ``atomics`` and ``barriers``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from pxos.ir import nodes as ir
from pxos.ir.evaluate import eval_scalar
from pxos.ir.analysis.access import Access, ThreadValues, access
from pxos.ir.analysis.trips import Trip, for_trip, while_trip

MAX_ELEMENTS = 2**31 - 1  # LEN, THREAD_ID and indices are i32 (docs/language.md)
# What one call of each transcendental function counts for, relative to the mean of sin
# and exp, which calibration's probe_transcendental times (planner/probes.px): the C
# backend's time per call on the 2-core machine (gcc 12, glibc 2.36, one thread,
# benchmarks/transcendental_costs.py, two runs): sin 3.9-4.8, cos 3.9-4.2, exp 1.2-1.4,
# log 2.5-2.6, tanh 15.6-15.8, pow 3.5-3.6, sqrt 0.2 ns. Counted alike, they made
# option_price (log, two tanh) 3x faster in the model than it ran on c (H200 machine).
CALL_COST = {"sin": 1.5, "cos": 1.5, "exp": 0.5, "log": 1.0, "tanh": 6.1, "pow": 1.4,
             "sqrt": 0.1, "rsqrt": 0.1}
SECTOR = 32  # bytes per memory transaction (an NVIDIA L2 sector; half an x86 cache line)
# a strided or gathered access moves a whole sector for one element


@dataclass
class Counts:
    """Operations per thread (floats, as loop trips and branch weights multiply them)."""

    ops: float = 0.0
    transcendental: float = 0.0
    loads: float = 0.0
    stores: float = 0.0
    shared: float = 0.0
    atomics: float = 0.0
    barriers: float = 0.0
    index: float = 0.0  # of ``ops``, the row-major offsets of multi-dimensional accesses

    def add(self, other: "Counts", times: float = 1.0) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + times * getattr(other, f.name))

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Term:
    """The counts of one statement and the loops it sits in (innermost last)."""

    counts: Counts
    trips: tuple[Trip, ...]
    weight: float = 1.0
    accesses: tuple[Access, ...] = ()


@dataclass
class Features:
    """The symbolic cost of one thread of ``kernel`` (see the module docstring).

    Attributes:
        terms: every statement's counts with its loop trips.
        accesses: every array access with its pattern.
        branches: ``(span, kind)`` for each IF/WHILE condition and FOR bound that varies
            between threads: ``boundary`` or ``divergent``.
        shared_bytes: shared memory per block, bytes.
        divergent_loops: the spans of the loops whose trip count varies between threads
            (a FOR bound that varies, a WHILE whose condition varies or that a varying IF
            leaves): a CPU compiler cannot run such a loop's threads as SIMD lanes.
    """

    kernel: ir.Kernel
    terms: list[Term] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)
    branches: list[tuple[object, str]] = field(default_factory=list)
    shared_bytes: int = 0
    divergent_loops: set[object] = field(default_factory=set)  # spans (module doc)

    @property
    def divergent(self) -> bool:
        return any(kind == "divergent" for _, kind in self.branches)

    @property
    def vectorizable(self) -> bool:
        """Every loop's count is a literal (a CPU compiler unrolls it and vectorises
        across threads), there is no WHILE and no atomic."""
        for s in ir.walk(self.kernel.body):
            if isinstance(s, (ir.While, ir.Atomic)):
                return False
            if isinstance(s, ir.For) and not all(
                    _literal(e) for e in (s.start, s.stop, s.step) if e is not None):
                return False
        return True


def _literal(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) or (isinstance(e, ir.Unary) and isinstance(e.operand,
                                                                             ir.Const))


def _expr_counts(e: ir.Expr, c: Counts, shared: set[str], loads: list) -> None:
    for x in ir.subexprs(e):
        if isinstance(x, ir.Load):
            loads.append(x)
            if x.array in shared:
                c.shared += 1
            else:
                c.loads += 1
            c.ops += 2 * (len(x.index) - 1)  # row-major offset
            c.index += 2 * (len(x.index) - 1)
        elif isinstance(x, (ir.Binary, ir.Unary, ir.Cast)):
            c.ops += 1
        elif isinstance(x, ir.Call):
            if x.fn in ir.TRANSCENDENTAL:
                c.transcendental += CALL_COST.get(x.fn, 1.0)
            else:
                c.ops += 2 if x.fn == "fma" else 1


def kernel_features(kernel: ir.Kernel) -> Features:
    """The :class:`Features` of checked ``kernel`` (computed once per kernel object)."""
    cached = _FEATURES.get(id(kernel))
    if cached is not None and cached[0] is kernel:
        return cached[1]
    values = ThreadValues(kernel)
    feats = Features(kernel)
    feats.shared_bytes = sum(s.elem.bits // 8 * math.prod(s.shape) for s in kernel.shared)
    _walk(kernel.body, (), 1.0, feats, values, {s.name for s in kernel.shared})
    feats.accesses = [a for t in feats.terms for a in t.accesses]
    _FEATURES[id(kernel)] = (kernel, feats)
    return feats


_FEATURES: dict[int, tuple[ir.Kernel, Features]] = {}


def _walk(body: ir.Body, trips: tuple, weight: float, feats: Features,
          values: ThreadValues, shared: set[str]) -> None:
    for pos, s in enumerate(body):
        c = Counts()
        loads: list = []
        for e in ir.stmt_exprs(s):
            _expr_counts(e, c, shared, loads)
        if isinstance(s, ir.Store):
            if s.array in shared:
                c.shared += 1
            else:
                c.stores += 1
            c.ops += 2 * (len(s.index) - 1)
            c.index += 2 * (len(s.index) - 1)
        elif isinstance(s, ir.Atomic):
            c.atomics += 1
        elif isinstance(s, ir.Sync):
            c.barriers += 1
        sites = [access(values, x.array, x.index, "load", x.span, shared) for x in loads]
        if isinstance(s, (ir.Store, ir.Atomic)):
            kind = "store" if isinstance(s, ir.Store) else "atomic"
            sites.append(access(values, s.array, s.index, kind, s.span, shared))
        feats.terms.append(Term(c, trips, weight, tuple(sites)))
        if isinstance(s, ir.If):
            for cond, _ in s.arms:
                kind = values.branch(cond)
                if kind != "uniform":
                    feats.branches.append((cond.span, kind))
            arms = [arm for _, arm in s.arms] + ([s.orelse] if s.orelse else [])
            share = weight / len(arms) if len(arms) > 1 else weight
            for arm in arms:
                _walk(arm, trips, share, feats, values, shared)
        elif isinstance(s, ir.For):
            for bound in (s.start, s.stop):
                kind = values.branch(bound) if values.of(bound).varying else "uniform"
                if kind != "uniform":
                    feats.branches.append((bound.span, "divergent"))
                    feats.divergent_loops.add(s.span)
            loop = for_trip(s)
            feats.terms.append(Term(Counts(ops=2), trips + (loop,), weight))
            _walk(s.body, trips + (loop,), weight, feats, values, shared)
        elif isinstance(s, ir.While):
            if values.branch(s.cond) != "uniform" or _left_divergently(s, values):
                feats.branches.append((s.cond.span, "divergent"))
                feats.divergent_loops.add(s.span)
            loop = while_trip(s, body[:pos])
            cond, loads = Counts(), []
            _expr_counts(s.cond, cond, shared, loads)
            sites = tuple(access(values, x.array, x.index, "load", x.span, shared)
                          for x in loads)
            feats.terms.append(Term(cond, trips + (loop,), weight, sites))
            _walk(s.body, trips + (loop,), weight, feats, values, shared)


def _left_divergently(s: ir.While, values: ThreadValues) -> bool:
    """Whether a BREAK under a varying IF leaves the WHILE (threads leave at different
    iterations, as in an escape-time loop)."""
    return any(isinstance(x, ir.If) and any(isinstance(y, ir.Break) for y in ir.walk(x.arms[0][1]))
               and any(values.branch(c) != "uniform" for c, _ in x.arms)
               for x in ir.walk(s.body))


@dataclass
class Work:
    """A launch's cost features with its arguments known.

    Attributes:
        threads: threads launched (the product of the launch's counts).
        per_thread: :class:`Counts` of one thread (loop trips evaluated).
        memory_bytes: bytes moved to and from a GPU's memory in all (cache rule above);
            ``cpu_memory_bytes`` the same on a CPU (see ``_pattern_factor``).
        array_bytes: size of every array argument, bytes, by parameter name.
        unknown_trips: some loop's trip count could not be evaluated (a guess was used).
        divergent: some branch diverges within a warp.
        vectorizable: see :attr:`Features.vectorizable`.
        in_divergent_loops: of ``per_thread``, the counts of the statements inside a loop
            whose trip count varies between threads (:attr:`Features.divergent_loops`), at
            the loops' full trip counts (an upper bound for a loop a thread can leave early).
    """

    threads: int
    per_thread: Counts
    memory_bytes: float
    array_bytes: dict[str, int]
    unknown_trips: bool
    divergent: bool
    vectorizable: bool = False
    cpu_memory_bytes: float = 0.0
    in_divergent_loops: Counts = field(default_factory=Counts)

    def total(self, what: str) -> float:
        """``what`` (a :class:`Counts` field) summed over all threads."""
        return getattr(self.per_thread, what) * self.threads

    def as_dict(self) -> dict:
        return {"threads": self.threads, "per_thread": self.per_thread.as_dict(),
                "memory_bytes": self.memory_bytes, "cpu_memory_bytes": self.cpu_memory_bytes,
                "array_bytes": self.array_bytes,
                "unknown_trips": self.unknown_trips, "divergent": self.divergent,
                "vectorizable": self.vectorizable,
                "in_divergent_loops": self.in_divergent_loops.as_dict()}


def _pattern_factor(a: Access, elem: int, gpu: bool) -> float:
    """Bytes moved per element accessed, for one access pattern, on a GPU (a sector per
    warp lane for scattered addresses, half of it for strides, which L2 partly absorbs) or
    on a CPU (whose backends run a block's threads as tiles, so strided rows reuse the
    cache lines they bring in; gathers still waste most of a line)."""
    if a.pattern in ("unit", "interleaved"):
        return 1.0
    if a.pattern == "uniform":
        return 1.0 / 32
    sector = max(1, SECTOR // elem)
    if a.pattern == "strided":
        if not gpu:
            return 1.0
        stride = abs(a.stride) if a.stride is not None else sector
        return max(1.0, min(stride, sector) / 2)
    return float(sector)


def launch_work(kernel: ir.Kernel, args: dict[str, object], threads) -> Work:
    """The :class:`Work` of launching ``kernel`` with ``args`` (parameter name → NumPy
    array or scalar) over ``threads`` (counts per axis)."""
    feats = kernel_features(kernel)
    n = int(np.prod(threads)) if len(threads) else 0
    per, in_divergent = Counts(), Counts()
    unknown = False
    per_array: dict[tuple[str, bool], tuple[float, float]] = {}
    for term in feats.terms:
        times = term.weight
        for t in term.trips:
            value, known = t.evaluate(args)
            times *= value
            unknown |= not known
        per.add(term.counts, times)
        if any(t.span in feats.divergent_loops for t in term.trips):
            in_divergent.add(term.counts, times)
        for a in term.accesses:
            arr = args.get(a.array)
            if a.shared or not isinstance(arr, np.ndarray):
                continue
            for gpu in (True, False):
                factor = _pattern_factor(a, arr.itemsize, gpu)
                key = (a.array, a.kind != "load", gpu)  # reads and writes counted apart
                moved, worst = per_array.get(key, (0.0, 0.0))
                per_array[key] = (moved + n * times * arr.itemsize * factor,
                                  max(worst, 1.0 if a.pattern == "uniform" else factor))
    memory, cpu_memory = (sum(min(moved, args[name].nbytes * worst)
                              for (name, _, g), (moved, worst) in per_array.items() if g == gpu)
                          for gpu in (True, False))
    array_bytes = {name: int(v.nbytes) for name, v in args.items() if isinstance(v, np.ndarray)}
    return Work(n, per, memory, array_bytes, unknown, feats.divergent, feats.vectorizable,
                cpu_memory, in_divergent)


def trip_names(kernel: ir.Kernel) -> frozenset[str]:
    """The names the loop trips of ``kernel``'s features read: :func:`launch_work`
    depends on its arguments only through these, the arrays' sizes and the thread counts
    (so a caller may memoise it on them)."""
    found = _TRIP_NAMES.get(id(kernel))
    if found is None or found[0] is not kernel:
        exprs = [e for term in kernel_features(kernel).terms for t in term.trips
                 for e in (t.start, t.stop, t.step) if isinstance(e, ir.Expr)]
        found = _TRIP_NAMES[id(kernel)] = (kernel, frozenset(
            x.name for e in exprs for x in ir.subexprs(e) if isinstance(x, ir.Var)))
    return found[1]


_TRIP_NAMES: dict[int, tuple] = {}  # id(kernel) -> (kernel, its trip names)


def launch_threads(kernel: ir.Kernel, env: dict[str, object], span=None) -> list[int]:
    """The thread counts (x first) of launching ``kernel`` with ``env`` (parameter name →
    NumPy array or scalar): its ``GPU_THREADS`` evaluated.

    Raises:
        PxArgumentError: a count below 0 or a launch of more than ``MAX_ELEMENTS`` threads.
    """
    from pxos.errors import PxArgumentError

    threads = [int(eval_scalar(e, env)) for e in kernel.threads]
    if any(t < 0 for t in threads) or int(np.prod(threads)) > MAX_ELEMENTS:
        raise PxArgumentError(f"kernel {kernel.name!r} would launch {threads} threads; "
                              f"each count must be in 0..{MAX_ELEMENTS}", span)
    return threads
