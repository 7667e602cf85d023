"""The Python front-end: a ``@pxos.kernel`` function to the IR the `.px` front-end makes.

The function's source is parsed (``lang/py/source``); every name it uses is resolved through
its closure, its module's globals and the builtins, and compared *as an object* with pxos's
markers (``lang/py/markers``), ``math`` and the builtins, so ``import pxos as px`` and ``from
math import sqrt`` both work. Numbers from outside the kernel are constants; any other
object is an error naming the file and line.

A kernel has one of two forms:

=============  ===============================================================================
form           meaning
=============  ===============================================================================
loop form      the body (after a docstring) is exactly one ``for i in pxos.parallel(n):``,
               ``for y, x in pxos.parallel(h, w):`` or ``for z, y, x in pxos.parallel(d, h,
               w):`` loop (Taichi's rule): the loop is the grid, ``Kernel.threads`` is
               ``(n,)``, ``(w, h)`` or ``(w, h, d)`` (x first), the loop variables are
               ``THREAD_ID → i``, ``→ x, y`` or ``→ x, y, z``, and threads past the extents
               skip the body. No ``pxos.shared`` or ``pxos.sync_threads`` (thread form only).
thread form    no parallel loop: the body runs once per thread; ``pxos.thread_id()``,
               ``local_id``, ``block_id``, ``block_size``, ``num_threads``, ``pxos.shared``
               at the top level and ``pxos.sync_threads()``. One thread per element of the
               first array parameter (``ndim=2``: per column and row of the first 2-D or 3-D
               array; ``ndim=3``: per element of the first 3-D array); a kernel with shared
               memory or a barrier needs ``block=``.
=============  ===============================================================================

Expressions keep Python's meaning (``/`` is true division, ``//`` and ``%`` floor, ``round``
halves to even …): the tables of ``lang/py/expressions``, ``lang/py/calls`` and
``lang/py/statements`` list every rule, and docs/language.md ("Python kernels") explains
them with examples. What stays as in `.px`: integers wrap at their width, a variable's type
is fixed by its first assignment, literals are ``i32`` and weak floats.
"""

from __future__ import annotations

import ast
import inspect
import operator

from pxos.errors import PxArgumentError, PxError, PxSyntaxError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.check import MAX_BLOCK
from pxos.ir.types import I32, Array, Scalar
from pxos.lang.py import markers
from pxos.lang.py.calls import bind
from pxos.lang.py.expressions import ExprBuilder
from pxos.lang.py.source import FunctionSource, closure_of
from pxos.lang.py.statements import StatementBuilder

LOOP_RULE = ("a loop-form kernel's body is exactly one `for … in pxos.parallel(…):` loop "
             "(its outermost loop is the grid)")


def annotated_types(fn) -> dict[str, Scalar | Array]:
    """The types of the parameters of ``fn`` that have pxos annotations (``x: pxos.f32``,
    ``a: pxos.Array[pxos.f32, 2]``); string annotations (``from __future__ import
    annotations``) are evaluated in the function's module and closure.

    Raises:
        PxTypeError: an annotation that is not a pxos type, or cannot be evaluated.
    """
    fn = inspect.unwrap(fn)
    try:
        raw = dict(getattr(fn, "__annotations__", None) or {})
    except Exception as err:  # noqa: BLE001 - deferred annotations (Python 3.14) may fail
        raise PxTypeError(f"cannot evaluate the annotations of {fn.__name__!r}: {err}",
                          _annotation_span(fn, None)) from None
    out: dict[str, Scalar | Array] = {}
    for name, ann in raw.items():
        if name == "return":
            continue
        if isinstance(ann, str):
            try:
                ann = eval(ann, fn.__globals__, closure_of(fn))  # noqa: S307 - the user's own
            except Exception as err:  # noqa: BLE001 - any failure is the annotation's
                raise PxTypeError(f"cannot evaluate the annotation {ann!r} of parameter "
                                  f"{name!r}: {err}", _annotation_span(fn, name)) from None
        if isinstance(ann, markers.DType):
            out[name] = ann.scalar
        elif isinstance(ann, markers.ArrayType):
            out[name] = ann.type
        else:
            raise PxTypeError(
                f"parameter {name!r} of kernel {fn.__name__!r} is annotated {ann!r}, which is "
                "not a pxos type", _annotation_span(fn, name),
                "annotate with pxos.f32, pxos.i32, … or pxos.Array[pxos.f32, 2] (element "
                "type, rank), or leave it out to take the type of the first call's argument")
    return out


def kernel_ir(fn, arg_types: dict[str, Scalar | Array], ndim: int | None = None,
              block: tuple[int, ...] | None = None) -> ir.Kernel:
    """The unchecked IR of kernel function ``fn`` (run ``ir.check.check_kernel`` on it).

    Args:
        fn: a ``def`` function in loop form or thread form (module docstring).
        arg_types: the types of parameters without annotations (an annotation wins).
        ndim: the launch's dimensionality (1, 2 or 3) for a thread-form kernel; None for the
            default (that of the first array parameter). A loop-form kernel's comes from
            its ``pxos.parallel`` and must agree.
        block: threads per block, x first (``@pxos.kernel(block=...)``); None for the
            backend's default.

    Raises:
        PxSyntaxError: a construct a kernel cannot hold, a misplaced parallel loop, shared
            memory or barrier; a kernel with shared memory or a barrier but no ``block``.
        PxTypeError: a parameter without a type, a bad annotation, an object from outside
            that is not a number, a call of a function a kernel cannot call.
        PxNameError: an undefined name, a local used before its assignment.
        PxArgumentError: a bad ``ndim`` or ``block``.
    """
    fn = inspect.unwrap(fn)
    if ndim not in (None, 1, 2, 3):
        raise PxArgumentError(f"a launch has 1, 2 or 3 axes, not {ndim}")
    src = FunctionSource(fn)
    params = _params(src, annotated_types(fn), arg_types or {})
    scope: dict[str, Scalar | Array] = {p.name: p.type for p in params}
    nodes = _body(src.tree)
    assigned = {n.id for s in nodes for n in ast.walk(s)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    exprs = ExprBuilder(src, scope, assigned - set(scope), ndim or 1)
    loop = _parallel_loop(exprs, nodes)
    stmts = StatementBuilder(exprs, loop is not None)
    if loop is not None:
        threads, body = _loop_form(exprs, stmts, loop, ndim)
    else:
        arrays = [p for p in params if isinstance(p.type, Array)]
        exprs.ndim = ndim or (2 if arrays and arrays[0].type.ndim > 1 else 1)
        threads = _thread_launch(src, arrays, ndim)
        body = stmts.body(nodes)
        _refuse_one_body_per_thread(exprs, src, nodes, body)
    return ir.Kernel(fn.__name__, params, tuple(stmts.shared), threads,
                     _block(block, exprs.ndim, fn.__name__, body, stmts.shared),
                     "auto", body, src.name_span())


def _params(src: FunctionSource, annotated: dict, arg_types: dict) -> tuple[ir.Param, ...]:
    args = src.tree.args
    extra = args.vararg or args.kwarg or (args.kwonlyargs[0] if args.kwonlyargs else None)
    if extra is not None:
        raise PxSyntaxError("a kernel takes plain positional parameters (no *args, keyword-"
                            "only parameters or **kwargs)", src.span(extra))
    out = []
    for arg in args.posonlyargs + args.args:
        span = src.span(arg)
        span = span.at(span.col, len(arg.arg))
        t = annotated.get(arg.arg) or arg_types.get(arg.arg)
        if t is None:
            raise PxTypeError(f"parameter {arg.arg!r} of kernel {src.tree.name!r} has no type",
                              span, f"annotate it ({arg.arg}: pxos.f32, or pxos.Array["
                              "pxos.f32, 1] for an array), or give an argument to take its "
                              "type from")
        out.append(ir.Param(arg.arg, t, span))
    return tuple(out)


def _body(tree: ast.FunctionDef) -> list[ast.stmt]:
    """The statements of the function, less its docstring and top-level ``pass``."""
    nodes = list(tree.body)
    if nodes and isinstance(nodes[0], ast.Expr) and isinstance(nodes[0].value, ast.Constant) \
            and isinstance(nodes[0].value.value, str):
        nodes = nodes[1:]
    return [n for n in nodes if not isinstance(n, ast.Pass)]


def _parallel_loop(exprs: ExprBuilder, nodes: list[ast.stmt]) -> ast.For | None:
    """The kernel's ``pxos.parallel`` loop if it is in loop form.

    Raises:
        PxSyntaxError: a parallel loop that is not the body's only statement.
    """
    def is_parallel(node):
        if not (isinstance(node, ast.For) and isinstance(node.iter, ast.Call)):
            return False
        try:
            return exprs.callee(node.iter.func) is markers.parallel
        except PxError:
            return False
    loops = [n for n in nodes if is_parallel(n)]
    if not loops:
        return None
    other = next((n for n in nodes if n is not loops[0]), None)
    if other is not None:
        raise PxSyntaxError(LOOP_RULE, exprs.span(other),
                            "move this statement into the loop, or write the kernel in "
                            "thread form (i = pxos.thread_id(), no pxos.parallel)")
    return loops[0]


def _loop_form(exprs: ExprBuilder, stmts: StatementBuilder, loop: ast.For,
               ndim: int | None) -> tuple[tuple[ir.Expr, ...], ir.Body]:
    """``Kernel.threads`` and the body of a loop-form kernel."""
    extents = [a for a in bind(exprs, loop.iter, "pxos.parallel", 1, 3) if a is not None]
    targets = loop.target.elts if isinstance(loop.target, (ast.Tuple, ast.List)) \
        else [loop.target]
    if len(targets) != len(extents) or not all(isinstance(t, ast.Name) for t in targets):
        raise PxSyntaxError("a parallel loop names one variable per extent: for i in "
                            "pxos.parallel(n), for y, x in pxos.parallel(h, w), "
                            "for z, y, x in pxos.parallel(d, h, w)",
                            exprs.span(loop.target))
    if ndim is not None and ndim != len(extents):
        raise PxArgumentError(f"a {ndim}-D launch was asked for, but the kernel's "
                              f"pxos.parallel has {len(extents)} extent(s)",
                              exprs.span(loop.iter))
    if loop.orelse:
        raise PxSyntaxError("for … else is not available in a kernel",
                            exprs.span(loop.orelse[0]))
    exprs.ndim = len(extents)
    threads = tuple(reversed([exprs.expr(e) for e in extents]))  # x first
    # for z, y, x in …: z is axis 2, y axis 1, x axis 0 (the last extent is x)
    axes = [None] if len(targets) == 1 else list(reversed(range(len(targets))))
    indices = []
    for target, axis in sorted(zip(targets, axes), key=lambda p: p[1] or 0):
        span = exprs.span(target)
        indices.append(ir.Assign(span, target.id, ir.Builtin(span, "thread_id", axis)))
        exprs.scope.setdefault(target.id, I32)
    return threads, tuple(indices) + stmts.body(loop.body)


def _refuse_one_body_per_thread(exprs: ExprBuilder, src: FunctionSource,
                                nodes: list[ast.stmt], body: ir.Body) -> None:
    """Refuse a thread-form kernel that never reads a thread index: every thread would run
    the whole body (a ``for i in range(n)`` loop n times per thread, say).

    Raises:
        PxSyntaxError: at the first loop (else the ``def``), naming ``pxos.parallel``.
    """
    for s in ir.walk(body):
        for e in ir.stmt_exprs(s):
            if any(isinstance(x, ir.Builtin) for x in ir.subexprs(e)):
                return
    loop = next((n for top in nodes for n in ast.walk(top)
                 if isinstance(n, (ast.For, ast.While))), None)
    raise PxSyntaxError(
        f"kernel {src.tree.name!r} has no pxos.parallel loop and never reads "
        "pxos.thread_id(), so every thread would run its whole body",
        exprs.span(loop) if loop is not None else src.name_span(),
        "make the loop the grid: for i in pxos.parallel(n): (or index by "
        "i = pxos.thread_id())")


def _thread_launch(src: FunctionSource, arrays: list[ir.Param],
                   ndim: int | None) -> tuple[ir.Expr, ...] | None:
    """``Kernel.threads`` of a thread-form kernel: None (the checker's default, one thread
    per element of the first array), or the extents ``ndim`` asks for."""
    if not arrays:
        raise PxTypeError(f"thread-form kernel {src.tree.name!r} has no array parameter to "
                          "size its launch", src.name_span(),
                          "write it in loop form: for i in pxos.parallel(n):")
    if ndim in (2, 3):
        first = next((p for p in arrays if p.type.ndim >= ndim), None)
        if first is None:
            raise PxTypeError(f"kernel {src.tree.name!r} is launched in {ndim}-D but has no "
                              f"{ndim}-D array parameter to size the launch", src.name_span())
        return tuple(ir.Dim(first.span, first.name, ir.DIM_AXES[a])
                     for a in reversed(range(ndim)))  # x first
    if ndim == 1 and arrays[0].type.ndim > 1:
        return (ir.Dim(arrays[0].span, arrays[0].name, "len"),)
    return None


def _block(block, ndim: int, name: str, body: ir.Body,
           shared: list[ir.Shared]) -> tuple[int, ...] | None:
    """``Kernel.block`` from ``@pxos.kernel(block=...)``."""
    sync = next((s for s in ir.walk(body) if isinstance(s, ir.Sync)), None)
    if block is None:
        if shared or sync:
            example = {1: "(256,)", 2: "(16, 16)", 3: "(32, 4, 2)"}[ndim]
            raise PxSyntaxError(
                f"kernel {name!r} uses pxos.shared or pxos.sync_threads, so its block size "
                "must be fixed", shared[0].span if shared else sync.span,
                f"give it: @pxos.kernel(block={example})")
        return None
    try:
        sizes = (operator.index(block),) if not isinstance(block, (tuple, list)) \
            else tuple(operator.index(b) for b in block)
    except TypeError:
        sizes = ()
    total = 1
    for b in sizes:
        total *= b
    if len(sizes) != ndim or any(b <= 0 for b in sizes) or total > MAX_BLOCK:
        raise PxArgumentError(f"block={block!r}: a {ndim}-D launch needs {ndim} positive "
                              f"size{'s' * (ndim > 1)} (x first) with at most {MAX_BLOCK} "
                              "threads in all")
    return sizes


def _annotation_span(fn, name: str | None):
    """The span of parameter ``name``'s annotation (the ``def`` line when None), or None
    when the source cannot be read."""
    try:
        src = FunctionSource(fn)
    except PxError:
        return None
    args = src.tree.args
    arg = next((a for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg == name),
               None)
    if arg is None:
        return src.name_span()
    return src.span(arg.annotation or arg)


__all__ = ["annotated_types", "kernel_ir"]
