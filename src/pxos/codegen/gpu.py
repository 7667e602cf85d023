"""A kernel as one GPU kernel function: what CUDA C and OpenCL C share.

One GPU thread runs one pxos thread; the launch geometry (``pxos_lx``, ``pxos_bx``, …) is
read once at the top of the function from the dialect's index functions, so the body reads
the same as the C dialect's. The function's parameters are

    (int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, <param>..., [int64_t *pxos_err])

as ``codegen/signature`` describes.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from pxos.codegen.dialect import Dialect, KernelSource, comment, render_unit
from pxos.codegen.gpu_stride import grid_stride, render_stride
from pxos.codegen.render import Renderer, var_name
from pxos.codegen.signature import entry_name, kernel_params
from pxos.ir import nodes as ir
from pxos.ir.passes.checked import check_bounds
from pxos.ir.types import F16, Array


class GpuDialect(Dialect, ABC):
    """A dialect whose kernels are GPU kernel functions (CUDA C, OpenCL C).

    Attributes:
        renderer_class: the statement renderer (OpenCL's subclass spells ``f16`` buffer
            access and atomics per address space).
    """

    renderer_class = Renderer
    grid_stride = False  # 1-D maps as grid-stride loops (codegen/gpu_stride)

    @abstractmethod
    def index(self, which: str, axis: int) -> str:
        """``local_id``, ``group_id``, ``local_size`` or ``num_groups`` on ``axis``."""

    @abstractmethod
    def kernel_qualifier(self, block: tuple[int, ...]) -> str:
        """What precedes the kernel function's name, ``void`` included, for a kernel of
        ``block`` threads per block (x first)."""


def render_gpu(kernel: ir.Kernel, d: GpuDialect, checked: bool = False) -> KernelSource:
    """Render a checked kernel as a GPU kernel function in dialect ``d``.

    Args:
        kernel: from ``ir.check.check_kernel``.
        d: a GPU dialect (``codegen/cuda`` or ``codegen/opencl``).
        checked: add bounds checks that report through ``pxos_err``.

    Returns:
        The translation unit, with ``#line`` directives back to the `.px` file.
    """
    given = kernel
    if checked:
        kernel = check_bounds(kernel)
    r = d.renderer_class(kernel, d)
    axes = "xyz"[:kernel.ndim]
    body = []
    for s in kernel.shared:
        size = 1
        for n in s.shape:
            size *= n
        body.append(d.shared_array(var_name(s.name), s.elem, size))
    for name, t in kernel.variables:
        body.append(d.declare(var_name(name), t, d.literal(0, t)))
    if d.grid_stride and grid_stride(kernel):
        body += render_stride(r, kernel)
    else:
        if kernel.guarded:
            body.append(f"if ({past_threads(kernel, d)}) return;  /* threads past GPU_THREADS */")
        body += r.body(kernel.body, 0)
    # the launch geometry the body reads, from the dialect's index functions
    text = "\n".join(body)
    geometry = [(f"pxos_{g}{a}", d.index(fn, i)) for i, a in enumerate(axes)
                for g, fn in (("l", "local_id"), ("b", "group_id"), ("bs", "local_size"))]
    geometry += [("pxos_gx", d.index("num_groups", 0)), ("pxos_gy", d.index("num_groups", 1))]
    body = [f"const int32_t {name} = {value};" for name, value in geometry
            if re.search(rf"\b{name}\b", text)] + body

    fn = entry_name(kernel)
    header = comment(f"pxos: kernel {kernel.name} from {kernel.span.file}, {d.name} dialect "
                     "(one GPU thread per pxos thread)")
    params = ", ".join(kernel_params(kernel, d, checked))
    function = "\n".join([
        header, f"{d.kernel_qualifier(tuple(kernel.block))} {fn}({params})",
        "{", *["    " + x if x and not x.startswith("#") else x for x in body], "}", "",
    ])
    helpers = tuple(r.intrinsics.needed.items())
    return KernelSource(given, render_unit(d, helpers, [function], uses_f16(kernel)),
                        fn, function, helpers, checked)


def past_threads(kernel: ir.Kernel, d: Dialect) -> str:
    """The condition of a GPU thread past the requested threads (a loop-form kernel's
    ``GPU_THREADS`` rounds the launch up to whole blocks)."""
    return " || ".join(f"{d.as_index(f'pxos_b{a}')} * pxos_bs{a} + pxos_l{a} >= pxos_n{a}"
                       for a in "xyz"[:kernel.ndim])


def uses_f16(kernel: ir.Kernel) -> bool:
    """Whether any parameter, shared array or variable of ``kernel`` is ``f16``."""
    types = [p.type.elem if isinstance(p.type, Array) else p.type for p in kernel.params]
    types += [s.elem for s in kernel.shared] + [t for _, t in kernel.variables]
    return F16 in types
