"""The code-generation targets by name (``pxos.registry.TARGETS``), for ``pxos compile
--target`` and the planner's explanations."""

from __future__ import annotations

from importlib import import_module

from pxos import registry
from pxos.codegen.dialect import render_unit
from pxos.codegen.gpu import uses_f16
from pxos.ir import nodes as ir

TARGETS = registry.target_names()


def render_unit_for(target: str, kernels: list[ir.Kernel], checked: bool = False) -> str:
    """One translation unit holding every kernel of ``kernels`` for ``target``: the
    dialect's prelude and each helper function once, then the kernel functions.

    Raises:
        KeyError: ``target`` is not a registered target (``registry.target_names``).
    """
    found = registry.target(target)
    module = import_module(found.module)
    dialect, render = getattr(module, found.dialect), getattr(module, found.render)
    sources = [render(k, checked, **dict(found.options)) for k in kernels]
    if not found.unit:  # one module per kernel, one after another
        return "\n".join(s.source for s in sources)
    helpers = dict(h for s in sources for h in s.intrinsics)
    return render_unit(dialect(), tuple(helpers.items()), [s.function for s in sources],
                       any(uses_f16(k) for k in kernels))
