"""Checked mode on the compiled backends: reading the flag buffer a checked kernel fills.

A kernel rendered with ``checked=True`` bounds-checks every index (``ir/passes/checked``):
the first thread to see an index outside its array records (claimed flag, `.px` line and
column, array number, axis, index, extent) in the ``int64`` buffer ``pxos_err``
(``codegen/signature``) and the access is redirected to element 0, so nothing outside the
array is touched. After the launch the backend reads the buffer and raises the violation as
the interpreter would.
"""

from __future__ import annotations

import os

import numpy as np

from pxos.codegen.signature import ERR_WORDS
from pxos.errors import PxBoundsError
from pxos.ir import nodes as ir
from pxos.ir.passes.checked import array_ids
from pxos.ir.types import Array


def checked_by_default() -> bool:
    """Whether ``PXOS_CHECKED`` (set and not ``0``) asks for checked mode on every launch,
    `.px` runs and Python calls alike."""
    return os.environ.get("PXOS_CHECKED", "") not in ("", "0")


def new_flags() -> np.ndarray:
    """A zeroed host flag buffer: ``int64[ERR_WORDS]``."""
    return np.zeros(ERR_WORDS, dtype=np.int64)


def raise_violation(kernel: ir.Kernel, err: np.ndarray, args) -> None:
    """Raise the violation recorded in ``err``, if any.

    Args:
        kernel: the kernel that ran.
        err: the flag buffer after the launch (``int64[ERR_WORDS]``, on the host).
        args: the launch's arguments in parameter order (arrays for their shapes).

    Raises:
        PxBoundsError: naming the kernel, the array, the index, the extent and the shape,
            at the `.px` statement that made the access.
    """
    if not int(err[0]) & 0xFFFFFFFF:
        return
    line, col, array_no, axis, index, extent = (int(x) for x in err[1:ERR_WORDS])
    array = array_ids(kernel)[array_no]
    shared = {s.name: s.shape for s in kernel.shared}
    shapes = {p.name: tuple(a.shape) for p, a in zip(kernel.params, args)
              if isinstance(p.type, Array)}
    shape = tuple(shared.get(array) or shapes.get(array, ()))
    axis_txt = f" on axis {axis}" if len(shape) > 1 else ""
    raise PxBoundsError(
        f"kernel {kernel.name!r}: index {index} is out of bounds{axis_txt} of array "
        f"{array!r} (extent {extent}, shape {shape})", _access_span(kernel, line, col))


def _access_span(kernel: ir.Kernel, line: int, col: int):
    """The span of the load or statement at ``line``:``col`` (as the interpreter reports
    it), else the first statement on ``line``, else the kernel's."""
    on_line = [s for s in ir.walk(kernel.body) if s.span.line == line]
    for stmt in on_line:
        if stmt.span.col == col:
            return stmt.span
        for e in ir.stmt_exprs(stmt):
            for x in ir.subexprs(e):
                if isinstance(x, ir.Load) and x.span.line == line and x.span.col == col:
                    return x.span
    return on_line[0].span if on_line else kernel.span
