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

A run of consecutive statements alike (:func:`collapse_alike`: the same kernel launched on
the same arrays with the same launch-sizing values, as a Floyd–Warshall ``RUN fw d k`` per
``k``) is laid out as a loop is: its first statement once, and the second standing for
the rest (:attr:`Entry.alike`), so a straight program of 500 such ``RUN``s is planned in
two steps, not 500 (issue 14).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from pxos.ir import nodes as ir

UNROLL_DEPTH = 3
FIRST, STEADY, EVERY = "first", "steady", "every"  # which iterations a copy stands for
GUESSED_TRIPS = 10  # a WHILE's iterations, or a FOR's that the planner cannot evaluate


@dataclass(frozen=True)
class Entry:
    """One statement in the line: ``loops`` are the enclosing host loops, outermost first,
    each with the iterations this copy of its body stands for (FIRST, STEADY or EVERY);
    ``alike``: the statements right after ``stmt`` that it stands for as well."""

    stmt: ir.Stmt
    loops: tuple[tuple[ir.Stmt, str], ...] = ()
    alike: tuple[ir.Stmt, ...] = ()


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


def collapse_alike(entries: list[Entry], alike: Callable[[ir.Stmt, ir.Stmt], bool]
                   ) -> list[Entry]:
    """``entries`` with each run of consecutive statements alike (``alike(a, b)``: ``b``
    right after ``a`` costs what ``a`` costs from the same state and leaves the same names,
    so the planner may take one for the other) laid out as a loop: the first statement,
    then the second with the rest as its :attr:`Entry.alike`."""
    out: list[Entry] = []
    i = 0
    while i < len(entries):
        j = i + 1
        while j < len(entries) and entries[j].loops == entries[i].loops \
                and alike(entries[j - 1].stmt, entries[j].stmt):
            j += 1
        out.append(entries[i])
        if j > i + 1:
            out.append(replace(entries[i + 1],
                               alike=tuple(e.stmt for e in entries[i + 2:j])))
        i = j
    return out


def weight(entry: Entry, trips) -> float:
    """How many times ``entry``'s copy runs, given ``trips(loop)``: a loop's iterations
    (times the statements alike it stands for)."""
    w = 1.0 + len(entry.alike)
    for loop, which in entry.loops:
        n = trips(loop)
        w *= min(n, 1) if which == FIRST else max(n - 1, 0) if which == STEADY else n
    return w


def first_positions(entries: list[Entry]) -> dict[int, int]:
    """For each statement (by ``id``), the position of its first copy in the line (a
    statement alike to the one before it: the position of the entry standing for it)."""
    out: dict[int, int] = {}
    for i, e in enumerate(entries):
        out.setdefault(id(e.stmt), i)
        for s in e.alike:
            out.setdefault(id(s), i)
    return out
