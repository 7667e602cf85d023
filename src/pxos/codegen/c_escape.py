"""Escape-time loops as SIMD lanes on a CPU: a ``WHILE`` whose threads leave it apart.

``mandelbrot``'s threads each run ``WHILE n < max_iter: IF zx*zx + zy*zy > 4.0: BREAK …``
and leave it after different numbers of trips. With a block's threads as an inner loop
around that ``WHILE`` (``codegen/c``), gcc vectorises nothing: every thread runs alone, one
multiply-add chain at a time. As ISPC and PoCL's work-group vectoriser do for varying
control flow, :func:`escaped` runs the loop in lockstep over the block's threads instead,
each trip a loop over the threads (SIMD lanes) under a mask of those still in the loop:

    every thread: its statements before the loop; still[t] = 1
    for (;;) {
        every thread: a = still[t] & cond; then the loop body in order under masks:
                      ``SET v = e`` → v[t] = a ? e : v[t]; ``IF c`` → m = a & c (each
                      arm its mask, ``ELSE`` what is left); ``BREAK`` → a = a & !m;
                      still[t] = a
        if no thread is still in the loop: break
    }
    every thread: its statements after the loop

Each thread's variables live in lane arrays (``codegen/c_loops``); a variable each trip
sets before reading it stays in a register. A thread's values change only on the trips
it is still in the loop, and under the masks of the arms it takes, in its own order, so
the results are bit-identical. The rule (:func:`escape_plan`): the loop is the kernel's
only loop, at its top level; its body holds only ``SET``, ``IF``/``ELIF``/``ELSE`` and
``BREAK`` (the last statement of its arm); and its expressions read no array and divide
no integers. So a thread that has left can evaluate them harmlessly (they cannot fault
or trap), which is what lets gcc vectorise (x86 has no SIMD integer division); and the
trip counts come from arithmetic, not from data: a loop over a row of a sparse matrix
(``WHILE j < row_end``) would make every thread of a block wait for the longest row.
On the 2-core machine a 1024 × 1024 ``mandelbrot`` of 256 iterations took 32 ms on one
thread in this form against 138 ms before (gcc 12 ``-O3 -march=native``).
"""

from __future__ import annotations

import math
from dataclasses import replace

from pxos.codegen.c_loops import indent, thread_loop
from pxos.codegen.render import Renderer, var_name
from pxos.ir import nodes as ir
from pxos.ir.passes.fission import names_in
from pxos.ir.types import BOOL, I32

STILL, ACTIVE, ANY = "pxos_still", "pxos_active", "pxos_any"  # per thread: in the loop;
# on this trip; per block: some thread still in it


def escape_plan(kernel: ir.Kernel, body: ir.Body) -> tuple | None:
    """(statements before, the WHILE, statements after) of a loop-form kernel's ``body``
    whose only loop is one top-level ``WHILE`` of ``SET``, ``IF``/``ELIF``/``ELSE`` and
    ``BREAK`` (the last statement of its arm) statements, with no ``RETURN`` or
    ``CONTINUE`` anywhere; None otherwise."""
    if not kernel.guarded or any(isinstance(s, (ir.Return, ir.Continue, ir.For, ir.Sync))
                                 for s in ir.walk(body)):
        return None
    loops = [i for i, s in enumerate(body) if isinstance(s, ir.While)]
    if len(loops) != 1 or sum(isinstance(s, ir.While) for s in ir.walk(body)) != 1:
        return None
    at = loops[0]
    loop = body[at]
    if any(isinstance(s, ir.Break) for s in ir.walk(body[:at] + body[at + 1:])):
        return None
    ok = _safe(loop.cond) and _lane_body(loop.body)
    return (body[:at], loop, body[at + 1:]) if ok else None


def _lane_body(body: ir.Body) -> bool:
    """Statements a trip can run under a mask: ``SET`` and ``IF`` of such over safe
    expressions (:func:`_safe`), ``BREAK`` last."""
    for n, s in enumerate(body):
        if isinstance(s, ir.Break):
            if n != len(body) - 1:
                return False
        elif isinstance(s, ir.If):
            if not all(_safe(c) and _lane_body(arm) for c, arm in s.arms) \
                    or not _lane_body(s.orelse):
                return False
        elif not (isinstance(s, ir.Assign) and _safe(s.value)):
            return False
    return True


def _safe(e: ir.Expr) -> bool:
    """Whether ``e`` evaluates without a fault or trap whatever its variables hold, and
    vectorises: no array read, no integer division or remainder (module doc)."""
    for x in ir.subexprs(e):
        if isinstance(x, ir.Load):
            return False
        if isinstance(x, ir.Binary) and x.op in ("div", "mod") and not x.type.is_float:
            return False
        if isinstance(x, ir.Call) and not x.type.is_float and x.fn not in SAFE_CALLS:
            return False
    return True


SAFE_CALLS = ("select", "min", "max", "abs", "clamp", "rotl", "rotr")  # integer, cannot trap


def _var(span, name: str, t) -> ir.Var:
    return ir.Var(span, name, type=t)


def trip_locals(loop: ir.While, outside: set[str]) -> set[str]:
    """The variables that each trip of ``loop`` sets at its top level before anything
    reads them or sets them under an ``IF``, and that nothing outside the loop reads
    (``outside``): each trip's own, kept in registers."""
    out, seen = set(), set(names_in((ir.Assign(loop.span, "", loop.cond),)))
    for s in loop.body:
        if isinstance(s, ir.Assign):
            seen |= names_in((ir.Assign(s.span, "", s.value),))
            if s.name not in seen and s.name not in outside:
                out.add(s.name)
        seen |= names_in((s,))
    return out


class _Masks:
    """Builds one trip's statements under masks (``i32`` 0/1 per thread: ``&`` in
    registers, no branch) named ``pxos_m<k>``."""

    def __init__(self, span, local: set[str]):
        self.span, self.local, self.count, self.names = span, local, 0, []
        self.active = _var(span, ACTIVE, I32)

    def new(self, value: ir.Expr) -> tuple[ir.Var, ir.Stmt]:
        name = f"pxos_m{self.count}"
        self.count += 1
        self.names.append(name)
        return _var(self.span, name, I32), ir.Assign(self.span, name, value)

    def both(self, mask: ir.Expr, cond: ir.Expr) -> ir.Expr:
        """``mask`` and ``cond`` (0/1)."""
        return ir.Binary(self.span, "band", mask, ir.Cast(self.span, cond, I32, type=I32),
                         type=I32)

    def unless(self, mask: ir.Expr, other: ir.Expr) -> ir.Expr:
        """``mask`` and not ``other`` (both 0/1)."""
        off = ir.Binary(self.span, "eq", other, ir.Const(self.span, 0, type=I32), type=BOOL)
        return self.both(mask, off)

    def body(self, body: ir.Body, mask: ir.Var, top: bool) -> list[ir.Stmt]:
        out = []
        for s in body:
            if isinstance(s, ir.Assign):
                out.append(self.assign(s, mask, top))
            elif isinstance(s, ir.Break):  # the threads of this mask leave the loop
                out.append(ir.Assign(s.span, ACTIVE, self.unless(self.active, mask)))
            else:
                out += self.branches(s, mask)
        return out

    def assign(self, s: ir.Assign, mask: ir.Var, top: bool) -> ir.Stmt:
        if top and s.name in self.local:
            return s
        live = mask if top else ir.Binary(s.span, "band", mask, self.active, type=I32)
        on = ir.Binary(s.span, "ne", live, ir.Const(s.span, 0, type=I32), type=BOOL)
        old = _var(s.span, s.name, s.value.type)
        return replace(s, value=ir.Call(s.span, "select", (on, s.value, old),
                                        type=s.value.type))

    def branches(self, s: ir.If, mask: ir.Var) -> list[ir.Stmt]:
        out, rest = [], mask
        for n, (cond, arm) in enumerate(s.arms):
            taken, made = self.new(self.both(rest, cond))
            out.append(made)
            if n + 1 < len(s.arms) or s.orelse:  # the threads left to the next arms
                rest, made_left = self.new(self.unless(rest, taken))
                out.append(made_left)
            out += self.body(arm, taken, False)
        return out + self.body(s.orelse, rest, False)


def masked_trip(loop: ir.While, local: set[str]) -> tuple[list[ir.Stmt], list[str]]:
    """One trip of ``loop`` for a thread, under its mask (module doc), as statements, and
    the mask variables it declares; the ``local`` variables (:func:`trip_locals`) set at
    the top level without one."""
    span = loop.span
    masks = _Masks(span, local)
    still, active = _var(span, STILL, I32), masks.active
    out = [ir.Assign(span, ACTIVE, masks.both(still, loop.cond))]
    out += masks.body(loop.body, active, True)
    any_ = _var(span, ANY, I32)
    return out + [ir.Assign(span, STILL, active),
                  ir.Assign(span, ANY, ir.Binary(span, "bor", any_, active, type=I32))], \
        masks.names


def escaped(r: Renderer, kernel: ir.Kernel, plan: tuple, variables: dict,
            ends: list[str], starts: list[str]) -> list[str]:
    """The block's threads running ``plan`` (:func:`escape_plan`) in lockstep: lane
    arrays, the statements before the loop, the masked trips until no thread is left in
    the loop, the statements after it."""
    before, loop, after = plan
    span = loop.span
    local = trip_locals(loop, names_in(tuple(before) + tuple(after)))
    trip, masks = masked_trip(loop, local)
    typed = {**variables, STILL: I32, ACTIVE: I32, **{m: I32 for m in masks}}
    any_ = var_name(ANY)
    used = names_in(tuple(before) + (loop,) + tuple(after))
    lanes = {n for n in variables if n in used} - local | {STILL}
    r.lane_arrays = lanes
    size = math.prod(kernel.block)
    out = [f"{r.d.type_name(typed[n])} {var_name(n)}[{size}] = {{0}};" for n in sorted(lanes)]
    start = list(before) + [ir.Assign(span, STILL, ir.Const(span, 1, type=I32))]
    out += thread_loop(r, tuple(start), set(), typed, ends, starts)
    trip_loop = [x.replace("#pragma omp simd", f"#pragma omp simd reduction(|:{any_})")
                 for x in thread_loop(r, tuple(trip), local | {ACTIVE, *masks}, typed, ends,
                                      starts)]
    out += ["for (;;) {  /* a trip of the loop for every thread still in it */",
            f"    int32_t {any_} = 0;", *indent(trip_loop), f"    if (!{any_}) break;", "}"]
    out += thread_loop(r, tuple(after), set(), typed, ends, starts)
    r.lane_arrays = set()
    return out
