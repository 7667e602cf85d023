"""Uniform values: assignments whose value is the same for every thread of a block, taken
out of the thread code so that a target running a block's threads as a loop (the C target)
computes them once per block instead of once per thread.

:func:`hoist_uniform` takes from the top level of the thread code (never from inside an
``IF``, ``FOR`` or ``WHILE``) each ``SET x = e`` where:

- ``e`` reads no memory (no array element: a load could be out of bounds for a thread that
  would not have reached it, or see another thread's store) and no per-thread launch index
  (``THREAD_ID``, ``LOCAL_ID``); it may read literals, extents (``LEN``, ``ROWS`` …),
  ``BLOCK_ID``, ``BLOCK_SIZE``, ``NUM_THREADS``, scalar parameters the kernel never
  assigns, and variables hoisted before it;
- ``x`` is a local variable assigned by this statement only, and no statement before it
  reads ``x`` (it would have read 0 there).

Every operation of the IR is total (integer division by zero gives 0, docs/language.md),
so evaluating ``e`` once per block, even for a block whose threads all return before the
statement, has no effect but the value. This is loop-invariant code motion across the
thread loop, as ISPC keeps ``uniform`` values once per gang (Pharr and Mark, "ispc: A SPMD
Compiler for High-Performance CPU Programming", InPar 2012, §3.2). A kernel with barriers
also keeps such variables once per block instead of in per-thread arrays (``fission``).
"""

from __future__ import annotations

from pxos.ir import nodes as ir
from pxos.ir.types import Array

_BLOCK_UNIFORM = ("block_id", "block_size", "num_threads")


def hoist_uniform(kernel: ir.Kernel, body: ir.Body | None = None
                  ) -> tuple[tuple[ir.Assign, ...], ir.Body]:
    """The uniform assignments of ``body`` (``kernel``'s body by default) and the body
    without them, in order (module docstring).

    Args:
        kernel: a checked kernel (``ir.check.check_kernel``).
        body: the thread code to take them from (a form of ``kernel``'s own body).

    Returns:
        ``(hoisted, rest)``: the ``Assign`` statements to run once per block, before the
        thread code, and the thread code without them.
    """
    body = kernel.body if body is None else body
    locals_ = {name for name, _ in kernel.variables} - {p.name for p in kernel.params}
    counts = _assignment_counts(kernel.body)
    uniform = {p.name for p in kernel.params
               if not isinstance(p.type, Array) and counts.get(p.name, 0) == 0}
    read_before: set[str] = set()
    hoisted, rest = [], []
    for s in body:
        if isinstance(s, ir.Assign) and s.name in locals_ and counts.get(s.name) == 1 \
                and s.name not in read_before and _is_uniform(s.value, uniform):
            hoisted.append(s)
            uniform.add(s.name)
        else:
            rest.append(s)
        read_before |= _reads(s)
    return tuple(hoisted), tuple(rest)


def _is_uniform(e: ir.Expr, uniform: set[str]) -> bool:
    for x in ir.subexprs(e):
        if isinstance(x, ir.Load):
            return False
        if isinstance(x, ir.Builtin) and x.name not in _BLOCK_UNIFORM:
            return False
        if isinstance(x, ir.Var) and x.name not in uniform:
            return False
    return True


def _assignment_counts(body: ir.Body) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in ir.walk(body):
        name = s.name if isinstance(s, ir.Assign) else s.var if isinstance(s, ir.For) \
            else s.result if isinstance(s, ir.Atomic) else None
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _reads(stmt: ir.Stmt) -> set[str]:
    """The variables ``stmt`` (nested statements included) reads."""
    return {x.name for s in ir.walk((stmt,)) for e in ir.stmt_exprs(s)
            for x in ir.subexprs(e) if isinstance(x, ir.Var)}
