"""The sizes of an exported problem as integer expressions of one size N.

``pxos export --standalone`` writes a program whose size may be changed on its command line
(``./prog N``). That is possible when every array the kernel takes, and its thread counts,
derive from a single size in the `.px` program: one integer literal that is an ``ALLOC``
extent (``ALLOC x float SIZE 1000000``) or the value of a ``SET`` (``SET n = 1000000``).
:class:`SizeModel` follows the host statements before the ``RUN`` and gives each scalar and
each array extent a :class:`Sym`: an integer expression tree over such *sources*, plus the
sources it depends on (kept also when the value has no tree, say a float computed from n).

Trees are tuples: ``("src", k)`` the k-th source, ``("c", v)`` a constant, ``(op, a, b)``
with op in :data:`OPS`, ``("neg", a)``. They are rendered to C (``int64_t`` arithmetic, the
helpers ``pxos_idiv``/``pxos_imod``/``pxos_imin``/``pxos_imax`` of the host section) and
evaluated in Python with the same rules, so the exporter can check that at the program's own
size the C expressions give the sizes pxos computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pxos.ir import nodes as ir

OPS = ("add", "sub", "mul", "div", "mod", "min", "max")
_C_OPS = {"add": "+", "sub": "-", "mul": "*"}


@dataclass(frozen=True)
class Source:
    """One place a size comes from.

    Attributes:
        label: how the exported program names it, e.g. ``SET n = 1000000 (line 3)``.
        value: its value in the program.
        fixed: True for a file's extent (``READ_FILE``): it cannot be changed.
    """

    label: str
    value: int
    fixed: bool = False


@dataclass(frozen=True)
class Sym:
    """A host value as far as sizes are concerned.

    Attributes:
        tree: an integer expression over sources, or None when the value has none (a float,
            a REDUCE result, an array element).
        deps: the sources the value depends on (indices into ``SizeModel.sources``).
    """

    tree: tuple | None
    deps: frozenset[int] = frozenset()


CONST_UNKNOWN = Sym(None)


def evaluate(tree: tuple, values: list[int]) -> int:
    """The value of ``tree`` with source k set to ``values[k]``: C's ``int64_t`` rules
    (division truncates toward zero; dividing by zero gives 0, as in `.px`)."""
    kind = tree[0]
    if kind == "src":
        return values[tree[1]]
    if kind == "c":
        return tree[1]
    if kind == "neg":
        return -evaluate(tree[1], values)
    a, b = evaluate(tree[1], values), evaluate(tree[2], values)
    if kind in ("div", "mod"):
        if b == 0:
            return 0
        q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
        return q if kind == "div" else a - q * b
    return {"add": a + b, "sub": a - b, "mul": a * b, "min": min(a, b),
            "max": max(a, b)}[kind]


def render(tree: tuple, size: int, values: list[int]) -> str:
    """``tree`` as a C ``int64_t`` expression: source ``size`` is the variable ``n``, any
    other source its constant value."""
    kind = tree[0]
    if kind == "src":
        return "n" if tree[1] == size else f"INT64_C({values[tree[1]]})"
    if kind == "c":
        return f"INT64_C({tree[1]})"
    if kind == "neg":
        return f"(-{render(tree[1], size, values)})"
    a, b = render(tree[1], size, values), render(tree[2], size, values)
    if kind in _C_OPS:
        return f"({a} {_C_OPS[kind]} {b})"
    return f"pxos_i{kind}({a}, {b})"


def _combine(op: str, parts: list[Sym]) -> Sym:
    deps = frozenset().union(*(p.deps for p in parts))
    if any(p.tree is None for p in parts):
        return Sym(None, deps)
    if op == "neg":
        return Sym(("neg", parts[0].tree), deps)
    return Sym((op, parts[0].tree, parts[1].tree), deps)


def _opaque(parts: list[Sym]) -> Sym:
    return Sym(None, frozenset().union(*(p.deps for p in parts)))


@dataclass
class SizeModel:
    """Follows host statements (:meth:`step`, in program order) to give sizes as trees.

    Attributes:
        sources: every size source met, in order.
        scalars: each scalar name's current :class:`Sym`.
        shapes: each array name's extents, one :class:`Sym` per axis.
    """

    sources: list[Source] = field(default_factory=list)
    scalars: dict[str, Sym] = field(default_factory=dict)
    shapes: dict[str, list[Sym]] = field(default_factory=dict)

    def _source(self, label: str, value: int, fixed: bool = False) -> Sym:
        self.sources.append(Source(label, int(value), fixed))
        k = len(self.sources) - 1
        return Sym(("src", k), frozenset({k}))

    def made_by(self, label: str, names, values: dict) -> None:
        """Names that a host loop or IF (``label``) left as they are in ``values``: their
        sizes and values are fixed at the program's own (the export cannot follow a loop)."""
        for name in names:
            v = values.get(name)
            if hasattr(v, "shape"):
                self.shapes[name] = [self._source(label, n, fixed=True) for n in v.shape]
            elif v is not None and np.asarray(v).dtype.kind in "iu":
                self.scalars[name] = self._source(label, int(v), fixed=True)
            elif v is not None:
                self.scalars[name] = CONST_UNKNOWN

    def step(self, s: ir.Stmt, values: dict) -> None:
        """Take in statement ``s``; ``values`` holds the program's names *after* it ran
        (NumPy arrays and scalars), for the extents of files and the label of literals."""
        line = s.span.line
        if isinstance(s, ir.Assign):
            if _int_literal(s.value):
                self.scalars[s.name] = self._source(
                    f"SET {s.name} = {s.value.value} (line {line})", s.value.value)
            else:
                self.scalars[s.name] = self.expr(s.value)
        elif isinstance(s, ir.Alloc):
            self.shapes[s.name] = [
                self._source(f"ALLOC {s.name} ... SIZE {d.value} (line {line})", d.value)
                if _int_literal(d) else self.expr(d) for d in s.dims]
        elif isinstance(s, ir.AllocLike):
            self.shapes[s.name] = list(self.shapes[s.other])
        elif isinstance(s, ir.ReadFile):
            arr = values[s.name]
            self.shapes[s.name] = [self._source(f"READ_FILE {s.path!r} (line {line})", n,
                                                fixed=True) for n in arr.shape]
        elif isinstance(s, ir.Sort):
            self.shapes[s.result] = list(self.shapes[s.source])
        elif isinstance(s, ir.Reduce):
            self.scalars[s.result] = _opaque(self.shapes[s.source])

    def expr(self, e: ir.Expr, shapes: dict | None = None, scalars: dict | None = None) -> Sym:
        """The :class:`Sym` of an integer expression over the current names (or over
        ``shapes``/``scalars`` given, for a kernel's ``GPU_THREADS`` over its parameters)."""
        shapes = self.shapes if shapes is None else shapes
        scalars = self.scalars if scalars is None else scalars
        sub = lambda x: self.expr(x, shapes, scalars)  # noqa: E731
        if isinstance(e, ir.Const):
            if isinstance(e.value, float) or e.type is not None and e.type.is_float:
                return CONST_UNKNOWN
            return Sym(("c", int(e.value)))
        if isinstance(e, ir.Var):
            return scalars.get(e.name, CONST_UNKNOWN)
        if isinstance(e, ir.Dim):
            axes = shapes[e.array]
            if e.axis is not None:
                return axes[e.axis]
            total = axes[0]
            for a in axes[1:]:
                total = _combine("mul", [total, a])
            return total
        if isinstance(e, ir.Unary):
            part = sub(e.operand)
            return _combine("neg", [part]) if e.op == "neg" else _opaque([part])
        if isinstance(e, ir.Binary):
            parts = [sub(e.lhs), sub(e.rhs)]
            return _combine(e.op, parts) if e.op in OPS else _opaque(parts)
        if isinstance(e, ir.Call):
            parts = [sub(a) for a in e.args]
            return _combine(e.fn, parts) if e.fn in ("min", "max") else _opaque(parts)
        if isinstance(e, ir.Cast):
            part = sub(e.operand)
            return part if e.to.is_int else _opaque([part])
        if isinstance(e, ir.Load):
            return _opaque(list(shapes[e.array]) + [sub(i) for i in e.index])
        return CONST_UNKNOWN


def _int_literal(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and not isinstance(e.value, (float, bool, np.floating))
