"""How a launch may be cut into blocks that run apart: each array's role and the halo.

A kernel runs block by block (over the chunks of a Dask array, or the slices of a split
launch) and gives what one launch gives when every thread computes from its own position
relative to its neighbours, never from its absolute position. For a launch of ``L`` axes
(x first), an array parameter is:

- ``block``: cut with the launch. Its first ``L`` indices are the thread indices, outer
  first (``a[y, x]``, ``a[i]``), each plus a constant (``a[y - 1, x]``: a stencil's
  neighbour) or, marked unknown, plus another value that is the same for every thread
  (``a[i + k]``); its other indices (``img[y, x, 0]``) are the same for every thread, and
  those axes stay whole. Stores write the thread's own element (offset 0).
- ``whole``: read at indices that do not involve the thread's position (a table, weights,
  ``lut[v]`` with ``v`` loaded): every block gets all of it.
- ``reduce``: written only by one kind of atomic (``atomic_add(hist, v, 1)``), never read:
  each block makes a partial result from the operation's identity and the partials are
  combined with the same operation.

The thread indices may otherwise appear only in comparisons with a constant or with an
extent of a ``block`` array along that axis (``IF x == 0 OR x == COLS(a) - 1``): such a test
is the same for every thread farther than some *reach* from the edges, and a block that
carries that many neighbours on each side (its halo) gets the interior right, while at the
array's real edges the block's edge is the array's. The halo of an axis is the larger of
the stencil's offsets and the tests' reaches along it. Anything else (the position used as
a value, ``block_id``, shared memory, barriers, a gathered index into a ``block`` array) is
refused, naming the place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pxos.errors import PxArgumentError
from pxos.ir import nodes as ir
from pxos.ir.analysis.edge_reach import FLIP as _FLIP
from pxos.ir.analysis.edge_reach import constant as _const
from pxos.ir.analysis.edge_reach import high_reach as _high_reach
from pxos.ir.analysis.edge_reach import low_reach as _low_reach
from pxos.ir.analysis.edge_reach import operands as _parts
from pxos.ir.analysis.edge_reach import strip_casts as _strip
from pxos.ir.types import Array

_REDUCING = ("add", "min", "max", "and", "or", "xor")


@dataclass(frozen=True)
class Blocking:
    """How a checked kernel is cut into blocks (module docstring).

    Attributes:
        ndim: the launch's axes ``L``.
        roles: array parameter name -> ``block``, ``whole`` or ``reduce``.
        halo: per launch axis, x first: the neighbours a block needs on each side, in
            elements; None where an offset is not a constant (the caller must say it).
        ops: ``reduce`` array -> its atomic operation (``add``, ``min``, ``max``, ``and``,
            ``or``, ``xor``).
        launch: per launch axis, x first: the (array, array axis) whose extent is the
            launch's thread count there.
    """

    ndim: int
    roles: dict[str, str]
    halo: tuple[int | None, ...]
    ops: dict[str, str] = field(default_factory=dict)
    launch: tuple[tuple[str, int], ...] = ()

    @property
    def stencil(self) -> bool:
        """Some axis needs neighbours (or may: an unknown reach)."""
        return any(h != 0 for h in self.halo)


def _refuse(what: str, span, hint: str | None = None):
    raise PxArgumentError(f"the kernel cannot run block by block: {what}", span, hint)


class _Scan:
    """One walk over a checked kernel, building its :class:`Blocking`."""

    def __init__(self, kernel: ir.Kernel):
        self.k = kernel
        self.ndim = kernel.ndim
        self.reach: list[int | None] = [0] * self.ndim
        if kernel.shared or kernel.uses_barrier:
            _refuse("it uses shared memory or SYNC_THREADS, whose blocks are the launch's",
                    kernel.span)
        self.arrays = {p.name: p.type for p in kernel.params if isinstance(p.type, Array)}
        # the thread-index variables and the roles need each other (a clamp to an
        # extent): first with every array taken as cut, then with the roles found
        self.roles: dict[str, str] = {name: "block" for name in self.arrays}
        self.loops = self._loop_ranges()
        self.tids: dict[str, tuple[int, tuple[int, int] | None]] = {}
        self.tids = self._thread_vars()
        self.roles = self._roles()
        self.tids, self.reach = {}, [0] * self.ndim
        self.tids = self._thread_vars()

    # -- thread indices
    def _thread_vars(self) -> dict[str, tuple[int, tuple[int, int] | None]]:
        counts: dict[str, int] = {}
        found = self.tids  # filled in order, so ``j = i + 1`` after ``i = THREAD_ID``
        for s in ir.walk(self.k.body):
            if isinstance(s, ir.Assign):
                counts[s.name] = counts.get(s.name, 0) + 1
                form = self.thread_form(s.value)
                if form is not None and s.name not in found:
                    found[s.name] = form
            elif isinstance(s, ir.For):
                counts[s.var] = counts.get(s.var, 0) + 2
        return {n: f for n, f in found.items() if counts[n] == 1}

    def thread_form(self, e: ir.Expr) -> tuple[int, tuple[int, int] | None] | None:
        """(launch axis, offsets) when ``e`` is a thread index plus a value the same for
        every thread: the offsets (lowest, highest) when they are known constants (a
        literal, a loop variable of constant bounds), else None. A clamp to the edges
        (``min(max(x + d, 0), COLS(a) - 1)``) keeps the form: it is idle in the interior,
        and its reach is noted."""
        e = _strip(e)
        if isinstance(e, ir.Builtin) and e.name == "thread_id":
            if e.axis is None and self.ndim > 1:
                return None
            return (e.axis or 0, (0, 0))
        if isinstance(e, ir.Var) and e.name in self.tids:
            return self.tids[e.name]
        if isinstance(e, ir.Call) and e.fn in ("min", "max") and len(e.args) == 2:
            return self._clamp(e)
        if isinstance(e, ir.Binary) and e.op in ("add", "sub"):
            sides = [(e.lhs, e.rhs, 1 if e.op == "add" else -1)]
            if e.op == "add":
                sides.append((e.rhs, e.lhs, 1))
            for tid_side, other, sign in sides:
                form = self.thread_form(tid_side)
                if form is None or not self.uniform(other):
                    continue
                span = self.interval(other)
                if span is None or form[1] is None:
                    return form[0], None
                lo, hi = span if sign > 0 else (-span[1], -span[0])
                return form[0], (form[1][0] + lo, form[1][1] + hi)
        return None

    def _clamp(self, e: ir.Call) -> tuple[int, tuple[int, int] | None] | None:
        for inner, bound in ((e.args[0], e.args[1]), (e.args[1], e.args[0])):
            form = self.thread_form(inner)
            if form is None or form[1] is None:
                continue
            axis, (lo, hi) = form
            b = _const(bound)
            if b is not None and e.fn == "max":  # active where x + lo < b
                self._note(axis, _low_reach("lt", b - lo))
                return form
            q = self._high_bound(bound, axis)
            if q is not None and e.fn == "min":  # active where x + hi > n - q
                self._note(axis, _high_reach("gt", q + hi))
                return form
        return None

    def interval(self, e: ir.Expr) -> tuple[int, int] | None:
        """(lowest, highest) of a uniform integer expression, where known."""
        e = _strip(e)
        c = _const(e)
        if c is not None:
            return c, c
        if isinstance(e, ir.Var):
            return self.loops.get(e.name)
        if isinstance(e, ir.Unary) and e.op == "neg":
            inner = self.interval(e.operand)
            return None if inner is None else (-inner[1], -inner[0])
        if isinstance(e, ir.Binary) and e.op in ("add", "sub"):
            a, b = self.interval(e.lhs), self.interval(e.rhs)
            if a is None or b is None:
                return None
            return (a[0] + b[0], a[1] + b[1]) if e.op == "add" else (a[0] - b[1], a[1] - b[0])
        return None

    def _loop_ranges(self) -> dict[str, tuple[int, int]]:
        """Loop variables of constant bounds and a positive step (or none), assigned
        nowhere else: their (first, last) values."""
        found, other = {}, set()
        for s in ir.walk(self.k.body):
            if isinstance(s, ir.Assign):
                other.add(s.name)
            elif isinstance(s, ir.For):
                start, stop = _const(s.start), _const(s.stop)
                step = 1 if s.step is None else _const(s.step)
                if s.var in found or start is None or stop is None or not step or step < 0:
                    other.add(s.var)
                elif stop > start:
                    found[s.var] = (start, stop - 1)
        return {n: r for n, r in found.items() if n not in other}

    def uniform(self, e: ir.Expr) -> bool:
        """The same for every thread, and no extent of a cut axis."""
        for x in ir.subexprs(e):
            if isinstance(x, ir.Builtin) or isinstance(x, ir.Load):
                return False
            if isinstance(x, ir.Var) and x.name in self.tids:
                return False
            if isinstance(x, ir.Dim) and self._cut_axis(x) is not None:
                return False
        return True

    # -- roles
    def _accesses(self):
        for s in ir.walk(self.k.body):
            if isinstance(s, ir.Store):
                yield s.array, "store", s.index, s.span
            elif isinstance(s, ir.Atomic):
                yield s.array, ("atomic_read" if s.result else "atomic:" + s.op), s.index, s.span
            for e in ir.stmt_exprs(s):
                for x in ir.subexprs(e):
                    if isinstance(x, ir.Load) and x.array in self.arrays:
                        yield x.array, "load", x.index, x.span

    def _roles(self) -> dict[str, str]:
        kinds: dict[str, set[str]] = {name: set() for name in self.arrays}
        threaded: set[str] = set()
        for name, kind, index, _ in self._accesses():
            kinds[name].add(kind)
            if any(self.thread_form(i) is not None for i in index[:self.ndim]):
                threaded.add(name)
        roles = {}
        for name, used in kinds.items():
            atomics = {k for k in used if k.startswith("atomic")}
            if atomics and (len(atomics) > 1 or used - atomics or "atomic_read" in atomics
                            or next(iter(atomics))[7:] not in _REDUCING):
                self._refuse_atomic(name)
            if atomics:
                roles[name] = "reduce"
            elif "store" in used or name in threaded:
                roles[name] = "block"
            else:
                roles[name] = "whole"
        return roles

    def _refuse_atomic(self, name: str):
        span = next(sp for n, k, _, sp in self._accesses() if n == name and "atomic" in k)
        _refuse(f"array {name!r} is written by atomics and also read, stored or "
                "updated by another operation; a block-wise reduction needs one of atomic "
                "add, min, max, and, or, xor, and no other use", span)

    def _cut_axis(self, d: ir.Dim) -> int | None:
        """The launch axis whose extent ``d`` is, for an extent of a cut array axis."""
        if self.roles.get(d.array) != "block":
            return None
        ndim = self.arrays[d.array].ndim
        axis = 0 if d.axis is None and ndim == 1 else d.axis
        if axis is None:
            return -1  # LEN of an array cut along some axes: not an extent of one axis
        return self.ndim - 1 - axis if axis < self.ndim else None

    # -- the walk
    def run(self) -> Blocking:
        if not any(r != "whole" for r in self.roles.values()):
            _refuse("it writes no array", self.k.span)
        for s in ir.walk(self.k.body):
            self._stmt(s)
        return Blocking(self.ndim, self.roles, self._halo(), self._ops(), self._launch())

    def _stmt(self, s: ir.Stmt) -> None:
        if isinstance(s, ir.Assign) and s.name in self.tids:
            return
        if isinstance(s, ir.Store):
            self._block_index(s.array, s.index, s.span, store=True)
            self.expr(s.value)
            return
        for e in ir.stmt_exprs(s):
            self.expr(e)

    def _block_index(self, name: str, index, span, store: bool = False) -> None:
        if self.roles[name] != "block":
            for i in index:
                self.expr(i)
            return
        if len(index) < self.ndim:
            _refuse(f"array {name!r} has fewer axes than the launch", span)
        for j, i in enumerate(index[:self.ndim]):
            form = self.thread_form(i)
            axis = self.ndim - 1 - j
            if form is None or form[0] != axis:
                _refuse(f"index {j} of {name!r} is not the thread index of launch axis "
                        f"{axis} plus a constant", i.span,
                        "a block holds its own elements and a halo of neighbours only")
            if store and form[1] != (0, 0):
                _refuse(f"a store to {name!r} at another thread's element", i.span)
            self._note(axis, None if form[1] is None else max(-form[1][0], form[1][1], 0))
        for i in index[self.ndim:]:
            if not self.uniform(i) and self._mentions_position(i):
                _refuse(f"index of a whole axis of {name!r} depends on the thread", i.span)
            self.expr(i)

    def _mentions_position(self, e: ir.Expr) -> bool:
        return any((isinstance(x, ir.Builtin)) or (isinstance(x, ir.Var) and x.name in self.tids)
                   for x in ir.subexprs(e))

    def _note(self, axis: int, reach: int | None) -> None:
        if self.reach[axis] is not None:
            self.reach[axis] = None if reach is None else max(self.reach[axis], reach)

    def expr(self, e: ir.Expr) -> None:
        """Walk ``e``; refuse a use of the thread's position other than the allowed ones."""
        e0 = _strip(e)
        if isinstance(e0, ir.Load):
            self._block_index(e0.array, e0.index, e0.span)
            return
        if isinstance(e0, ir.Binary) and e0.op in ir.COMPARISONS and self._guard(e0):
            return
        if isinstance(e0, ir.Builtin):
            _refuse(f"it uses {e0.name} as a value: its result would depend on where the "
                    "block starts", e0.span)
        if isinstance(e0, ir.Var) and e0.name in self.tids:
            _refuse(f"it uses the thread index {e0.name!r} as a value: its result would "
                    "depend on where the block starts", e0.span,
                    "compare it with 0 or an extent, or use it as an index, only")
        if isinstance(e0, ir.Dim) and self._cut_axis(e0) is not None:
            _refuse(f"it uses the extent of the cut array {e0.array!r} as a value", e0.span)
        for part in _parts(e0):
            self.expr(part)

    def _guard(self, e: ir.Binary) -> bool:
        """A test of a thread index against a constant or a cut extent: note its reach."""
        op, lhs, rhs = e.op, e.lhs, e.rhs
        form = self.thread_form(lhs)
        if form is None:
            form, op, lhs, rhs = self.thread_form(rhs), _FLIP[op], rhs, lhs
        if form is None:
            return False
        if form[1] is None:  # x + k < n: the reach is k, unknown here
            self._note(form[0], None)
            return True
        axis, (lo, hi) = form  # the reach grows as p = b - c grows and as s = q + c grows
        b = _const(rhs)
        if b is not None:
            self._note(axis, _low_reach(op, b - lo))
            return True
        q = self._high_bound(rhs, axis)
        if q is None:
            return False
        self._note(axis, _high_reach(op, q + hi))
        return True

    def _high_bound(self, e: ir.Expr, axis: int) -> int | None:
        """``q`` when ``e`` is the extent of launch axis ``axis`` minus constant ``q``."""
        e = _strip(e)
        if isinstance(e, ir.Dim):
            return 0 if self._cut_axis(e) == axis else None
        if isinstance(e, ir.Binary) and e.op in ("add", "sub"):
            c = _const(e.rhs)
            q = self._high_bound(e.lhs, axis)
            if c is not None and q is not None:
                return q + c if e.op == "sub" else q - c
        return None

    # -- results
    def _halo(self) -> tuple[int | None, ...]:
        return tuple(self.reach)

    def _ops(self) -> dict[str, str]:
        return {s.array: s.op for s in ir.walk(self.k.body)
                if isinstance(s, ir.Atomic) and self.roles[s.array] == "reduce"}

    def _launch(self) -> tuple[tuple[str, int], ...]:
        out = []
        for axis, count in enumerate(self.k.threads or ()):
            d = _strip(count)
            if not (isinstance(d, ir.Dim) and self._cut_axis(d) == axis):
                _refuse(f"launch axis {axis} is not the extent of an array cut with it",
                        count.span, "launch one thread per element of the first array")
            ndim = self.arrays[d.array].ndim
            out.append((d.array, 0 if d.axis is None and ndim == 1 else d.axis))
        return tuple(out)


def blocking(kernel: ir.Kernel) -> Blocking:
    """The :class:`Blocking` of checked ``kernel``.

    Raises:
        PxArgumentError: the kernel's result depends on more than its neighbours (the
            module docstring lists what), with the place that does.
    """
    return _Scan(kernel).run()
