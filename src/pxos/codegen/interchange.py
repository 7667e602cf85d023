"""Loop interchange on a CPU: a uniform inner loop goes outside the threads of a block.

In a matrix product each thread runs ``for k in range(n): acc += a[i, k] * b[k, j]``. With
the threads of a block as the inner loop of a CPU, gcc cannot vectorise across threads
around that inner loop. As ISPC and PoCL's work-group vectoriser do, pxos runs such a loop
once per block around the threads instead (a *block loop*, as ``ir/passes/fission`` builds
for a loop with a barrier): ``for k: for each thread: acc[thread] += a[i, k] * b[k, j]``,
whose thread loop reads ``b[k, j…j+7]`` as one vector. Each thread still runs its own
statements in its own order, and threads share nothing they did not share before (a
kernel whose threads read what others write in the same launch has no defined order), so
the result is the same.

:func:`interchange` applies to a loop-form kernel (``guarded``, no ``RETURN``, ``BREAK``
or ``CONTINUE``) whose body is its thread-index assignments, then statements, among them
top-level ``FOR`` loops whose bounds are the same for every thread (constants, scalar
parameters, extents) and whose variable is assigned nowhere else, and in whose body every
array index is the same for neighbouring x threads except the last, which is the x index
(± a constant): so the thread loop reads and writes consecutive elements. The thread-index
assignments are repeated at the start of each region (recomputed, not kept per thread).

Where the accesses are not consecutive along x (``acc += a[i, k] * x[k]``, a thread per
row: lanes would be gathers), :func:`jam` gives the same plan for *unroll-and-jam*
(Callahan, Cocke and Kennedy, "Estimating interlock and improving balance for pipelined
architectures", JPDC 1988): ``codegen/c`` runs it on tiles of a few x threads
(``JAM`` in ``codegen/c_loops``), so each iteration of the inner loop advances that many
threads' independent chains (``acc`` of a dot product: one add's latency per element
otherwise). Each thread's additions keep their order: results are bit-identical.
"""

from __future__ import annotations

from pxos.codegen.thread_bounds import assignments, is_uniform
from pxos.ir import nodes as ir
from pxos.ir.passes.checked import unchecked
from pxos.ir.passes.fission import BlockLoop, Region
from pxos.ir.types import Array


def interchange(kernel: ir.Kernel, body: ir.Body, uniform: frozenset[str] = frozenset()
                ) -> tuple[list, set[str]] | None:
    """``body`` (the kernel's body, or its narrowed form from ``codegen/thread_bounds``)
    as regions and block loops, and the thread-index variables recomputed in each region;
    None where the rule of the module docstring does not hold. ``uniform``: variables
    computed once per block before the thread code (``ir/passes/uniform``)."""
    return _plan(kernel, body, uniform, contiguous=True)


def jam(kernel: ir.Kernel, body: ir.Body, uniform: frozenset[str] = frozenset()
        ) -> tuple[list, set[str]] | None:
    """The plan of :func:`interchange` for unroll-and-jam, without its rule that the
    accesses be consecutive along x (the inner loops still hold no loop); None where the
    rest of the rule does not hold."""
    return _plan(kernel, body, uniform, contiguous=False)


def _plan(kernel: ir.Kernel, body: ir.Body, uniform: frozenset[str], contiguous: bool
          ) -> tuple[list, set[str]] | None:
    if not kernel.guarded or any(isinstance(s, (ir.Return, ir.Break, ir.Continue))
                                 for s in ir.walk(body)):
        return None
    prefix, axes = [], {}
    for s in body:
        if not (isinstance(s, ir.Assign) and isinstance(s.value, ir.Builtin)
                and s.value.name == "thread_id"):
            break
        prefix.append(s)
        axes[s.name] = s.value.axis or 0
    rest = body[len(prefix):]
    params = {p.name for p in kernel.params
              if not isinstance(p.type, Array) and not assignments(kernel.body, p.name)}
    params |= uniform
    if any(assignments(kernel.body, v) != 1 for v in axes):
        return None
    x = next((v for v, a in axes.items() if a == 0), None)
    loops = [s for s in rest if isinstance(s, ir.For) and _uniform(s, params, kernel)]
    if x is None or not loops or not all(
            _lanes_contiguous(s.body, x, axes, s.var, params) if contiguous
            else not any(isinstance(t, (ir.For, ir.While)) for t in ir.walk(s.body))
            for s in loops):
        return None
    items: list = []
    current: list = []
    for s in rest:
        if s in loops:
            if current:
                items.append(Region(tuple(prefix) + tuple(current)))
                current = []
            items.append(BlockLoop(ir.For(s.span, s.var, s.start, s.stop, s.step, ()),
                                   [Region(tuple(prefix) + tuple(s.body))]))
        else:
            current.append(s)
    if current:
        items.append(Region(tuple(prefix) + tuple(current)))
    return items, set(axes)


def _uniform(s: ir.For, params: set[str], kernel: ir.Kernel) -> bool:
    bounds = (s.start, s.stop) + ((s.step,) if s.step is not None else ())
    return all(is_uniform(e, params) for e in bounds) and assignments(kernel.body, s.var) == 1


def _lanes_contiguous(body: ir.Body, x: str, axes: dict, k: str, params: set[str]) -> bool:
    """Whether every array access in ``body`` is the same for neighbouring x threads but
    in its last index, which is ``x`` or ``x ± constant``."""
    uniform = params | {v for v, a in axes.items() if a != 0} | {k}
    for s in ir.walk(body):
        exprs = list(ir.stmt_exprs(s))
        if isinstance(s, (ir.Store, ir.Atomic)):
            exprs.append(ir.Load(s.span, s.array, s.index))
        for e in exprs:
            for load in (y for y in ir.subexprs(e) if isinstance(y, ir.Load)):
                *outer, last = map(unchecked, load.index)
                if not all(_only(i, uniform) for i in outer):
                    return False
                if not (_only(last, uniform) or _x_offset(last, x)):
                    return False
        if isinstance(s, ir.For):
            return False  # a nested loop: leave it to the thread
    return True


def _only(e: ir.Expr, names: set[str]) -> bool:
    return all(not isinstance(y, (ir.Load, ir.Builtin))
               and (not isinstance(y, ir.Var) or y.name in names) for y in ir.subexprs(e))


def _x_offset(e: ir.Expr, x: str) -> bool:
    if isinstance(e, ir.Var):
        return e.name == x
    return (isinstance(e, ir.Binary) and e.op in ("add", "sub")
            and isinstance(e.lhs, ir.Var) and e.lhs.name == x and isinstance(e.rhs, ir.Const))
