"""``pxos ternary``: the balanced-ternary library's commands (``docs/ternary.md``).

    pxos ternary table OP        the truth table of a three-valued operator
    pxos ternary convert N …     integers to balanced ternary (T for -1) and back
"""

from __future__ import annotations

import typer

from pxos.cli.report import _guarded, out
from pxos.cli.options import PxApp, PxGroup

app = PxApp(cls=PxGroup, help="Balanced-ternary numbers and three-valued logic (pxos.ternary).",
                  no_args_is_help=True, add_completion=False)
_NAMES = {-1: "T", 0: "0", 1: "1"}


@app.command("table")
@_guarded
def table(op: str = typer.Argument(..., help="not, and, or, imp_k3, imp_l3, and_l3, or_l3, "
                                            "consensus, any or sum")):
    """Print the truth table of a three-valued operator (T = false, 0 = unknown,
    1 = true): rows are the first operand, columns the second."""
    from pxos.lib.ternary.logic import OPS, UNARY, table as truth_table

    if op not in OPS:
        from pxos.errors import PxArgumentError

        raise PxArgumentError(f"no ternary operator {op!r}; the operators are "
                              f"{', '.join(OPS)}")
    rows = truth_table(op)
    if op in UNARY:
        out.print(f"a | {op} a")
        for a, (r,) in zip((-1, 0, 1), rows):
            out.print(f"{_NAMES[a]} | {_NAMES[r]}")
        return
    out.print(f"{op:>9} | T 0 1")
    out.print("-" * 10 + "+------")
    for a, row in zip((-1, 0, 1), rows):
        out.print(f"{_NAMES[a]:>9} | " + " ".join(_NAMES[r] for r in row))


@app.command("convert", context_settings={"ignore_unknown_options": True})  # -7 is a number
@_guarded
def convert(values: list[str] = typer.Argument(..., help="integers, or balanced-ternary "
                                                          "numbers written with 1, 0, T")):
    """Print each integer in balanced ternary, and each balanced-ternary number (any
    argument containing T, or prefixed 0t) as an integer."""
    from pxos.lib.ternary.convert import encode, from_str, to_int, to_str

    for v in values:
        s = v[2:] if v.lower().startswith("0t") else v
        if "T" in s or v.lower().startswith("0t"):
            out.print(f"{v} = {to_int(from_str(s))}")
        else:
            try:
                n = int(v)
            except ValueError:
                from pxos.errors import PxArgumentError

                raise PxArgumentError(f"{v!r} is neither an integer nor balanced ternary "
                                      f"(digits 1, 0, T)") from None
            out.print(f"{n} = {to_str(encode(n))}")
