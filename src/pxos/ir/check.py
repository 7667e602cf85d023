"""The kernel checker: names, types, definitions, launch shape and the barrier rule.

:func:`check_kernel` returns the kernel with every expression typed (``ir/typecheck``), its
local variables and their types listed, the access (read, write) of each array parameter
inferred, and its launch shape (``GPU_THREADS``) resolved. Host programs are checked by
``ir/check_host``.
"""

from __future__ import annotations

from dataclasses import replace

from pxos.errors import PxArgumentError, PxSyntaxError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.barrier import check_barriers
from pxos.ir.functions import ATOMICS
from pxos.ir.passes.for_bounds import hoist_for_bounds, kernel_names
from pxos.ir.reserved import check_name
from pxos.ir.typecheck import ExprTyper, check_float_literals, convert
from pxos.ir.types import BOOL, F32, F64, I32, I64, U32, U64, Array, Scalar

MAX_BLOCK = 1024  # threads per block on every CUDA GPU since compute capability 2.0
MAX_BLOCK_Z = 64  # threads per block along z on every CUDA GPU (x and y: 1024)
# when GPU_BLOCK is not given; 3-D: a warp along x (coalesced rows), 256 threads in all
DEFAULT_BLOCK = {1: (256,), 2: (16, 16), 3: (32, 4, 2)}
MAX_SHARED_BYTES = 48 * 1024  # static shared memory per block guaranteed by CUDA
ATOMIC_TYPES = (I32, U32, I64, U64)
ATOMIC_FLOAT_OPS = tuple(name for name, a in ATOMICS.items() if a.floats)


def check_kernel(kernel: ir.Kernel, *, barriers: bool = True) -> ir.Kernel:
    """Check one kernel and return its typed form.

    Args:
        kernel: a parsed kernel.
        barriers: apply the barrier rule (``ir/barrier``); ``False`` only for tools that
            report a barrier error themselves and still want the typed kernel (``pxos lint``).

    Raises:
        PxNameError: reserved, invalid, duplicate or undefined names.
        PxTypeError: operands of the wrong type, implicit float-to-integer conversion,
            wrong index counts, assignments to parameters.
        PxSyntaxError: BREAK/CONTINUE outside a loop, bad GPU_BLOCK or GPU_SHARED_MEM sizes.
        PxBarrierError: SYNC_THREADS where not every thread of a block reaches it.
    """
    return _KernelChecker(kernel, barriers).run()


class _KernelChecker:
    def __init__(self, kernel: ir.Kernel, barriers: bool = True):
        self.k = kernel
        self.barriers = barriers
        self.arrays: dict[str, Array] = {}
        self.scalars: dict[str, Scalar] = {}
        self.variables: dict[str, Scalar] = {}
        self.first: dict[str, ir.Assign] = {}  # the SET that fixed each variable's type
        self.access: dict[str, set[str]] = {}
        self.loop_depth = 0

    # -- scope
    def lookup(self, name: str):
        return self.arrays.get(name) or self.scalars.get(name) or self.variables.get(name)

    def run(self) -> ir.Kernel:
        k = self.k
        check_name(k.name, k.span, "kernel name")
        for p in k.params:
            self._declare(p.name, p.span, "parameter")
            if isinstance(p.type, Array):
                self.arrays[p.name] = p.type
                self.access[p.name] = set()
            else:
                self.scalars[p.name] = p.type
        for s in k.shared:
            self._declare(s.name, s.span, "shared array")
            if not 1 <= len(s.shape) <= 3 or any(n <= 0 for n in s.shape):
                raise PxSyntaxError("GPU_SHARED_MEM sizes must be 1 to 3 positive integers",
                                    s.span)
            nbytes = s.elem.bits // 8 * _product(s.shape)
            if nbytes > MAX_SHARED_BYTES:
                raise PxSyntaxError(f"shared array {s.name!r} takes {nbytes} bytes; at most "
                                    f"{MAX_SHARED_BYTES} per block are allowed", s.span)
            self.arrays[s.name] = Array(s.elem, len(s.shape))
        threads = self._threads()
        self.typer = ExprTyper(self.lookup, builtins=True, ndim=len(threads))
        body = self._body(hoist_for_bounds(k.body, kernel_names(k)))  # bounds once
        check_float_literals(e for s in ir.walk(body) for e in ir.stmt_exprs(s))
        uses_shared = bool(k.shared)
        checked = replace(
            k, threads=threads, body=body,
            variables=tuple(self.variables.items()),
            access=_access(body, self.access),
            guarded=not (uses_shared or any(isinstance(s, ir.Sync) for s in ir.walk(body))),
        )
        self._block(checked)
        if self.barriers:
            check_barriers(checked)
        return replace(checked, block=checked.block or DEFAULT_BLOCK[checked.ndim])

    def _declare(self, name: str, span, what: str) -> None:
        check_name(name, span, what)
        if self.lookup(name) is not None:
            from pxos.errors import PxNameError
            raise PxNameError(f"{name!r} is already defined in kernel {self.k.name!r}", span)

    def _threads(self) -> tuple[ir.Expr, ...]:
        k = self.k
        if k.threads is None:
            first = next((p for p in k.params if isinstance(p.type, Array)), None)
            if first is None:
                raise PxArgumentError(
                    f"kernel {k.name!r} has no array parameter to size its launch", k.span,
                    "give GPU_THREADS n (or nx, ny or nx, ny, nz)")
            if first.type.ndim == 1:
                return (ir.Dim(first.span, first.name, "len", type=I32),)
            return (ir.Dim(first.span, first.name, "cols", type=I32),
                    ir.Dim(first.span, first.name, "rows", type=I32))
        typer = ExprTyper(lambda n: self.arrays.get(n) or self.scalars.get(n), builtins=False)
        out = []
        for e in k.threads:
            e = typer.scalar(e)
            if not e.type.is_int:
                raise PxTypeError(f"GPU_THREADS needs integers, got {e.type}", e.span)
            if any(isinstance(x, ir.Load) for x in ir.subexprs(e)):
                raise PxTypeError("GPU_THREADS may use parameters, LEN/ROWS/COLS/DIM and "
                                  "literals, not array elements", e.span)
            out.append(convert(e, I64))
        return tuple(out)

    def _block(self, k: ir.Kernel) -> None:
        needs = bool(k.shared) or not k.guarded
        if k.block is None:
            if needs:
                raise PxSyntaxError(
                    f"kernel {k.name!r} uses shared memory or SYNC_THREADS, so its block "
                    "size must be fixed", k.span,
                    "add GPU_BLOCK n (n, m for a 2-D launch, n, m, l for 3-D)")
            return
        if len(k.block) != k.ndim or any(b <= 0 for b in k.block) \
                or _product(k.block) > MAX_BLOCK:
            raise PxSyntaxError(
                f"GPU_BLOCK must give {k.ndim} positive size{'s' * (k.ndim > 1)} (one per "
                f"launch dimension) with at most {MAX_BLOCK} threads in all, got "
                f"{', '.join(map(str, k.block))}", k.span)
        if k.ndim == 3 and k.block[2] > MAX_BLOCK_Z:
            raise PxSyntaxError(f"GPU_BLOCK gives {k.block[2]} threads along z; CUDA allows at "
                                f"most {MAX_BLOCK_Z}", k.span,
                                "put the large sizes on x and y, e.g. GPU_BLOCK 32, 4, 2")

    # -- statements
    def _body(self, body: ir.Body) -> ir.Body:
        return tuple(self._stmt(s) for s in body)

    def _stmt(self, s: ir.Stmt) -> ir.Stmt:
        method = getattr(self, "_" + type(s).__name__.lower(), None)
        if method is None:
            raise PxSyntaxError(f"{ir.keyword(s)} is a host statement; it cannot "
                                "appear in thread code", s.span)
        return method(s)

    def _assign_to(self, name: str, value: ir.Expr, span, what: str = "assign") -> ir.Expr:
        """Type-check an assignment of typed ``value`` to variable ``name``; declares it."""
        if name in self.arrays or name in self.scalars:
            raise PxTypeError(f"cannot {what} to {name!r}: it is a parameter or shared array "
                              "of the kernel", span, f"use a new name, e.g. SET {name}2 = …")
        have = self.variables.get(name)
        if have is None:
            check_name(name, span.find(name), "variable name")
            self.variables[name] = value.type
            return value
        first = self.first.get(name)
        if first is not None and value.type.is_float and not have.is_float:
            raise PxTypeError(f"variable {name!r} is {have} but the value is {value.type}",
                              span, _retype_hint(first, have, value.type))
        return assignable(value, have, f"variable {name!r}", span)

    def _assign(self, s: ir.Assign) -> ir.Assign:
        value = self.typer.scalar(s.value)
        if s.name not in self.variables:
            self.first[s.name] = s
        return replace(s, value=self._assign_to(s.name, value, s.span))

    def _store(self, s: ir.Store) -> ir.Store:
        t, index = self.typer.index(s.array, s.index, s.span)
        value = assignable(self.typer.scalar(s.value), t.elem, f"array {s.array!r}", s.span)
        return replace(s, index=index, value=value)

    def _if(self, s: ir.If) -> ir.If:
        arms = tuple((convert(self.typer.scalar(c), BOOL), self._body(b)) for c, b in s.arms)
        return replace(s, arms=arms, orelse=self._body(s.orelse))

    def _for(self, s: ir.For) -> ir.For:
        bounds = [self.typer.scalar(e) for e in (s.start, s.stop, s.step) if e is not None]
        for e in bounds:
            if not e.type.is_int:
                raise PxTypeError(f"FOR bounds must be integers, got {e.type}", e.span)
        *bounds, t = self.typer.unify(*bounds)
        start = self._assign_to(s.var, bounds[0], s.span)
        t = self.variables[s.var]
        if not t.is_int:
            raise PxTypeError(f"FOR variable {s.var!r} is {t}; it must be an integer", s.span)
        step = convert(bounds[2], t) if s.step is not None else None
        if isinstance(step, ir.Const) and step.value == 0:
            raise PxTypeError("FOR STEP must not be 0", step.span)
        self.loop_depth += 1
        body = self._body(s.body)
        self.loop_depth -= 1
        return replace(s, start=convert(start, t), stop=convert(bounds[1], t), step=step,
                       body=body)

    def _while(self, s: ir.While) -> ir.While:
        cond = convert(self.typer.scalar(s.cond), BOOL)
        self.loop_depth += 1
        body = self._body(s.body)
        self.loop_depth -= 1
        return replace(s, cond=cond, body=body)

    def _jump(self, s: ir.Stmt) -> ir.Stmt:
        if self.loop_depth == 0:
            raise PxSyntaxError(f"{ir.keyword(s)} outside a loop", s.span)
        return s

    _break = _continue = _jump

    def _return(self, s: ir.Return) -> ir.Return:
        return s

    def _sync(self, s: ir.Sync) -> ir.Sync:
        return s

    def _atomic(self, s: ir.Atomic) -> ir.Atomic:
        t, index = self.typer.index(s.array, s.index, s.span)
        allowed = ATOMIC_TYPES + ((F32, F64) if s.op in ATOMIC_FLOAT_OPS else ())
        if t.elem not in allowed:
            raise PxTypeError(
                f"ATOMIC_{s.op.upper()} works on arrays of "
                f"{', '.join(map(str, allowed))}; {s.array!r} is {t}", s.span)
        value = assignable(self.typer.scalar(s.value), t.elem, f"array {s.array!r}", s.span)
        if s.result is not None:
            self._assign_to(s.result, ir.Var(s.span, s.result, type=t.elem), s.span)
        return replace(s, index=index, value=value)


def assignable(value: ir.Expr, to: Scalar, what: str, span) -> ir.Expr:
    """``value`` converted for storing into ``what`` of type ``to``.

    Conversions follow C's assignment rules except one: a float never converts to an integer
    silently (values out of range are undefined in C); that needs an explicit cast.

    Raises:
        PxTypeError: a float value stored into an integer or bool.
    """
    if value.type.is_float and not to.is_float:
        raise PxTypeError(f"{what} is {to} but the value is {value.type}", span,
                          f"convert explicitly: CAST x {to} → y, or {to}(x)")
    return convert(value, to)


def _retype_hint(first: ir.Assign, have: Scalar, want: Scalar) -> str:
    """How to give a variable the float type ``want`` at its first assignment ``first``,
    which made it the integer type ``have`` (a cast where it is used would truncate)."""
    where = f"line {first.span.line}" if first.span.line else "its first assignment"
    value, span = first.value, first.value.span
    literal = span.text[span.col - 1:span.col - 1 + span.length]
    if isinstance(value, ir.Const) and span.length and literal.strip() == literal:
        new = str(float(value.value)) if want == F32 else f"{want}({float(value.value)})"
        start = span.col - 1
        fixed = (span.text[:start] + new + span.text[start + len(literal):]).strip()
        return (f"{first.name!r} is {have} because its first assignment ({where}) is the "
                f"integer {literal}; write `{fixed}` there to make it {want} (a cast "
                f"{have}(…) here would truncate the value)")
    return (f"{first.name!r} is {have} from its first assignment ({where}); make that "
            f"value {want} there, e.g. {want}(…) (a cast {have}(…) here would truncate)")


def _access(body: ir.Body, params: dict[str, set[str]]) -> tuple[tuple[str, str], ...]:
    """How each array parameter is used: "r", "w" or "rw" ("r" if unused)."""
    for stmt in ir.walk(body):
        for e in ir.stmt_exprs(stmt):
            for x in ir.subexprs(e):
                if isinstance(x, ir.Load) and x.array in params:
                    params[x.array].add("r")
        if isinstance(stmt, (ir.Store, ir.Atomic)) and stmt.array in params:
            params[stmt.array].update("w" if isinstance(stmt, ir.Store) else "rw")
    return tuple((n, "".join(c for c in "rw" if c in a) or "r") for n, a in params.items())


def _product(xs) -> int:
    n = 1
    for x in xs:
        n *= x
    return n

