"""The code-generation targets by name, for ``pxos compile --target``."""

from __future__ import annotations

from pxos.codegen.dialect import render_unit
from pxos.codegen.gpu import uses_f16
from pxos.ir import nodes as ir

TARGETS = ("c", "cuda", "opencl", "hip", "wgsl")


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
    elif target == "hip":
        from pxos.codegen.hip import HipDialect as Dialect, render_hip as render
    elif target == "wgsl":  # one shader module per kernel (each binds its own buffers)
        from pxos.codegen.wgsl import render_wgsl
        return "\n".join(render_wgsl(k, checked, wide=True).source for k in kernels)
    else:
        raise KeyError(target)
    sources = [render(k, checked) for k in kernels]
    helpers = dict(h for s in sources for h in s.intrinsics)
    return render_unit(Dialect(), tuple(helpers.items()), [s.function for s in sources],
                       any(uses_f16(k) for k in kernels))
