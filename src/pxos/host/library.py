"""The host library operations of spec v1 (``REDUCE``, ``SORT``) and ``VERIFY``'s comparison.

They run on the host with NumPy in this version; the planner (a later issue) will place them.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxRuntimeError, PxShapeError
from pxos.ir.check_host import reduce_type
from pxos.ir.span import Span
from pxos.ir.types import scalar_of_dtype


def reduce_array(op: str, arr: np.ndarray, span: Span | None = None) -> np.generic:
    """``REDUCE op arr``: sum, prod, min or max of all elements, of the type
    ``ir.check_host.reduce_type`` gives (sums of floats accumulate in f64).

    Raises:
        PxRuntimeError: MIN or MAX of an empty array.
    """
    t = reduce_type(op, scalar_of_dtype(arr.dtype))
    if op in ("min", "max"):
        if arr.size == 0:
            raise PxRuntimeError(f"REDUCE {op.upper()} of an empty array", span)
        return (np.min if op == "min" else np.max)(arr)
    fn = np.sum if op == "sum" else np.prod
    return t.dtype.type(fn(arr, dtype=t.dtype))


def sort_array(arr: np.ndarray, span: Span | None = None) -> np.ndarray:
    """``SORT arr``: a new array, ascending, stable (NaNs last).

    Raises:
        PxShapeError: ``arr`` is not 1-D.
    """
    if arr.ndim != 1:
        raise PxShapeError(f"SORT needs a 1-D array; got shape {arr.shape}", span)
    return np.sort(arr, kind="stable")


def first_difference(a, b, tol: float | None) -> str | None:
    """Why ``a == b`` fails (``None`` if it holds): shapes, or the first index that differs
    with both values. With ``tol``, values may differ by ``tol + tol * |b|``."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape and a.ndim and b.ndim:
        return f"shapes differ: {a.shape} and {b.shape}"
    with np.errstate(all="ignore"):
        if tol is None:
            same = a == b
            same = same | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else same
        else:
            af, bf = a.astype(np.float64), b.astype(np.float64)
            same = np.abs(af - bf) <= tol + tol * np.abs(bf)
    same = np.broadcast_to(same, np.broadcast(a, b).shape)
    if same.all():
        return None
    idx = np.unravel_index(int(np.argmin(same.reshape(-1))), same.shape)
    av = np.broadcast_to(a, same.shape)[idx]
    bv = np.broadcast_to(b, same.shape)[idx]
    where = f" at index {list(map(int, idx))}" if idx else ""
    count = int(same.size - same.sum())
    return f"{count} of {same.size} values differ; first{where}: {av} != {bv}"
