"""The library operations of spec v1 (``REDUCE``, ``SORT``) and ``VERIFY``'s comparison.

``REDUCE`` and ``SORT`` take a NumPy array (run on the host) or a CuPy array (run on the
``cuda`` device, where the planner placed them): the same functions, through the array's own
module. A reduction's result is a NumPy scalar either way; a sort's stays where it ran.
On ``cuda``, ``REDUCE SUM`` runs pxos's single-pass kernel (``backends/cuda_reduce``).
"""

from __future__ import annotations

import numpy as np

from pxos import events
from pxos.backends.cuda_reduce import cuda_sum
from pxos.errors import PxRuntimeError, PxShapeError
from pxos.ir.check_host import reduce_type
from pxos.span import Span
from pxos.ir.types import scalar_of_dtype


def array_module(arr):
    """NumPy for a NumPy array, CuPy for a CuPy array."""
    return np if isinstance(arr, np.ndarray) else __import__(type(arr).__module__.split(".")[0])


def reduce_array(op: str, arr, span: Span | None = None) -> np.generic:
    """``REDUCE op arr``: sum, prod, min or max of all elements of ``arr`` (a NumPy or CuPy
    array), as a NumPy scalar of the type ``ir.check_host.reduce_type`` gives (sums of
    floats accumulate in f64).

    Raises:
        PxRuntimeError: MIN or MAX of an empty array.
    """
    if op == "sum" and type(arr).__module__.startswith("cupy") and not events.LISTENERS:
        value = cuda_sum(arr)  # one pass at the memory roofline (None: not covered)
        if value is not None:
            return value
    xp = array_module(arr)
    t = reduce_type(op, scalar_of_dtype(arr.dtype))
    if op in ("min", "max") and arr.size == 0:
        raise PxRuntimeError(f"REDUCE {op.upper()} of an empty array", span)
    mark = events.begin("reduce", f"REDUCE {op.upper()}", _side(xp), span,
                        {"bytes": int(arr.nbytes)}) if events.LISTENERS else None
    if op in ("min", "max"):
        value = (xp.min if op == "min" else xp.max)(arr)
    else:
        value = None
        if op == "sum" and xp is not np:  # one pass at the memory roofline
            value = cuda_sum(arr)
        if value is None:
            value = (xp.sum if op == "sum" else xp.prod)(arr, dtype=t.dtype)
    if not isinstance(value, np.generic) or value.dtype != t.dtype:
        value = t.dtype.type(value.item() if xp is not np else value)
    if mark is not None:
        events.end(mark)
    return value


def sort_array(arr, span: Span | None = None):
    """``SORT arr``: a new array (of ``arr``'s module, NumPy or CuPy), ascending, stable
    (NaNs last; CuPy's sort is a stable radix sort).

    Raises:
        PxShapeError: ``arr`` is not 1-D.
    """
    if arr.ndim != 1:
        raise PxShapeError(f"SORT needs a 1-D array; got shape {arr.shape}", span)
    xp = array_module(arr)
    mark = events.begin("sort", "SORT", _side(xp), span,
                        {"bytes": int(arr.nbytes)}) if events.LISTENERS else None
    out = np.sort(arr, kind="stable") if xp is np else xp.sort(arr)
    if mark is not None:
        events.end(mark)
    return out


def _side(xp) -> str:
    """Where a library operation through module ``xp`` runs: ``host`` or ``cuda``."""
    return "host" if xp is np else "cuda"


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
