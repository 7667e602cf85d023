"""A kernel ``FOR``'s bounds, evaluated once when the loop starts.

``FOR k IN a..b STEP s`` runs for ``k = a, a+s, …`` while ``k < b``, as Python's
``range(a, b, s)`` and the host's ``FOR`` do: ``b`` and ``s`` are computed once, before
the first trip (docs/language.md). Rendered as C's ``for (k = a; k < b; k += s)``, ``b``
would be computed again before every trip, so a body that changes a variable it reads
(or an array, which other threads may change too) would change the loop. Before checking,
:func:`hoist_for_bounds` computes such a bound into a variable of its own just before
the loop; every backend then runs the same loop. A bound of constants, parameters and
variables the loop does not assign stays where it is (the compilers keep it in a
register either way).
"""

from __future__ import annotations

from dataclasses import replace

from pxos.ir import nodes as ir
from pxos.ir.passes.fission import names_in


def hoist_for_bounds(body: ir.Body, taken: set[str]) -> ir.Body:
    """``body`` (unchecked) with each ``FOR`` bound that reads an array or a name its loop
    assigns moved into a new variable set just before the loop. ``taken``: every name of
    the kernel (parameters, shared arrays, variables); the new names are added to it."""
    out: list[ir.Stmt] = []
    for s in body:
        if isinstance(s, ir.If):
            s = replace(s, arms=tuple((c, hoist_for_bounds(b, taken)) for c, b in s.arms),
                        orelse=hoist_for_bounds(s.orelse, taken))
        elif isinstance(s, ir.While):
            s = replace(s, body=hoist_for_bounds(s.body, taken))
        elif isinstance(s, ir.For):
            changed = ir.assigned_names(s.body) | {s.var}
            stop = _once(s.stop, s.var, changed, taken, out)
            step = None if s.step is None else _once(s.step, s.var, changed, taken, out)
            s = replace(s, stop=stop, step=step, body=hoist_for_bounds(s.body, taken))
        out.append(s)
    return tuple(out)


def kernel_names(kernel: ir.Kernel) -> set[str]:
    """Every name a kernel defines or reads: parameters, shared arrays and variables."""
    return ({p.name for p in kernel.params} | {s.name for s in kernel.shared}
            | names_in(kernel.body))


def _once(e: ir.Expr, var: str, changed: set[str], taken: set[str], before: list) -> ir.Expr:
    """``e``, or a new variable set to it in ``before`` if the loop could change it."""
    if not any(isinstance(x, ir.Load) or (isinstance(x, ir.Var) and x.name in changed)
               for x in ir.subexprs(e)):
        return e
    name, n = f"{var[:50]}_bound", 2
    while name in taken:
        name, n = f"{var[:50]}_bound{n}", n + 1
    taken.add(name)
    before.append(ir.Assign(e.span, name, e))
    return ir.Var(e.span, name)
