"""A program with host loops, laid out as one straight line for the planner.

The planner's search (``planner/program``) walks statements in order and keeps, for each
residency state, the cheapest way to reach it. A host loop runs its body many times, so the
line holds each loop body twice: the *first* iteration, which starts from the residency
before the loop (and pays the copies into it once), and the *steady* iteration, which
starts from the residency the body leaves behind and stands for every later iteration. A
statement's cost is weighted by how often its copy runs (:func:`weight`): the first
iteration once, the steady one ``trips - 1`` times. Both ``IF`` branches are laid out one
after the other (the planner does not know which runs; a statement that does not run costs
nothing but a slightly pessimistic plan).

Loops nested deeper than :data:`UNROLL_DEPTH` keep a single copy of their body that stands
for every iteration, so the line stays at most ``2 ** UNROLL_DEPTH`` times the program.
"""

from __future__ import annotations

from dataclasses import dataclass

from pxos.ir import nodes as ir

UNROLL_DEPTH = 3
FIRST, STEADY, EVERY = "first", "steady", "every"  # which iterations a copy stands for
GUESSED_TRIPS = 10  # a WHILE's iterations, or a FOR's that the planner cannot evaluate


@dataclass(frozen=True)
class Entry:
    """One statement in the line: ``loops`` are the enclosing host loops, outermost first,
    each with the iterations this copy of its body stands for (FIRST, STEADY or EVERY)."""

    stmt: ir.Stmt
    loops: tuple[tuple[ir.Stmt, str], ...] = ()


def linear_order(body: ir.Body, loops: tuple = ()) -> list[Entry]:
    """The statements of ``body`` as one line (see the module docstring)."""
    out: list[Entry] = []
    for s in body:
        out.append(Entry(s, loops))
        if isinstance(s, ir.If):
            for inner in ir.children(s):
                out += linear_order(inner, loops)
        elif isinstance(s, (ir.For, ir.While)):
            if len(loops) < UNROLL_DEPTH:
                out += linear_order(s.body, loops + ((s, FIRST),))
                out += linear_order(s.body, loops + ((s, STEADY),))
            else:
                out += linear_order(s.body, loops + ((s, EVERY),))
    return out


def weight(entry: Entry, trips) -> float:
    """How many times ``entry``'s copy runs, given ``trips(loop)``: a loop's iterations."""
    w = 1.0
    for loop, which in entry.loops:
        n = trips(loop)
        w *= min(n, 1) if which == FIRST else max(n - 1, 0) if which == STEADY else n
    return w


def first_positions(entries: list[Entry]) -> dict[int, int]:
    """For each statement (by ``id``), the position of its first copy in the line."""
    out: dict[int, int] = {}
    for i, e in enumerate(entries):
        out.setdefault(id(e.stmt), i)
    return out
