"""Random integer kernels for differential fuzzing (tests/test_fuzz_kernels): a seeded
generator of ``.px`` thread code as tuples, and their ``.px`` text.

A kernel is ``fuzz(out int[], x int[], hist int[])``, one thread per element of ``out``;
statements are tuples (``("set", name, expr)``, ``("if", arms, orelse)``, ``("for", name,
lo, hi, body)``, ``("while", counter, bound, body)``, ``("store", expr)``, ``("atomic",
index, value)``, ``("break",)`` …) and expressions ``(kind, type, …)`` with ``type``
one of :data:`TYPES`. Every loop ends: a ``FOR`` bound is at most 7 and a ``WHILE`` counts
its trips, first thing, up to at most 15.
"""

from __future__ import annotations

import random

import numpy as np
from dataclasses import dataclass

XS = 256  # elements of x (indices are masked with & 255)
BINS = 16  # elements of hist (indices masked with & 15)
MASK = 0xFFFFFFFF
TYPES = ("i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64")
CASTS = ("i32", "u32", "i32", "u32", "i64", "u64") + TYPES  # mostly 32 bits
ARITH = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>")
COMPARE = ("<", "<=", ">", ">=", "==", "!=")
ATOMICS = ("ADD", "MIN", "MAX", "AND", "OR", "XOR")
EDGES = (0, 1, -1, 2, 31, 32, 33, -2**31 + 1, 2**31 - 1, 7, -7, 255, 65535)


def wrap(v: int, t: str) -> int:
    """``v`` as a value of type ``t`` (``i…``: two's complement; ``f32``/``f64``: a NumPy
    float, rounded once to nearest)."""
    if t[0] == "f":
        return np.float32(v) if t == "f32" else np.float64(v)
    bits = int(t[1:])
    v = int(v) & ((1 << bits) - 1)  # a float (clamped first) truncates toward zero
    return v - (1 << bits) if t[0] == "i" and v >> (bits - 1) else v


def promote(t: str) -> str:
    """C's integer promotion: types narrower than 32 bits become ``i32``."""
    return "i32" if int(t[1:]) < 32 else t


def common(a: str, b: str) -> str:
    """C's usual arithmetic conversions (C11 6.3.1.8) of two types."""
    if "f" in (a[0], b[0]):
        return "f64" if "f64" in (a, b) else "f32"
    a, b = promote(a), promote(b)
    if a == b:
        return a
    if a[0] == b[0]:
        return max(a, b, key=lambda t: int(t[1:]))
    signed, unsigned = (a, b) if a[0] == "i" else (b, a)
    return unsigned if int(unsigned[1:]) >= int(signed[1:]) else signed



# -------------------------------------------------------------------------- the generator

class Generator:
    """A random kernel (statements as tuples, see :func:`execute`) from one seed.

    ``lockstep``: one top-level ``WHILE`` of ``SET``/``IF`` and a final ``BREAK``, with no
    array read, division or remainder in it (the shape ``codegen/c_escape`` takes).
    ``arrays``: the element types of ``out``, ``x`` and ``hist``."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.lockstep = seed % 3 == 0
        self.atomic = self.r.choice(ATOMICS)
        self.types = {"i": "i32"}
        self.fixed = {"i"}  # variables never assigned after the start
        self.returns = True  # whether an arm may end its thread
        self.names = 0
        self.loops = 0  # loops around the statement being made
        pick = random.Random(seed * 31 + 7)  # the arrays' types: odd seeds vary them
        self.arrays = {"out": pick.choice(TYPES), "x": pick.choice(TYPES),
                       "hist": pick.choice(("i32", "u32"))} if seed % 2 else \
            dict.fromkeys(("out", "x", "hist"), "i32")

    def name(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    def literal(self) -> tuple:
        r = self.r
        v = r.choice(EDGES) if r.random() < 0.5 else r.randint(-1000, 1000)
        return ("lit", "i32", v) if r.random() < 0.8 else ("lit", "u32", v & MASK)

    def expr(self, depth: int, safe: bool = False, want: str = "int") -> tuple:
        """An integer expression; ``safe``: no array read, ``/`` or ``%``; ``want``: the
        domain (``int`` here; ``tests/random_float_kernels`` adds ``float``)."""
        r = self.r
        if depth <= 0 or r.random() < 0.25:
            pick = r.random()
            if pick < 0.45:
                v = r.choice(sorted(v for v, t in self.types.items() if t[0] != "f"))
                return ("var", self.types[v], v)
            if pick < 0.6 and not safe:
                return ("load", self.arrays["x"], self.expr(depth - 1, safe))
            return self.literal()
        kind = r.choice(("bin", "bin", "bin", "min", "max", "rotl", "rotr", "cast", "neg",
                         "inv", "select"))
        a = self.expr(depth - 1, safe)
        if kind in ("cast", "neg", "inv"):
            t = r.choice(CASTS) if kind == "cast" else promote(a[1])
            return (kind, t, a)
        if kind == "select":
            b = self.expr(depth - 1, safe)
            return ("select", common(a[1], b[1]), self.cond(depth - 1, safe), a, b)
        b = self.expr(depth - 1, safe)
        if kind != "bin":
            return (kind, a[1] if kind in ("rotl", "rotr") else common(a[1], b[1]), kind, a, b)
        op = r.choice(ARITH[:3] + ARITH[5:] if safe else ARITH)
        return binary(op, a, b)

    def cond(self, depth: int, safe: bool = False) -> tuple:
        r = self.r
        pick = r.random()
        if depth > 0 and pick < 0.2:
            return (r.choice(("and", "or")), self.cond(depth - 1, safe),
                    self.cond(depth - 1, safe))
        if depth > 0 and pick < 0.25:
            return ("not", self.cond(depth - 1, safe))
        return ("cmp", r.choice(COMPARE), self.expr(depth, safe), self.expr(depth, safe))

    def body(self, depth: int, size: int) -> list:
        """``size`` statements at nesting ``depth`` (general kernels)."""
        r, out = self.r, []
        for _ in range(size):
            pick = r.random()
            if pick < 0.4 or depth >= 3:
                out.append(self.assign(False))
            elif pick < 0.55:
                out.append(self.store())
            elif pick < 0.65:
                out.append(("atomic", self.expr(2), self.expr(2)))
            elif pick < 0.8:
                out.append(self.branch(depth, self.loops > 0, False))
            elif pick < 0.9:
                out.append(self.loop_for(depth))
            else:
                out.append(self.loop_while(depth))
        return out

    def assign(self, safe: bool) -> tuple:
        v = self.r.choice(sorted(set(self.types) - self.fixed - self.counters()))
        return ("set", v, self.expr(3, safe, want="float" if self.types[v][0] == "f" else "int"))

    def store(self) -> tuple:
        return ("store", self.expr(3))

    def first_value(self) -> tuple:
        """The value of one of the variables the kernel starts with."""
        return self.expr(2)

    def counters(self) -> set:
        return {v for v in self.types if v.startswith(("c", "j"))}

    def branch(self, depth: int, in_loop: bool, safe: bool) -> tuple:
        """``IF``/``ELIF``/``ELSE``; each arm may end in ``BREAK``/``CONTINUE`` (in a loop)
        or ``RETURN`` (general kernels)."""
        r = self.r
        arms = [(self.cond(2, safe), self.arm(depth, in_loop, safe))
                for _ in range(r.choice((1, 1, 2, 3)))]
        orelse = self.arm(depth, in_loop, safe) if r.random() < 0.5 else []
        return ("if", arms, orelse)

    def arm(self, depth: int, in_loop: bool, safe: bool) -> list:
        r = self.r
        stmts = ([self.assign(True) for _ in range(r.randint(1, 2))] if safe
                 else self.body(depth + 1, r.randint(1, 2)))
        ends = (("break",) if safe else ("break", "continue", "return")) if in_loop \
            else (() if safe else ("return",))
        ends = tuple(e for e in ends if self.returns or e != "return")
        if ends and r.random() < 0.35:
            stmts.append((r.choice(ends),))
        return stmts

    def loop_for(self, depth: int) -> tuple:
        r = self.r
        name = self.name("j")
        hi = r.choice((("lit", "i32", r.randint(0, 6)),
                       ("bin", "i32", "&", ("var", "i32", "i"), ("lit", "i32", 7)),
                       binary("&", ("load", self.arrays["x"], self.expr(1)),
                              ("lit", "i32", 7))))
        self.types[name] = common("i32", hi[1])  # the bounds' type: u32 for x u32[]
        self.loops += 1
        body = self.body(depth + 1, r.randint(1, 3))
        self.loops -= 1
        del self.types[name]  # the loop variable is the loop's own
        return ("for", name, r.randint(0, 2), hi, body)

    def loop_while(self, depth: int, safe: bool = False) -> tuple:
        r = self.r
        counter = self.name("c")
        self.types[counter] = "i32"
        bound = binary("&", self.expr(2, safe), ("lit", "i32", 15))
        self.loops += 1
        if safe:
            body = [self.assign(True) if r.random() < 0.6 else self.branch(depth, True, True)
                    for _ in range(r.randint(1, 4))]
        else:
            body = self.body(depth + 1, r.randint(1, 3))
        self.loops -= 1
        return ("while", counter, bound, body)

    def kernel(self) -> list:
        """The statements: variables set from ``i`` and ``x``, then the body, then a store
        of one variable (a general kernel stores along the way too)."""
        r = self.r
        first = []
        for _ in range(r.randint(2, 4)):
            e = self.first_value()
            v = self.name("v")
            first.append(("set", v, e))
            self.types[v] = e[1]
        if self.lockstep:
            body = [self.loop_while(0, safe=True)]
        else:
            body = self.body(0, r.randint(2, 5))
        v = first[-1][1]
        last = ("fstore" if self.types[v][0] == "f" else "store", ("var", self.types[v], v))
        zeros = [("set", c, ("lit", "i32", 0)) for c in sorted(self.counters())]
        return zeros + first + body + [last]


def binary(op: str, a: tuple, b: tuple) -> tuple:
    """``a op b``: shifts have the promoted left operand's type, the rest the common one."""
    return ("bin", promote(a[1]) if op in ("<<", ">>") else common(a[1], b[1]), op, a, b)


# ---------------------------------------------------------------------------- the printer

@dataclass(frozen=True)
class Spelling:
    """How a language writes the kernels' operations and statements (format strings)."""

    u32: str
    cast: str
    select: str
    rotate: str
    words: dict  # and, or, not, if, elif, else, break, continue, return; "/" and "%"
    set: str
    store: str
    atomic: tuple
    loop_for: str
    counter_up: str
    fstore: str


PX = Spelling("u32({})", "{t}({e})", "select({c}, {a}, {b})", "{k}({a}, {b})",
              {"and": "AND", "or": "OR", "not": "NOT", "if": "IF", "elif": "ELIF",
               "else": "ELSE", "break": "BREAK", "continue": "CONTINUE", "return": "RETURN"},
              "SET {v} = {e}", "STORE {t}({e}) → out[i]",
              ("SET atom = {h}({v})",  # an operand, not an expression
               "ATOMIC_{op} hist[({i}) & 15] atom"),
              "FOR {v} IN {lo}..{hi}:", "SET {v} = {v} + 1", "STORE f32({e}) → fo[i]")
PY = Spelling("pxos.u32({})", "pxos.{t}({e})", "(({a}) if ({c}) else ({b}))", "pxos.{k}({a}, {b})",
              {"and": "and", "or": "or", "not": "not", "if": "if", "elif": "elif",
               "else": "else", "break": "break", "continue": "continue", "return": "return",
               "/": "//", "sqrt": "math.sqrt", "floor": "numpy.floor", "ceil": "numpy.ceil"},
              "{v} = {e}", "out[i] = pxos.{t}({e})",
              ("pxos.atomic_{low}(hist, ({i}) & 15, pxos.{h}({v}))",),
              "for {v} in range({lo}, {hi}):", "{v} += 1", "fo[i] = pxos.f32({e})")


def text(e: tuple, sp: Spelling = PX) -> str:
    """An expression or condition in ``sp``'s syntax, every operation in parentheses."""
    kind, w = e[0], sp.words
    if kind == "lit":
        v = e[2]
        if e[1][0] == "f":
            return sp.cast.format(t=e[1], e=repr(float(v)))
        return sp.u32.format(v) if e[1] == "u32" else (f"(-{-v})" if v < 0 else str(v))
    if kind == "var":
        return e[2]
    if kind == "load":
        return f"{'f' if e[1][0] == 'f' else 'x'}[({text(e[2], sp)}) & {XS - 1}]"
    if kind == "cast":
        return sp.cast.format(t=e[1], e=text(e[2], sp))
    if kind in ("neg", "inv"):
        return f"({'-' if kind == 'neg' else '~'}({text(e[2], sp)}))"
    if kind == "select":
        return sp.select.format(c=text(e[2], sp), a=text(e[3], sp), b=text(e[4], sp))
    if kind == "bin":
        op = e[2] if e[1][0] == "f" else w.get(e[2], e[2])  # float / is / in Python too
        return f"(({text(e[3], sp)}) {op} ({text(e[4], sp)}))"
    if kind in ("min", "max"):
        return f"{kind}({text(e[3], sp)}, {text(e[4], sp)})"
    if kind == "call1":
        return f"{w.get(e[2], e[2])}({text(e[3], sp)})"
    if kind == "tile":
        return f"tile[{text(e[2], sp)}]"
    if kind in ("rotl", "rotr"):
        return sp.rotate.format(k=kind, a=text(e[3], sp), b=text(e[4], sp))
    if kind in ("and", "or"):
        return f"(({text(e[1], sp)}) {w[kind]} ({text(e[2], sp)}))"
    if kind == "not":
        return f"({w['not']} ({text(e[1], sp)}))"
    return f"(({text(e[2], sp)}) {e[1]} ({text(e[3], sp)}))"  # cmp


def lines(body: list, indent: int, g: "Generator", sp: Spelling = PX) -> list:
    """The statements of ``g``'s kernel as lines of ``sp``'s language."""
    pad, out, w = " " * indent, [], sp.words

    def nested(b):
        return lines(b, indent + 4, g, sp) or [pad + "    " + sp.set.format(v="atom", e=0)]

    for s in body:
        kind = s[0]
        if kind == "set":
            out.append(pad + sp.set.format(v=s[1], e=text(s[2], sp)))
        elif kind == "store" and len(s) > 2:  # another target than out[i]
            out.append(f"{pad}STORE i32({text(s[1], sp)}) → {s[2]}")
        elif kind == "store":
            out.append(pad + sp.store.format(e=text(s[1], sp), t=g.arrays["out"]))
        elif kind == "fstore":
            out.append(pad + sp.fstore.format(e=text(s[1], sp)))
        elif kind == "atomic":
            out += [pad + f.format(op=g.atomic, low=g.atomic.lower(), i=text(s[1], sp),
                                   v=text(s[2], sp), h=g.arrays["hist"]) for f in sp.atomic]
        elif kind == "if":
            for n, (c, arm) in enumerate(s[1]):
                out.append(f"{pad}{w['elif' if n else 'if']} {text(c, sp)}:")
                out += nested(arm)
            if s[2]:
                out += [f"{pad}{w['else']}:"] + nested(s[2])
        elif kind in ("break", "continue", "return"):
            out.append(pad + w[kind])
        elif kind == "for":
            out.append(pad + sp.loop_for.format(v=s[1], lo=s[2], hi=text(s[3], sp)))
            out += nested(s[4])
        else:
            out += [pad + sp.set.format(v=s[1], e=0),
                    f"{pad}{'WHILE' if sp is PX else 'while'} {s[1]} < {text(s[2], sp)}:",
                    pad + "    " + sp.counter_up.format(v=s[1])] + nested(s[3])
    return out


class PlaneGenerator(Generator):
    """A :class:`Generator` of 2-D launches: ``GPU_THREADS cols, rows``, ``THREAD_ID → tx,
    ty``, and ``i = ty * cols + tx`` for the 1-D arrays."""

    def __init__(self, seed: int):
        super().__init__(seed)
        self.types.update(tx="i32", ty="i32")
        self.fixed |= {"tx", "ty"}


def params(g: "Generator", spell) -> str:
    """The array parameters ``out``, ``x``, ``hist`` in ``spell``'s form (``{n}``, ``{t}``)."""
    return [spell.format(n=n, t=g.arrays[n]) for n in ("out", "x", "hist")]


def program(seed: int, generator: type | None = None) -> tuple[str, list, Generator]:
    """Seed ``seed``'s kernel: its ``.px`` text, its statements and its generator (a
    :class:`Generator`, or ``generator``: a :class:`PlaneGenerator`, or one with float
    parameters ``f`` and ``fo``)."""
    g = (generator or Generator)(seed)
    body = g.kernel()
    extra = ["    GPU_PARAM f float[]", "    GPU_PARAM fo float[]"] \
        if generator and generator is not PlaneGenerator else []
    ids = ["    THREAD_ID → i"]
    if isinstance(g, PlaneGenerator):
        extra = ["    GPU_PARAM cols int", "    GPU_PARAM rows int", "    GPU_THREADS cols, rows"]
        ids = ["    THREAD_ID → tx, ty", "    SET i = ty * cols + tx"]
    head = ["GPU_KERNEL fuzz", *params(g, "    GPU_PARAM {n} {t}[]"), *extra,
            "GPU_THREAD_CODE:", *ids, f"    SET atom = {g.arrays['hist']}(0)"]
    return "\n".join(head + lines(body, 4, g) + ["GPU_END", ""]), body, g


def python_program(seed: int, generator: type | None = None) -> tuple[str, list, Generator]:
    """Seed ``seed``'s kernel as a Python module defining ``fuzz`` (``@pxos.kernel``; an
    integer ``/`` is ``//``, floor division): in the loop form (``for i in
    pxos.parallel(len(out))``) where no ``RETURN`` ends a thread and the seed is even, else
    in the thread form (``i = pxos.thread_id()``); ``generator`` as :func:`program`'s."""
    g = (generator or Generator)(seed)
    body = g.kernel()
    arrays = params(g, "{n}: pxos.Array[pxos.{t}, 1]") + [
        f"{n}: pxos.Array[pxos.f32, 1]" for n in ("f", "fo") if generator]
    head = ["import math", "", "import numpy", "import pxos", "", "", "@pxos.kernel",
            f"def fuzz({', '.join(arrays)}):"]
    atom = f"atom = pxos.{g.arrays['hist']}(0)"
    if seed % 2 or "'return'" in repr(body):
        head += ["    i = pxos.thread_id()", "    " + atom]
        return "\n".join(head + lines(body, 4, g, PY) + [""]), body, g
    head += ["    for i in pxos.parallel(len(out)):", "        " + atom]
    return "\n".join(head + lines(body, 8, g, PY) + [""]), body, g
