"""The IR's kernel statements and kernels (``ir/nodes`` gathers every node)."""

from __future__ import annotations

from dataclasses import dataclass

from pxos.ir.expressions import Expr
from pxos.ir.functions import ATOMICS
from pxos.ir.types import Array, Scalar
from pxos.span import Span


@dataclass(frozen=True)
class Stmt:
    span: Span


Body = tuple[Stmt, ...]


@dataclass(frozen=True)
class Assign(Stmt):
    """``name = value``: SET, LOAD, the instructions and the index statements all lower to it."""

    name: str
    value: Expr


@dataclass(frozen=True)
class Store(Stmt):
    array: str
    index: tuple[Expr, ...]
    value: Expr


@dataclass(frozen=True)
class If(Stmt):
    arms: tuple[tuple[Expr, Body], ...]  # IF and ELIF arms, in order
    orelse: Body = ()


@dataclass(frozen=True)
class For(Stmt):
    """``FOR var IN start..stop STEP step`` (stop exclusive; a negative step counts down)."""

    var: str
    start: Expr
    stop: Expr
    step: Expr | None
    body: Body


@dataclass(frozen=True)
class While(Stmt):
    cond: Expr
    body: Body


@dataclass(frozen=True)
class Break(Stmt):
    pass


@dataclass(frozen=True)
class Continue(Stmt):
    pass


@dataclass(frozen=True)
class Return(Stmt):
    pass


@dataclass(frozen=True)
class Sync(Stmt):
    pass


@dataclass(frozen=True)
class ThreadLoop(Stmt):
    """Every thread of a block, one after another: the thread code of a target that runs a
    block's threads as loops on one core (a CPU). Only ``ir/passes/fission`` writes it,
    into the per-block code it makes of a kernel; the front-ends never do.

    ``body`` runs once per thread slot of the block, x fastest, each axis from 0 up to its
    ``stops`` expression (x first, one per launch axis, uniform in the block). Inside it,
    ``LOCAL_ID`` and ``THREAD_ID`` are those of the slot's thread; each variable named in
    ``private`` is that thread's own and is 0 when its run of ``body`` starts (a renderer
    declares it inside the loop); ``RETURN`` ends the slot's run of ``body``.
    """

    stops: tuple[Expr, ...]
    body: Body
    private: tuple[str, ...] = ()


ATOMIC_OPS = tuple(ATOMICS)  # from the operation table (ir/functions)


@dataclass(frozen=True)
class Atomic(Stmt):
    """``ATOMIC_<op> array[index] value [→ result]``; ``result`` receives the old value."""

    op: str  # one of ATOMIC_OPS
    array: str
    index: tuple[Expr, ...]
    value: Expr
    result: str | None = None


# ----------------------------------------------------------------------------- kernels


@dataclass(frozen=True)
class Param:
    name: str
    type: Scalar | Array
    span: Span


@dataclass(frozen=True)
class Shared:
    """``GPU_SHARED_MEM name elem n [m]``: per-block array of constant shape."""

    name: str
    elem: Scalar
    shape: tuple[int, ...]
    span: Span


@dataclass(frozen=True)
class Kernel:
    """A ``GPU_KERNEL``.

    Attributes:
        threads: the ``GPU_THREADS`` expressions (x first), evaluated on the host at launch
            over the scalar parameters and ``LEN/ROWS/COLS`` of array parameters; ``None``
            before checking means "one thread per element of the first array".
        block: ``GPU_BLOCK`` sizes (x first); ``None`` before checking means the default
            (the checker sets 256, 16 × 16 for a 2-D launch, 32 × 4 × 2 for a 3-D one).
        target: ``auto``, ``cpu``, ``cuda`` or ``opencl``.
        variables: (checked) every local variable and its type, in order of first assignment.
        access: (checked) for every array parameter, ``"r"``, ``"w"`` or ``"rw"``.
        guarded: (checked) True when threads past ``threads`` skip the body (no barrier and
            no shared memory); False when the kernel guards itself.
    """

    name: str
    params: tuple[Param, ...]
    shared: tuple[Shared, ...]
    threads: tuple[Expr, ...] | None
    block: tuple[int, ...] | None
    target: str
    body: Body
    span: Span
    variables: tuple[tuple[str, Scalar], ...] = ()
    access: tuple[tuple[str, str], ...] = ()
    guarded: bool = True

    @property
    def ndim(self) -> int:
        """1, 2 or 3: the dimensionality of the launch."""
        return len(self.threads) if self.threads else 1

    @property
    def uses_barrier(self) -> bool:
        return any(isinstance(s, Sync) for s in walk(self.body))

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def children(stmt: Stmt) -> tuple[Body, ...]:
    """The nested statement lists of a statement."""
    if isinstance(stmt, If):
        return tuple(body for _, body in stmt.arms) + (stmt.orelse,)
    if isinstance(stmt, (For, While, ThreadLoop)):
        return (stmt.body,)
    return ()


def walk(body: Body):
    """Every statement of ``body``, nested ones included, in source order."""
    for stmt in body:
        yield stmt
        for inner in children(stmt):
            yield from walk(inner)
