"""Value ranges of a kernel's integer expressions: where signed arithmetic cannot wrap.

Integer overflow wraps in pxos (docs/language.md), but C leaves signed overflow undefined.
Instead of compiling with ``-fwrapv`` (which also stops the compiler from treating the
generated index arithmetic as affine, so it does not vectorise the thread loop), the
renderer writes a signed ``+``, ``-``, ``*`` or negation that *might* wrap through the
unsigned type (``(int32_t)((uint32_t)a + (uint32_t)b)``, defined to wrap), and the plain
signed operator only where this analysis proves the exact result fits the type.

The analysis is interval arithmetic, flow-insensitive: a local variable's range is the
union of every value assigned to it (and of 0, its value before the first assignment),
found by iterating to a fixed point; a variable still growing after a few rounds (an
accumulator) gets its type's full range. Sources of ranges: literals, thread and block
indices (a launch has at most 2³¹ − 1 threads), extents of arrays (at most 2³¹ − 1
elements), counted ``FOR`` loops with step ±1, and casts and operations of those.
"""

from __future__ import annotations

import math

from pxos.ir import nodes as ir
from pxos.ir.types import Array, Scalar

_MAX_COUNT = 2**31 - 1  # threads per launch, elements per array (docs/language.md)
_ROUNDS = 6

Range = tuple[int, int]


def type_range(t: Scalar) -> Range | None:
    """The values of integer type ``t`` (None for bool and floats)."""
    if t is None or t.is_float or t.name == "bool":
        return None
    if t.kind == "u":
        return 0, 2**t.bits - 1
    return -2**(t.bits - 1), 2**(t.bits - 1) - 1


class Ranges:
    """The ranges of one checked kernel's integer variables; :meth:`of` for expressions.

    Args:
        kernel: a kernel from ``ir.check.check_kernel``.
    """

    def __init__(self, kernel: ir.Kernel):
        self.kernel = kernel
        self.types = dict(kernel.variables)
        self.params = {p.name: p.type for p in kernel.params if not isinstance(p.type, Array)}
        sources = _sources(kernel.body)
        self.vars: dict[str, Range] = {n: (0, 0) for n in self.types}
        changed: set[str] = set()
        for _ in range(_ROUNDS):
            changed = set()
            for source in sources:
                name = source[0]
                new = self._join(self.vars.get(name), source)
                if new != self.vars.get(name):
                    self.vars[name] = new
                    changed.add(name)
            if not changed:
                break
        for name in changed:  # still growing: give up
            self.vars[name] = type_range(self.types.get(name)) or (0, 0)

    def _join(self, old: Range | None, source) -> Range | None:
        r = self._source_range(source)
        if r is None or old is None:
            return r
        return min(old[0], r[0]), max(old[1], r[1])

    def _source_range(self, value) -> Range | None:
        name, kind, exprs = value
        full = type_range(self.types.get(name))
        if full is None:
            return None
        if kind == "any":
            return full
        if kind == "assign":
            return self.of(exprs[0]) or full
        start, stop = (self.of(e) for e in exprs)  # a FOR with step ±1
        if start is None or stop is None:
            return full
        return min(start[0], stop[0]), max(start[1], stop[1])

    def of(self, e: ir.Expr) -> Range | None:
        """The range of integer expression ``e`` (None for bool and float expressions)."""
        full = type_range(e.type)
        if full is None:
            return None
        r = self._exact(e)
        if r is None or r[0] < full[0] or r[1] > full[1]:
            return full  # it may wrap: anything
        return r

    def fits(self, e: ir.Expr) -> bool:
        """Whether the exact (unwrapped) value of ``e`` always fits its type, so C's signed
        operator computes it without overflow."""
        full = type_range(e.type)
        r = self._exact(e)
        return full is not None and r is not None and full[0] <= r[0] and r[1] <= full[1]

    def _exact(self, e: ir.Expr) -> Range | None:
        """The range of ``e`` computed without wrapping (None: unknown)."""
        if isinstance(e, ir.Const):
            return None if isinstance(e.value, float) else (int(e.value), int(e.value))
        if isinstance(e, ir.Var):
            if e.name in self.params:
                return type_range(self.params[e.name])
            return self.vars.get(e.name)
        if isinstance(e, ir.Dim):
            return 0, _MAX_COUNT
        if isinstance(e, ir.Builtin):
            return self._builtin(e)
        if isinstance(e, ir.Cast):
            inner = self.of(e.operand)
            return inner if inner is not None else type_range(e.to)
        if isinstance(e, ir.Unary) and e.op == "neg":
            inner = self.of(e.operand)
            return None if inner is None else (-inner[1], -inner[0])
        if isinstance(e, ir.Binary) and e.op in ("add", "sub", "mul"):
            a, b = self.of(e.lhs), self.of(e.rhs)
            if a is None or b is None:
                return None
            if e.op == "add":
                return a[0] + b[0], a[1] + b[1]
            if e.op == "sub":
                return a[0] - b[1], a[1] - b[0]
            corners = [x * y for x in a for y in b]
            return min(corners), max(corners)
        return type_range(e.type)

    def _builtin(self, e: ir.Builtin) -> Range:
        block = self.kernel.block or (1,)
        if e.name == "local_id":
            size = block[e.axis] if e.axis is not None else math.prod(block)
            return 0, size - 1
        if e.name == "block_size":
            size = block[e.axis] if e.axis is not None else math.prod(block)
            return size, size
        if e.name == "num_threads":
            return 0, _MAX_COUNT
        return 0, _MAX_COUNT - 1  # thread_id, block_id


def _sources(body: ir.Body) -> list:
    """(variable, "assign", (value,)) and (variable, "for", (start, stop)) of ``body``;
    a FOR with another step, an atomic's result: (variable, "any", ())."""
    out: list = []
    for s in ir.walk(body):
        if isinstance(s, ir.Assign):
            out.append((s.name, "assign", (s.value,)))
        elif isinstance(s, ir.For):
            unit = s.step is None or (isinstance(s.step, ir.Const) and s.step.value in (1, -1))
            out.append((s.var, "for", (s.start, s.stop)) if unit else (s.var, "any", ()))
        elif isinstance(s, ir.Atomic) and s.result is not None:
            out.append((s.result, "any", ()))
    return out
