"""The IR's expression evaluator, with the semantics of docs/language.md: the NumPy
interpreter (``backends/interp``) runs kernels with it, and the analyses and the planner
evaluate host expressions (launch sizes, trip counts) with :func:`eval_scalar`.

An :class:`Evaluator` computes a checked expression over a set of *lanes* (threads): the
result is a NumPy array with one value per lane, or a NumPy scalar when the value is the
same for every lane (literals, scalar parameters, ``LEN`` …). Every result has exactly the
dtype of the IR node's type: the checker made every conversion an explicit ``Cast``, so each
operation computes in one type, with the semantics of docs/language.md (wrap-around,
truncating division, masked shift counts …), not NumPy's.

``lanes`` is ``None`` for all lanes of the launch, or an index array of lane numbers.
``AND``/``OR`` and ``SELECT`` evaluate an operand only on the lanes that need it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from pxos.errors import PxBoundsError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.functions import OPERATIONS

_I64 = np.dtype(np.int64)


def fix(value, dtype: np.dtype):
    """``value`` as an array or NumPy scalar of exactly ``dtype`` (0-d arrays unwrapped)."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            value = value[()]
        elif value.dtype != dtype:
            return value.astype(dtype)
    elif not isinstance(value, np.generic):
        return np.asarray(value).astype(dtype)[()]
    if value.dtype != dtype:
        value = value.astype(dtype)
    return value


def subset(lanes, positions: np.ndarray):
    """The lanes at ``positions`` of ``lanes`` (``None`` meaning all lanes)."""
    return positions if lanes is None else lanes[positions]


def flat_index(kernel: str, array: str, shape: tuple[int, ...], index: list, span):
    """The row-major flat index (int64 / intp) of ``index`` into an array of ``shape``.

    Raises:
        PxBoundsError: an index outside ``0 <= i < extent`` on some axis.
    """
    flat = None
    for axis, (ix, extent) in enumerate(zip(index, shape)):
        if isinstance(ix, np.ndarray):
            lo, hi = int(ix.min()), int(ix.max())
        else:
            lo = hi = int(ix)
        if lo < 0 or hi >= extent:
            if isinstance(ix, np.ndarray):
                bad = ix[(ix < 0) | (ix >= extent)] if ix.dtype.kind == "i" else ix[ix >= extent]
                value = int(bad[0])
            else:
                value = int(ix)
            where = f"kernel {kernel!r}: " if kernel else ""
            axis_txt = f" on axis {axis}" if len(shape) > 1 else ""
            raise PxBoundsError(
                f"{where}index {value} is out of bounds{axis_txt} of array {array!r} "
                f"(extent {extent}, shape {tuple(shape)})", span)
        if isinstance(ix, np.ndarray):
            if ix.dtype not in (np.dtype(np.intp), np.dtype(np.int32)) or flat is not None:
                ix = ix.astype(np.intp)
        else:
            ix = int(ix)
        flat = ix if flat is None else flat * extent + ix
    return flat


_ARITH = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply,
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "ne": np.not_equal,
    "band": np.bitwise_and, "bor": np.bitwise_or, "bxor": np.bitwise_xor,
}


class Evaluator(ABC):
    """Evaluates checked expressions over lanes. Subclasses provide the leaves:
    :meth:`var`, :meth:`load`, :meth:`builtin` and :meth:`dim`; ``kernel`` names the
    kernel in bounds errors."""

    kernel = ""

    def __init__(self):
        self._consts: dict[int, np.generic] = {}

    # -- leaves, provided by the kernel run and by the host evaluator
    @abstractmethod
    def count(self, lanes) -> int:
        """The number of lanes in ``lanes``."""

    @abstractmethod
    def var(self, e: ir.Var, lanes):
        """The value of a variable or scalar parameter on ``lanes``."""

    @abstractmethod
    def load(self, e: ir.Load, index: list, lanes):
        """The elements ``e.array[index]`` (bounds-checked) on ``lanes``."""

    @abstractmethod
    def builtin(self, e: ir.Builtin, lanes):
        """A launch index (THREAD_ID …) on ``lanes``."""

    @abstractmethod
    def dim(self, e: ir.Dim):
        """``LEN``, ``ROWS`` or ``COLS`` of an array."""

    # -- evaluation
    def eval(self, e: ir.Expr, lanes):
        """The value of ``e`` on ``lanes``: an array (one per lane) or a NumPy scalar."""
        dtype = e.type.dtype
        if isinstance(e, ir.Const):
            c = self._consts.get(id(e))
            if c is None:
                c = self._consts[id(e)] = fix(np.asarray(e.value).astype(dtype), dtype)
            return c
        if isinstance(e, ir.Var):
            return fix(self.var(e, lanes), dtype)
        if isinstance(e, ir.Binary):
            return self._binary(e, lanes, dtype)
        if isinstance(e, ir.Load):
            index = [self.eval(i, lanes) for i in e.index]
            return fix(self.load(e, index, lanes), dtype)
        if isinstance(e, ir.Cast):
            x = self.eval(e.operand, lanes)
            if dtype.kind == "b":
                return fix(x != e.operand.type.dtype.type(0), dtype)
            return fix(x.astype(dtype), dtype)
        if isinstance(e, ir.Unary):
            x = self.eval(e.operand, lanes)
            if e.op == "not":
                return fix(np.logical_not(x), dtype)
            if e.op == "bnot":
                return fix(np.invert(x), dtype)
            return fix(np.negative(x), dtype)
        if isinstance(e, ir.Call):
            if e.fn == "select":
                return self._select(e, lanes, dtype)
            args = [self.eval(a, lanes) for a in e.args]
            return fix(OPERATIONS[e.fn].evaluate(args, dtype), dtype)
        if isinstance(e, ir.Builtin):
            return fix(self.builtin(e, lanes), dtype)
        if isinstance(e, ir.Dim):
            return fix(self.dim(e), dtype)
        raise TypeError(f"cannot evaluate {type(e).__name__}")

    def _binary(self, e: ir.Binary, lanes, dtype):
        op = e.op
        if op in ("and", "or"):
            return self._short_circuit(e, lanes)
        a = self.eval(e.lhs, lanes)
        b = self.eval(e.rhs, lanes)
        f = _ARITH.get(op)
        if f is not None:
            return fix(f(a, b), dtype)
        if op in ("div", "mod"):
            return fix(OPERATIONS[op].evaluate([a, b], dtype), dtype)
        if op in ("shl", "shr"):
            n = b & dtype.type(dtype.itemsize * 8 - 1)
            return fix((np.left_shift if op == "shl" else np.right_shift)(a, n), dtype)
        raise TypeError(f"unknown operator {op}")

    def _short_circuit(self, e: ir.Binary, lanes):
        a = self.eval(e.lhs, lanes)
        decided = e.op == "or"  # the value of lhs that decides the result alone
        if not isinstance(a, np.ndarray):
            return a if bool(a) == decided else self.eval(e.rhs, lanes)
        need = np.flatnonzero(a != decided)
        if need.size == 0:
            return a
        if need.size == a.size:
            return self.eval(e.rhs, lanes)
        out = a.copy()
        out[need] = self.eval(e.rhs, subset(lanes, need))
        return out

    def _select(self, e: ir.Call, lanes, dtype):
        c = self.eval(e.args[0], lanes)
        if not isinstance(c, np.ndarray):
            return self.eval(e.args[1] if bool(c) else e.args[2], lanes)
        yes = np.flatnonzero(c)
        if yes.size == c.size:
            return self.eval(e.args[1], lanes)
        if yes.size == 0:
            return self.eval(e.args[2], lanes)
        no = np.flatnonzero(~c)
        out = np.empty(c.size, dtype)
        out[yes] = self.eval(e.args[1], subset(lanes, yes))
        out[no] = self.eval(e.args[2], subset(lanes, no))
        return out


class _HostEvaluator(Evaluator):
    def __init__(self, env: dict):
        super().__init__()
        self.env = env

    def _get(self, name: str):
        try:
            return self.env[name]
        except KeyError:
            raise KeyError(f"undefined host name {name!r}") from None

    def count(self, lanes) -> int:
        return 1

    def var(self, e, lanes):
        return self._get(e.name)

    def builtin(self, e, lanes):
        raise PxTypeError(f"{e.name.upper()} is only available in thread code", e.span)

    def load(self, e, index, lanes):
        arr = np.asarray(self._get(e.array))
        flat = flat_index("", e.array, arr.shape, index, e.span)
        return arr.reshape(-1)[flat]

    def dim(self, e):
        shape = np.shape(self._get(e.array))
        n = int(np.prod(shape)) if e.axis is None else shape[e.axis]
        return np.int32(n)


def eval_scalar(expr: ir.Expr, env: dict[str, object]):
    """Evaluate a checked host expression (no launch builtins) to a NumPy scalar of
    ``expr.type.dtype``. ``env`` maps names to NumPy scalars, or to arrays for
    ``a[i]`` and ``LEN/ROWS/COLS``.

    Raises:
        PxBoundsError: an index out of bounds.
    """
    with np.errstate(all="ignore"):
        return fix(_HostEvaluator(env).eval(expr, None), expr.type.dtype)
