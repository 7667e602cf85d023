"""Checks of a whole program: its kernels, and its host statements before they run.

Host statements are checked statically as far as types are known before running (an array
read from a ``.npy`` file has its dtype only once read); the host runtime repeats the same
launch checks (:func:`check_launch`) with the real arrays, so a mismatch is always reported
with the statement's span, before any kernel runs on bad data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from pxos.errors import PxArgumentError, PxNameError, PxShapeError, PxSyntaxError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.check import check_kernel
from pxos.ir.check_pipeline import PipelineChecks
from pxos.ir.constants import fold_constants
from pxos.ir.reserved import check_name
from pxos.ir.typecheck import ExprTyper
from pxos.ir.types import (
    F32, F64, I64, U8, U64, Array, Scalar, common_type, promote, scalar_of_dtype,
)


# peek(path, as_type) -> (shape, dtype) of the array a READ_FILE would give, or None
Peek = Callable[[str, Scalar | None], "tuple[tuple[int, ...], object] | None"]


@dataclass(frozen=True)
class ArrayInfo:
    """What is known before running about a host array: ``elem``/``ndim`` None if unknown."""

    elem: Scalar | None
    ndim: int | None


def check_program(program: ir.Program, *, barriers: bool = True,
                  peek: Peek | None = None) -> ir.Program:
    """Check every kernel and the host statements; return the typed program.

    Args:
        program: a parsed program.
        barriers: apply the barrier rule to each kernel (see ``ir.check.check_kernel``).
        peek: ``peek(path, as_type)`` gives the (shape, dtype) a ``READ_FILE`` of ``path``
            would give, from the file's header, or None where it cannot be read now
            (``host.files.FileAccess.peek``). Without it, or where it gives None, an
            array read from a ``.npy`` file has its element type and rank checked when
            the file is read, with the same errors at the same places.

    Raises:
        PxError subclasses: the first problem found, with its span.
    """
    program = fold_constants(program)
    kernels = []
    for k in program.kernels:
        if any(c.name == k.name for c in kernels):
            raise PxNameError(f"kernel {k.name!r} is defined twice", k.span)
        kernels.append(check_kernel(k, barriers=barriers))
    checked = replace(program, kernels=tuple(kernels))
    _HostChecker(checked, peek).run()
    return checked


def check_launch(kernel: ir.Kernel, args: list, span, arg_spans=None) -> None:
    """Check the values of ``RUN kernel args…`` against the kernel's parameters.

    Args:
        kernel: the checked kernel.
        args: per parameter, an :class:`ArrayInfo`, a Scalar type, or a NumPy array / scalar
            value (at run time).
        span: the RUN statement's span; ``arg_spans`` the span of each argument.

    Raises:
        PxArgumentError: wrong count, an array where a scalar is expected or the reverse,
            or a float value for an integer parameter.
        PxShapeError: an array of another element type or rank than the parameter's.
    """
    import numpy as np

    from pxos.ir.types import scalar_of_dtype

    if len(args) != len(kernel.params):
        names = " ".join(p.name for p in kernel.params)
        raise PxArgumentError(f"kernel {kernel.name!r} takes {len(kernel.params)} argument"
                              f"{'s' * (len(kernel.params) != 1)} ({names}), got {len(args)}",
                              span)
    for i, (p, a) in enumerate(zip(kernel.params, args)):
        where = arg_spans[i] if arg_spans else span
        if isinstance(a, np.ndarray):
            a = ArrayInfo(scalar_of_dtype(a.dtype), a.ndim)
        elif isinstance(a, (np.generic, int, float, bool)):
            a = scalar_of_dtype(np.asarray(a).dtype)
        if isinstance(p.type, Array):
            if not isinstance(a, ArrayInfo):
                raise PxArgumentError(f"parameter {p.name!r} of {kernel.name!r} is an array "
                                      f"({p.type}); got a scalar", where)
            if a.elem is not None and a.elem != p.type.elem or \
                    a.ndim is not None and a.ndim != p.type.ndim:
                got = Array(a.elem, a.ndim) if a.elem and a.ndim else "another array"
                raise PxShapeError(f"parameter {p.name!r} of {kernel.name!r} is {p.type}; "
                                   f"got {got}", where,
                                   "convert the data with a kernel, or declare it AS the "
                                   "parameter's type")
        elif isinstance(a, ArrayInfo):
            raise PxArgumentError(f"parameter {p.name!r} of {kernel.name!r} is a scalar "
                                  f"({p.type}); got an array", where)
        elif a is not None and a.is_float and not p.type.is_float:
            raise PxArgumentError(f"parameter {p.name!r} of {kernel.name!r} is {p.type}; "
                                  f"got a {a} value", where, "pass an integer")


class _HostChecker(PipelineChecks):
    def __init__(self, program: ir.Program, peek: Peek | None = None):
        self.program = program
        self.peek = peek
        self.origin: dict[str, str] = {}  # array -> "file", "env" or "program" (keys)
        self.names: dict[str, ArrayInfo | Scalar | None] = {}  # None: scalar, type unknown
        self.typer = ExprTyper(self._lookup, builtins=False)

    def _lookup(self, name: str):
        v = self.names.get(name)
        if isinstance(v, ArrayInfo):
            return Array(v.elem or F32, v.ndim or 1)
        return v

    def _need(self, name: str, span, array: bool | None = None):
        if name not in self.names:
            raise PxNameError(f"undefined name {name!r}", span,
                              "define it first (ALLOC, READ_FILE, SET, REDUCE, SORT)")
        v = self.names[name]
        if array is True and not isinstance(v, ArrayInfo):
            raise PxTypeError(f"{name!r} is a scalar; an array is needed here", span)
        if array is False and isinstance(v, ArrayInfo):
            raise PxTypeError(f"{name!r} is an array; a scalar is needed here", span)
        return v

    def _define(self, name: str, value, span) -> None:
        span = span.find(name)
        check_name(name, span)
        if self.program.kernel(name) is not None:
            raise PxNameError(f"{name!r} is the name of a kernel", span)
        old = self.names.get(name, value)
        if isinstance(old, ArrayInfo) != isinstance(value, ArrayInfo):
            raise PxTypeError(f"{name!r} was an {'array' if isinstance(old, ArrayInfo) else 'scalar'}"
                              "; a name keeps its kind", span)
        self.names[name] = value
        self.origin[name] = "program"  # READ_FILE and READ_ENV say otherwise after this

    def _expr(self, e: ir.Expr, span) -> Scalar | None:
        """Type a host expression when all it reads is known; check its names always."""
        for x in ir.subexprs(e):
            if isinstance(x, ir.Var):
                self._need(x.name, x.span)
            elif isinstance(x, (ir.Load, ir.Dim)):
                self._need(x.array, x.span, array=True)
        if any(isinstance(x, ir.Var) and self.names[x.name] is None or
               isinstance(x, ir.Load) and self.names[x.array].elem is None or
               isinstance(x, (ir.Load, ir.Dim)) and self.names[x.array].ndim is None
               for x in ir.subexprs(e)):  # typed when the run knows (same errors)
            return None
        return self.typer.scalar(e).type

    def run(self) -> None:
        self.loops = 0  # host loops around the statement being checked
        self._body(self.program.statements)
        self._check_streams(self.program.statements)

    def _body(self, body: ir.Body) -> None:
        for s in body:
            method = getattr(self, "_" + type(s).__name__.lower(), None)
            if method is None:
                raise PxSyntaxError(
                    f"{ir.keyword(s)} is thread code; it belongs between "
                    "GPU_THREAD_CODE: and GPU_END", s.span)
            method(s)

    # -- control flow (Version 2)
    def _constdef(self, s: ir.ConstDef) -> None:
        """Folded into its uses by ``ir/constants`` before this checker runs."""

    def _condition(self, e: ir.Expr) -> None:
        self._expr(e, e.span)  # any scalar is a condition (non-zero is true), as in C

    def _if(self, s: ir.If) -> None:
        for cond, body in s.arms:
            self._condition(cond)
            self._body(body)
        self._body(s.orelse)

    def _loop(self, body: ir.Body) -> None:
        self.loops += 1
        self._body(body)
        self.loops -= 1

    def _for(self, s: ir.For) -> None:
        types = []
        for e in (s.start, s.stop, s.step):
            if e is None:
                continue
            t = self._expr(e, e.span)
            if t is not None and not t.is_int:
                raise PxTypeError(f"FOR bounds must be integers, got {t}", e.span,
                                  "convert with i32(x), or loop over an integer and scale it")
            types.append(t)
        if isinstance(s.step, ir.Const) and s.step.value == 0:
            raise PxTypeError("FOR STEP must not be 0", s.step.span)
        known = [t for t in types if t is not None]
        var = self.names.get(s.var)
        if isinstance(var, Scalar) and not var.is_int:
            raise PxTypeError(f"FOR variable {s.var!r} is {var}; it must be an integer",
                              s.span)
        self._define(s.var, var or (common_of(known) if len(known) == len(types) else None),
                     s.span)
        self._loop(s.body)

    def _while(self, s: ir.While) -> None:
        self._condition(s.cond)
        self._loop(s.body)

    def _jump(self, s: ir.Stmt) -> None:
        if self.loops == 0:
            raise PxSyntaxError(f"{ir.keyword(s)} outside a loop", s.span,
                                "BREAK and CONTINUE belong in a FOR or WHILE body")

    _break = _continue = _jump

    def _swap(self, s: ir.Swap) -> None:
        a = self._need(s.a, s.span.find(s.a), array=True)
        b = self._need(s.b, s.span.find(s.b), array=True)
        if a.elem and b.elem and a.elem != b.elem or a.ndim and b.ndim and a.ndim != b.ndim:
            raise PxTypeError(f"SWAP needs two arrays of the same type and shape; {s.a!r} is "
                              f"{_shown(a)} and {s.b!r} is {_shown(b)}", s.span)
        both = ArrayInfo(a.elem or b.elem, a.ndim or b.ndim)
        self.names[s.a] = self.names[s.b] = both
        self.origin[s.a], self.origin[s.b] = self._origin_of(s.b), self._origin_of(s.a)

    def _readfile(self, s: ir.ReadFile) -> None:
        ext = s.path.rsplit(".", 1)[-1].lower() if "." in s.path else ""
        if ext in ("png", "jpg", "jpeg", "bmp"):
            info = ArrayInfo(U8, 3)
        elif ext == "npy":
            found = self.peek(s.path, s.as_type) if self.peek else None
            elem = scalar_of_dtype(found[1]) if found else None
            info = ArrayInfo(elem, len(found[0])) if elem and 1 <= len(found[0]) <= 3 \
                else ArrayInfo(s.as_type, None)
        else:
            info = ArrayInfo(s.as_type or U8, 1)
        if s.chunk is not None:
            self._chunk_size(s.chunk)
        self._define(s.name, info, s.span)
        self.origin[s.name] = "file"

    def _writefile(self, s: ir.WriteFile) -> None:
        self._need(s.name, s.span, array=True)

    def _alloc(self, s: ir.Alloc) -> None:
        for d in s.dims:
            t = self._expr(d, d.span)
            if t is not None and not t.is_int:
                raise PxTypeError(f"an array size must be an integer, got {t}", d.span)
        self._define(s.name, ArrayInfo(s.elem, len(s.dims)), s.span)

    def _alloclike(self, s: ir.AllocLike) -> None:
        self._define(s.name, self._need(s.other, s.span, array=True), s.span)

    def _fill(self, s: ir.Fill) -> None:
        self._need(s.name, s.span, array=True)
        self._expr(s.value, s.span)
        self.origin[s.name] = "program"

    def _randomfill(self, s: ir.RandomFill) -> None:
        self._need(s.name, s.span, array=True)
        self.origin[s.name] = "program"
        for e in (s.seed, s.low, s.high):
            if e is not None:
                self._expr(e, s.span)

    def _assign(self, s: ir.Assign) -> None:
        t = self._expr(s.value, s.span)
        if isinstance(self.names.get(s.name), ArrayInfo):
            raise PxTypeError(f"{s.name!r} is an array; SET assigns scalars", s.span)
        self._define(s.name, self.names.get(s.name) or t, s.span)

    def _run(self, s: ir.Run) -> None:
        k = self.program.kernel(s.kernel)
        if k is None:
            raise PxNameError(f"no kernel named {s.kernel!r}", s.span)
        args = []
        for a in s.args:
            if isinstance(a, ir.Var) and isinstance(self._need(a.name, a.span), ArrayInfo):
                args.append(self.names[a.name])
            else:
                args.append(self._expr(a, a.span))
        check_launch(k, args, s.span, [a.span for a in s.args])
        for a, p in zip(s.args, k.params):  # a kernel's output is made by the program
            if isinstance(a, ir.Var) and "w" in dict(k.access).get(p.name, ""):
                self.origin[a.name] = "program"

    def _reduce(self, s: ir.Reduce) -> None:
        info = self._need(s.source, s.span, array=True)
        self._define(s.result, reduce_type(s.op, info.elem) if info.elem else None, s.span)

    def _sort(self, s: ir.Sort) -> None:
        info = self._need(s.source, s.span, array=True)
        if info.ndim not in (None, 1):
            raise PxShapeError(f"SORT needs a 1-D array; {s.source!r} is {info.ndim}-D", s.span)
        self._define(s.result, info, s.span)

    def _print(self, s: ir.Print) -> None:
        for item in s.items:
            if isinstance(item, ir.Var) and isinstance(self._need(item.name, item.span),
                                                       ArrayInfo):
                continue
            if not isinstance(item, ir.Str):
                self._expr(item, item.span)

    def _verify(self, s: ir.Verify) -> None:
        for e in (s.lhs, s.rhs) + ((s.tol,) if s.tol else ()):
            if isinstance(e, ir.Var) and isinstance(self._need(e.name, e.span), ArrayInfo):
                continue
            self._expr(e, e.span)


def _shown(a: ArrayInfo) -> str:
    if a.elem and a.ndim:
        return str(Array(a.elem, a.ndim))
    return f"{a.ndim}-D" if a.ndim else (f"an array of {a.elem}" if a.elem else "an array")


def common_of(types: list[Scalar]) -> Scalar:
    """The type integer FOR bounds unify to (C's usual conversions, at least ``i32``)."""
    t = promote(types[0])
    for other in types[1:]:
        t = common_type(t, other)
    return t


def reduce_type(op: str, elem: Scalar) -> Scalar:
    """The result type of ``REDUCE op`` over elements of type ``elem``: SUM and PROD of
    integers give ``i64`` (``u64`` for unsigned), of floats ``f64`` (accumulated in double);
    MIN and MAX keep the element type."""
    if op in ("min", "max"):
        return elem
    if elem.is_float:
        return F64
    return U64 if elem.kind == "u" else I64
