"""Loop trip counts: expressions kept from the kernel, evaluated at launch.

A ``FOR i IN a..b STEP s`` runs ``ceil((b - a) / s)`` times. A ``WHILE`` runs as many
times as a counter needs to pass its bound when the loop has the shape ``SET v = init``
before it, ``WHILE v < bound`` (or ``>``, ``<=``, ``>=``, ``!=``) and one ``SET v = v ± c``
or ``SET v = v * c``, ``v / c``, ``v << c``, ``v >> c`` in its body; that count is an
upper bound when the body can BREAK. Anything else (bounds that depend on the thread or on
data, other loop shapes) gets :data:`GUESS` iterations, and the estimate says it guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pxos.ir import nodes as ir
from pxos.ir.evaluate import eval_scalar

GUESS = 16.0  # iterations assumed for a loop whose trip count is not known before it runs


def _value(e: ir.Expr | None, env: dict) -> float | None:
    """``e`` evaluated over the launch's arguments, or None if it needs anything else."""
    if e is None:
        return None
    try:
        with np.errstate(all="ignore"):
            return float(eval_scalar(e, env))
    except Exception:  # a thread index, a local variable, data: unknown before launch
        return None


@dataclass(frozen=True)
class Trip:
    """A loop's trip count.

    Attributes:
        kind: ``count`` (``(stop - start) / step`` iterations, rounded up) or ``log``
            (``log_step(stop / start)``: a counter multiplied or divided each time).
        start, stop, step: expressions over the kernel's parameters.
        span: the loop.
    """

    kind: str
    start: ir.Expr | None
    stop: ir.Expr | None
    step: float | ir.Expr | None
    span: object

    def evaluate(self, env: dict) -> tuple[float, bool]:
        """(iterations ≥ 0, whether they are known) with the launch's ``env`` (parameter
        name → value; arrays for ``LEN``/``ROWS``/``COLS``)."""
        a, b = _value(self.start, env), _value(self.stop, env)
        step = self.step if isinstance(self.step, (int, float)) else _value(self.step, env)
        if a is None or b is None or step is None or step == 0:
            return GUESS, False
        if self.kind == "count":
            return max(0.0, math.ceil((b - a) / step)), True
        lo, hi = sorted((abs(a), abs(b)))
        if step <= 1:
            return GUESS, False
        return max(0.0, math.log(max(hi, 1.0) / max(lo, 1.0), step)) + 1.0, True


def for_trip(s: ir.For) -> Trip:
    """The trip count of a FOR loop."""
    return Trip("count", s.start, s.stop, s.step if s.step is not None else 1.0, s.span)


_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "ne": "ne"}


def _counter(cond: ir.Expr) -> tuple[str, ir.Expr, str] | None:
    """(variable, bound, comparison with the variable on the left) of ``v < bound``."""
    if not (isinstance(cond, ir.Binary) and cond.op in _FLIP):
        return None
    if isinstance(cond.lhs, ir.Var):
        return cond.lhs.name, cond.rhs, cond.op
    if isinstance(cond.rhs, ir.Var):
        return cond.rhs.name, cond.lhs, _FLIP[cond.op]
    return None


def _update(body: ir.Body, var: str) -> tuple[str, ir.Expr] | None:
    """The one ``SET var = var OP c`` of a loop body: (op, c)."""
    found = [s for s in ir.walk(body) if isinstance(s, ir.Assign) and s.name == var]
    if len(found) != 1:
        return None
    v = found[0].value
    if isinstance(v, ir.Binary) and isinstance(v.lhs, ir.Var) and v.lhs.name == var \
            and v.op in ("add", "sub", "mul", "div", "shl", "shr"):
        return v.op, v.rhs
    return None


def while_trip(s: ir.While, before: ir.Body) -> Trip:
    """The trip count of a WHILE loop, given the statements before it in its body."""
    counter = _counter(s.cond)
    if counter is not None:
        var, bound, _ = counter
        init = next((x.value for x in reversed(before)
                     if isinstance(x, ir.Assign) and x.name == var), None)
        update = _update(s.body, var)
        if init is not None and update is not None:
            op, c = update
            if op in ("add", "sub"):
                lo, hi = (init, bound) if op == "add" else (bound, init)
                return Trip("count", lo, hi, c, s.span)
            if isinstance(c, ir.Const) and c.value:
                base = float(c.value) if op in ("mul", "div") else 2.0 ** float(c.value)
                lo, hi = (init, bound) if op in ("mul", "shl") else (bound, init)
                return Trip("log", lo, hi, base, s.span)
    return Trip("guess", None, None, None, s.span)
