"""Work-group loop fission: running a kernel with barriers as plain loops on a CPU.

On a CPU the threads of one block run one after another in a loop. A barrier then means:
finish this part of the thread code for every thread of the block before any thread starts
the next part. So the thread code is split at each ``SYNC_THREADS`` into *regions*, each run
for every thread in turn, and a loop that contains a barrier becomes a loop around regions
(the checker guarantees such loops are uniform, ``ir/barrier``). A variable whose value
crosses a region boundary is kept per thread, in an array indexed by the thread's slot.
This is the method of PoCL's work-group functions (Jääskeläinen et al., "pocl: A
Performance-Portable OpenCL Implementation", IJPP 2015, §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pxos.ir import nodes as ir


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
    names = set()
    for s in ir.walk(body):
        if isinstance(s, ir.Assign):
            names.add(s.name)
        elif isinstance(s, ir.For):
            names.add(s.var)
        elif isinstance(s, ir.Atomic) and s.result:
            names.add(s.result)
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
