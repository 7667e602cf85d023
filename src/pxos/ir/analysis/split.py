"""Which kernels can be split between two devices by cutting their arrays.

A kernel is *elementwise* when thread ``i`` touches element ``i`` of every array and
nothing else: a 1-D launch of one thread per element of its first array, every global
access indexed by the thread index itself, no shared memory, barriers or atomics, and no
``LEN``/``ROWS``/``COLS`` or launch-size builtin in the thread code. Running such a kernel
over ``a[:k]`` on one device and ``a[k:]`` on another computes exactly what one launch
over ``a`` computes; that is what the planner's HYBRID placement does.
"""

from __future__ import annotations

from pxos.ir import nodes as ir
from pxos.ir.types import Array


def _thread_index_names(kernel: ir.Kernel) -> set[str] | None:
    """Variables that hold THREAD_ID and nothing else (None if one is reassigned)."""
    names: dict[str, int] = {}
    plain: set[str] = set()
    for s in ir.walk(kernel.body):
        if isinstance(s, ir.Assign):
            names[s.name] = names.get(s.name, 0) + 1
            if isinstance(s.value, ir.Builtin) and s.value.name == "thread_id" \
                    and s.value.axis is None:
                plain.add(s.name)
        elif isinstance(s, ir.For):
            names[s.var] = names.get(s.var, 0) + 2
    return {n for n in plain if names[n] == 1}


def _is_thread_index(e: ir.Expr, tids: set[str]) -> bool:
    return (isinstance(e, ir.Var) and e.name in tids) or (
        isinstance(e, ir.Builtin) and e.name == "thread_id" and e.axis is None)


def elementwise(kernel: ir.Kernel) -> bool:
    """Whether checked ``kernel`` may be split by cutting its arrays (module docstring)."""
    arrays = [p for p in kernel.params if isinstance(p.type, Array)]
    if kernel.ndim != 1 or kernel.shared or not kernel.guarded or not arrays:
        return False
    if any(p.type.ndim != 1 for p in arrays):
        return False
    (count,) = kernel.threads
    if not (isinstance(count, ir.Dim) and count.which == "len" and count.array == arrays[0].name):
        return False
    tids = _thread_index_names(kernel)
    for s in ir.walk(kernel.body):
        if isinstance(s, (ir.Sync, ir.Atomic)):
            return False
        if isinstance(s, ir.Store) and not (len(s.index) == 1
                                            and _is_thread_index(s.index[0], tids)):
            return False
        for e in ir.stmt_exprs(s):
            for x in ir.subexprs(e):
                if isinstance(x, ir.Dim):
                    return False
                if isinstance(x, ir.Builtin) and not (x.name == "thread_id"
                                                      and x.axis is None):
                    return False
                if isinstance(x, ir.Load) and not (len(x.index) == 1
                                                   and _is_thread_index(x.index[0], tids)):
                    return False
    return True
