"""Work-group loop fission: running a kernel with barriers as plain loops on a CPU.

On a CPU the threads of one block run one after another in a loop. A barrier then means:
finish this part of the thread code for every thread of the block before any thread starts
the next part. So the thread code is split at each ``SYNC_THREADS`` into *regions*, each run
for every thread in turn, and a loop that contains a barrier becomes a loop around regions
(the checker guarantees such loops are uniform, ``ir/barrier``). A variable whose value
crosses a region boundary is kept per thread, in an array indexed by the thread's slot.
This is the method of PoCL's work-group functions (Jääskeläinen et al., "pocl: A
Performance-Portable OpenCL Implementation", IJPP 2015, §5).

:func:`fission` is the rewrite: a kernel's per-block code as ordinary IR, which a renderer
knowing nothing of barriers renders (``ir.ThreadLoop``: loops over the block's thread slots;
shared arrays for the values that cross a barrier; no ``SYNC_THREADS`` left). :func:`split`
and :func:`lane_variables` are the plan it follows, which ``codegen/interchange`` also uses
for its block loops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from pxos.ir import nodes as ir
from pxos.ir.passes.rewrite import map_expr
from pxos.ir.passes.uniform import hoist_uniform
from pxos.ir.types import I32


@dataclass
class Region:
    """Statements with no barrier inside, run for every thread of the block in turn."""

    body: tuple[ir.Stmt, ...]


@dataclass
class BlockLoop:
    """A uniform FOR/WHILE that contains a barrier: run once per block, around regions."""

    stmt: ir.For | ir.While
    items: list = field(default_factory=list)


def has_barrier(body: ir.Body) -> bool:
    return any(isinstance(s, ir.Sync) for s in ir.walk(body))


def split(body: ir.Body) -> list[Region | BlockLoop]:
    """The thread code as regions and block loops, in order (empty regions dropped)."""
    items: list[Region | BlockLoop] = []
    current: list[ir.Stmt] = []

    def flush():
        if current:
            items.append(Region(tuple(current)))
            current.clear()

    for s in body:
        if isinstance(s, ir.Sync):
            flush()
        elif isinstance(s, (ir.For, ir.While)) and has_barrier(s.body):
            flush()
            items.append(BlockLoop(s, split(s.body)))
        else:
            current.append(s)
    flush()
    return items


def names_in(body: ir.Body) -> set[str]:
    """The variables that ``body`` assigns or reads."""
    names = ir.assigned_names(body)
    for s in ir.walk(body):
        for e in ir.stmt_exprs(s):
            names.update(x.name for x in ir.subexprs(e) if isinstance(x, ir.Var))
    return names


def block_loop_vars(items: list[Region | BlockLoop]) -> set[str]:
    """Loop variables of block loops: uniform, kept once per block."""
    out = set()
    for it in items:
        if isinstance(it, BlockLoop):
            if isinstance(it.stmt, ir.For):
                out.add(it.stmt.var)
            out |= block_loop_vars(it.items)
    return out


def lane_variables(items: list[Region | BlockLoop], variables: set[str]) -> set[str]:
    """Variables that must be kept per thread: used in more than one region, in a region
    inside a block loop (its value may cross iterations), or in a block loop's header."""
    seen: dict[str, int] = {}
    forced: set[str] = set()

    def visit(items, in_loop: bool):
        for it in items:
            if isinstance(it, Region):
                for n in names_in(it.body):
                    seen[n] = seen.get(n, 0) + 1
                    if in_loop:
                        forced.add(n)
            else:
                for e in ir.stmt_exprs(it.stmt):
                    forced.update(x.name for x in ir.subexprs(e) if isinstance(x, ir.Var))
                visit(it.items, True)

    visit(items, False)
    lanes = {n for n, count in seen.items() if count > 1} | forced
    return (lanes & variables) - block_loop_vars(items)


def lane_array(name: str) -> str:
    """The per-thread array of variable ``name`` in :func:`fission`'s output (``__`` makes
    it a name no kernel may use, ``ir/reserved``)."""
    return f"{name}__lane"


def fission(kernel: ir.Kernel) -> ir.Kernel:
    """``kernel`` as the code of one block, for targets that run a block's threads as loops.

    The body becomes: the uniform assignments (``ir/passes/uniform``), then for each region
    of :func:`split` an ``ir.ThreadLoop`` over the block's thread slots, and for each block
    loop its ``FOR``/``WHILE`` around those. A variable of :func:`lane_variables` is kept
    in a shared array ``lane_array(name)`` of one element per thread slot (element
    ``LOCAL_ID``): each thread loop that uses it reads it into the thread's private
    variable first and writes it back last; a block loop's header reads thread 0's
    element (its value is the same for every thread, ``ir/barrier``). A variable set once,
    to a thread index (``THREAD_ID``, ``LOCAL_ID``), at the top of the first region is set
    again at the start of each later thread loop that uses it instead: the compiler then
    sees an affine index (consecutive elements, not gathers), as PoCL's work-group
    functions rematerialise the local id. Each thread runs its
    statements in its own order and every barrier separates two thread loops, so results
    are those of the kernel.

    Args:
        kernel: a checked kernel (``ir.check.check_kernel``), bounds-checked or not.

    Returns:
        The kernel with that body and the lane arrays appended to its shared arrays; its
        variables are unchanged. The body holds no ``SYNC_THREADS``; outside its thread
        loops it reads no ``THREAD_ID`` or ``LOCAL_ID``.
    """
    hoisted, rest = hoist_uniform(kernel)
    uniform = {s.name for s in hoisted}
    variables = {n: t for n, t in kernel.variables if n not in uniform}
    items = split(rest)
    recomputed = _thread_indices(items, kernel.body)
    lanes = lane_variables(items, set(variables)) - set(recomputed)
    block = block_loop_vars(items)
    span = kernel.span
    size = math.prod(kernel.block)
    arrays = tuple(ir.Shared(lane_array(n), variables[n], (size,), span) for n in sorted(lanes))
    stops = tuple(ir.Builtin(span, "block_size", a, type=I32) for a in range(kernel.ndim))
    order = [n for n in variables if n not in block]
    slot = ir.Builtin(span, "local_id", None, type=I32)  # the thread's slot in the block

    def thread_loop(region: Region) -> ir.ThreadLoop:
        used, written = names_in(region.body), _written(region.body)
        kept = [n for n in order if n in lanes and n in used]
        here = replace(region.body[0].span, line=0)  # no line marker of its own
        again = tuple(ir.Assign(here, n, recomputed[n]) for n in order
                      if n in recomputed and n in used and region is not items[0])
        load = tuple(ir.Assign(here, n, ir.Load(here, lane_array(n), (slot,),
                                                type=variables[n]))
                     for n in kept if not _set_first(region.body, n))
        store = tuple(ir.Store(here, lane_array(n), (slot,), ir.Var(here, n, type=variables[n]))
                      for n in kept if n in written)
        first = region.body[0].span
        return ir.ThreadLoop(first, stops, again + load + region.body + store,
                             tuple(n for n in order if n in used))

    def header(e: ir.Expr) -> ir.Expr:
        def visit(x: ir.Expr) -> ir.Expr:
            if isinstance(x, ir.Var) and x.name in lanes:
                return ir.Load(x.span, lane_array(x.name), (ir.Const(x.span, 0, type=I32),),
                               type=x.type)
            return x
        return map_expr(e, visit)

    def code(items: list[Region | BlockLoop]) -> ir.Body:
        out: list[ir.Stmt] = []
        for it in items:
            if isinstance(it, Region):
                out.append(thread_loop(it))
            elif isinstance(it.stmt, ir.For):
                s = it.stmt
                out.append(replace(s, start=header(s.start), stop=header(s.stop),
                                   step=None if s.step is None else header(s.step),
                                   body=code(it.items)))
            else:
                out.append(replace(it.stmt, cond=header(it.stmt.cond), body=code(it.items)))
        return tuple(out)

    return replace(kernel, shared=kernel.shared + arrays, body=hoisted + code(items))


def _written(body: ir.Body) -> set[str]:
    """The variables ``body`` assigns (``SET``, a ``FOR`` variable, an atomic's result)."""
    return {_target(s) for s in ir.walk(body)} - {None}


def _target(s: ir.Stmt) -> str | None:
    """The variable statement ``s`` itself assigns, if any."""
    return s.name if isinstance(s, ir.Assign) else s.var if isinstance(s, ir.For) \
        else s.result if isinstance(s, ir.Atomic) else None


def _set_first(body: ir.Body, name: str) -> bool:
    """Whether ``body`` assigns ``name`` at its top level (``SET``, or a ``FOR`` over it)
    before anything reads it or assigns it under a condition (so the value it held before
    is never seen)."""
    for s in body:
        if isinstance(s, (ir.Assign, ir.For)) and _target(s) == name:
            first = s.value if isinstance(s, ir.Assign) else s.start
            return not any(isinstance(x, ir.Var) and x.name == name
                           for x in ir.subexprs(first))
        if name in names_in((s,)):
            return False
    return False


def _thread_indices(items: list[Region | BlockLoop], body: ir.Body) -> dict[str, ir.Expr]:
    """The variables set at the top level of the first region (``items[0]``) to a
    per-thread launch index (``THREAD_ID``, ``LOCAL_ID``) and nowhere else in ``body``,
    with that index."""
    if not items or not isinstance(items[0], Region):
        return {}
    counts: dict[str, int] = {}
    for s in ir.walk(body):
        name = _target(s)
        counts[name] = counts.get(name, 0) + 1
    return {s.name: s.value for s in items[0].body
            if isinstance(s, ir.Assign) and isinstance(s.value, ir.Builtin)
            and s.value.name in ("thread_id", "local_id") and counts.get(s.name) == 1}
