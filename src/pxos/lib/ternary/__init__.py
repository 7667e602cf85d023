"""``pxos.ternary``: balanced-ternary numbers, three-valued logic, ternary search, ternary
weight networks and a qutrit simulator, on pxos kernels (``docs/ternary.md``).

Numbers are int8 arrays of trits in −1..1, least significant first: ``encode``/``decode``
convert, ``add sub mul divmod neg abs compare sign shift_left shift_right`` compute exactly,
``pack``/``unpack`` store five trits per byte. Submodules: ``logic``, ``search``, ``nn``,
``qutrit``, and ``planes`` (digit-major batches, the layout for throughput).
"""

from pxos.lib.ternary.arith import (  # noqa: A004 (abs, divmod: the issue's names)
    abs, add, compare, divmod, fit, mul, neg, shift_left, shift_right, sign, sub,
)
from pxos.lib.ternary import circuit, logic, nn, planes, qutrit, search
from pxos.lib.ternary.convert import (
    decode, encode, from_str, pack, to_int, to_ints, to_str, unpack, width_for,
)

__all__ = [
    "abs", "add", "circuit", "compare", "decode", "divmod", "encode", "fit", "from_str",
    "logic", "mul", "neg", "nn", "pack", "planes", "qutrit", "search", "shift_left",
    "shift_right", "sign", "sub", "to_int", "to_ints", "to_str", "unpack", "width_for",
]
