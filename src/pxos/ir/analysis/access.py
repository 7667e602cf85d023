"""How a kernel's array accesses and branches vary across the threads of a warp.

Each index is abstracted as an affine function of the thread index along x (the fastest
launch axis, ``THREAD_ID``'s linear value or its ``x``): :class:`Affine` holds its stride in
elements per thread, or says that it is a gather (data-dependent or non-linear). From that:

- an access is ``uniform`` (every thread of a warp reads the same element: a broadcast),
  ``unit`` (neighbouring threads touch neighbouring elements: coalesced), ``strided`` (a
  constant or parameter stride other than ±1: one memory transaction per thread) or
  ``gathered`` (data-dependent addresses);
- a branch is ``uniform``, a ``boundary`` (an affine index compared with a uniform value:
  only the warp that straddles the bound diverges, as in ``IF tid < LEN(a)``) or
  ``divergent`` (threads of one warp take different paths throughout, e.g. ``tid % 2``).

The warp is 32 threads (CUDA Programming Guide, "SIMT Architecture"); the y index of a 2-D
launch and ``x / 32`` are uniform within a warp of a row-major block whose x extent is a
multiple of 32, and are treated so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pxos.ir import nodes as ir

WARP = 32


@dataclass(frozen=True)
class Affine:
    """An integer expression as a function of the x thread index within one warp.

    Attributes:
        stride: elements per thread: 0 for a value the same across the warp, ``None`` for a
            stride that is uniform but not a literal (``tid * n``).
        value: the literal value when the expression is a known constant.
        varying: differs between threads somewhere (across warps at least).
        gather: depends on loaded data or non-linearly on the thread index.
    """

    stride: int | None = 0
    value: int | None = None
    varying: bool = False
    gather: bool = False

    @property
    def warp_uniform(self) -> bool:
        return not self.gather and self.stride == 0


UNIFORM = Affine()
GATHER = Affine(stride=None, varying=True, gather=True)


def _join(a: Affine, b: Affine) -> Affine:
    """The value of a variable assigned ``a`` on one path and ``b`` on another."""
    if a == b:
        return a
    if a.gather or b.gather or a.stride != b.stride:
        return GATHER if (a.varying or b.varying) else UNIFORM
    return Affine(a.stride, None, a.varying or b.varying)


def _add(a: Affine, b: Affine, sign: int) -> Affine:
    if a.gather or b.gather:
        return GATHER
    stride = None if a.stride is None or b.stride is None else a.stride + sign * b.stride
    value = (a.value + sign * b.value) if a.value is not None and b.value is not None else None
    return Affine(stride, value, a.varying or b.varying)


def _mul(a: Affine, b: Affine) -> Affine:
    if a.gather or b.gather:
        return GATHER
    if a.varying and b.varying:
        return GATHER
    if b.varying:
        a, b = b, a
    # a may vary, b is uniform
    if b.value is not None:
        stride = None if a.stride is None else a.stride * b.value
        value = a.value * b.value if a.value is not None else None
        return Affine(stride, value, a.varying and b.value != 0)
    return Affine(0 if a.stride == 0 else None, None, a.varying)


def _div(a: Affine, b: Affine, op: str) -> Affine:
    """``a / b``, ``a % b``, ``a >> b``, ``a & b`` …: affine only when ``a`` is uniform,
    or (for ``/`` and ``>>``) warp-uniform when a unit-stride ``a`` is divided by a multiple
    of the warp size."""
    if not (a.varying or b.varying):
        return UNIFORM
    if a.gather or b.varying:
        return GATHER
    if a.stride == 0:
        return Affine(0, None, True)
    divisor = b.value if op == "div" else (1 << b.value if op == "shr" and b.value is not None
                                           and 0 <= b.value < 31 else None)
    if op in ("div", "shr") and divisor and a.stride in (1, -1) and divisor % WARP == 0:
        return Affine(0, None, True)
    return GATHER


@dataclass
class ThreadValues:
    """The :class:`Affine` value of every integer variable of a kernel (a fixpoint over
    assignments, so a variable assigned twice with different strides becomes a gather)."""

    kernel: ir.Kernel
    env: dict[str, Affine] = field(default_factory=dict)

    def __post_init__(self):
        for _ in range(4):
            before = dict(self.env)
            self._body(self.kernel.body, False)
            if self.env == before:
                break

    def of(self, e: ir.Expr) -> Affine:
        """The affine abstraction of expression ``e``."""
        if isinstance(e, ir.Const):
            v = e.value
            return Affine(0, int(v) if isinstance(v, (bool, int)) else None)
        if isinstance(e, ir.Var):
            return self.env.get(e.name, UNIFORM)
        if isinstance(e, ir.Builtin):
            if e.name in ("thread_id", "local_id"):
                if e.axis in (None, 0):
                    return Affine(1, None, True)
                return Affine(0, None, True)
            return UNIFORM
        if isinstance(e, ir.Dim):
            return UNIFORM
        if isinstance(e, ir.Load):
            return GATHER if any(self.of(i).varying for i in e.index) else UNIFORM
        if isinstance(e, ir.Cast):
            return self.of(e.operand)
        if isinstance(e, ir.Unary):
            a = self.of(e.operand)
            if e.op == "neg" and not a.gather:
                return Affine(None if a.stride is None else -a.stride,
                              None if a.value is None else -a.value, a.varying)
            return a if not a.varying else (Affine(0, None, True) if a.stride == 0 else GATHER)
        if isinstance(e, ir.Binary):
            a, b = self.of(e.lhs), self.of(e.rhs)
            if e.op in ("add", "sub"):
                return _add(a, b, 1 if e.op == "add" else -1)
            if e.op == "mul":
                return _mul(a, b)
            if e.op in ("div", "mod", "shr", "shl", "band", "bor", "bxor"):
                return _div(a, b, e.op)
            return self._compare(a, b)
        if isinstance(e, ir.Call):
            args = [self.of(x) for x in e.args]
            if e.fn in ("min", "max"):  # clamping keeps the stride of the varying side
                varying = [x for x in args if x.varying]
                if len(varying) == 1 and not varying[0].gather:
                    return Affine(varying[0].stride, None, True)
                if len(varying) == 2 and varying[0].stride == varying[1].stride \
                        and not varying[0].gather:
                    return Affine(varying[0].stride, None, True)
            if not any(x.varying for x in args):
                return UNIFORM
            if all(x.warp_uniform for x in args):
                return Affine(0, None, True)
            return GATHER
        return GATHER

    def _compare(self, a: Affine, b: Affine) -> Affine:
        if not (a.varying or b.varying):
            return UNIFORM
        if a.warp_uniform and b.warp_uniform:
            return Affine(0, None, True)
        return GATHER

    def branch(self, cond: ir.Expr) -> str:
        """``uniform``, ``boundary`` or ``divergent`` (see the module docstring)."""
        return _branch_kind(self, cond)

    def _body(self, body: ir.Body, under_varying: bool) -> None:
        for s in body:
            if isinstance(s, ir.Assign):
                v = self.of(s.value)
                if under_varying and not v.varying:
                    v = Affine(0, None, True)
                old = self.env.get(s.name)
                self.env[s.name] = v if old is None else _join(old, v)
            elif isinstance(s, ir.Atomic) and s.result is not None:
                self.env[s.result] = GATHER
            elif isinstance(s, ir.If):
                inner = under_varying
                for cond, arm in s.arms:
                    inner = inner or self.of(cond).varying
                    self._body(arm, inner)
                self._body(s.orelse, inner)
            elif isinstance(s, ir.For):
                start = self.of(s.start)
                old = self.env.get(s.var)
                loop = Affine(start.stride, None, start.varying, start.gather)
                self.env[s.var] = loop if old is None else _join(old, loop)
                self._body(s.body, under_varying or self.of(s.stop).varying)
            elif isinstance(s, ir.While):
                self._body(s.body, under_varying or self.of(s.cond).varying)


def _branch_kind(values: ThreadValues, cond: ir.Expr) -> str:
    a = values.of(cond)
    if not a.varying:
        return "uniform"
    if a.warp_uniform:
        return "uniform"
    if isinstance(cond, ir.Binary) and cond.op in ("and", "or"):
        kinds = {_branch_kind(values, cond.lhs), _branch_kind(values, cond.rhs)}
        return "divergent" if "divergent" in kinds else "boundary"
    if isinstance(cond, ir.Binary) and cond.op in ir.COMPARISONS:
        lhs, rhs = values.of(cond.lhs), values.of(cond.rhs)
        if not (lhs.gather or rhs.gather) and (not lhs.varying or not rhs.varying
                                               or lhs.warp_uniform or rhs.warp_uniform):
            return "boundary"
    return "divergent"


@dataclass(frozen=True)
class Access:
    """One array access in the thread code.

    Attributes:
        array: the array's name; ``shared`` is True for a ``GPU_SHARED_MEM`` array.
        kind: ``load``, ``store`` or ``atomic``.
        pattern: ``uniform``, ``unit``, ``interleaved`` (``a[y, x, 0]``: one field of a
            small record per thread, whose other fields neighbouring accesses use),
            ``strided`` or ``gathered``.
        stride: elements between neighbouring threads' addresses (None if not a literal).
        span: where the access is written.
    """

    array: str
    kind: str
    pattern: str
    stride: int | None
    shared: bool
    index: tuple[ir.Expr, ...]
    span: object


def index_pattern(values: ThreadValues, index: tuple[ir.Expr, ...]) -> tuple[str, int | None]:
    """The pattern and stride of a row-major access ``a[i0, …, ik]``: the last index moves
    by its stride; any other index that moves with x makes the access strided by a row."""
    parts = [values.of(i) for i in index]
    if any(p.gather for p in parts):
        return "gathered", None
    if any(p.stride != 0 for p in parts[:-1]):
        if parts[-1].value is not None and parts[-2].stride in (1, -1) \
                and all(p.stride == 0 for p in parts[:-2]):
            return "interleaved", None  # img[y, x, 0]: a field of a small record per x
        return "strided", None
    last = parts[-1].stride
    if last == 0:
        return "uniform", 0
    if last in (1, -1):
        return "unit", last
    return "strided", last


def access(values: ThreadValues, array: str, index: tuple[ir.Expr, ...], kind: str, span,
           shared: set[str]) -> Access:
    """The :class:`Access` of ``array[index]`` (``kind``: load, store or atomic)."""
    pattern, stride = index_pattern(values, index)
    return Access(array, kind, pattern, stride, array in shared, index, span)
