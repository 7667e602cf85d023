"""Random kernels with float arithmetic for differential fuzzing (tests/test_fuzz_kernels):
:class:`FloatGenerator` adds ``f32``/``f64`` variables and expressions to the integer
kernels of ``tests/random_kernels``.

Only operations that IEEE 754 rounds exactly once, which pxos promises to keep bit for bit
on every backend (no contraction into FMA, correctly rounded division and square root:
docs/backends.md): ``+ - * /``, ``sqrt``, ``floor``, ``ceil``, ``abs``, negation,
``min``/``max`` (C's ``fmin``/``fmax``), ``select``, conversions between the float types
and from 32-bit integers; a float reaches an integer only through a clamp to ±10⁹ first
(a NaN or out-of-range conversion is undefined, docs/language.md). Literals are exact in
``f32``, so their type never changes their value. The kernel reads floats from ``f`` and
writes ``f32`` results to ``fo``.
"""

from __future__ import annotations

from tests.random_kernels import Generator, common

FLOATS = ("f32", "f64")
FLOAT_EDGES = (0.0, -0.0, 0.5, 1.0, -1.0, 1.5, 3.0, -2.25, 1e10, 1e-10, 65504.0, 0.1,
               1e30, -1e30, 3.4e38)
LIMIT = 1e9  # |a float| converted to an integer, at most


class FloatGenerator(Generator):
    """A :class:`Generator` whose kernels also compute in ``f32`` and ``f64``. ``finite``:
    no float division, square roots of magnitudes, literals up to 65504 (for ``webgpu``:
    WGSL lets a compiler assume that no infinity or NaN occurs and ignore the sign of a
    zero, and lavapipe folds ``x - x`` to 0; docs/backends.md)."""

    def __init__(self, seed: int, finite: bool = False):
        super().__init__(seed)
        self.finite = finite

    def expr(self, depth: int, safe: bool = False, want: str = "int") -> tuple:
        if want == "float":
            return self.float_expr(depth, safe)
        if depth > 0 and self.r.random() < 0.1:  # a float, clamped, to an integer
            return self.clamped(self.float_expr(depth - 1, safe))
        return super().expr(depth, safe)

    def clamped(self, e: tuple) -> tuple:
        t = e[1]
        low = ("max", t, "max", e, ("lit", t, -LIMIT))
        return ("cast", "i32", ("min", t, "min", low, ("lit", t, LIMIT)))

    def float_expr(self, depth: int, safe: bool) -> tuple:
        r = self.r
        if depth <= 0 or r.random() < 0.25:
            pick = r.random()
            names = sorted(v for v, t in self.types.items() if t[0] == "f")
            if pick < 0.4 and names:
                v = r.choice(names)
                return ("var", self.types[v], v)
            if pick < 0.6 and not safe:
                return ("load", "f32", super().expr(depth - 1, safe))
            if pick < 0.75:  # a 32-bit integer, converted exactly as C does
                return ("cast", r.choice(FLOATS), ("cast", "i32", super().expr(1, safe)))
            edges = [v for v in FLOAT_EDGES if abs(v) <= 65504] if self.finite else FLOAT_EDGES
            v = r.choice(edges) if r.random() < 0.6 else r.randint(-64, 64) / 8
            return ("lit", r.choice(FLOATS), v)
        kind = r.choice(("bin", "bin", "bin", "min", "max", "neg", "call1", "select",
                         "cast"))
        a = self.float_expr(depth - 1, safe)
        if kind == "neg":
            return ("neg", a[1], a)
        if kind == "cast":
            return ("cast", "f64" if a[1] == "f32" else "f32", a)
        if kind == "call1":
            fn = r.choice(("sqrt", "floor", "ceil", "abs"))
            if fn == "sqrt" and self.finite:
                a = ("call1", a[1], "abs", a)
            return ("call1", a[1], fn, a)
        b = self.float_expr(depth - 1, safe)
        t = common(a[1], b[1])
        if kind == "select":
            return ("select", t, self.cond(depth - 1, safe), a, b)
        if kind in ("min", "max"):
            return (kind, t, kind, a, b)
        return ("bin", t, r.choice("+-*" if self.finite else "+-*/"), a, b)

    def cond(self, depth: int, safe: bool = False) -> tuple:
        if depth > 0 and self.r.random() < 0.3:
            return ("cmp", self.r.choice(("<", "<=", ">", ">=", "==", "!=")),
                    self.float_expr(depth - 1, safe), self.float_expr(depth - 1, safe))
        return super().cond(depth, safe)

    def store(self) -> tuple:
        if self.r.random() < 0.5:
            return ("fstore", self.float_expr(3, False))
        return super().store()

    def first_value(self) -> tuple:
        return self.float_expr(2, False) if self.r.random() < 0.6 else super().first_value()
