"""Python expressions of a kernel to IR expressions, keeping Python's meaning.

Operators keep Python's meaning where Python and C disagree (``lang/py/operators``).

Integer literals are ``i32``; float literals take the other operand's float type, as `.px`'s
unsuffixed literals do; ``True``/``False`` are ``bool``. A global or closure variable holding
a number is a constant, its value when the kernel is compiled. Integers wrap at their width.
Calls are built by ``lang/py/calls``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from pxos.errors import PxNameError, PxSyntaxError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.typecheck import ExprTyper
from pxos.ir.types import BOOL, F32, Array, Scalar, scalar_of_dtype
from pxos.lang.py.calls import build_call, cast_type
from pxos.lang.py.operators import PythonOperators, const_int
from pxos.lang.py.source import FunctionSource, construct

@dataclass(frozen=True)
class Outside:
    """A Python object a name of the kernel stands for at compile time: a module, a pxos
    marker or type, a math or builtin function (numbers become constants instead)."""

    obj: object


@dataclass(frozen=True)
class ShapeOf:
    """``a.shape`` of array ``a``: only ``[0]`` or ``[1]`` may follow."""

    array: str


class ExprBuilder(PythonOperators):
    """Builds unchecked IR expressions from the Python expressions of one kernel.

    Args:
        source: the kernel's source (spans, free names).
        scope: the types of the names defined so far: parameters, shared arrays and the
            locals assigned before this point; the statement builder adds to it.
        local_names: every name the function assigns somewhere (Python's locals).
        ndim: the launch's dimensionality (1, 2 or 3), for ``thread_id(axis)``.
    """

    def __init__(self, source: FunctionSource, scope: dict[str, Scalar | Array],
                 local_names: set[str], ndim: int):
        self.source = source
        self.scope = scope
        self.local_names = local_names
        self.ndim = ndim
        self.typer = ExprTyper(scope.get, builtins=True, ndim=3)

    def span(self, node: ast.AST):
        return self.source.span(node)

    # ------------------------------------------------------------------ types
    def type_of(self, e: ir.Expr) -> Scalar:
        """The type the checker will give ``e`` (raises its errors early)."""
        return self.typer.scalar(e).type

    def common(self, *es: ir.Expr) -> Scalar:
        """The type ``es`` convert to in a binary operation (weak float literals follow)."""
        return self.typer.unify(*(self.typer.scalar(e) for e in es))[-1]

    def as_float(self, e: ir.Expr) -> ir.Expr:
        """``e`` converted to ``f32`` if it is not a float (Python's ``float(i)``)."""
        return e if self.type_of(e).is_float else ir.Cast(e.span, e, F32)

    # ------------------------------------------------------------------ entry points
    def expr(self, node: ast.expr) -> ir.Expr:
        """A scalar value.

        Raises:
            PxSyntaxError, PxTypeError, PxNameError: a construct, object or name a kernel
                cannot use, with the span of the construct.
        """
        v = self.value(node)
        if isinstance(v, ir.Expr):
            return v
        raise PxTypeError(self._not_a_value(v, node), self.span(node))

    def cond(self, node: ast.expr) -> ir.Expr:
        """A condition: ``and``, ``or`` and ``not`` become the IR's boolean operators (same
        truth value as Python's, without the operand values)."""
        span = self.span(node)
        if isinstance(node, ast.BoolOp):
            parts = [self.cond(v) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = ir.Binary(span, "and" if isinstance(node.op, ast.And) else "or", out, p)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ir.Unary(span, "not", self.cond(node.operand))
        return self.expr(node)

    def value(self, node: ast.expr) -> ir.Expr | Outside | ShapeOf:
        """An IR expression, or the compile-time object ``node`` stands for."""
        method = getattr(self, "_" + type(node).__name__.lower(), None)
        if method is None:
            raise PxSyntaxError(f"{construct(node)} is not available in a kernel",
                                self.span(node), _HINTS.get(type(node)))
        return method(node)

    def callee(self, node: ast.expr) -> object:
        """The object a called name stands for (``pxos.f32``, ``math.sqrt``, ``abs`` …)."""
        v = self.value(node)
        if isinstance(v, Outside):
            return v.obj
        raise PxTypeError(f"{ast.unparse(node)} is not a function", self.span(node))

    def array_name(self, node: ast.expr) -> str:
        """The name of the array (parameter or shared) ``node`` names."""
        span = self.span(node)
        if isinstance(node, ast.Name):
            t = self.scope.get(node.id)
            if isinstance(t, Array):
                return node.id
            if t is not None:
                raise PxTypeError(f"{node.id!r} is a scalar ({t}), not an array", span)
            v = self.value(node)  # raises for undefined names and locals used too early
            raise PxTypeError(f"{node.id!r} is not an array of the kernel: "
                              f"{self._not_a_value(v, node)}", span)
        raise PxTypeError(f"only arrays (parameters and pxos.shared) can be indexed, not "
                          f"{ast.unparse(node)}", span)

    def indices(self, node: ast.expr) -> tuple[ir.Expr, ...]:
        """The indices of ``a[i]``, ``a[y, x]`` or ``(y, x)`` in an atomic."""
        out = []
        for part in node.elts if isinstance(node, ast.Tuple) else [node]:
            if isinstance(part, ast.Slice):
                raise PxSyntaxError("slices are not available in a kernel; index one "
                                    "element at a time", self.span(part))
            i = self.expr(part)
            if isinstance(i, ir.Const) and not isinstance(i.value, bool) and i.value < 0:
                raise PxTypeError("a negative index does not count from the end in a "
                                  "kernel", i.span, "write len(a) - k (or a.shape[1] - k)")
            out.append(i)
        return tuple(out)

    def constant_int(self, node: ast.expr, what: str) -> int:
        """The value of a constant integer expression (a literal or a global)."""
        value = const_int(self.expr(node))
        if value is not None:
            return value
        raise PxTypeError(f"{what} must be a constant integer, got {ast.unparse(node)}",
                          self.span(node))

    def scalar_type(self, node: ast.expr, what: str) -> Scalar:
        """The pxos type ``node`` names (``pxos.f32``, or a NumPy type such as
        ``numpy.float32``)."""
        v = self.value(node)
        t = cast_type(v.obj) if isinstance(v, Outside) else None
        if t is None:
            raise PxTypeError(f"{what} must be a pxos type (pxos.f32, pxos.i32, …), got "
                              f"{ast.unparse(node)}", self.span(node))
        return t

    # ------------------------------------------------------------------ leaves
    def _constant(self, node: ast.Constant) -> ir.Expr:
        v, span = node.value, self.span(node)
        if isinstance(v, (bool, int)):
            return ir.Const(span, v)
        if isinstance(v, float):
            return ir.Const(span, v, weak=True)
        what = {str: "a string", type(None): "None", bytes: "bytes",
                complex: "a complex number"}.get(type(v), repr(v))
        raise PxTypeError(f"{what} is not a value a kernel can compute with (numbers and "
                          "booleans only)", span)

    def _name(self, node: ast.Name) -> ir.Expr | Outside:
        span, name = self.span(node), node.id
        if name in self.scope:
            return ir.Var(span, name)
        if name in self.local_names:
            raise PxNameError(f"{name!r} is used before it is assigned", span)
        found, obj = self.source.outside(name)
        if not found:
            raise PxNameError(f"undefined name {name!r}", span)
        return self._outside(obj, span)

    def _outside(self, obj, span) -> ir.Expr | Outside:
        """A number from outside the kernel as a constant; anything else as an object."""
        if isinstance(obj, bool):
            return ir.Const(span, bool(obj))
        if isinstance(obj, (int, float)):  # int() and float(): IntEnum members too
            value = float(obj) if isinstance(obj, float) else int(obj)
            return ir.Const(span, value, weak=isinstance(obj, float))
        if isinstance(obj, np.generic) and scalar_of_dtype(obj.dtype) is not None:
            t, v = scalar_of_dtype(obj.dtype), obj.item()
            const = ir.Const(span, v, weak=isinstance(v, float))
            return const if t == BOOL else ir.Cast(span, const, t)
        return Outside(obj)

    def _attribute(self, node: ast.Attribute) -> ir.Expr | Outside | ShapeOf:
        span, base = self.span(node), node.value
        if isinstance(base, ast.Name) and base.id in self.scope:
            t = self.scope[base.id]
            if isinstance(t, Array) and node.attr == "shape":
                return ShapeOf(base.id)
            if isinstance(t, Array) and node.attr == "size":
                return ir.Dim(span, base.id, "len")
            raise PxTypeError(f"{ast.unparse(node)} is not available in a kernel", span,
                              "arrays have .shape[k] (one per axis) and .size" if
                              isinstance(t, Array) else None)
        owner = self.value(base)
        if isinstance(owner, Outside) and isinstance(owner.obj, ModuleType):
            if not hasattr(owner.obj, node.attr):
                raise PxNameError(f"module {ast.unparse(base)} has no {node.attr!r}", span)
            return self._outside(getattr(owner.obj, node.attr), span)
        raise PxTypeError(f"{ast.unparse(node)}: a kernel reads attributes of modules "
                          "(math.pi, pxos.f32) and arrays (a.shape) only", span)

    def element(self, node: ast.Subscript) -> tuple[str, tuple[ir.Expr, ...]]:
        """The array and indices of ``a[i]``, ``a[y, x]``, ``a[y, x, c]``."""
        if isinstance(node.value, ast.Subscript):
            raise PxSyntaxError("a[i][j] is not available in a kernel", self.span(node),
                                "index all axes at once: a[i, j]")
        return self.array_name(node.value), self.indices(node.slice)

    def _subscript(self, node: ast.Subscript) -> ir.Expr:
        if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            shape = self.value(node.value)
            if isinstance(shape, ShapeOf):
                return self._shape(shape.array, node)
        return ir.Load(self.span(node), *self.element(node))

    def _shape(self, array: str, node: ast.Subscript) -> ir.Dim:
        span, ndim = self.span(node), self.scope[array].ndim
        axis = self.constant_int(node.slice, "the axis of a.shape[axis]")
        if not 0 <= axis < ndim:
            raise PxTypeError(f"{array}.shape[{axis}]: {array!r} has {ndim} "
                              f"ax{'es' if ndim > 1 else 'is'}, so the axis is "
                              + " or ".join(map(str, range(ndim))), span)
        return ir.Dim(span, array, ir.DIM_AXES[axis])

    def _tuple(self, node: ast.Tuple):
        raise PxTypeError("a tuple is not a value in a kernel (tuples index arrays and "
                          "unpack assignments only)", self.span(node))

    def _call(self, node: ast.Call) -> ir.Expr:
        return build_call(self, node)

    # ------------------------------------------------------------------ messages
    def _not_a_value(self, v, node: ast.expr) -> str:
        text = ast.unparse(node)
        if isinstance(v, ShapeOf):
            return f"{text} is a tuple; use {text}[0] or {text}[1]"
        obj = v.obj
        if isinstance(obj, ModuleType):
            return f"{text} is a module"
        if callable(obj):
            return f"{text} is a function or type; call it"
        kind = "a NumPy array" if isinstance(obj, np.ndarray) else \
            f"{_article(type(obj).__name__)} {type(obj).__name__}"
        return (f"{text} is {kind} from outside the kernel; a kernel can use only numbers "
                "(int, float, bool, NumPy scalars) from outside: pass it as a parameter")


_HINTS = {
    ast.List: "pass an array as a parameter, or use pxos.shared for a per-block array",
    ast.Dict: "pass an array as a parameter",
    ast.Lambda: "write the expression inline",
    ast.ListComp: "write a for loop over range(...)",
    ast.GeneratorExp: "write a for loop over range(...)",
}


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
