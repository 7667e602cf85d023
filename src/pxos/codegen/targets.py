"""The code-generation targets by name, for ``pxos compile --target``."""

from __future__ import annotations

from pxos.codegen.dialect import render_unit
from pxos.codegen.gpu import uses_f16
from pxos.ir import nodes as ir

TARGETS = ("c", "cuda", "opencl")


def render_unit_for(target: str, kernels: list[ir.Kernel], checked: bool = False) -> str:
    """One translation unit holding every kernel of ``kernels`` for ``target``: the
    dialect's prelude and each helper function once, then the kernel functions.

    Raises:
        KeyError: ``target`` is not one of :data:`TARGETS`.
    """
    if target == "c":
        from pxos.codegen.c import CDialect as Dialect, render_c as render
    elif target == "cuda":
        from pxos.codegen.cuda import CudaDialect as Dialect, render_cuda as render
    elif target == "opencl":
        from pxos.codegen.opencl import OpenCLDialect as Dialect, render_opencl as render
    else:
        raise KeyError(target)
    sources = [render(k, checked) for k in kernels]
    helpers = dict(h for s in sources for h in s.intrinsics)
    return render_unit(Dialect(), tuple(helpers.items()), [s.function for s in sources],
                       any(uses_f16(k) for k in kernels))
