"""The IR's expressions (``ir/nodes`` gathers every node; read it for the whole IR): plain
frozen dataclasses with a source span and, once checked, a type."""

from __future__ import annotations

from dataclasses import dataclass, field

from pxos.ir.functions import ARITY, TRANSCENDENTAL  # noqa: F401 (TRANSCENDENTAL re-exported)
from pxos.ir.types import Scalar
from pxos.span import Span


@dataclass(frozen=True)
class Expr:
    span: Span
    type: Scalar | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Const(Expr):
    """A literal. ``weak`` marks an unsuffixed float literal, whose type the checker takes
    from the other operand (spec, "Types")."""

    value: int | float | bool
    weak: bool = False


@dataclass(frozen=True)
class Str(Expr):
    """A string literal (host statements only: labels and paths)."""

    value: str


@dataclass(frozen=True)
class Var(Expr):
    name: str


@dataclass(frozen=True)
class Load(Expr):
    """Read of ``array[index...]`` (1 to 3 indices; ``a[y, x]`` is row-major)."""

    array: str
    index: tuple[Expr, ...]


UNARY_OPS = ("neg", "not", "bnot")
BINARY_OPS = (
    "add", "sub", "mul", "div", "mod",
    "lt", "le", "gt", "ge", "eq", "ne",
    "and", "or", "band", "bor", "bxor", "shl", "shr",
)
COMPARISONS = ("lt", "le", "gt", "ge", "eq", "ne")


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # one of UNARY_OPS
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # one of BINARY_OPS
    lhs: Expr
    rhs: Expr


# Functions callable in expressions and as instructions, with their operand counts, and the
# transcendental ones: from the operation table (ir/functions).
FUNCTIONS = ARITY


@dataclass(frozen=True)
class Call(Expr):
    fn: str  # a key of FUNCTIONS
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Cast(Expr):
    operand: Expr
    to: Scalar


BUILTINS = ("thread_id", "local_id", "block_id", "block_size", "num_threads")


@dataclass(frozen=True)
class Builtin(Expr):
    """A launch index: ``name`` in BUILTINS; ``axis`` None for the linear value, 0 for x,
    1 for y, 2 for z."""

    name: str
    axis: int | None = None


DIM_AXES = ("rows", "cols", "dim2")  # Dim.which for the extent of axis 0, 1, 2


@dataclass(frozen=True)
class Dim(Expr):
    """``LEN(a)`` (all elements, ``which`` "len") or the extent of one axis: ``ROWS(a)`` and
    ``DIM(a, 0)`` ("rows"), ``COLS(a)`` and ``DIM(a, 1)`` ("cols"), ``DIM(a, 2)`` ("dim2").
    ``axis_span`` is where ``k`` of ``DIM(a, k)`` was written, for the checker's error."""

    array: str
    which: str  # "len" or one of DIM_AXES
    axis_span: Span | None = field(default=None, compare=False)

    @property
    def axis(self) -> int | None:
        """The axis whose extent this is; None for ``LEN``."""
        return None if self.which == "len" else DIM_AXES.index(self.which)
