"""Python statements of a kernel to IR statements, keeping Python's meaning:

=================================  ============================================================
Python                             IR built
=================================  ============================================================
``x = e``, ``a[y, x] = e``         ``Assign`` (the first assignment fixes the variable's type),
                                   ``Store``; ``x = y = e`` assigns both
``x, y = e1, e2``                  two assignments (refused where a later value reads an
                                   earlier target, as in a swap: use a temporary)
``x: pxos.f32 = e``                ``Assign`` of ``pxos.f32(e)``: the annotation converts
``s += e``, ``a[i] += e``          ``s = s + e``, ``a[i] = a[i] + e`` (every operator)
``if``/``elif``/``else``           ``If`` with one arm per ``if``/``elif``
``for k in range(a, b, s)``        ``For`` (a negative step counts down); its bounds are
                                   computed once, as Python's ``range``'s (as every ``FOR``'s:
                                   ir/passes/for_bounds); the loop may not assign its
                                   variable (C would change the iteration)
``while``, ``break``,              ``While``, ``Break``, ``Continue``, ``Return`` (this thread
``continue``, ``return``           stops); no ``else`` on loops
``pxos.atomic_add(a, i, v)``       ``Atomic``; ``old = pxos.atomic_add(…)`` gets the old value;
                                   ``i`` is an index or a tuple ``(y, x)``
``pxos.sync_threads()``            ``Sync`` (thread form only)
``t = pxos.shared(n, pxos.f32)``   a ``Shared`` array of the kernel (thread form, top level)
``continue`` in ``pxos.parallel``  ``Return``: the next index is another thread
=================================  ============================================================
"""

from __future__ import annotations

import ast
import builtins

from pxos.errors import PxSyntaxError
from pxos.ir import nodes as ir
from pxos.ir.types import Array
from pxos.lang.py import markers
from pxos.lang.py.calls import ATOMICS, bind
from pxos.lang.py.expressions import ExprBuilder
from pxos.lang.py.source import construct

THREAD_FORM_HINT = ("write the kernel in thread form: i = pxos.thread_id() instead of the "
                    "pxos.parallel loop, and @pxos.kernel(block=...)")


class StatementBuilder:
    """Builds the IR statements of one kernel body.

    Args:
        exprs: the kernel's expression builder (its ``scope`` grows as locals are assigned).
        loop_form: whether the statements are the body of the ``pxos.parallel`` loop.

    Attributes:
        shared: the ``pxos.shared`` arrays declared so far.
    """

    def __init__(self, exprs: ExprBuilder, loop_form: bool):
        self.e = exprs
        self.scope = exprs.scope
        self.loop_form = loop_form
        self.shared: list[ir.Shared] = []
        self.depth = 0  # nested if/for/while blocks
        self.loops = 0  # enclosing for/while loops

    def body(self, nodes: list[ast.stmt]) -> ir.Body:
        """The IR of a list of statements."""
        out: list[ir.Stmt] = []
        for node in nodes:
            method = getattr(self, "_" + type(node).__name__.lower(), None)
            if method is None:
                raise PxSyntaxError(f"{construct(node)} is not available in a kernel",
                                    self.e.span(node))
            out.extend(method(node))
        return tuple(out)

    def _block(self, nodes: list[ast.stmt], loop: bool = False) -> ir.Body:
        self.depth += 1
        self.loops += loop
        try:
            return self.body(nodes)
        finally:
            self.depth -= 1
            self.loops -= loop

    def _callee(self, node: ast.expr) -> object:
        """What a called name stands for, or None for anything but a call of a name."""
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            v = self.e.value(node.func)
            return getattr(v, "obj", None)
        return None

    # ------------------------------------------------------------------ assignments
    def _define(self, name: str, value: ir.Expr) -> None:
        if name not in self.scope:
            self.scope[name] = self.e.type_of(value)

    def _assign(self, node: ast.Assign) -> list[ir.Stmt]:
        span, fn = self.e.span(node), self._callee(node.value)
        op = _atomic_op(fn)
        if fn is markers.shared or op:
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                raise PxSyntaxError(f"assign {ast.unparse(node.value.func)}(...) to one name",
                                    span)
            name = node.targets[0].id
            if op:
                return [self._atomic(node.value, op, span, name)]
            return self._shared(node.targets[0], node.value)
        if len(node.targets) == 1 and isinstance(node.targets[0], (ast.Tuple, ast.List)):
            return self._unpack(node.targets[0], node.value, span)
        value = self.e.expr(node.value)
        return [self._store(target, value, span) for target in node.targets]

    def _store(self, target: ast.expr, value: ir.Expr, span) -> ir.Stmt:
        if isinstance(target, ast.Name):
            self._define(target.id, value)
            return ir.Assign(span, target.id, value)
        if isinstance(target, ast.Subscript):
            return ir.Store(span, *self.e.element(target), value)
        raise PxSyntaxError(f"cannot assign to {ast.unparse(target)} in a kernel",
                            self.e.span(target), "assign to a name or an array element")

    def _unpack(self, targets: ast.Tuple | ast.List, value: ast.expr, span) -> list[ir.Stmt]:
        if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) != len(targets.elts):
            raise PxSyntaxError("a kernel unpacks only a tuple of as many values: "
                                "x, y = a, b", span)
        values = [self.e.expr(v) for v in value.elts]
        for k, target in enumerate(targets.elts):
            name = target.id if isinstance(target, ast.Name) else \
                getattr(target.value, "id", None) if isinstance(target, ast.Subscript) else None
            if any(name in _reads(v) for v in values[k + 1:]):
                raise PxSyntaxError(f"{ast.unparse(targets)} = …: a later value reads "
                                    f"{name!r}, which this statement assigns first", span,
                                    "assign through a temporary variable")
        return [self._store(t, v, span) for t, v in zip(targets.elts, values)]

    def _annassign(self, node: ast.AnnAssign) -> list[ir.Stmt]:
        span = self.e.span(node)
        if not isinstance(node.target, ast.Name) or node.value is None:
            raise PxSyntaxError("an annotated assignment in a kernel gives a name a type and "
                                "a value: x: pxos.f32 = 0.0", span)
        if _atomic_op(self._callee(node.value)):
            raise PxSyntaxError("the old value of an atomic takes the array's type; assign "
                                "it without an annotation", span)
        to = self.e.scalar_type(node.annotation, f"the annotation of {node.target.id!r}")
        self.scope.setdefault(node.target.id, to)
        return [ir.Assign(span, node.target.id, ir.Cast(span, self.e.expr(node.value), to))]

    def _augassign(self, node: ast.AugAssign) -> list[ir.Stmt]:
        span, target = self.e.span(node), node.target
        if isinstance(target, ast.Name):
            current = self.e.expr(target)
            value = self.e.arith(node.op, current, self.e.expr(node.value), span)
            return [ir.Assign(span, target.id, value)]
        if isinstance(target, ast.Subscript):
            array, index = self.e.element(target)
            current = ir.Load(self.e.span(target), array, index)
            value = self.e.arith(node.op, current, self.e.expr(node.value), span)
            return [ir.Store(span, array, index, value)]
        raise PxSyntaxError(f"cannot assign to {ast.unparse(target)} in a kernel", span)

    # ------------------------------------------------------------------ control flow
    def _if(self, node: ast.If) -> list[ir.Stmt]:
        span, arms = self.e.span(node), []
        while True:
            arms.append((self.e.cond(node.test), self._block(node.body)))
            if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                node = node.orelse[0]  # elif
                continue
            return [ir.If(span, tuple(arms), self._block(node.orelse))]

    def _while(self, node: ast.While) -> list[ir.Stmt]:
        _no_else(self.e, node, "while")
        cond = self.e.cond(node.test)
        return [ir.While(self.e.span(node), cond, self._block(node.body, loop=True))]

    def _for(self, node: ast.For) -> list[ir.Stmt]:
        span, fn = self.e.span(node), self._callee(node.iter)
        if fn is markers.parallel:
            raise PxSyntaxError("pxos.parallel(...) must be the kernel's outermost loop, the "
                                "only statement of its body", self.e.span(node.iter))
        if fn is not builtins.range:
            raise PxSyntaxError("a for loop in a kernel runs over range(...)",
                                self.e.span(node.iter),
                                "for k in range(len(a)): … reads a[k] one by one")
        _no_else(self.e, node, "for")
        if not isinstance(node.target, ast.Name):
            raise PxSyntaxError("the variable of a for loop is one name",
                                self.e.span(node.target))
        var = node.target.id
        assigned = _assigned(node.body)
        if var in assigned:
            raise PxSyntaxError(f"the loop assigns its own variable {var!r}: in Python the "
                                "next iteration would not see it, in a kernel it would",
                                span, "use another name for the changed value")
        args = bind(self.e, node.iter, "range", 1, 3)
        bounds = [self.e.expr(a) for a in args if a is not None]
        start = ir.Const(span, 0) if len(bounds) == 1 else bounds.pop(0)
        stop, step = bounds[0], (bounds[1] if len(bounds) > 1 else None)
        if var not in self.scope:
            self.scope[var] = self.e.common(*(b for b in (start, stop, step) if b is not None))
        body = self._block(node.body, loop=True)
        return [ir.For(span, var, start, stop, step, body)]  # bounds once: ir/passes/for_bounds

    def _break(self, node: ast.Break) -> list[ir.Stmt]:
        if self.loop_form and not self.loops:
            raise PxSyntaxError("break cannot leave pxos.parallel: each index is a thread of "
                                "its own", self.e.span(node),
                                "use continue to end this index early")
        return [ir.Break(self.e.span(node))]

    def _continue(self, node: ast.Continue) -> list[ir.Stmt]:
        span = self.e.span(node)
        if self.loop_form and not self.loops:
            return [ir.Return(span)]  # the next index of pxos.parallel is another thread
        return [ir.Continue(span)]

    def _return(self, node: ast.Return) -> list[ir.Stmt]:
        span = self.e.span(node)
        if node.value is not None and not (isinstance(node.value, ast.Constant)
                                           and node.value.value is None):
            raise PxSyntaxError("a kernel returns no value", span,
                                "write results into an array parameter")
        if self.loop_form:
            raise PxSyntaxError("return inside pxos.parallel would end every index in "
                                "Python", span, "use continue to end this index early")
        return [ir.Return(span)]

    def _pass(self, node: ast.Pass) -> list[ir.Stmt]:
        return []

    # ------------------------------------------------------------------ calls as statements
    def _expr(self, node: ast.Expr) -> list[ir.Stmt]:
        span, fn = self.e.span(node), self._callee(node.value)
        op = _atomic_op(fn)
        if op:
            return [self._atomic(node.value, op, span, None)]
        if fn is markers.sync_threads:
            bind(self.e, node.value, "pxos.sync_threads", 0, 0)
            if self.loop_form:
                raise PxSyntaxError("pxos.sync_threads() needs the thread form", span,
                                    THREAD_FORM_HINT)
            return [ir.Sync(span)]
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return []  # a docstring or a string used as a comment
        self.e.expr(node.value)  # errors of the expression itself come first
        raise PxSyntaxError("this expression's value is not used", span,
                            "assign it to a name or store it into an array")

    def _atomic(self, call: ast.Call, op: str, span, result: str | None) -> ir.Atomic:
        array_node, index_node, value_node = bind(self.e, call, f"pxos.atomic_{op}", 3, 3)
        array = self.e.array_name(array_node)
        atomic = ir.Atomic(span, op, array, self.e.indices(index_node),
                           self.e.expr(value_node), result)
        if result is not None and result not in self.scope:
            self.scope[result] = self.scope[array].elem
        return atomic

    def _shared(self, target: ast.Name, call: ast.Call) -> list[ir.Stmt]:
        span = self.e.span(call)
        if self.loop_form:
            raise PxSyntaxError("pxos.shared needs the thread form", span, THREAD_FORM_HINT)
        if self.depth:
            raise PxSyntaxError("pxos.shared(...) stands at the kernel's top level, not "
                                "inside if, for or while", span)
        shape_node, dtype_node = bind(self.e, call, "pxos.shared", 2, 2, ("shape", "dtype"))
        parts = shape_node.elts if isinstance(shape_node, ast.Tuple) else [shape_node]
        shape = tuple(self.e.constant_int(p, "the shape of pxos.shared") for p in parts)
        elem = self.e.scalar_type(dtype_node, "the element type of pxos.shared")
        self.shared.append(ir.Shared(target.id, elem, shape, self.e.span(target)))
        self.scope[target.id] = Array(elem, len(shape))
        return []


def _atomic_op(fn) -> str | None:
    return next((op for marker, op in ATOMICS.items() if marker is fn), None)


def _no_else(exprs: ExprBuilder, node: ast.For | ast.While, word: str) -> None:
    if node.orelse:
        raise PxSyntaxError(f"{word} … else is not available in a kernel",
                            exprs.span(node.orelse[0]))


def _assigned(nodes: list[ast.stmt]) -> set[str]:
    """The names statements ``nodes`` assign (at any depth)."""
    return {n.id for s in nodes for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _reads(e: ir.Expr) -> set[str]:
    """The variables and arrays expression ``e`` reads."""
    return {x.name if isinstance(x, ir.Var) else x.array for x in ir.subexprs(e)
            if isinstance(x, (ir.Var, ir.Load, ir.Dim))}
