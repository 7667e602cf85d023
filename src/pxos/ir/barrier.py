"""The barrier rule: ``SYNC_THREADS`` only where every thread of a block reaches it.

A barrier may stand at the top level of the thread code or inside loops whose bounds (and
every assignment to whose variables) are the same for all threads of a block: *uniform*.
It may not stand under IF, in a loop left early by BREAK or CONTINUE, or in a kernel that
uses RETURN (a returned thread would never arrive). This is the condition CUDA states for
``__syncthreads()`` and OpenCL for ``barrier()``, made checkable; it is also what lets the
C backend split the thread code at each barrier (``ir/passes/fission``).

Uniformity is computed as a fixpoint: a value is *varying* if it depends on THREAD_ID,
LOCAL_ID, an array element, an atomic's result, or a variable assigned a varying value or
assigned under varying control flow. Everything else (parameters, LEN/ROWS/COLS, BLOCK_ID,
BLOCK_SIZE, NUM_THREADS, literals) is uniform within a block.
"""

from __future__ import annotations

from pxos.errors import PxBarrierError
from pxos.ir import nodes as ir

_UNIFORM_BUILTINS = ("block_id", "block_size", "num_threads")


def varying_names(body: ir.Body) -> set[str]:
    """Names of the variables whose value may differ between threads of one block."""
    varying: set[str] = set()
    while True:
        before = len(varying)
        _mark(body, False, varying)
        if len(varying) == before:
            return varying


def is_varying(expr: ir.Expr, varying: set[str]) -> bool:
    """Whether ``expr`` may differ between threads of one block."""
    for e in ir.subexprs(expr):
        if isinstance(e, ir.Load):
            return True
        if isinstance(e, ir.Var) and e.name in varying:
            return True
        if isinstance(e, ir.Builtin) and e.name not in _UNIFORM_BUILTINS:
            return True
    return False


def _has_jump(body: ir.Body) -> bool:
    """A BREAK or CONTINUE that leaves *this* loop body (not one of a nested loop)."""
    for s in body:
        if isinstance(s, (ir.Break, ir.Continue)):
            return True
        if isinstance(s, ir.If) and any(_has_jump(b) for b in ir.children(s)):
            return True
    return False


def _mark(body: ir.Body, divergent: bool, varying: set[str]) -> None:
    for s in body:
        if isinstance(s, ir.Assign) and (divergent or is_varying(s.value, varying)):
            varying.add(s.name)
        elif isinstance(s, ir.Atomic) and s.result is not None:
            varying.add(s.result)
        elif isinstance(s, ir.If):
            inner = divergent
            for cond, arm in s.arms:
                inner = inner or is_varying(cond, varying)
                _mark(arm, inner, varying)
            _mark(s.orelse, inner, varying)
        elif isinstance(s, ir.For):
            inner = divergent or _has_jump(s.body) or s.var in varying or any(
                is_varying(e, varying) for e in ir.stmt_exprs(s))
            if inner:
                varying.add(s.var)
            _mark(s.body, inner, varying)
        elif isinstance(s, ir.While):
            inner = divergent or _has_jump(s.body) or is_varying(s.cond, varying)
            _mark(s.body, inner, varying)


def loop_is_uniform(s: ir.For | ir.While, varying: set[str]) -> bool:
    """Whether every thread of a block runs loop ``s`` the same number of times."""
    if _has_jump(s.body):
        return False
    if isinstance(s, ir.For) and s.var in varying:
        return False
    return not any(is_varying(e, varying) for e in ir.stmt_exprs(s))


def check_barriers(kernel: ir.Kernel) -> None:
    """Raise :class:`PxBarrierError` for a barrier some threads of a block could miss."""
    syncs = [s for s in ir.walk(kernel.body) if isinstance(s, ir.Sync)]
    if not syncs:
        return
    ret = next((s for s in ir.walk(kernel.body) if isinstance(s, ir.Return)), None)
    if ret is not None:
        raise PxBarrierError(
            "RETURN in a kernel that uses SYNC_THREADS: a thread that returns never reaches "
            "the barrier", ret.span, "guard the work with IF instead of returning early")
    _check(kernel.body, varying_names(kernel.body))


def _check(body: ir.Body, varying: set[str]) -> None:
    for s in body:
        if isinstance(s, ir.If):
            sync = next((x for b in ir.children(s) for x in ir.walk(b)
                         if isinstance(x, ir.Sync)), None)
            if sync is not None:
                raise PxBarrierError(
                    "SYNC_THREADS inside IF: threads that skip the branch never reach the "
                    "barrier", sync.span,
                    "move the barrier out of the IF (guard only the work around it)")
        elif isinstance(s, (ir.For, ir.While)):
            if any(isinstance(x, ir.Sync) for x in ir.walk(s.body)):
                if not loop_is_uniform(s, varying):
                    raise PxBarrierError(
                        "SYNC_THREADS inside a loop whose trip count can differ between "
                        "threads (bounds depend on the thread, or BREAK/CONTINUE)", s.span,
                        "make the loop bounds the same for every thread of a block")
                _check(s.body, varying)
