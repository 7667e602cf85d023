"""What the runs of one `.px` program share in a process, made by the first and reused.

A run of a program types its host expressions, checks its launches, builds and prepares
each ``RUN``'s launch (``host/run_launch``: the compiled kernel, the native launcher) and,
with ``--device auto``, starts a planner and plans. None of it depends on the run: the
typed expressions depend on the types the names have, the launches on the statement, the
device and ``--checked``, the planner on the program, the options and the machine. Made
again by every run, it cost 0.2-0.4 ms on ``c`` and 3-4 ms with ``--device auto``
(issue 14: "a RUN costs at most a Python call" over a whole program, and ``auto`` at most
1.05× the best pinned device). :func:`memo_for` keeps one :class:`ProgramMemo` per
program object, for as long as that object lives (a program parsed again is another
object, with a memo of its own).

What a memo does not keep: anything of one run's data. A prepared launch's argument tuple
(``RunLaunch.repeated_args``) is keyed by the residency's version, which no two runs share
(``host/residency``), and :meth:`ProgramMemo.release` drops those tuples when a run ends,
so a memo holds no run's arrays.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pxos.host.files import FileAccess
from pxos.ir import nodes as ir

LIMIT = 256  # programs remembered at once (the oldest memo goes first)


@dataclass
class PlanMemo:
    """A ``--device auto`` (or ``--explain``) run's planning state, kept for the next
    run of the program with the same options: the planner (``planner/program``), its
    follower (``planner/ahead``), the residency states numbered so far and the decision
    taken per (statement, state, sizing, generation). ``history`` is the planner
    history's generation it stands for (``planner/history``: forgetting, as ``pxos
    calibrate`` does, makes a new planner). ``thread``: the thread of the run using it,
    None between runs (a run on another thread meanwhile plans with a planner of its own:
    a plan is not made by two threads at once)."""

    planner: object
    follower: object
    history: int
    states: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)  # id(stmt) -> (state, generation, decision)
    thread: int | None = None

    def take(self) -> bool:
        """Whether this thread's run may use it now (then it is this thread's)."""
        me = threading.get_ident()
        if self.thread not in (None, me):
            return False
        self.thread = me
        return True


@dataclass
class ProgramMemo:
    """The shared part of the runs of one program (see the module docstring). Each dict
    is a ``ProgramRun`` attribute's (same keys); ``launches`` and ``plans`` are per set of
    options."""

    reads: dict = field(default_factory=dict)  # id(expr) -> the names it reads
    typed: dict = field(default_factory=dict)  # (id(expr), their types) -> typed expr
    constants: dict = field(default_factory=dict)  # id(expr) reading no name -> value
    keywords: dict = field(default_factory=dict)  # id(stmt) -> ir.keyword(stmt)
    kernels: dict = field(default_factory=dict)  # kernel name -> ir.Kernel
    counts: dict = field(default_factory=dict)  # kernel name -> its thread counts' function
    checked_launches: set = field(default_factory=set)  # (RUN, argument types) found right
    signatures: dict = field(default_factory=dict)  # planner position -> …, kernel -> …
    sizing: dict = field(default_factory=dict)  # id(placeable stmt) -> sizing arguments
    launches: dict = field(default_factory=dict)  # checked -> {(id(RUN), device): RunLaunch}
    files: dict = field(default_factory=dict)  # (allowed, working dir) -> FileAccess
    plans: dict = field(default_factory=dict)  # plan_key(...) -> PlanMemo
    reads_files: bool | None = None  # whether the program has a READ_FILE (plan_key)

    def launches_for(self, checked: bool) -> dict:
        """The prepared launches of runs with ``--checked`` = ``checked``."""
        found = self.launches.get(checked)
        if found is None:
            found = self.launches[checked] = {}
        return found

    def file_access(self, program_file: str, allow: list[Path]) -> FileAccess:
        """The ``host/files`` access of a run of the program in file ``program_file``
        with ``--allow-path`` ``allow`` (resolving the folders costs 70 µs a run)."""
        key = files_key(allow)
        found = self.files.get(key)
        if found is None:
            found = self.files[key] = FileAccess(Path(program_file).resolve().parent, allow)
        return found

    def plan_key(self, program: ir.Program, device: str, checked: bool,
                 allow: list[Path]) -> tuple:
        """The key of the :class:`PlanMemo` of a run of ``program`` with these options:
        the device and ``--checked`` and, where the program reads a file (the planner
        peeks at its shape through the run's file access), :func:`files_key` (the working
        directory, 1-3 µs a run to ask for: issue 14, a run under ``--device auto``)."""
        if self.reads_files is None:
            self.reads_files = any(isinstance(s, ir.ReadFile)
                                   for s in ir.walk(program.statements))
        return (device, checked, files_key(allow)) if self.reads_files else (device, checked)

    def release(self) -> None:
        """Drop every prepared launch's argument tuple (a run ended: its arrays are its
        own, not the memo's), and free the planners this thread's run used; where a
        measured time says another device may have won (``PlanFollower.contradicted``),
        their decisions go: the next run plans again, with what the history learned."""
        for prepared in self.launches.values():
            for launch in prepared.values():
                launch.release()
        me = threading.get_ident()
        for plan in self.plans.values():
            if plan.thread == me:
                plan.thread = None
                if plan.follower.contradicted:  # the next run plans with what was learned
                    plan.follower = type(plan.follower)(plan.planner)
                    plan.plans.clear()
                    plan.states.clear()
                    plan.last.clear()


def files_key(allow: list[Path]) -> tuple:
    """What a run's file access depends on besides the program: ``--allow-path`` and the
    working directory (relative paths and the allowed folders resolve against it)."""
    return tuple(allow), os.getcwd()


def memo_for(program: ir.Program) -> ProgramMemo:
    """The memo of ``program`` (made at its first run; forgotten with the program)."""
    found = _MEMOS.get(id(program))
    if found is not None and found[0]() is program:
        return found[1]
    if len(_MEMOS) >= LIMIT:
        del _MEMOS[next(iter(_MEMOS))]
    memo = ProgramMemo()
    key = id(program)
    _MEMOS[key] = (weakref.ref(program, partial(_forget, _MEMOS, key)), memo)
    return memo


def _forget(memos: dict, key: int, _) -> None:
    """The program at ``key`` is gone: its memo goes (``memos`` is bound, not looked up:
    this may run while the interpreter exits)."""
    found = memos.get(key)
    if found is not None and found[0]() is None:  # not a newer program at that address
        del memos[key]


_MEMOS: dict[int, tuple[weakref.ref, ProgramMemo]] = {}
