"""The accesses a launch check covers (``ir/analysis/bounds``): each array index that pxos
can evaluate from the arguments, the thread indices and loop variables, with the box of
those axes over which it is surely evaluated (guards narrow it; see ``bounds``'s
docstring for what is covered). :func:`collect_checks` walks a kernel once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pxos.ir import nodes as ir
from pxos.ir.types import Array

_INT_TYPES = ("i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "bool")
# integer operations as Python text; / and % truncate as C's do
_OPS = {"add": "+", "sub": "-", "mul": "*", "div": "_cdiv", "mod": "_cmod",
        "band": "&", "bor": "|", "bxor": "^"}
# (bits, signed) of the types whose arithmetic wraps as C's does (-fwrapv)
_WIDTHS = {"i32": (32, True), "u32": (32, False), "i64": (64, True), "u64": (64, False)}
_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_NEGATE = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}


@dataclass(frozen=True)
class Check:
    """One axis of one access: ``index`` (Python text over ``a``, ``tx``, ``ty``) must lie
    in ``0 ..< extent`` for every thread in the box of thread indices that ``box``
    narrows: ``(axis, "lo"|"hi", bound text)`` entries, from guards."""

    array: str
    axis: int
    extent: str
    index: str
    box: tuple
    access: ir.Expr | ir.Stmt
    exact: str = ""  # ``index`` with C's wrapping arithmetic


class _Affine:
    """Translate a kernel's integer expressions to Python text, where affine in the thread
    index with coefficients that are the same for every thread."""

    def __init__(self, kernel: ir.Kernel):
        self.kernel = kernel
        self.index = {p.name: i for i, p in enumerate(kernel.params)}
        counts: dict[str, int] = {}
        for s in ir.walk(kernel.body):
            name = getattr(s, "name", None) if isinstance(s, ir.Assign) else \
                getattr(s, "var", None) or getattr(s, "result", None)
            if name:
                counts[name] = counts.get(name, 0) + 1
        self.once = {n for n, c in counts.items() if c == 1}
        self.assigned = set(counts)
        self.locals: dict[str, ir.Expr] = {}
        self.loops: dict[str, int] = {}  # FOR variables by their axis
        self.live: set[int] = set()  # the loop axes (2, 3, …) of the loops being walked
        self.axes = 2

    def text(self, e: ir.Expr, exact: bool = False) -> tuple[str, frozenset] | None:
        """(Python text, axes it depends on: 0 x, 1 y, 2… a FOR variable, 100… LOCAL_ID),
        or None if pxos cannot evaluate it from the arguments and those axes. ``exact``:
        integer arithmetic wraps as in C (``_wrap``), else it is unbounded (faster; used
        to find a candidate violation, which the exact text then confirms)."""
        if isinstance(e, ir.Const):
            return (str(int(e.value)), frozenset()) if not isinstance(e.value, float) \
                else None
        if isinstance(e, ir.Var):
            if e.name in self.loops:
                axis = self.loops[e.name]
                return axis_name(axis), frozenset({axis})
            if e.name in self.locals:
                return self.text(self.locals[e.name], exact)
            p = self.kernel.param(e.name)
            if p is not None and not isinstance(p.type, Array) \
                    and e.name not in self.assigned and p.type.name in _INT_TYPES:
                return f"int(a[{self.index[e.name]}])", frozenset()
            return None
        if isinstance(e, ir.Builtin):
            if e.name not in ("thread_id", "local_id") or e.axis not in (None, 0, 1) \
                    or (e.axis is None and self.kernel.ndim != 1):
                return None  # a 3-D launch's z, or a 2-D launch's linear index
            axis = (e.axis or 0) + (LOCAL if e.name == "local_id" else 0)
            return axis_name(axis), frozenset({axis})
        if isinstance(e, ir.Dim) and e.array in self.index:
            shape = f"a[{self.index[e.array]}].shape"
            return {"len": f"_prod({shape})", "rows": f"{shape}[0]",
                    "cols": f"{shape}[1]", "dim2": f"{shape}[2]"}[e.which], frozenset()
        if isinstance(e, ir.Cast) and e.to.name in _INT_TYPES \
                and e.operand.type is not None and e.operand.type.name in _INT_TYPES:
            inner = self.text(e.operand, exact)
            return None if inner is None else self._wrapped(inner, e.to, exact)
        if isinstance(e, ir.Unary) and e.op == "neg":
            inner = self.text(e.operand, exact)
            return None if inner is None else self._wrapped(
                (f"(-{inner[0]})", inner[1]), e.type, exact)
        if isinstance(e, ir.Binary) and e.op in _OPS:
            lhs, rhs = self.text(e.lhs, exact), self.text(e.rhs, exact)
            if lhs is None or rhs is None:
                return None
            deps = lhs[1] | rhs[1]
            op = _OPS[e.op]
            if op in ("_cdiv", "_cmod"):
                return f"{op}({lhs[0]}, {rhs[0]})", deps  # |result| <= |lhs|: no wrap
            return self._wrapped((f"({lhs[0]} {op} {rhs[0]})", deps), e.type, exact)
        if isinstance(e, ir.Call) and e.fn in ("min", "max") \
                and (e.type is None or e.type.name in _INT_TYPES):
            args = [self.text(x, exact) for x in e.args]
            if any(x is None for x in args):
                return None
            return f"{e.fn}({args[0][0]}, {args[1][0]})", args[0][1] | args[1][1]
        return None

    @staticmethod
    def _wrapped(t: tuple, typ, exact: bool):
        if not exact or typ is None or typ.name == "bool":
            return t
        if typ.name not in _WIDTHS:
            return None  # 8/16-bit arithmetic: not followed exactly
        return f"_wrap({t[0]}, {_WIDTHS[typ.name]})", t[1]

    def bind(self, s: ir.Assign) -> None:
        """Remember a local assigned once, at a place every later access sees."""
        if s.name in self.once and self.text(s.value) is not None:
            self.locals[s.name] = s.value


def _bounds(aff: _Affine, cond: ir.Expr, negate: bool = False) -> list | None:
    """``cond`` (or its negation) as thread-index bounds ``[(axis, "lo"|"hi", text)]``,
    if it is a conjunction of ``t ± u OP v`` (``t`` a thread index, ``u``, ``v`` uniform;
    a negation only of a single comparison)."""
    if isinstance(cond, ir.Binary) and cond.op == "and" and not negate:
        lhs, rhs = _bounds(aff, cond.lhs), _bounds(aff, cond.rhs)
        return None if lhs is None or rhs is None else lhs + rhs
    if not (isinstance(cond, ir.Binary) and cond.op in _FLIP):
        return None
    op = _NEGATE[cond.op] if negate else cond.op
    lhs, rhs = _unit(aff, cond.lhs), aff.text(cond.rhs)
    if lhs is None or rhs is None or rhs[1]:
        lhs, rhs, op = _unit(aff, cond.rhs), aff.text(cond.lhs), _FLIP[op]
        if lhs is None or rhs is None or rhs[1]:
            return None
    axis, offset = lhs
    if axis > 1 and axis not in aff.live:
        return None  # a loop's variable, after its loop
    side, value = {"lt": ("hi", f"{rhs[0]} - 1"), "le": ("hi", rhs[0]),
                   "gt": ("lo", f"{rhs[0]} + 1"), "ge": ("lo", rhs[0])}[op]
    return [(axis, side, f"({value}) - ({offset})")]


def _unit(aff: _Affine, e: ir.Expr) -> tuple[int, str] | None:
    """(axis, offset text) if ``e`` is a thread index plus or minus a uniform value."""
    t = aff.text(e)
    if t is not None and len(t[1]) == 1 and t[0] == axis_name(next(iter(t[1]))):
        return next(iter(t[1])), "0"
    if isinstance(e, ir.Cast):
        return _unit(aff, e.operand)
    if isinstance(e, ir.Binary) and e.op in ("add", "sub"):
        lhs, rhs = _unit(aff, e.lhs), aff.text(e.rhs)
        if lhs is not None and rhs is not None and not rhs[1]:
            return lhs[0], f"{lhs[1]} {'+' if e.op == 'add' else '-'} {rhs[0]}"
        if e.op == "add":
            rhs, lhs = _unit(aff, e.rhs), aff.text(e.lhs)
            if rhs is not None and lhs is not None and not lhs[1]:
                return rhs[0], f"{rhs[1]} + {lhs[0]}"
    return None


def _exprs_evaluated(stmt: ir.Stmt) -> list[ir.Expr]:
    """The loads ``stmt`` surely evaluates (not under AND/OR or select's arms)."""
    out: list[ir.Expr] = []

    def visit(e):
        if isinstance(e, ir.Load):
            out.append(e)
            for i in e.index:
                visit(i)
        elif isinstance(e, ir.Binary):
            visit(e.lhs)
            if e.op not in ("and", "or"):
                visit(e.rhs)
        elif isinstance(e, ir.Call):
            for x in (e.args[:1] if e.fn == "select" else e.args):
                visit(x)
        elif isinstance(e, (ir.Unary, ir.Cast)):
            visit(e.operand)
    exprs = (stmt.arms[0][0],) if isinstance(stmt, ir.If) else ir.stmt_exprs(stmt)
    for e in exprs:  # of an IF, only the first condition is surely evaluated
        visit(e)
    return out


def _collect(aff: _Affine, body: ir.Body, box: tuple, out: list, top: bool,
             stop: tuple = ()) -> bool:
    """Add to ``out`` the checks of ``body``'s accesses, run by the threads in ``box``.
    Returns False when a thread may have stopped part-way (a RETURN, or a ``stop``
    statement: CONTINUE in a loop's body, not followed), so later statements are not run
    by every thread of ``box``."""
    ends = (ir.Return,) + stop
    for s in body:
        for load in _exprs_evaluated(s):
            _add(aff, load.array, load.index, load, box, out)
        if isinstance(s, ir.Assign):
            if top:
                aff.bind(s)
        elif isinstance(s, (ir.Store, ir.Atomic)):
            _add(aff, s.array, s.index, s, box, out)
        elif isinstance(s, ends):
            return False
        elif isinstance(s, ir.If):
            cond, arm = s.arms[0]
            if len(s.arms) == 1 and not s.orelse and len(arm) == 1 \
                    and isinstance(arm[0], ends):  # IF i >= n: RETURN
                rest = _bounds(aff, cond, negate=True)
                if rest is None:
                    return False
                box = box + tuple(rest)
                continue
            inner = _bounds(aff, cond)
            if inner is not None:
                _collect(aff, arm, box + tuple(inner), out, False, stop)
            if any(isinstance(x, ends) for x in ir.walk((s,))):
                return False
        elif isinstance(s, (ir.For, ir.While)):
            if any(isinstance(x, ir.Return) for x in ir.walk(s.body)):
                return False
            loop = _loop_range(aff, s)
            if loop is not None:
                aff.live.add(loop[0][0])
                _collect(aff, s.body, box + loop, out, True, (ir.Continue,))
                aff.live.discard(loop[0][0])
    return True


def _loop_range(aff: _Affine, s) -> tuple | None:
    """The box entries of ``FOR v IN a..b [STEP k]`` whose ``v`` is assigned nowhere else,
    ``a`` and ``b`` the same for every thread, ``k`` a positive literal, and whose body
    has no BREAK (every iteration runs): ``v`` becomes a new axis from ``a`` to the last
    value it takes."""
    if not isinstance(s, ir.For) or s.var not in aff.once \
            or any(isinstance(x, ir.Break) for x in ir.walk(s.body)):
        return None
    start, stop = aff.text(s.start), aff.text(s.stop)
    step = 1 if s.step is None else s.step.value if isinstance(s.step, ir.Const) else 0
    if start is None or stop is None or start[1] or stop[1] or not isinstance(step, int) \
            or step <= 0:
        return None
    axis = aff.axes
    aff.axes += 1
    aff.loops[s.var] = axis
    last = f"({start[0]}) + ((({stop[0]}) - 1 - ({start[0]})) // {step}) * {step}"
    return ((axis, "lo", start[0]), (axis, "hi", last))


def _local_box(kernel: ir.Kernel, axes) -> tuple:
    """The range of each LOCAL_ID axis in ``axes``: the block, or the threads launched
    when fewer (a guarded kernel's only, partial block)."""
    out = []
    for axis in sorted(a for a in axes if a >= LOCAL):
        size, n = kernel.block[axis - LOCAL], ("nx", "ny")[axis - LOCAL]
        hi = f"{size - 1}" if not kernel.guarded else f"min({size - 1}, {n} - 1)"
        out += [(axis, "lo", "0"), (axis, "hi", hi)]
    return tuple(out)


LOCAL = 100  # the axes of LOCAL_ID: 100 (x), 101 (y)


def axis_name(axis: int) -> str:
    """The Python name of an axis in a check's text: tx, ty, t2…, lx, ly."""
    names = {0: "tx", 1: "ty", LOCAL: "lx", LOCAL + 1: "ly"}
    return names.get(axis, f"t{axis}")


def _add(aff: _Affine, array: str, index: tuple, access, box: tuple, out: list) -> None:
    p = aff.kernel.param(array)
    shared = next((x.shape for x in aff.kernel.shared if x.name == array), None)
    if (p is None or not isinstance(p.type, Array)) and shared is None:
        return
    for axis, e in enumerate(index):
        t, exact = aff.text(e), aff.text(e, exact=True)
        if t is None or exact is None \
                or any(1 < x < LOCAL and x not in aff.live for x in t[1]) \
                or (t[1] & {0, 1} and t[1] & {LOCAL, LOCAL + 1}):
            continue  # not affine, a loop's variable after its loop, or x with LOCAL_ID
        if shared is not None:
            extent = str(math.prod(shared)) if len(index) == 1 else str(shared[axis])
        else:
            k = aff.index[array]
            extent = f"_prod(a[{k}].shape)" if len(index) == 1 else f"a[{k}].shape[{axis}]"
        c = Check(array, axis if len(index) > 1 else -1, extent, t[0],
                   box + _local_box(aff.kernel, t[1]), access, exact[0])
        if not any((c.array, c.axis, c.index, c.box) == (o.array, o.axis, o.index, o.box)
                   for o in out):
            out.append(c)


def collect_checks(kernel: ir.Kernel) -> list[Check]:
    """The launch checks of ``kernel``: one per array axis of each access covered."""
    checks: list[Check] = []
    _collect(_Affine(kernel), kernel.body, (), checks, True)
    return checks
