"""The operation table: every function a kernel can call, declared once.

Each :class:`Function` holds everything pxos needs to know about one operation:

- ``name`` and ``arity``: the IR name (``ir.Call.fn``) and its operand count;
- ``px``: its `.px` spellings, the instruction ``SQRT x → y`` and the call ``sqrt(x)``
  (``lang/px/grammar.lark`` lists the instruction words; a test checks they agree);
- ``typing``: the typing rule that ``ir/typecheck`` applies (see :data:`TYPING_RULES`);
- ``python``: its Python spellings (``math.sqrt``, ``numpy.sqrt`` …) and how each builds
  the call (see :data:`PYTHON_BUILDERS`), read by ``lang/py/calls``;
- ``evaluate``: its NumPy lowering, which the interpreter runs; ``fold``: its exact value
  over Python numbers in a ``CONST`` expression (``ir/constants``), None where a constant
  may not use it;
- ``lowering``: its spelling per code-generation dialect, keyed by dialect name, with a
  ``"default"`` entry (:class:`Lowering`); a dialect looks it up with :func:`lowering`.

Atomics (:data:`ATOMICS`) are declared the same way, with their `.px` and Python words, the
element types they take, their NumPy ufunc and their lowering. The internal operations
``div`` and ``mod`` (the ``/`` and ``%`` operators) have lowerings
here too, but no call spelling (``callable`` False). This is the arrangement of Numba's
typing and lowering registries: one declaration per operation, read by every stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

# typecheck's rules: "arith" (operands converted to their common type, which is the result;
# bool refused), "float" (as "arith", but integers compute in f32), "select" (a bool
# condition, then two operands of a common type), "rotate" (integers; the count converted
# to the value's type)
TYPING_RULES = ("arith", "float", "select", "rotate")

# lang/py/calls' builders: "same" (the arguments as they are), "float" (each argument
# converted to a float first), "fold" (two or more arguments, folded left: min(a, b, c) is
# min(min(a, b), c)), "int" (an integer argument unchanged, a float one gives an i32, as
# Python's math.floor), "cond" (the first argument is a condition, as numpy.where's)
PYTHON_BUILDERS = ("same", "float", "fold", "int", "cond")


@dataclass(frozen=True)
class Lowering:
    """An operation's spelling in one dialect, by operand type.

    Each spelling is one of: ``"f32name|f64name"`` (a function call, the name chosen by the
    float type; a single name serves both); ``"@kind"`` (the dialect's helper function
    ``pxos_<kind>_<type>``, ``codegen/intrinsics``); or a template with ``{0}``, ``{1}``,
    ``{2}`` for the operands, ``{one}`` for the literal 1 of the type and ``{sqrt}`` for the
    square root of the first operand. ``None``: the typing rule never lets that type through.

    Attributes:
        float: for float types.
        int: for signed integer types (and unsigned ones when ``unsigned`` is None).
        unsigned: for unsigned integer types and bool, where it differs from ``int``.
    """

    float: str | None
    int: str | None = None
    unsigned: str | None = None

    def spelling(self, is_float: bool, kind: str) -> str | None:
        """The spelling for a type of ``kind`` (``"f"``, ``"i"``, ``"u"``, ``"b"``)."""
        if is_float:
            return self.float
        if kind in "ub" and self.unsigned is not None:
            return self.unsigned
        return self.int


@dataclass(frozen=True)
class Function:
    """One operation (module docstring). ``evaluate(args, dtype)`` computes it over NumPy
    values (arrays or scalars, already of ``dtype``, the result's dtype)."""

    name: str
    arity: int
    typing: str
    evaluate: Callable
    lowering: dict[str, Lowering]
    python: tuple[tuple[str, str], ...] = ()
    callable: bool = True
    transcendental: bool = False  # one issue of the special-function unit (ir/analysis)
    fold: Callable | None = None

    @property
    def px(self) -> str:
        """The `.px` instruction word (``SQRT``); the call is spelled ``sqrt(x)``."""
        return self.name.upper()


# ----------------------------------------------------------------- NumPy lowerings
def _unary(ufunc) -> Callable:
    def evaluate(args, dtype):
        return ufunc(args[0]) if dtype.kind == "f" else args[0]
    return evaluate


def _abs(args, dtype):
    return args[0] if dtype.kind in "ub" else np.abs(args[0])


def _minmax(floats, ints) -> Callable:
    def evaluate(args, dtype):
        return (floats if dtype.kind == "f" else ints)(*args)
    return evaluate


def _round(args, dtype):
    """Round half away from zero (C's ``round``), without ``floor(x + 0.5)`` errors."""
    x = args[0]
    if dtype.kind != "f":
        return x
    t = np.trunc(x)
    frac = np.abs(x - t)
    return np.where(frac >= dtype.type(0.5), t + np.copysign(dtype.type(1), x), t)


def _rsqrt(args, dtype):
    return dtype.type(1) / np.sqrt(args[0])


def _fma(args, dtype):
    """``a * b + c``; float types narrower than f64 compute in f64, then round once."""
    a, b, c = args
    if dtype.kind == "f" and dtype.itemsize < 8:
        f64 = np.dtype(np.float64)
        return (np.asarray(a, f64) * np.asarray(b, f64) + np.asarray(c, f64)).astype(dtype)
    return a * b + c


def _rotate(left: bool) -> Callable:
    def evaluate(args, dtype):
        x, n = np.asarray(args[0]), np.asarray(args[1])
        bits = dtype.itemsize * 8
        udt = np.dtype(f"u{dtype.itemsize}")
        u = x.astype(udt)
        mask = udt.type(bits - 1)
        n = n.astype(udt) & mask
        back = (udt.type(bits) - n) & mask
        r = (u << n) | (u >> back) if left else (u >> n) | (u << back)
        return np.asarray(r, udt).astype(dtype)
    return evaluate


def _select(args, dtype):
    return np.where(args[0], args[1], args[2])


def _idiv(want_mod: bool) -> Callable:
    """C's truncating integer ``/`` or ``%``; by zero gives 0, ``MIN / -1`` gives MIN
    (docs/language.md); floats: IEEE division and C's ``fmod``."""
    def evaluate(args, dtype):
        a, b = args
        if dtype.kind == "f":
            return np.fmod(a, b) if want_mod else np.divide(a, b)
        one, zero = dtype.type(1), dtype.type(0)
        bad = b == zero
        bad_or_ovf = bad
        if dtype.kind == "i":
            bad_or_ovf = bad | ((a == np.iinfo(dtype).min) & (b == dtype.type(-1)))
        safe_b = np.where(bad_or_ovf, one, b)
        r = np.fmod(a, safe_b)  # C's remainder: the sign of the dividend
        return np.where(bad, zero, r if want_mod else (a - r) // safe_b)
    return evaluate


# ----------------------------------------------------------------- the table
def _c(float_: str | None, int_: str | None = None, unsigned: str | None = None
       ) -> dict[str, Lowering]:
    """Lowerings for the C family: C and CUDA C name the f32 and f64 functions apart
    (``sqrtf``, ``sqrt``); OpenCL C overloads one name on the type (OpenCL C 1.2 §6.12.2)."""
    out = {"default": Lowering(float_, int_, unsigned)}
    if float_ and "|" in float_:
        out["opencl"] = Lowering(float_.split("|")[1], int_, unsigned)
    return out


def _math(name: str) -> Function:
    """A float function with the same name in C's math.h, ``math`` and ``numpy``."""
    exact = getattr(math, name)
    return Function(name, 1, "float", _unary(getattr(np, name)), _c(f"{name}f|{name}"),
                    tuple((f"{m}.{name}", "same") for m in ("math", "numpy")),
                    transcendental=True, fold=lambda a: exact(float(a[0])))


def _fold_rounding(how) -> Callable:
    """``floor``/``ceil``/``round`` of a constant: a float, as the C function gives."""
    return lambda a: float(how(float(a[0])))


def _c_round(v: float) -> float:
    """C's ``round``: halves away from zero."""
    return math.copysign(math.floor(abs(v) + 0.5), v)


_TABLE = (
    Function("abs", 1, "arith", _abs, _c("fabsf|fabs", "@abs", "{0}"),
             (("builtins.abs", "same"), ("numpy.abs", "same"), ("math.fabs", "float"),
              ("numpy.fabs", "float")), fold=lambda a: abs(a[0])),
    _math("sqrt"),
    Function("rsqrt", 1, "float", _rsqrt, _c("({one} / {sqrt})"), (("pxos.rsqrt", "same"),),
             transcendental=True, fold=lambda a: 1.0 / math.sqrt(float(a[0]))),
    _math("exp"), _math("log"), _math("sin"), _math("cos"), _math("tanh"),
    Function("floor", 1, "arith", _unary(np.floor), _c("floorf|floor", "{0}"),
             (("math.floor", "int"), ("numpy.floor", "float")), fold=_fold_rounding(math.floor)),
    Function("ceil", 1, "arith", _unary(np.ceil), _c("ceilf|ceil", "{0}"),
             (("math.ceil", "int"), ("numpy.ceil", "float")), fold=_fold_rounding(math.ceil)),
    Function("round", 1, "arith", _round, _c("roundf|round", "{0}"),
             fold=_fold_rounding(_c_round)),
    Function("min", 2, "arith", _minmax(np.fmin, np.minimum), _c("fminf|fmin", "@min"),
             (("builtins.min", "fold"), ("numpy.fmin", "same")), fold=lambda a: min(a)),
    Function("max", 2, "arith", _minmax(np.fmax, np.maximum), _c("fmaxf|fmax", "@max"),
             (("builtins.max", "fold"), ("numpy.fmax", "same")), fold=lambda a: max(a)),
    Function("pow", 2, "float", lambda args, dtype: np.power(*args), _c("powf|pow"),
             (("math.pow", "float"),), transcendental=True,
             fold=lambda a: math.pow(float(a[0]), float(a[1]))),
    Function("rotl", 2, "rotate", _rotate(True), _c(None, "@rotl"), (("pxos.rotl", "same"),)),
    Function("rotr", 2, "rotate", _rotate(False), _c(None, "@rotr"), (("pxos.rotr", "same"),)),
    Function("fma", 3, "arith", _fma, _c("fmaf|fma", "({0} * {1} + {2})"),
             (("pxos.fma", "same"),), fold=lambda a: a[0] * a[1] + a[2]),
    Function("select", 3, "select", _select, _c(*["({0} ? {1} : {2})"] * 2),
             (("pxos.select", "same"), ("numpy.where", "cond")),
             fold=lambda a: a[1] if a[0] else a[2]),
    # the / and % operators (ir.Binary): no call spelling
    Function("div", 2, "arith", _idiv(False), _c("({0} / {1})", "@div"), callable=False),
    Function("mod", 2, "arith", _idiv(True), _c("fmodf|fmod", "@mod"), callable=False),
)

OPERATIONS: dict[str, Function] = {f.name: f for f in _TABLE}
# the functions callable in expressions and as instructions, with their operand counts
ARITY: dict[str, int] = {f.name: f.arity for f in _TABLE if f.callable}
TRANSCENDENTAL: tuple[str, ...] = tuple(f.name for f in _TABLE if f.transcendental)


@dataclass(frozen=True)
class AtomicOp:
    """One atomic read-modify-write (``ATOMIC_ADD a[i] v [→ old]``, ``pxos.atomic_add``).

    Attributes:
        name: the IR name (``ir.Atomic.op``).
        combine: the NumPy ufunc that merges the old element with the value (``ufunc.at``
            applies it per lane in order); None for ``exch``, which keeps the value.
        floats: whether float arrays are allowed (else integer arrays of 32 or 64 bits).
        lowering: per dialect, as :class:`Function`'s; ``"@kind"`` is the dialect's helper.
    """

    name: str
    combine: object
    floats: bool
    lowering: dict[str, Lowering]

    @property
    def px(self) -> str:
        """The `.px` statement word (``ATOMIC_ADD``)."""
        return f"ATOMIC_{self.name.upper()}"

    @property
    def python(self) -> str:
        """The Python spelling (``pxos.atomic_add``)."""
        return f"pxos.atomic_{self.name}"


def _atomic(name: str, combine, floats: bool = False) -> AtomicOp:
    """An atomic whose lowering in every C-family dialect is its helper function."""
    return AtomicOp(name, combine, floats, {"default": Lowering(f"@atomic_{name}",
                                                               f"@atomic_{name}")})


ATOMICS: dict[str, AtomicOp] = {a.name: a for a in (
    _atomic("add", np.add, floats=True), _atomic("min", np.minimum),
    _atomic("max", np.maximum), _atomic("and", np.bitwise_and),
    _atomic("or", np.bitwise_or), _atomic("xor", np.bitwise_xor),
    _atomic("exch", None, floats=True),
)}


def lowering(name: str, dialect: str) -> Lowering:
    """Operation ``name``'s :class:`Lowering` in ``dialect`` (its own entry, else the
    default).

    ``name`` is an operation's, or ``atomic_<op>`` for an atomic's.

    Raises:
        KeyError: ``name`` is not in the table (a bug of ours: the checker lets no unknown
            function through).
    """
    table = (OPERATIONS.get(name) or ATOMICS[name[len("atomic_"):]]).lowering
    return table.get(dialect) or table["default"]


def python_spellings() -> dict[str, tuple[str, str]]:
    """Every Python spelling (``"math.sqrt"``) → (operation name, builder, one of
    :data:`PYTHON_BUILDERS`)."""
    return {spelling: (f.name, how) for f in _TABLE for spelling, how in f.python}


def c_names() -> frozenset[str]:
    """Every C-family function name the table's lowerings call (``sqrtf``, ``fmin`` …)."""
    names = set()
    for f in _TABLE:
        for low in f.lowering.values():
            for text in (low.float, low.int, low.unsigned):
                if text and text[0].isalpha():
                    names.update(text.split("|"))
    return frozenset(names)
