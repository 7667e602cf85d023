"""The typed IR: plain frozen dataclasses, each with a source span.

The `.px` front-end (``lang/px``) builds these nodes with ``type=None``; the checker
(``ir/check``) returns the same tree with every expression's ``type`` filled in and each
kernel's variables, array accesses and launch shape resolved. Codegen, the interpreter and
the host runtime read only checked trees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pxos.ir.functions import ARITY, ATOMICS, TRANSCENDENTAL  # noqa: F401 (TRANSCENDENTAL re-exported)
from pxos.ir.span import Span
from pxos.ir.types import Array, Scalar

# ----------------------------------------------------------------------------- expressions


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


# ----------------------------------------------------------------------------- statements


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


# ----------------------------------------------------------------------------- host program


@dataclass(frozen=True)
class ReadFile(Stmt):
    """``READ_FILE "path" INTO name [AS type] [CHUNK bytes]``; with ``chunk`` the file is
    streamed through the statements that take it (``ir/check_stream``)."""

    path: str
    name: str
    as_type: Scalar | None = None
    chunk: Expr | None = None


@dataclass(frozen=True)
class WriteFile(Stmt):
    name: str
    path: str


@dataclass(frozen=True)
class Alloc(Stmt):
    name: str
    elem: Scalar
    dims: tuple[Expr, ...]


@dataclass(frozen=True)
class AllocLike(Stmt):
    name: str
    other: str


@dataclass(frozen=True)
class Fill(Stmt):
    name: str
    value: Expr


@dataclass(frozen=True)
class RandomFill(Stmt):
    name: str
    seed: Expr
    low: Expr | None = None
    high: Expr | None = None


@dataclass(frozen=True)
class Run(Stmt):
    kernel: str
    args: tuple[Expr, ...]


REDUCE_OPS = ("sum", "min", "max", "prod")


@dataclass(frozen=True)
class Reduce(Stmt):
    op: str  # one of REDUCE_OPS
    source: str
    result: str


@dataclass(frozen=True)
class Sort(Stmt):
    source: str
    result: str


@dataclass(frozen=True)
class Print(Stmt):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Verify(Stmt):
    lhs: Expr
    rhs: Expr
    tol: Expr | None = None


@dataclass(frozen=True)
class Swap(Stmt):
    """``SWAP a b``: the two names exchange their arrays (same element type and shape),
    without copying."""

    a: str
    b: str


@dataclass(frozen=True)
class ConstDef(Stmt):
    """``CONST name = value`` (top level): a named constant. ``value`` is a literal
    expression; ``ir/constants.py`` evaluates it once and puts its value where the name is
    used, in kernels and host statements."""

    name: str
    value: Expr


# ----------------------------------------------------------------------------- pipelines


@dataclass(frozen=True)
class ReadEnv(Stmt):
    """``READ_ENV "VAR" INTO name [AS hex|utf8]``: an environment variable's bytes."""

    variable: str
    name: str
    encoding: str = "hex"


@dataclass(frozen=True)
class Crypt(Stmt):
    """``ENCRYPT``/``DECRYPT source WITH cipher KEY key NONCE nonce → result``; ``key`` is a
    ``Var`` (or a ``Str``, which the checker refuses: no key is written in a program)."""

    source: str
    cipher: str
    key: Expr
    nonce: str
    result: str
    decrypt: bool = False


@dataclass(frozen=True)
class Hash(Stmt):
    """``HASH [ROWS OF] source WITH algorithm → result`` (one digest, or one per row)."""

    source: str
    algorithm: str
    result: str
    rows: bool = False


@dataclass(frozen=True)
class Codec(Stmt):
    """``COMPRESS``/``DECOMPRESS source WITH codec [LEVEL n] → result``."""

    source: str
    codec: str
    result: str
    level: Expr | None = None
    decompress: bool = False


@dataclass(frozen=True)
class Validate(Stmt):
    """``VALIDATE source WITH crc32c|sha256 = expected`` or ``VALIDATE source AS
    npy|png|utf8`` (``expected`` None)."""

    source: str
    check: str
    expected: Expr | None = None


PIPELINE_STATEMENTS = (Crypt, Hash, Codec)  # placed by the planner, like RUN


@dataclass(frozen=True)
class Program:
    """A parsed `.px` file: its kernels and its host statements, top to bottom."""

    file: str
    kernels: tuple[Kernel, ...]
    statements: Body
    source: str = ""

    def kernel(self, name: str) -> Kernel | None:
        return next((k for k in self.kernels if k.name == name), None)


# ----------------------------------------------------------------------------- traversal

_KEYWORDS = {"Assign": "SET", "ReadFile": "READ_FILE", "WriteFile": "WRITE_FILE",
             "ReadEnv": "READ_ENV",
             "AllocLike": "ALLOC", "RandomFill": "RANDOM", "ConstDef": "CONST",
             "Sync": "SYNC_THREADS", "Atomic": "ATOMIC"}


def keyword(stmt: Stmt) -> str:
    """The `.px` keyword that starts ``stmt``'s line (``SET``, ``READ_FILE``, ``FOR`` …)."""
    if isinstance(stmt, Crypt):
        return "DECRYPT" if stmt.decrypt else "ENCRYPT"
    if isinstance(stmt, Codec):
        return "DECOMPRESS" if stmt.decompress else "COMPRESS"
    name = type(stmt).__name__
    return _KEYWORDS.get(name) or name.upper()


def children(stmt: Stmt) -> tuple[Body, ...]:
    """The nested statement lists of a statement."""
    if isinstance(stmt, If):
        return tuple(body for _, body in stmt.arms) + (stmt.orelse,)
    if isinstance(stmt, (For, While)):
        return (stmt.body,)
    return ()


def walk(body: Body):
    """Every statement of ``body``, nested ones included, in source order."""
    for stmt in body:
        yield stmt
        for inner in children(stmt):
            yield from walk(inner)


def subexprs(expr: Expr):
    """``expr`` and every expression inside it, parents first."""
    yield expr
    if isinstance(expr, Load):
        parts: tuple[Expr, ...] = expr.index
    elif isinstance(expr, Unary):
        parts = (expr.operand,)
    elif isinstance(expr, Binary):
        parts = (expr.lhs, expr.rhs)
    elif isinstance(expr, Call):
        parts = expr.args
    elif isinstance(expr, Cast):
        parts = (expr.operand,)
    else:
        parts = ()
    for part in parts:
        yield from subexprs(part)


def stmt_exprs(stmt: Stmt) -> tuple[Expr, ...]:
    """The expressions a statement evaluates directly (not those of nested bodies)."""
    if isinstance(stmt, Assign):
        return (stmt.value,)
    if isinstance(stmt, Store):
        return stmt.index + (stmt.value,)
    if isinstance(stmt, If):
        return tuple(cond for cond, _ in stmt.arms)
    if isinstance(stmt, For):
        return (stmt.start, stmt.stop) + ((stmt.step,) if stmt.step else ())
    if isinstance(stmt, While):
        return (stmt.cond,)
    if isinstance(stmt, Atomic):
        return stmt.index + (stmt.value,)
    return ()
