"""The IR's host program: the statements of a `.px` file outside its kernels (files,
allocation, RUN, library operations, pipelines) and :class:`Program` (``ir/nodes``
gathers every node)."""

from __future__ import annotations

from dataclasses import dataclass

from pxos.ir.expressions import Expr
from pxos.ir.statements import Body, Kernel, Stmt
from pxos.ir.types import Scalar


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


# -- pipelines


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
