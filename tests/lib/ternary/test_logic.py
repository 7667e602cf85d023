"""pxos.ternary.logic, its circuits and `pxos ternary table` against hand-written truth
tables and Python definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from typer.testing import CliRunner

import pxos.ternary as T
from pxos.cli.ternary import app
from pxos.errors import PxArgumentError
from pxos.testing import for_each_backend

V = (-1, 0, 1)
# the definitions, in plain Python (Kleene 1938, Łukasiewicz 1920, Jones's consensus/any)
REFERENCE = {
    "and": min, "or": max,
    "imp_k3": lambda a, b: max(-a, b),
    "imp_l3": lambda a, b: min(1, 1 - a + b),
    "and_l3": lambda a, b: max(-1, a + b - 1),
    "or_l3": lambda a, b: min(1, a + b + 1),
    "consensus": lambda a, b: a if a == b else 0,
    "any": lambda a, b: (a + b > 0) - (a + b < 0),
    "sum": lambda a, b: (a + b + 1) % 3 - 1,
}


def reference_trits(x, width: int) -> np.ndarray:
    """Balanced trits of ints ``x``, least significant first, in plain Python: the test's
    inputs, independent of the kernels and of where the planner would place them."""
    out = np.zeros((len(x), width), np.int8)
    for i, v in enumerate(int(v) for v in x):
        for k in range(width):
            d = (v + 1) % 3 - 1
            out[i, k], v = d, (v - d) // 3
        assert v == 0, "does not fit"
    return out


def value(t) -> list[int]:
    """sum(t[k] * 3**k) per row, in Python ints."""
    return [sum(int(d) * 3**k for k, d in enumerate(row)) for row in np.asarray(t)]


@for_each_backend(argname="device")
def test_every_operator_on_every_pair(device):
    a = np.array([x for x, _ in itertools.product(V, V)], np.int8)
    b = np.array([y for _, y in itertools.product(V, V)], np.int8)
    for op, f in REFERENCE.items():
        got = T.logic.apply(op, a, b, device)
        assert got.tolist() == [f(x, y) for x, y in zip(a.tolist(), b.tolist())], op
    assert T.logic.not_(np.array(V, np.int8), device).tolist() == [1, 0, -1]


def test_kleene_and_lukasiewicz_implication_differ_only_at_unknown():
    k3, l3 = T.logic.table("imp_k3"), T.logic.table("imp_l3")
    assert k3 == [[1, 1, 1], [0, 0, 1], [-1, 0, 1]]       # Kleene 1938
    assert l3 == [[1, 1, 1], [0, 1, 1], [-1, 0, 1]]       # Łukasiewicz 1920
    assert np.array_equal(T.logic.implies(np.int8(0), np.int8(0), "l3"), [1])


def test_cli_table():
    r = CliRunner().invoke(app, ["table", "and"])
    assert r.exit_code == 0
    assert r.output.splitlines()[2:] == ["        T | T T T", "        0 | T 0 0",
                                         "        1 | T 0 1"]
    r = CliRunner().invoke(app, ["table", "xor"])
    assert r.exit_code == 2 and "no ternary operator 'xor'" in r.output
    r = CliRunner().invoke(app, ["convert", "6", "1T0"])
    assert r.output.split("\n")[:2] == ["6 = 1T0", "1T0 = 6"]
    r = CliRunner().invoke(app, ["convert", "-7", "T1T"])  # a negative number: no option
    assert r.exit_code == 0 and r.output.split("\n")[:2] == ["-7 = T1T", "T1T = -7"]


@for_each_backend(argname="device")
def test_ripple_adder_agrees_with_the_arithmetic(device):
    rng = np.random.default_rng(3)
    n = 30 if device == "interp" else 2000
    x, y = rng.integers(-(3**8 - 1) // 2, (3**8 - 1) // 2 + 1, (2, n))
    a, b = reference_trits(x, 8), reference_trits(y, 8)   # no kernel, no placement
    got = T.circuit.add_with_gates(a, b, device)
    assert got.shape == (n, 9)
    assert value(got) == (x + y).tolist()                  # Python ints, no kernel
    assert np.array_equal(got, T.add(a, b, device))


def test_full_adder_truth_table():
    c = T.circuit.Circuit()
    for w in "abc":
        c.input(w)
    s, carry = T.circuit.full_adder(c, "a", "b", "c", 0)
    c.outputs += [s, carry]
    trip = np.array(list(itertools.product(V, V, V)), np.int8).T
    got = c.run({"a": trip[0], "b": trip[1], "c": trip[2]}, "interp")
    assert (got[s] + 3 * got[carry]).tolist() == trip.sum(axis=0).tolist()


def test_errors():
    with pytest.raises(PxArgumentError, match=r"a\[1\] = 3 is not a trit"):
        T.logic.and_(np.array([0, 3]), np.array([0, 0]))
    with pytest.raises(PxArgumentError, match="nothing drives"):
        T.circuit.Circuit().gate("and", "x", "y")
