"""Three-valued logic on trit arrays: Kleene (K3) and Łukasiewicz (Ł3) operators.

Truth values are trits: −1 false, 0 unknown, 1 true. Every operator takes int8 trit
arrays (any shape; two operands broadcast) and returns an int8 array, computed by one
kernel (:func:`gate_kernel`) on any backend.

=============  ==========================  ============================================
name           meaning                     value
=============  ==========================  ============================================
``not``        negation (K3 = Ł3)          ``-a``
``and``        conjunction, min (K3, Ł3)   ``min(a, b)``
``or``         disjunction, max (K3, Ł3)   ``max(a, b)``
``imp_k3``     Kleene implication          ``max(-a, b)``
``imp_l3``     Łukasiewicz implication     ``min(1, 1 - a + b)``
``and_l3``     Łukasiewicz strong AND      ``max(-1, a + b - 1)``
``or_l3``      Łukasiewicz strong OR       ``min(1, a + b + 1)``
``consensus``  agreement, else unknown     ``a if a == b else 0``
``any``        accept anything not denied  ``sign(a + b)``
``sum``        sum mod 3 (XOR-like)        ``((a + b + 1) mod 3) - 1``
=============  ==========================  ============================================

K3's implication and Ł3's differ only at ``a = b = 0``: Kleene gives 0, Łukasiewicz 1.
"""

from __future__ import annotations

import numpy as np

import pxos
from pxos import Array, i8, i32, registry
from pxos.errors import PxArgumentError
from pxos.lib.ternary.convert import check_trits

OPS = {"not": 0, "and": 1, "or": 2, "imp_k3": 3, "imp_l3": 4, "and_l3": 5, "or_l3": 6,
       "consensus": 7, "any": 8, "sum": 9}
UNARY = {"not"}


@pxos.kernel
def gate_kernel(op: i32, a: Array[i8, 1], b: Array[i8, 1], out: Array[i8, 1]):
    """out[i] = OP(a[i], b[i]) for the operator code ``op`` (see :data:`OPS`)."""
    for i in pxos.parallel(len(out)):
        x = i32(a[i])
        y = i32(b[i])
        r = i32(0)
        if op == 0:
            r = -x
        elif op == 1:
            r = min(x, y)
        elif op == 2:
            r = max(x, y)
        elif op == 3:
            r = max(-x, y)
        elif op == 4:
            r = min(1, 1 - x + y)
        elif op == 5:
            r = max(-1, x + y - 1)
        elif op == 6:
            r = min(1, x + y + 1)
        elif op == 7:
            r = x if x == y else 0
        elif op == 8:
            r = i32(x + y > 0) - i32(x + y < 0)
        else:
            r = (x + y + 1) % 3 - 1
        out[i] = i8(r)


def apply(op: str, a, b=None, device: str | None = None) -> np.ndarray:
    """The operator named ``op`` (a key of :data:`OPS`) on trit arrays.

    Args:
        a, b: int8 trit arrays (``b`` is ignored by ``not``); they broadcast.

    Returns:
        int8 array of the broadcast shape.

    Raises:
        PxArgumentError: an unknown ``op``, a missing ``b``, or a value outside −1..1
            (its position is named).
    """
    if op not in OPS:
        raise PxArgumentError(f"no ternary operator {op!r}; the operators are "
                              f"{', '.join(OPS)}")
    a = check_trits(np.atleast_1d(a), "a")
    if op in UNARY:
        b = a
    elif b is None:
        raise PxArgumentError(f"{op!r} takes two operands")
    else:
        b = check_trits(np.atleast_1d(b), "b")
    shape = np.broadcast_shapes(a.shape, b.shape)
    flat_a = np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)
    flat_b = np.ascontiguousarray(np.broadcast_to(b, shape)).reshape(-1)
    out = np.empty(flat_a.size, np.int8)
    if out.size:
        gate_kernel(OPS[op], flat_a, flat_b, out, device=device)
    return out.reshape(shape)


def not_(a, device=None):
    """K3/Ł3 negation ``-a``."""
    return apply("not", a, None, device)


def and_(a, b, device=None):
    """K3/Ł3 conjunction ``min(a, b)``."""
    return apply("and", a, b, device)


def or_(a, b, device=None):
    """K3/Ł3 disjunction ``max(a, b)``."""
    return apply("or", a, b, device)


def implies(a, b, logic: str = "k3", device=None):
    """Implication: Kleene ``max(-a, b)`` (``logic="k3"``) or Łukasiewicz
    ``min(1, 1 - a + b)`` (``logic="l3"``)."""
    if logic not in ("k3", "l3"):
        raise PxArgumentError(f"logic must be 'k3' or 'l3', got {logic!r}")
    return apply("imp_" + logic, a, b, device)


def consensus(a, b, device=None):
    """``a`` where ``a == b``, else unknown (0)."""
    return apply("consensus", a, b, device)


def any_(a, b, device=None):
    """``sign(a + b)``: the side that is not unknown; unknown when they conflict."""
    return apply("any", a, b, device)


def sum_mod3(a, b, device=None):
    """``a + b`` mod 3 in balanced form (the sum trit of a half adder; XOR-like)."""
    return apply("sum", a, b, device)


def table(op: str) -> list[list[int]]:
    """The truth table of ``op``: ``[[op(a, b) for b in (-1, 0, 1)] for a in (-1, 0, 1)]``
    (one column for ``not``)."""
    v = np.array([-1, 0, 1], np.int8)
    if op in UNARY:
        return [[int(r)] for r in apply(op, v, device=registry.interpreter())]
    return apply(op, v[:, None], v[None, :], device=registry.interpreter()).tolist()


__all__ = ["OPS", "and_", "any_", "apply", "consensus", "implies", "not_", "or_",
           "sum_mod3", "table"]
