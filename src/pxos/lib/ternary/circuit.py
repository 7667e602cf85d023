"""A gate-level simulator for ternary circuits, and a ripple-carry adder built from gates.

A :class:`Circuit` is a list of gates (operators of :mod:`pxos.lib.ternary.logic`) over
named wires, evaluated in order on whole batches of trits: one kernel launch per gate,
every input a trit array of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pxos.errors import PxArgumentError
from pxos.lib.ternary.logic import OPS, UNARY, apply


@dataclass
class Circuit:
    """Wires and gates. ``inputs`` name the wires given to :meth:`run`; ``gates`` are
    ``(out, op, x, y)`` in evaluation order; ``outputs`` the wires :meth:`run` returns."""

    inputs: list[str] = field(default_factory=list)
    gates: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def input(self, name: str) -> str:
        """Declare an input wire; returns its name."""
        self.inputs.append(name)
        return name

    def gate(self, op: str, x: str, y: str | None = None, name: str | None = None) -> str:
        """Add a gate ``op(x, y)``; returns the name of its output wire.

        Raises:
            PxArgumentError: an unknown operator, or an input wire not yet defined.
        """
        if op not in OPS:
            raise PxArgumentError(f"no ternary gate {op!r}; the gates are {', '.join(OPS)}")
        known = set(self.inputs) | {g[0] for g in self.gates}
        for w in (x,) if op in UNARY else (x, y):
            if w not in known:
                raise PxArgumentError(f"gate {op!r} reads wire {w!r}, which nothing drives")
        name = name or f"w{len(self.gates)}"
        self.gates.append((name, op, x, None if op in UNARY else y))
        return name

    def run(self, values: dict, device: str | None = None) -> dict[str, np.ndarray]:
        """Evaluate every gate on batches: ``values`` maps each input to a trit array.

        Returns:
            The output wires' trit arrays, by name.

        Raises:
            PxArgumentError: an input is missing.
        """
        missing = [w for w in self.inputs if w not in values]
        if missing:
            raise PxArgumentError(f"no value for the circuit's input {missing[0]!r}")
        wires = {w: np.asarray(values[w], np.int8) for w in self.inputs}
        for out, op, x, y in self.gates:
            wires[out] = apply(op, wires[x], None if y is None else wires[y], device)
        return {w: wires[w] for w in self.outputs}


def full_adder(c: Circuit, a: str, b: str, carry: str, k: int) -> tuple[str, str]:
    """Add the gates of one balanced full adder: ``a + b + carry = s + 3 * carry_out``.
    Two half adders (sum = ``sum`` gate, carry = ``consensus``: ±1 only when both
    inputs are ±1 alike) and ``any`` to merge the two carries, which never have the same
    nonzero sign. Returns ``(s, carry_out)``."""
    s1 = c.gate("sum", a, b, f"s1_{k}")
    c1 = c.gate("consensus", a, b, f"c1_{k}")
    s = c.gate("sum", s1, carry, f"s{k}")
    c2 = c.gate("consensus", s1, carry, f"c2_{k}")
    return s, c.gate("any", c1, c2, f"c{k + 1}")


def ripple_adder(width: int) -> Circuit:
    """A ``width``-trit ripple-carry adder: inputs ``a0.. b0.. c0`` (the carry in), outputs
    ``s0 .. s{width-1}`` and the carry out ``c{width}`` (the top trit of the sum)."""
    c = Circuit()
    for k in range(width):
        c.input(f"a{k}")
        c.input(f"b{k}")
    carry = c.input("c0")
    for k in range(width):
        s, carry = full_adder(c, f"a{k}", f"b{k}", carry, k)
        c.outputs.append(s)
    c.outputs.append(carry)
    return c


def add_with_gates(a, b, device: str | None = None) -> np.ndarray:
    """``a + b`` for trit batches ``(..., width)`` of equal shape, through
    :func:`ripple_adder`: trits ``(..., width + 1)``, equal to ``pxos.ternary.add``."""
    a, b = np.asarray(a, np.int8), np.asarray(b, np.int8)
    if a.shape != b.shape or a.ndim == 0:
        raise PxArgumentError(f"add_with_gates needs two trit arrays of one shape, got "
                              f"{a.shape} and {b.shape}")
    w = a.shape[-1]
    values = {f"a{k}": a[..., k] for k in range(w)} | {f"b{k}": b[..., k] for k in range(w)}
    values["c0"] = np.zeros(a.shape[:-1], np.int8)
    got = ripple_adder(w).run(values, device)
    return np.stack([got[f"s{k}"] for k in range(w)] + [got[f"c{w}"]], axis=-1)


__all__ = ["Circuit", "add_with_gates", "full_adder", "ripple_adder"]
